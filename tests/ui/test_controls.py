"""The "first ten minutes" controls: attribute sliders fit for fine work, human class names, feedback for
strokes outside the crop and tool settings shown where they act, and a layout that works at 1280 x 720."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt

from faceeditor.core.labels import CLASS_INDEX, CLASS_LABELS, NUM_CLASSES, PARSE_CLASSES, class_label
from tests.ui.test_canvas_painting import _send, drag


# --- 5. human class names ---------------------------------------------------------------------------
def test_class_names_are_human_everywhere_a_user_reads_them(opened):
    w = opened
    assert class_label("ear_r") == "earring" and class_label(CLASS_INDEX["neck_l"]) == "necklace"
    assert class_label("eye_g") == "eyeglasses" and class_label("l_ear") == "left ear"
    assert len(set(CLASS_LABELS)) == NUM_CLASSES and not any("_" in name for name in CLASS_LABELS)
    panel = w.mask_panel
    palette = [panel.classes.item(i).text() for i in range(panel.classes.count())]
    assert palette[CLASS_INDEX["ear_r"]].split() == ["9", "earring"]
    assert palette[CLASS_INDEX["l_ear"]].endswith("left ear") and palette[CLASS_INDEX["neck"]].endswith("neck")
    assert not any("_" in text for text in palette), palette
    tip = panel.classes.item(CLASS_INDEX["l_eye"]).toolTip()
    assert "subject's own left" in tip and "l_eye" in tip, "the tooltip explains the side and the file name"
    for combo in (panel.eraser, panel.lock):
        texts = [combo.itemText(i) for i in range(combo.count())]
        assert "necklace" in texts and "eyeglasses" in texts and not any("_" in t for t in texts)
    panel.select_class(CLASS_INDEX["neck_l"])
    assert "necklace" in w.brush_label.text() and "neck_l" not in w.brush_label.text()
    # the status bar's hover text and the undo step's name
    w.status.show_hover((10.0, 12.0, CLASS_INDEX["eye_g"]))
    assert w.status.cursor_label.text().endswith("eyeglasses")
    panel.select_class(CLASS_INDEX["r_brow"])
    panel.set_brush_size(5)
    drag(w.canvas, [(30, 40), (40, 40)])
    assert w.act_undo.text() == "&Undo Paint right eyebrow"
    assert PARSE_CLASSES[CLASS_INDEX["r_brow"]] == "r_brow", "the technical names stay for files"


# --- 4. sliders fit for fine work -------------------------------------------------------------------
def _wheel(widget, notches: int, mods=Qt.KeyboardModifier.NoModifier):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_attribute_slider_fine_steps_keyboard_wheel_and_double_click_reset(opened, qtbot):
    w = opened
    w.resize(1280, 720)
    qtbot.wait(50)
    row = w.attributes.sliders["Bangs"]
    slider = row.slider
    assert slider.width() >= 180, f"the slider is {slider.width()} px long at 1280 x 720"
    assert (slider.maximum() - slider.minimum()) / slider.width() < 1.7, "under 0.017 per pixel"
    steps = len(w.doc.history.undo_stack)
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert row.value == 0.01 and row.spin.value() == 0.01 and w.session["attributes"] == {"Bangs": 0.01}
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert row.value == 0.11
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert row.value == 0.10
    _wheel(slider, 1)
    assert row.value == 0.15, "a wheel notch is 0.05"
    _wheel(slider, -1, Qt.KeyboardModifier.ShiftModifier)
    assert row.value == 0.14, "with Shift a notch is 0.01"
    assert len(w.doc.history.undo_stack) == steps + 1, "keyboard and wheel changes of one slider are one step"
    row.spin.setValue(0.37)                                    # the value field
    assert row.value == 0.37 and w.session["attributes"]["Bangs"] == 0.37
    qtbot.mouseDClick(slider, Qt.MouseButton.LeftButton, pos=slider.rect().center())
    assert row.value == 0.0 and w.session["attributes"].get("Bangs", 0.0) == 0.0, "double-click resets"
    assert "double-click" in slider.toolTip()
