"""The All flips panel: SG-GAN's every attribute flip of the open face (one forward pass), a tile per
attribute labelled "+Eyeglasses" / "−Male" with the model's P(present). Clicking a tile applies that flip
(the session's `flip`: one undo step, saved in the project; clicking the applied tile again, or *Remove
flip*, takes it off). The panel shows what the session says is applied and what the controller computed;
it runs nothing itself (faceeditor/ui/controllers/flips.py does)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.session import FLIP, Session, flip_label
from faceeditor.ui.widgets.common import model_header, notice, pretty, rgb_thumbnail

TILE = 96
COLUMNS = 3


class FlipsPanel(QWidget):
    """See the module docstring. Signals: `apply_wanted(attribute, value)` (a tile clicked),
    `remove_wanted()`, `cancel_wanted()` (the running computation), `refresh_wanted()`."""

    apply_wanted = Signal(str, int)
    remove_wanted = Signal()
    cancel_wanted = Signal()
    refresh_wanted = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        col = QVBoxLayout(self)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        col.addWidget(self.header)
        self.message = notice("")
        col.addWidget(self.message)

        busy = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)                # busy: one forward pass, no steps to count
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop computing the flips")
        self.cancel_button.clicked.connect(self.cancel_wanted)
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy)
        busy.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.busy_row)

        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(4)
        col.addWidget(self.grid_box)
        self.tiles: dict[str, QToolButton] = {}

        row = QHBoxLayout()
        self.applied_label = QLabel()
        self.remove_button = QPushButton("Remove flip")
        self.remove_button.setToolTip("Edit the face as it is again (one undo step)")
        self.remove_button.clicked.connect(self.remove_wanted)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Compute the flips of the open face again")
        self.refresh_button.clicked.connect(self.refresh_wanted)
        row.addWidget(self.applied_label, 1)
        row.addWidget(self.remove_button)
        row.addWidget(self.refresh_button)
        col.addLayout(row)
        col.addStretch(1)
        self.values: dict[str, int] = {}            # attribute -> the value its tile applies
        self.available = False
        self.set_busy(False)
        session.subscribe(FLIP, self._show_applied, on_load=True)
        self._show_applied()

    # --- what the controller tells it -------------------------------------------------------------
    def set_model(self, model, reason: str) -> None:
        """The flip_attributes model serving (None: the panel is disabled and says what is missing)."""
        self.available = model is not None
        if model is None:
            self.header.setText("<b>All flips</b>")
            self.clear_tiles()
            self.set_message(reason)
        else:
            self.header.setText(model_header(model, "every attribute flip in one pass"))
            self.set_message("")
        self.grid_box.setEnabled(self.available)
        self.refresh_button.setEnabled(self.available)
        self._show_applied()

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_busy(self, busy: bool) -> None:
        self.busy_row.setVisible(busy)
        self.cancel_button.setEnabled(busy)

    def clear_tiles(self) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {}
        self.values = {}

    def set_sheet(self, sheet) -> None:
        """One tile per attribute of a FlipSheet (faceeditor.engine.requests): the flip of the face."""
        self.clear_tiles()
        for i, name in enumerate(sheet.attributes):
            value = sheet.flip_value(name)
            p = float(sheet.probs[i])
            label = sheet.label(name).replace("_", " ")
            tile = QToolButton()
            tile.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            tile.setIcon(QIcon(rgb_thumbnail(np.ascontiguousarray(sheet.flip(name)), TILE)))
            tile.setIconSize(QSize(TILE, TILE))
            tile.setText(f"{label}\nP {p:.2f}")
            tile.setCheckable(True)
            tile.setAutoRaise(True)
            verb = "add" if value else "remove"
            tile.setToolTip(f"{pretty(name)}: the model reads P(present) = {p:.2f}; click to {verb} it "
                            f"(the expression and the sliders then edit this face; click again to undo the flip)")
            tile.clicked.connect(lambda _checked=False, n=name: self._clicked(n))
            self.grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            self.tiles[name] = tile
            self.values[name] = value
        self._show_applied()

    # --- the user ---------------------------------------------------------------------------------
    def _clicked(self, name: str) -> None:
        flip = self.session[FLIP]
        if flip is not None and flip["attribute"] == name and flip["value"] == self.values.get(name):
            self.remove_wanted.emit()
        else:
            self.apply_wanted.emit(name, self.values[name])
        self._show_applied()            # the session decides what is checked

    def _show_applied(self) -> None:
        flip = self.session[FLIP]
        for name, tile in self.tiles.items():
            tile.blockSignals(True)
            tile.setChecked(flip is not None and flip["attribute"] == name and flip["value"] == self.values[name])
            tile.blockSignals(False)
        self.applied_label.setText(f"Applied: <b>{flip_label(flip)}</b>" if flip is not None else "No flip applied")
        self.remove_button.setEnabled(flip is not None)
