"""Seed and attribute toggles of a `synthesize` model, bound to the session; the painted mask drives it.

Each toggle shows the value the synthesis uses (the session's `synth_resolved`, computed by the synthesis
controller) and, next to it, where an unset one comes from: "mask" (the painted mask decides it: a bald head,
eyeglasses, an open mouth, bangs) or "photo" (the attribute evaluator's reading); the tooltip says it in words.
Clicking a toggle sets it (the user's value wins from then on); its context menu, or "Automatic" for all,
gives it back to the mask, the photo or the model's default."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.mask_attributes import SOURCE_LABELS
from faceeditor.core.session import READINGS, SEED, SEED_LIMIT, SYNTH_ATTRS, SYNTH_RESOLVED, Session
from faceeditor.ui.bind import bind_spin, watch
from faceeditor.ui.widgets.common import THUMB, model_header, notice, pretty, rgb_thumbnail


class SynthesisPanel(QWidget):
    """Seed, randomise and attribute toggles for a `synthesize` model, bound to the session; the painted
    mask drives it. `generate_requested`: the Generate button (the controller runs the model). `markers`:
    the label next to each toggle saying where an unset value comes from ("mask", "photo" or empty)."""

    generate_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.toggles: dict[str, QCheckBox] = {}
        self.markers: dict[str, QLabel] = {}
        self.model_key: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.header = QLabel()
        self.header.setWordWrap(True)
        outer.addWidget(self.header)
        self.body = QWidget()
        outer.addWidget(self.body, 1)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(THUMB, THUMB)
        self.preview.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        outer.addWidget(self.preview)
        self.set_model(None, "No synthesis (SCGAN) pack is loaded.")
        watch(session, self, (SYNTH_ATTRS, SYNTH_RESOLVED), self._show_toggles)
        watch(session, self, READINGS, self._update_from_photo)

    def set_model(self, model, reason: str = "") -> None:
        self.toggles.clear()
        self.markers.clear()
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(0, 0, 0, 0)
        if model is None:
            self.model_key = None
            self.header.setVisible(False)
            col.addWidget(notice(reason))
            self.preview.setVisible(False)
        else:
            entry = model.entry
            self.model_key = model.key
            self.header.setVisible(True)
            self.header.setText(model_header(model, entry.method or "synthesis"))
            seed_row = QHBoxLayout()
            seed_row.addWidget(QLabel("Seed"))
            self.seed = QSpinBox()
            self.seed.setRange(0, SEED_LIMIT - 1)
            self.randomise = QPushButton("Randomise")
            self.randomise.setToolTip("A new random seed (a new identity for the same mask)")
            seed_row.addWidget(self.seed, 1)
            seed_row.addWidget(self.randomise)
            col.addLayout(seed_row)
            bind_spin(self.session, SEED, self.seed)
            grid = QGridLayout()
            grid.setHorizontalSpacing(4)
            for i, name in enumerate(entry.attributes):
                box = QCheckBox(pretty(name))
                box.toggled.connect(lambda on, name=name: self.session.set_synth_toggle(name, 1.0 if on else 0.0))
                automatic = QAction("Automatic (mask, photo or default)", box)
                automatic.triggered.connect(lambda _=False, name=name: self.session.set_synth_toggle(name, None))
                box.addAction(automatic)
                box.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
                marker = QLabel()
                marker.setStyleSheet("color: palette(mid); font-style: italic;")
                self.toggles[name], self.markers[name] = box, marker
                grid.addWidget(box, i // 2, 2 * (i % 2))
                grid.addWidget(marker, i // 2, 2 * (i % 2) + 1)
            grid.setColumnStretch(1, 1)
            grid.setColumnStretch(3, 1)
            col.addLayout(grid)
            buttons = QHBoxLayout()
            self.automatic = QPushButton("Automatic")
            self.automatic.setToolTip("Forget the attributes you set: each follows the mask, else the photo, "
                                      "else the model's default")
            self.automatic.clicked.connect(lambda: self.session.set_synth_toggles({}))
            self.from_photo = QPushButton("As in the photo")
            self.from_photo.setToolTip("Tick the attributes the attribute evaluator reads in the photo")
            self.from_photo.clicked.connect(self.apply_readings)
            buttons.addWidget(self.automatic)
            buttons.addWidget(self.from_photo)
            col.addLayout(buttons)
            self.auto = QCheckBox("Refresh after each stroke")
            self.auto.setChecked(True)
            self.generate = QPushButton("Generate")
            col.addWidget(self.auto)
            col.addWidget(self.generate)
            self.randomise.clicked.connect(self._randomise)
            self.generate.clicked.connect(self.generate_requested)
            self.preview.setVisible(True)
            self.preview.setText("paint the mask to synthesise a face")
        col.addStretch(1)
        old = self.body
        self.layout().replaceWidget(old, body)
        old.hide()
        old.setParent(None)
        old.deleteLater()
        self.body = body
        self._show_toggles()
        self._update_from_photo()

    def _randomise(self) -> None:
        self.session.set(SEED, int(np.random.default_rng().integers(0, SEED_LIMIT - 1)), name="Random seed")

    def _show_toggles(self) -> None:
        """Each toggle's value as the synthesis uses it, and where an unset one comes from."""
        resolved = self.session.synth_resolved
        values = resolved.values if resolved is not None else self.session[SYNTH_ATTRS]
        sources = resolved.sources if resolved is not None else {}
        for name, box in self.toggles.items():
            blocked = box.blockSignals(True)
            box.setChecked(bool(values.get(name, 0.0)))
            box.blockSignals(blocked)
            source = sources.get(name, "set" if name in self.session[SYNTH_ATTRS] else "default")
            self.markers[name].setText(source if source in ("mask", "photo") else "")
            font = box.font()
            font.setBold(source == "set")
            box.setFont(font)
            how = ("you set it; right-click for automatic" if source == "set" else
                   f"not set: {SOURCE_LABELS[source]}; click to set it yourself")
            box.setToolTip(f"{pretty(name)}: {how}")
            self.markers[name].setToolTip(box.toolTip())
        if self.active:
            self.automatic.setEnabled(bool(self.session[SYNTH_ATTRS]))

    def _update_from_photo(self) -> None:
        if self.active:
            readings = self.session.readings or {}
            self.from_photo.setEnabled(any(name in readings for name in self.toggles))

    def reading_toggles(self) -> dict[str, float]:
        """The session's toggles with those the evaluator reads set from its reading (p > 0.5)."""
        readings = self.session.readings or {}
        toggles = dict(self.session[SYNTH_ATTRS])
        for name in self.toggles:
            if name in readings:
                toggles[name] = 1.0 if readings[name] > 0.5 else 0.0
        return toggles

    def apply_readings(self) -> None:
        """"As in the photo": tick what the reading says is present, as a user's change (one undo step)."""
        self.session.set_synth_toggles(self.reading_toggles())

    @property
    def active(self) -> bool:
        return self.model_key is not None

    @property
    def auto_refresh(self) -> bool:
        return self.active and self.auto.isChecked()

    def attrs(self) -> dict[str, float]:
        """The values the toggles show (those the synthesis uses)."""
        return {name: 1.0 if box.isChecked() else 0.0 for name, box in self.toggles.items()}

    def sources(self) -> dict[str, str]:
        """Where each shown value comes from: "set", "mask", "photo" or "default"."""
        resolved = self.session.synth_resolved
        return dict(resolved.sources) if resolved is not None else {}

    def set_preview(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.preview.clear()
        else:
            self.preview.setPixmap(rgb_thumbnail(rgb))
