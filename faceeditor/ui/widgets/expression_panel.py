"""The expression panel: the expression evaluator's reading of the open face (8 bars), a button per
expression of the loaded expression editor and an intensity slider, bound to the session's `expression`
and `expression_intensity` (saved in the project, undoable: a button click is one step, a slider drag one
step when released)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.labels import EXPRESSIONS
from faceeditor.core.session import EXPRESSION, EXPRESSION_INTENSITY, Session
from faceeditor.ui.bind import watch
from faceeditor.ui.widgets.attribute_panel import FineSlider
from faceeditor.ui.widgets.common import model_header, notice, pretty

INTENSITY_RANGE = (0.0, 1.5)
STEPS_PER_UNIT = 100


class ExpressionPanel(QWidget):
    """See the module docstring. `dragging` tells the controller a slider drag starts or ends."""

    dragging = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.model_key: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()              # the panel scrolls rather than making the window taller
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        content = QWidget()
        scroll.setWidget(content)
        col = QVBoxLayout(content)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.header)
        self.missing = notice("")
        col.addWidget(self.missing)

        reading = QGroupBox("What the face shows")
        grid = QGridLayout(reading)
        self.bars: dict[str, QProgressBar] = {}
        for row, name in enumerate(EXPRESSIONS):
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setTextVisible(True)
            bar.setFormat("%p%")
            grid.addWidget(QLabel(pretty(name)), row, 0)
            grid.addWidget(bar, row, 1)
            self.bars[name] = bar
        self.reading_note = notice("No expression evaluator is loaded.")
        grid.addWidget(self.reading_note, len(EXPRESSIONS), 0, 1, 2)
        col.addWidget(reading)

        self.edit_box = QGroupBox("Change the expression to")
        box = QVBoxLayout(self.edit_box)
        buttons = QGridLayout()
        self.group = QButtonGroup(self)
        self.group.setExclusive(False)          # a checked button clicked again turns the edit off
        self.buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(EXPRESSIONS):
            b = QPushButton(pretty(name))
            b.setCheckable(True)
            b.setToolTip(f"Give the face a {pretty(name).lower()} expression (click again for none)")
            b.clicked.connect(lambda checked, name=name: self._picked(name, checked))
            buttons.addWidget(b, i // 2, i % 2)
            self.group.addButton(b)
            self.buttons[name] = b
        box.addLayout(buttons)
        row = QHBoxLayout()
        row.addWidget(QLabel("Intensity"))
        self.slider = FineSlider()
        self.slider.setRange(int(INTENSITY_RANGE[0] * STEPS_PER_UNIT), int(INTENSITY_RANGE[1] * STEPS_PER_UNIT))
        self.slider.setToolTip("0 leaves the face as it is, 1 is the full expression, above 1 exaggerates it")
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderPressed.connect(self._pressed)
        self.slider.sliderReleased.connect(self._released)
        self.slider.reset_requested.connect(lambda: self.slider.setValue(STEPS_PER_UNIT))
        row.addWidget(self.slider, 1)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(36)
        row.addWidget(self.value_label)
        box.addLayout(row)
        self.order_note = notice("The expression is changed first; attribute edits apply to the changed face.")
        box.addWidget(self.order_note)
        col.addWidget(self.edit_box)
        col.addStretch(1)

        self.set_model(None, "No expression editor is loaded.")
        self.set_reading(None)
        watch(session, self, (EXPRESSION, EXPRESSION_INTENSITY), self._show_values)
        self._show_values()

    # --- the controller's side --------------------------------------------------------------------
    def set_model(self, model, reason: str = "") -> None:
        """Enable the buttons of a LoadedModel of task edit_expression (None: show `reason`)."""
        self.model_key = None if model is None else model.key
        self.header.setVisible(model is not None)
        self.missing.setVisible(model is None)
        self.missing.setText(reason)
        self.edit_box.setEnabled(model is not None)
        if model is not None:
            self.header.setText(model_header(model, " / ".join(x for x in (model.entry.method, model.entry.backbone) if x)))
            known = set(model.entry.expressions)
            for name, b in self.buttons.items():
                b.setEnabled(name in known)

    def set_reading(self, probs: dict[str, float] | None, reason: str = "No expression evaluator is loaded.") -> None:
        """The evaluator's probabilities of the open face (None: unknown, bars empty, `reason` shown)."""
        for name, bar in self.bars.items():
            value = None if probs is None else probs.get(name)
            bar.setValue(0 if value is None else int(round(100 * value)))
            bar.setEnabled(value is not None)
        self.reading_note.setVisible(probs is None)
        self.reading_note.setText(reason)

    # --- the user's side --------------------------------------------------------------------------
    def _picked(self, name: str, checked: bool) -> None:
        self.session.set(EXPRESSION, name if checked else None,
                         name=f"Expression {pretty(name).lower()}" if checked else "No expression")

    def _slid(self, steps: int) -> None:
        self.session.set(EXPRESSION_INTENSITY, steps / STEPS_PER_UNIT, merge=True)

    def _pressed(self) -> None:
        self.session.begin_gesture(EXPRESSION_INTENSITY)
        self.dragging.emit(True)

    def _released(self) -> None:
        self.session.end_gesture(EXPRESSION_INTENSITY)
        self.dragging.emit(False)

    def _show_values(self) -> None:
        chosen, intensity = self.session[EXPRESSION], float(self.session[EXPRESSION_INTENSITY])
        for name, b in self.buttons.items():
            blocked = b.blockSignals(True)
            b.setChecked(name == chosen)
            b.blockSignals(blocked)
        blocked = self.slider.blockSignals(True)
        self.slider.setValue(int(round(intensity * STEPS_PER_UNIT)))
        self.slider.blockSignals(blocked)
        self.value_label.setText(f"{intensity:.2f}")
