"""The mask tools: brush size, class palette, eraser class, lock, mirror, and the mask's starting points."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES, class_help, class_label
from faceeditor.core.mask_layer import MaskLayer
from faceeditor.ui.widgets.common import class_color, swatch_icon

LOCK_COLOUR = "#f0a030"           # "Paint only over" is set: shown in this colour here and on the toolbar


class MaskPanel(QWidget):
    """Brush size, class palette, eraser class, lock, mirror, and the mask's starting points."""

    settings_changed = Signal()
    parse_requested = Signal()
    landmarks_requested = Signal()
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("Size"))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 200)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, 512)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter in mask pixels ([ and ] change it)")
        size_row.addWidget(self.size_slider, 1)
        size_row.addWidget(self.size_spin)
        layout.addLayout(size_row)
        self.size_slider.valueChanged.connect(self.size_spin.setValue)
        self.size_spin.valueChanged.connect(self._size_changed)

        self.classes = QListWidget()
        self.classes.setIconSize(QSize(14, 14))
        self.classes.setUniformItemSizes(True)
        self.classes.setToolTip("Class painted by the brush and fill. Type its number (0-18; two digits "
                                "quickly for 10-18), or Ctrl+click the canvas to pick it.")
        for i in range(NUM_CLASSES):
            item = QListWidgetItem(swatch_icon(class_color(i)), f"{i:>2}   {class_label(i)}")
            item.setToolTip(class_help(i))
            self.classes.addItem(item)
        self.classes.currentRowChanged.connect(lambda _: self.settings_changed.emit())
        layout.addWidget(self.classes, 1)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.eraser = QComboBox()
        self.lock = QComboBox()
        self.lock.addItem("any class", None)
        for i in range(NUM_CLASSES):
            for combo in (self.eraser, self.lock):
                combo.addItem(swatch_icon(class_color(i)), class_label(i), i)
                combo.setItemData(combo.count() - 1, class_help(i), Qt.ItemDataRole.ToolTipRole)
        self.eraser.setToolTip("What the eraser (and right-button painting) leaves behind")
        self.lock.setToolTip("Paint only over this class; everything else is protected. Not kept across "
                             "starts: each start paints over any class.")
        form.addRow("Eraser paints", self.eraser)
        form.addRow("Paint only over", self.lock)
        layout.addLayout(form)
        self.mirror = QCheckBox("Mirror left \u2194 right")
        self.mirror.setToolTip("Also paint the mirror image about the face's vertical axis, swapping left and "
                               "right parts (left eye \u2194 right eye, ...) (M)")
        layout.addWidget(self.mirror)
        for w in (self.eraser, self.lock):
            w.currentIndexChanged.connect(lambda _: self.settings_changed.emit())
        self.lock.currentIndexChanged.connect(
            lambda i: self.lock.setStyleSheet(f"QComboBox {{ color: {LOCK_COLOUR}; font-weight: 600; }}" if i else ""))
        self.mirror.toggled.connect(lambda _: self.settings_changed.emit())

        starts = QHBoxLayout()
        self.parse_button = QPushButton("From parser")
        self.parse_button.setToolTip("Replace the mask with the face parser's (one undo step)")
        self.landmarks_button = QPushButton("From landmarks")
        self.landmarks_button.setToolTip("Replace the mask with a whole portrait from the 68 landmarks: the "
                                         "face parts they outline on a head template fitted to them")
        self.clear_button = QPushButton("Clear")
        for b in (self.parse_button, self.landmarks_button, self.clear_button):
            starts.addWidget(b)
        layout.addLayout(starts)
        self.parse_button.clicked.connect(self.parse_requested)
        self.landmarks_button.clicked.connect(self.landmarks_requested)
        self.clear_button.clicked.connect(self.clear_requested)

        self.size_spin.setValue(12)
        self.classes.setCurrentRow(CLASS_INDEX["skin"])

    def _size_changed(self, value: int) -> None:
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(min(value, self.size_slider.maximum()))
        self.size_slider.blockSignals(False)
        self.settings_changed.emit()

    # --- state --------------------------------------------------------------------------------
    @property
    def label(self) -> int:
        return max(0, self.classes.currentRow())

    def select_class(self, index: int) -> None:
        if 0 <= index < NUM_CLASSES:
            self.classes.setCurrentRow(index)

    def set_brush_size(self, size: int) -> None:
        self.size_spin.setValue(int(size))

    def grow_brush(self, factor: float) -> None:
        size = self.size_spin.value()
        new = size * factor
        new = math.ceil(new) if factor > 1 else math.floor(new)
        if new == size:
            new = size + (1 if factor > 1 else -1)
        self.set_brush_size(max(1, new))

    def apply_to(self, layer: MaskLayer) -> None:
        layer.label = self.label
        layer.set_brush_size(self.size_spin.value())
        layer.eraser_label = int(self.eraser.currentData())
        layer.lock_label = self.lock.currentData()
        layer.mirror = self.mirror.isChecked()

    def set_parser_available(self, available: bool, reason: str = "") -> None:
        self.parse_button.setEnabled(available)
        self.parse_button.setToolTip("Replace the mask with the face parser's (one undo step)" if available
                                     else reason)

    def state(self) -> dict[str, Any]:
        """The settings kept across starts. "Paint only over" is not among them: carried into the next start
        it made strokes silently do nothing, so each start paints over any class."""
        return {"label": self.label, "brush_size": self.size_spin.value(),
                "eraser_label": int(self.eraser.currentData()), "mirror": self.mirror.isChecked()}

    def restore(self, state: dict[str, Any]) -> None:
        try:
            if isinstance(state.get("label"), int):
                self.select_class(state["label"])
            if isinstance(state.get("brush_size"), int):
                self.set_brush_size(state["brush_size"])
            if isinstance(state.get("eraser_label"), int) and 0 <= state["eraser_label"] < NUM_CLASSES:
                self.eraser.setCurrentIndex(state["eraser_label"])
            self.mirror.setChecked(bool(state.get("mirror", False)))
        except (TypeError, ValueError):
            pass
