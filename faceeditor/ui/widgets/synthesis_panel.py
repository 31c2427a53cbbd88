"""Seed and attribute toggles of a `synthesize` model, bound to the session; the painted mask drives it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
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

from faceeditor.core.session import READINGS, SEED, SEED_LIMIT, SYNTH_ATTRS, Session
from faceeditor.ui.bind import bind_spin, watch
from faceeditor.ui.widgets.common import THUMB, model_header, notice, pretty, rgb_thumbnail


class SynthesisPanel(QWidget):
    """Seed, randomise and attribute toggles for a `synthesize` model, bound to the session; the painted
    mask drives it. `generate_requested`: the Generate button (the controller runs the model)."""

    generate_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.toggles: dict[str, QCheckBox] = {}
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
        watch(session, self, SYNTH_ATTRS, self._show_toggles)
        watch(session, self, READINGS, self._update_from_photo)

    def set_model(self, model, reason: str = "") -> None:
        self.toggles.clear()
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
            for i, name in enumerate(entry.attributes):
                box = QCheckBox(pretty(name))
                box.toggled.connect(self._toggled)
                self.toggles[name] = box
                grid.addWidget(box, i // 3, i % 3)
            col.addLayout(grid)
            self.from_photo = QPushButton("As in the photo")
            self.from_photo.setToolTip("Tick the attributes the attribute evaluator reads in the photo")
            self.from_photo.clicked.connect(self.apply_readings)
            col.addWidget(self.from_photo)
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

    def _toggled(self, _on: bool) -> None:
        self.session.set_synth_toggles({**self.session[SYNTH_ATTRS], **self.attrs()})

    def _show_toggles(self) -> None:
        values = self.session[SYNTH_ATTRS]
        for name, box in self.toggles.items():
            blocked = box.blockSignals(True)
            box.setChecked(bool(values.get(name, 0.0)))
            box.blockSignals(blocked)

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
        return {name: 1.0 if box.isChecked() else 0.0 for name, box in self.toggles.items()}

    def set_preview(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.preview.clear()
        else:
            self.preview.setPixmap(rgb_thumbnail(rgb))
