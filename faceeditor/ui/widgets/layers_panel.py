"""What the canvas shows: the result and which one, the mask overlay and its opacity, the split."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QSlider,
    QWidget,
)

from faceeditor.core.session import SHOWN, Session
from faceeditor.ui.bind import bind_combo_data


class LayersPanel(QWidget):
    """Visibility of the result and the mask overlay, overlay opacity, before/after split."""

    changed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        self.result = QCheckBox("Result")
        self.result.setChecked(True)
        self.result.setToolTip("Show the edited result over the photo (hold \\ to compare with the original)")
        self.split = QCheckBox("Before / after split")
        self.split.setToolTip("Original on the left of the divider, result on the right; drag the divider")
        self.overlay = QCheckBox("Mask overlay")       # off until the user paints or asks (the first screen)
        self.overlay.setToolTip("Show the painted mask over the picture (O); painting or a mask tool turns it on")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Mask overlay opacity")
        self.source = QComboBox()
        self.source.addItem("Attribute edit", "attributes")
        self.source.addItem("Synthesis", "synthesis")
        self.source.addItem("Flip", "flip")
        self.source.setToolTip("Which model's output the result layer shows")
        bind_combo_data(session, SHOWN, self.source)
        self.outline = QCheckBox("Crop outline")
        self.outline.setChecked(True)
        self.outline.setToolTip("Where the aligned crop lies: the mask and the models work inside it")
        grid.addWidget(self.result, 0, 0)
        grid.addWidget(self.source, 0, 1)
        grid.addWidget(self.split, 1, 0, 1, 2)
        grid.addWidget(self.overlay, 2, 0)
        grid.addWidget(self.opacity, 2, 1)
        grid.addWidget(self.outline, 3, 0)
        grid.setRowStretch(4, 1)
        for w in (self.result, self.split, self.overlay, self.outline):
            w.toggled.connect(lambda _: self.changed.emit())
        self.opacity.valueChanged.connect(lambda _: self.changed.emit())
