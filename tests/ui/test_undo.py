"""One undo history per document in the app: a slider drag is one step when released, seed and toggle
changes and re-crops are steps, and each undo brings the panels, the canvas and the result back."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from tests.helpers.ui import open_and_wait


def _handle_centre(slider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                         QStyle.SubControl.SC_SliderHandle, slider)
    return rect.center()


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def test_a_slider_drag_is_one_undo_step_when_released(opened, qtbot):
    w = opened
    slider = w.attributes.sliders["Bangs"].slider
    steps = len(w.doc.history.undo_stack)
    start = _handle_centre(slider)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for dx in (10, 25, 40, 60):
        qtbot.mouseMove(slider, start + QPoint(dx, 0))
        qtbot.wait(10)
        assert len(w.doc.history.undo_stack) == steps, "nothing is recorded while the slider is held"
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=start + QPoint(60, 0))
    _idle(w, qtbot)
    value = w.attributes.sliders["Bangs"].value
    assert value > 0.2 and w.session["attributes"] == {"Bangs": value}
    assert len(w.doc.history.undo_stack) == steps + 1 and w.doc.history.undo_name == "Set Bangs"
    assert w.view.result_photo is not None and w.act_undo.text() == "&Undo Set Bangs"
    w.act_undo.trigger()
    _idle(w, qtbot)
    assert w.attributes.sliders["Bangs"].value == 0.0 and w.session["attributes"] == {}
    assert w.view.result_photo is None, "with every slider at 0 there is no edit to show"
    w.act_redo.trigger()
    _idle(w, qtbot)
    assert w.attributes.sliders["Bangs"].value == value and w.view.result_photo is not None


def test_seed_and_toggle_changes_are_undone_and_rerun_the_synthesis(opened, qtbot):
    w = opened
    spin = w.synthesis.seed
    spin.setFocus()
    for _ in range(3):                                   # arrow key held: one step
        qtbot.keyClick(spin, Qt.Key.Key_Up)
    _idle(w, qtbot)
    assert spin.value() == 3 and w.doc.history.undo_name == "Seed"
    name, box = next(iter(w.synthesis.toggles.items()))
    before = box.isChecked()
    box.click()
    _idle(w, qtbot)
    assert w.doc.history.undo_name == "Synthesis attributes"
    calls = lambda: [c for c in w.engine.calls if c.task == "synthesize"]  # noqa: E731
    assert calls()[-1].attrs[name] == (0.0 if before else 1.0)
    w.act_undo.trigger()
    _idle(w, qtbot)
    assert box.isChecked() == before and calls()[-1].attrs[name] == (1.0 if before else 0.0)
    w.act_undo.trigger()
    _idle(w, qtbot)
    assert spin.value() == 0 and calls()[-1].seeds == 0
    assert w.documents.is_modified, "undoing past the open state after changes is still a change"


def test_a_recrop_is_undone_with_its_mask_and_earlier_strokes(window, qtbot, wide_photo_path):
    from tests.ui.test_canvas_painting import drag

    w = window
    open_and_wait(w, qtbot, wide_photo_path, timeout_ms=60000)
    assert w.doc.mode == "face"
    w.mask_panel.select_class(17)
    drag(w.canvas, [(20, 20), (60, 20)])
    face_layer, face_mask = w.doc.mask, w.doc.mask.data.copy()
    w.crop_actions["whole"].trigger()
    _idle(w, qtbot)
    assert w.doc.mode == "whole" and w.canvas.layer is w.doc.mask and w.doc.mask is not face_layer
    assert w.crop_actions["whole"].isChecked()
    w.act_undo.trigger()
    _idle(w, qtbot)
    assert w.doc.mode == "face" and w.doc.mask is face_layer and w.canvas.layer is face_layer
    assert w.crop_actions["face"].isChecked()
    np.testing.assert_array_equal(w.doc.mask.data, face_mask)
    w.act_undo.trigger()                                 # the stroke before the re-crop
    assert not np.array_equal(w.doc.mask.data, face_mask)
    w.act_redo.trigger()
    w.act_redo.trigger()
    _idle(w, qtbot)
    assert w.doc.mode == "whole" and w.canvas.layer is w.doc.mask
    drag(w.canvas, [(30, 30), (50, 50)])                 # the restored layer paints and repaints
    assert w.canvas.overlay.layer is w.doc.mask
