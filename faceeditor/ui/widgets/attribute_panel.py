"""A slider per attribute of the loaded editor, bound to the session's attribute values."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.labels import PARSE_CLASSES
from faceeditor.core.session import ATTRIBUTES, KEEP_DETAIL, KEEP_OUTSIDE, PAINTED_MASK, READINGS, Session
from faceeditor.ui.bind import bind_toggle, watch
from faceeditor.ui.widgets.common import THUMB, mask_thumbnail, model_header, notice, pretty

DEFAULT_SLIDER_RANGE = (-1.5, 1.5)
SLIDER_STEPS_PER_UNIT = 100
SLIDER_MIN_WIDTH = 180          # px: under 0.017 per pixel over -1.5 ... 1.5 (it was ~70 px)
FINE_STEP, PAGE_STEP, WHEEL_STEP = 1, 10, 5      # in slider steps (0.01): arrows, Page Up/Down, a wheel notch


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


class FineSlider(QSlider):
    """A horizontal QSlider for fine work: arrows step 0.01, Page Up/Down 0.1, a wheel notch 0.05 (0.01 with
    Shift), a click on the groove steps 0.1 towards it, and a double-click resets to 0."""

    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSingleStep(FINE_STEP)
        self.setPageStep(PAGE_STEP)
        self.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event) -> None:
        notches = (event.angleDelta().y() or event.angleDelta().x()) / 120
        if not notches:
            event.ignore()
            return
        fine = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        step = FINE_STEP if fine else WHEEL_STEP
        self.setValue(self.value() + int(round(notches * step)) or (step if notches > 0 else -step))
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.reset_requested.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


class AttributeSlider(QWidget):
    """One attribute: label, the evaluator's reading, a slider with a spin box, and a reset button."""

    value_changed = Signal(str, float)
    drag_started = Signal(str)
    drag_finished = Signal(str)
    pointed = Signal(str, bool)         # (name, True) the mouse is over the row or drags its slider; False: neither

    def __init__(self, name: str, lo: float, hi: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.label = QLabel(pretty(name))
        self.label.setMinimumWidth(80)
        self.label.setWordWrap(True)            # a long name wraps instead of narrowing the slider
        self.reading = QLabel()
        self.reading.setFixedWidth(34)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reading.setStyleSheet("color: gray;")
        self.slider = FineSlider()
        self.slider.setRange(int(round(lo * SLIDER_STEPS_PER_UNIT)), int(round(hi * SLIDER_STEPS_PER_UNIT)))
        self.slider.setValue(0)
        self.slider.setToolTip(f"{pretty(name)}: {lo:+.2f} … {hi:+.2f} (0 = unchanged; beyond ±1 exaggerates)\n"
                               "Arrows: ±0.01 · Page Up/Down: ±0.1 · wheel: ±0.05 (Shift: ±0.01) · "
                               "double-click: reset to 0")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(0.01)
        self.spin.setDecimals(2)
        self.spin.setFixedWidth(64)
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
        self.slider.reset_requested.connect(lambda: self.set_value(0.0))
        self.slider.sliderPressed.connect(lambda: self.drag_started.emit(self.name))
        self.slider.sliderReleased.connect(lambda: self.drag_finished.emit(self.name))
        self._hovered = self._dragging = False
        self.slider.sliderPressed.connect(lambda: self._point(dragging=True))
        self.slider.sliderReleased.connect(lambda: self._point(dragging=False))

    def enterEvent(self, event) -> None:
        self._point(hovered=True)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self._point(hovered=False)
        super().leaveEvent(event)

    def _point(self, *, hovered: bool | None = None, dragging: bool | None = None) -> None:
        """Tell whether the row is pointed at (hovered, or its slider dragged) when that changes."""
        was = self._hovered or self._dragging
        self._hovered = self._hovered if hovered is None else hovered
        self._dragging = self._dragging if dragging is None else dragging
        if (self._hovered or self._dragging) != was:
            self.pointed.emit(self.name, not was)

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
PAINTED_MASK_TIP = ("MagGAN takes the regions each attribute may change from your painted mask (the Mask "
                    "panel) instead of from the face parser's reading of the photo: correct the mask where the "
                    "parser is wrong, and the edit follows it. Only editors that read a mask (MagGAN) use it.")
KEEP_DETAIL_TIP = ("Add the editor's change to the photo instead of taking its output: the photo keeps its "
                   "detail and sharpness, but changes of shape (hair removed, glasses added) come out fainter.")


class AttributePanel(QWidget):
    """A slider per attribute of the loaded editor, the keep options and the predicted target mask.

    Bound to the session: a slider writes its value into the session (a drag is one undo step when
    released, keyboard and spin-box changes of one slider merge), and shows the session's values.
    `region_wanted` names the attribute whose slider the mouse is over or drags (None when none is);
    `dragging` says when a slider's drag starts (True) and ends (False), after its undo step is recorded."""

    region_wanted = Signal(object)
    dragging = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
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
        self.keep_outside.setToolTip(KEEP_OUTSIDE_TIP)
        bind_toggle(session, KEEP_OUTSIDE, self.keep_outside)
        outer.addWidget(self.keep_outside)
        self.keep_detail = QCheckBox("Keep the photo's detail")
        self.keep_detail.setToolTip(KEEP_DETAIL_TIP)
        bind_toggle(session, KEEP_DETAIL, self.keep_detail)
        outer.addWidget(self.keep_detail)
        self.painted_mask = QCheckBox("Use my painted mask")
        self.painted_mask.setToolTip(PAINTED_MASK_TIP)
        bind_toggle(session, PAINTED_MASK, self.painted_mask)
        outer.addWidget(self.painted_mask)
        self.pointed: str | None = None
        self.predicted_box = QGroupBox("Predicted target mask")
        pv = QVBoxLayout(self.predicted_box)
        self.predicted = QLabel()
        self.predicted.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.predicted.setMinimumSize(THUMB, THUMB)
        pv.addWidget(self.predicted)
        outer.addWidget(self.predicted_box)
        self.set_model(None, "No attribute editor is loaded.")
        watch(session, self, ATTRIBUTES, self._show_values)
        watch(session, self, READINGS, self._show_readings)

    def set_model(self, model, reason: str = "") -> None:
        """Build sliders for a LoadedModel of task edit_attributes (None: show `reason`)."""
        self.sliders.clear()
        self._pointed(self.pointed or "", False)
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
            self.header.setText(model_header(model, " / ".join(x for x in (entry.method, entry.backbone) if x)))
            for name in entry.attributes:
                lo, hi = slider_range(entry.extra, name)
                s = AttributeSlider(name, lo, hi)
                s.value_changed.connect(self._slider_changed)
                s.drag_started.connect(self._drag_started)
                s.drag_finished.connect(self._drag_finished)
                s.pointed.connect(self._pointed)
                self.sliders[name] = s
                col.addWidget(s)
            self.reset_all.setEnabled(True)
            self.predicted_box.setVisible(model.has_output("mask_probs"))
            self.predicted.clear()
            self.predicted.setText("moves a slider to see it")
        col.addStretch(1)
        self.area.setWidget(content)
        self._show_values()
        self._show_readings()

    def _pointed(self, name: str, on: bool) -> None:
        if on:
            self.pointed = name
        elif self.pointed != name:
            return
        else:
            self.pointed = None
        self.region_wanted.emit(self.pointed)

    def _drag_started(self, _name: str) -> None:
        self.session.begin_gesture(ATTRIBUTES)
        self.dragging.emit(True)

    def _drag_finished(self, name: str) -> None:
        self.session.end_gesture(ATTRIBUTES, f"Set {pretty(name)}")
        self.dragging.emit(False)

    def _slider_changed(self, name: str, value: float) -> None:
        self.session.set_attribute(name, value, merge=True)

    def _show_values(self) -> None:
        values = self.session[ATTRIBUTES]
        for name, s in self.sliders.items():
            s.set_value(values.get(name, 0.0), notify=False)

    def _show_readings(self) -> None:
        """The evaluator's reading of the face next to each slider; attributes it does not read stay blank."""
        readings = self.session.readings
        for name, s in self.sliders.items():
            s.set_reading(None if readings is None else readings.get(name))

    def values(self) -> dict[str, float]:
        return {name: s.value for name, s in self.sliders.items()}

    def set_keep_outside_available(self, available: bool) -> None:
        """Keeping the rest needs a face parser; without one the box is disabled."""
        self.keep_outside.setEnabled(available)
        self.keep_outside.setToolTip(KEEP_OUTSIDE_TIP if available
                                     else "Needs a face parser: load a pack with a parse model.")

    def set_painted_mask_available(self, available: bool) -> None:
        """Only an editor that reads parse probabilities (a `masks` input) can take the painted mask."""
        self.painted_mask.setEnabled(available)
        self.painted_mask.setToolTip(PAINTED_MASK_TIP if available
                                     else PAINTED_MASK_TIP + "\nThe loaded editor reads no mask.")

    def keeps_outside(self) -> bool:
        return self.keep_outside.isEnabled() and self.keep_outside.isChecked()

    def keeps_detail(self) -> bool:
        return self.keep_detail.isChecked()

    def set_value(self, name: str, value: float) -> None:
        """Move one slider as a user would (the session hears it)."""
        self.sliders[name].set_value(value)

    def reset(self) -> None:
        self.session.set(ATTRIBUTES, {}, name="Reset the attributes")

    def set_predicted_mask(self, mask: np.ndarray | None, classes: tuple[str, ...] = PARSE_CLASSES) -> None:
        if mask is None:
            self.predicted.clear()
            return
        self.predicted.setPixmap(mask_thumbnail(mask, classes))
