"""Dock panels: mask tools and class palette, layers, attribute sliders, synthesis.

Panels hold widgets and emit signals; the main window wires them to the document, the canvas and the
workers. Model-driven panels are built from a loaded model's manifest entry and say plainly what is
missing when no pack can do their task.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES, PARSE_CLASSES, SECGAN_SEGMENTS
from faceeditor.core.mask_layer import MaskLayer
from faceeditor.core.palette import CLASS_COLORS, PALETTE

DEFAULT_SLIDER_RANGE = (-1.5, 1.5)
SLIDER_STEPS_PER_UNIT = 100
THUMB = 128


def class_color(index: int) -> QColor:
    r, g, b = (int(c) for c in PALETTE[index])
    return QColor(r, g, b)


def swatch_icon(color: QColor, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(0, 0, 0, 140))
    painter.setBrush(color)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pix)


def pretty(name: str) -> str:
    return name.replace("_", " ")


def colours_for(classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """(K, 3) uint8 colours for a model's class list: the parse palette by name, a SeCGAN segment by its
    first member class, anything else a fixed grey ramp."""
    groups = dict(SECGAN_SEGMENTS)
    out = []
    for i, name in enumerate(classes):
        if name in CLASS_COLORS:
            out.append(CLASS_COLORS[name])
        elif name in groups:
            out.append(CLASS_COLORS[groups[name][0]])
        else:
            v = 60 + (i * 37) % 180
            out.append((v, v, v))
    return np.asarray(out, np.uint8)


def mask_thumbnail(mask: np.ndarray, classes: tuple[str, ...] | list[str] = PARSE_CLASSES,
                   size: int = THUMB) -> QPixmap:
    rgb = np.ascontiguousarray(colours_for(classes)[np.clip(mask, 0, len(classes) - 1)])
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


def rgb_thumbnail(rgb: np.ndarray, size: int = THUMB) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


def notice(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(False)
    label.setStyleSheet("color: palette(mid); padding: 6px;")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


# --- mask tools and palette ---------------------------------------------------------------------


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
        for i, name in enumerate(PARSE_CLASSES):
            item = QListWidgetItem(swatch_icon(class_color(i)), f"{i:>2}   {pretty(name)}")
            self.classes.addItem(item)
        self.classes.currentRowChanged.connect(lambda _: self.settings_changed.emit())
        layout.addWidget(self.classes, 1)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.eraser = QComboBox()
        self.lock = QComboBox()
        self.lock.addItem("any class", None)
        for i, name in enumerate(PARSE_CLASSES):
            self.eraser.addItem(swatch_icon(class_color(i)), pretty(name), i)
            self.lock.addItem(swatch_icon(class_color(i)), pretty(name), i)
        self.eraser.setToolTip("What the eraser (and right-button painting) leaves behind")
        self.lock.setToolTip("Paint only over this class; everything else is protected")
        form.addRow("Eraser paints", self.eraser)
        form.addRow("Paint only over", self.lock)
        layout.addLayout(form)
        self.mirror = QCheckBox("Mirror left/right (swaps l_/r_ classes)")
        self.mirror.setToolTip("Also paint the mirror image about the face's vertical axis (M)")
        layout.addWidget(self.mirror)
        for w in (self.eraser, self.lock):
            w.currentIndexChanged.connect(lambda _: self.settings_changed.emit())
        self.mirror.toggled.connect(lambda _: self.settings_changed.emit())

        starts = QHBoxLayout()
        self.parse_button = QPushButton("From parser")
        self.parse_button.setToolTip("Replace the mask with the face parser's (one undo step)")
        self.landmarks_button = QPushButton("From landmarks")
        self.landmarks_button.setToolTip("Replace the mask with the face parts the 68 landmarks outline")
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
        return {"label": self.label, "brush_size": self.size_spin.value(),
                "eraser_label": int(self.eraser.currentData()), "lock_label": self.lock.currentData(),
                "mirror": self.mirror.isChecked()}

    def restore(self, state: dict[str, Any]) -> None:
        try:
            if isinstance(state.get("label"), int):
                self.select_class(state["label"])
            if isinstance(state.get("brush_size"), int):
                self.set_brush_size(state["brush_size"])
            if isinstance(state.get("eraser_label"), int) and 0 <= state["eraser_label"] < NUM_CLASSES:
                self.eraser.setCurrentIndex(state["eraser_label"])
            lock = state.get("lock_label")
            self.lock.setCurrentIndex(0 if not isinstance(lock, int) or not 0 <= lock < NUM_CLASSES else lock + 1)
            self.mirror.setChecked(bool(state.get("mirror", False)))
        except (TypeError, ValueError):
            pass


# --- layers -------------------------------------------------------------------------------------


class LayersPanel(QWidget):
    """Visibility of the result and the mask overlay, overlay opacity, before/after split."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        self.result = QCheckBox("Result")
        self.result.setChecked(True)
        self.result.setToolTip("Show the edited result over the photo (hold \\ to compare with the original)")
        self.split = QCheckBox("Before / after split")
        self.split.setToolTip("Original on the left of the divider, result on the right; drag the divider")
        self.overlay = QCheckBox("Mask overlay")
        self.overlay.setChecked(True)
        self.overlay.setToolTip("Show the painted mask over the picture (O)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Mask overlay opacity")
        self.source = QComboBox()
        self.source.addItem("Attribute edit", "attributes")
        self.source.addItem("Synthesis", "synthesis")
        self.source.setToolTip("Which model's output the result layer shows")
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


# --- attributes ---------------------------------------------------------------------------------


def slider_range(extra: dict[str, Any], name: str) -> tuple[float, float]:
    """A slider's range from a manifest entry's `extra`: `slider_ranges[name]`, else `slider_range`,
    else DEFAULT_SLIDER_RANGE. Malformed values fall back to the default."""
    for candidate in ((extra.get("slider_ranges") or {}).get(name) if isinstance(extra.get("slider_ranges"), dict)
                      else None, extra.get("slider_range")):
        if (isinstance(candidate, (list, tuple)) and len(candidate) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                        for v in candidate) and candidate[0] < 0 < candidate[1]):
            return float(candidate[0]), float(candidate[1])
    return DEFAULT_SLIDER_RANGE


class AttributeSlider(QWidget):
    value_changed = Signal(str, float)

    def __init__(self, name: str, lo: float, hi: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(pretty(name))
        self.label.setMinimumWidth(120)
        self.reading = QLabel()
        self.reading.setFixedWidth(34)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reading.setStyleSheet("color: gray;")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(round(lo * SLIDER_STEPS_PER_UNIT)), int(round(hi * SLIDER_STEPS_PER_UNIT)))
        self.slider.setValue(0)
        self.slider.setToolTip(f"{pretty(name)}: {lo:+.2f} … {hi:+.2f} (0 = unchanged; beyond ±1 exaggerates)")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(0.1)
        self.spin.setDecimals(2)
        self.spin.setFixedWidth(68)
        self.reset = QToolButton()
        self.reset.setText("⟲")
        self.reset.setToolTip(f"Reset {pretty(name)} to 0")
        self.reset.setAutoRaise(True)
        row.addWidget(self.label)
        row.addWidget(self.reading)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(self.reset)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)
        self.reset.clicked.connect(lambda: self.set_value(0.0))

    @property
    def value(self) -> float:
        return self.slider.value() / SLIDER_STEPS_PER_UNIT

    def set_value(self, value: float, *, notify: bool = True) -> None:
        self.blockSignals(not notify)
        self.slider.setValue(int(round(value * SLIDER_STEPS_PER_UNIT)))
        self.blockSignals(False)

    def set_reading(self, probability: float | None) -> None:
        """Show how strongly the attribute evaluator sees the attribute in the face (None: unknown)."""
        if probability is None:
            self.reading.clear()
            self.reading.setToolTip("")
            return
        self.reading.setText(f"{100 * probability:.0f}%")
        self.reading.setToolTip(f"The attribute evaluator reads {pretty(self.name)} in this face with "
                                f"probability {probability:.2f}: +1 asks for it, \u22121 for its absence")

    def _slider_moved(self, raw: int) -> None:
        v = raw / SLIDER_STEPS_PER_UNIT
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.label.setStyleSheet("font-weight: 600;" if raw else "")
        self.value_changed.emit(self.name, v)

    def _spin_changed(self, v: float) -> None:
        self.slider.setValue(int(round(v * SLIDER_STEPS_PER_UNIT)))


KEEP_OUTSIDE_TIP = ("Only the parts the moved sliders concern (by the document's mask and the face parser's "
                    "mask of the result) take the edit; every other pixel stays as it was. Off: the "
                    "editor's whole output, which may blur the rest.")
KEEP_DETAIL_TIP = ("Add the editor's change to the photo instead of taking its output: the photo keeps its "
                   "detail and sharpness, but changes of shape (hair removed, glasses added) come out fainter.")


class AttributePanel(QWidget):
    """A slider per attribute of the loaded editor; live preview; the predicted target mask."""

    values_changed = Signal(dict)
    keep_options_changed = Signal()   # "Keep the rest of the face" or "Keep the photo's detail" toggled

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.sliders: dict[str, AttributeSlider] = {}
        self.model_key: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.header = QLabel()
        self.header.setWordWrap(True)
        outer.addWidget(self.header)
        self.area = QScrollArea()
        self.area.setWidgetResizable(True)
        self.area.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(self.area, 1)
        bottom = QHBoxLayout()
        self.reset_all = QPushButton("Reset all")
        self.reset_all.clicked.connect(self.reset)
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(mid);")
        bottom.addWidget(self.reset_all)
        bottom.addWidget(self.status, 1)
        outer.addLayout(bottom)
        self.keep_outside = QCheckBox("Keep the rest of the face")
        self.keep_outside.setChecked(True)
        self.keep_outside.setToolTip(KEEP_OUTSIDE_TIP)
        self.keep_outside.toggled.connect(lambda _on: self.keep_options_changed.emit())
        outer.addWidget(self.keep_outside)
        self.keep_detail = QCheckBox("Keep the photo's detail")
        self.keep_detail.setToolTip(KEEP_DETAIL_TIP)
        self.keep_detail.toggled.connect(lambda _on: self.keep_options_changed.emit())
        outer.addWidget(self.keep_detail)
        self.predicted_box = QGroupBox("Predicted target mask")
        pv = QVBoxLayout(self.predicted_box)
        self.predicted = QLabel()
        self.predicted.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.predicted.setMinimumSize(THUMB, THUMB)
        pv.addWidget(self.predicted)
        outer.addWidget(self.predicted_box)
        self.set_model(None, "No attribute editor is loaded.")

    def set_model(self, model, reason: str = "") -> None:
        """Build sliders for a LoadedModel of task edit_attributes (None: show `reason`)."""
        self.sliders.clear()
        content = QWidget()
        col = QVBoxLayout(content)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        if model is None:
            self.model_key = None
            self.header.setVisible(False)
            col.addWidget(notice(reason))
            self.reset_all.setVisible(False)
            self.predicted_box.setVisible(False)
        else:
            entry = model.entry
            self.model_key = model.key
            self.header.setVisible(True)
            self.reset_all.setVisible(True)
            domain = f" · trained on {entry.data_domain}" if entry.data_domain else ""
            what = " / ".join(x for x in (entry.method, entry.backbone) if x)
            self.header.setText(f"<b>{model.key}</b> <span style='color:gray'>{what} · "
                                f"{model.resolution}px{domain}</span>")
            for name in entry.attributes:
                lo, hi = slider_range(entry.extra, name)
                s = AttributeSlider(name, lo, hi)
                s.value_changed.connect(self._changed)
                self.sliders[name] = s
                col.addWidget(s)
            self.reset_all.setEnabled(True)
            self.predicted_box.setVisible(model.has_output("mask_probs"))
            self.predicted.clear()
            self.predicted.setText("moves a slider to see it")
        col.addStretch(1)
        self.area.setWidget(content)

    def values(self) -> dict[str, float]:
        return {name: s.value for name, s in self.sliders.items()}

    def set_keep_outside_available(self, available: bool) -> None:
        """Keeping the rest needs a face parser; without one the box is shown off and disabled."""
        self.keep_outside.setEnabled(available)
        self.keep_outside.setToolTip(KEEP_OUTSIDE_TIP if available
                                     else "Needs a face parser: load a pack with a parse model.")

    def keeps_outside(self) -> bool:
        return self.keep_outside.isEnabled() and self.keep_outside.isChecked()

    def keeps_detail(self) -> bool:
        return self.keep_detail.isChecked()

    def nonzero_values(self) -> dict[str, float]:
        return {k: v for k, v in self.values().items() if v != 0.0}

    def set_values(self, values: dict[str, Any], *, notify: bool = False) -> None:
        for name, s in self.sliders.items():
            v = values.get(name, 0.0)
            s.set_value(float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0, notify=False)
        if notify:
            self.values_changed.emit(self.values())

    def set_value(self, name: str, value: float) -> None:
        """Move one slider as a user would (emits values_changed)."""
        self.sliders[name].set_value(value)

    def reset(self) -> None:
        self.set_values({}, notify=True)

    def _changed(self, name: str, value: float) -> None:
        self.values_changed.emit(self.values())

    def set_readings(self, readings: dict[str, float] | None) -> None:
        """The evaluator's reading of the face next to each slider; attributes it does not read stay blank."""
        for name, s in self.sliders.items():
            s.set_reading(None if readings is None else readings.get(name))

    def set_predicted_mask(self, mask: np.ndarray | None, classes: tuple[str, ...] = PARSE_CLASSES) -> None:
        if mask is None:
            self.predicted.clear()
            return
        self.predicted.setPixmap(mask_thumbnail(mask, classes))


# --- synthesis ----------------------------------------------------------------------------------


class SynthesisPanel(QWidget):
    """Seed, randomise, attribute toggles for a `synthesize` model; the painted mask drives it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.toggles: dict[str, QCheckBox] = {}
        self.model_key: str | None = None
        self.readings: dict[str, float] = {}
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
            domain = f" · trained on {entry.data_domain}" if entry.data_domain else ""
            self.header.setText(f"<b>{model.key}</b> <span style='color:gray'>{entry.method or 'synthesis'} · "
                                f"{model.resolution}px{domain}</span>")
            seed_row = QHBoxLayout()
            seed_row.addWidget(QLabel("Seed"))
            self.seed = QSpinBox()
            self.seed.setRange(0, 2**31 - 1)
            self.seed.setValue(0)
            self.randomise = QPushButton("Randomise")
            self.randomise.setToolTip("A new random seed (a new identity for the same mask)")
            seed_row.addWidget(self.seed, 1)
            seed_row.addWidget(self.randomise)
            col.addLayout(seed_row)
            grid = QGridLayout()
            for i, name in enumerate(entry.attributes):
                box = QCheckBox(pretty(name))
                box.toggled.connect(lambda _: self.changed.emit())
                self.toggles[name] = box
                grid.addWidget(box, i // 3, i % 3)
            col.addLayout(grid)
            self.from_photo = QPushButton("As in the photo")
            self.from_photo.setToolTip("Tick the attributes the attribute evaluator reads in the photo")
            self.from_photo.clicked.connect(self._apply_readings_clicked)
            col.addWidget(self.from_photo)
            self._update_from_photo()
            self.auto = QCheckBox("Refresh after each stroke")
            self.auto.setChecked(True)
            self.generate = QPushButton("Generate")
            col.addWidget(self.auto)
            col.addWidget(self.generate)
            self.seed.valueChanged.connect(lambda _: self.changed.emit())
            self.randomise.clicked.connect(self._randomise)
            self.generate.clicked.connect(self.changed)
            self.preview.setVisible(True)
            self.preview.setText("paint the mask to synthesise a face")
        col.addStretch(1)
        old = self.body
        self.layout().replaceWidget(old, body)
        old.hide()
        old.setParent(None)
        old.deleteLater()
        self.body = body

    def _randomise(self) -> None:
        self.seed.setValue(int(np.random.default_rng().integers(0, 2**31 - 1)))

    def set_readings(self, readings: dict[str, float] | None) -> None:
        """Remember the evaluator's reading of the photo (None: there is none) for "As in the photo"."""
        self.readings = dict(readings or {})
        self._update_from_photo()

    def _update_from_photo(self) -> None:
        if self.active:
            self.from_photo.setEnabled(any(name in self.readings for name in self.toggles))

    def apply_readings(self) -> bool:
        """Tick the toggles the reading says are present (p > 0.5), silently; True if any changed.
        Attributes the evaluator does not read keep their state."""
        changed = False
        for name, box in self.toggles.items():
            if name in self.readings and box.isChecked() != (self.readings[name] > 0.5):
                box.blockSignals(True)
                box.setChecked(self.readings[name] > 0.5)
                box.blockSignals(False)
                changed = True
        return changed

    def _apply_readings_clicked(self) -> None:
        if self.apply_readings():
            self.changed.emit()

    @property
    def active(self) -> bool:
        return self.model_key is not None

    @property
    def auto_refresh(self) -> bool:
        return self.active and self.auto.isChecked()

    def attrs(self) -> dict[str, float]:
        return {name: 1.0 if box.isChecked() else 0.0 for name, box in self.toggles.items()}

    def state(self) -> dict[str, Any]:
        if not self.active:
            return {}
        return {"seed": self.seed.value(), "attrs": self.attrs()}

    def restore(self, state: dict[str, Any]) -> None:
        if not self.active or not isinstance(state, dict):
            return
        self.blockSignals(True)
        try:
            if isinstance(state.get("seed"), int) and 0 <= state["seed"] < 2**31:
                self.seed.setValue(state["seed"])
            attrs = state.get("attrs") if isinstance(state.get("attrs"), dict) else {}
            for name, box in self.toggles.items():
                box.setChecked(bool(attrs.get(name, 0.0)))
        finally:
            self.blockSignals(False)

    def set_preview(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.preview.clear()
        else:
            self.preview.setPixmap(rgb_thumbnail(rgb))
