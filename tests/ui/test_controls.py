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


# --- 6. feedback outside the crop; tool settings shown where they act --------------------------------
def test_a_stroke_outside_the_crop_says_so(window, qtbot, wide_photo_path):
    from tests.helpers.ui import open_and_wait

    w = window
    open_and_wait(w, qtbot, wide_photo_path)
    assert w.doc.mode == "face", "the astronaut is aligned: most of the photo lies outside the crop"
    layer = w.doc.mask
    before = layer.data.copy()
    steps = len(w.doc.history.undo_stack)
    n = layer.shape[1]
    far = (-0.6 * n, n / 2)                                      # well left of the crop, in crop pixels
    assert not layer.contains(*far)
    drag(w.canvas, [far, (far[0] - 10, far[1] + 5)])
    assert (layer.data == before).all() and len(w.doc.history.undo_stack) == steps
    assert "outside the editable crop" in w.canvas.hint.lower(), "an on-canvas hint"
    assert "outside the editable crop" in w.status.message_label.text().lower(), "and a status message"
    w.canvas.show_hint("")
    drag(w.canvas, [(n / 2, n / 2), (n / 2 + 4, n / 2)])         # inside: paints, no hint
    assert not w.canvas.hint and (layer.data != before).any()


def test_paint_only_over_is_shown_where_it_acts_and_not_kept_across_starts(window, qtbot, tmp_path,
                                                                           synth_sample_path):
    from faceeditor.core.preferences import Preferences
    from tests.helpers.ui import make_window, open_and_wait

    w = window
    open_and_wait(w, qtbot, synth_sample_path)
    panel = w.mask_panel
    panel.lock.setCurrentIndex(panel.lock.findData(CLASS_INDEX["skin"]))
    panel.eraser.setCurrentIndex(CLASS_INDEX["hair"])
    panel.mirror.setChecked(True)
    text = w.brush_label.text()
    assert "only over skin" in text and "color:#f0a030" in text.replace(" ", ""), "the lock stands out"
    assert "eraser paints hair" in text and "mirrored" in text, "persisted settings are shown on the toolbar"
    assert "font-weight: 600" in panel.lock.styleSheet()
    # a stroke the lock stops entirely says why
    panel.select_class(CLASS_INDEX["hat"])
    before = w.doc.mask.data.copy()
    not_skin = list(zip(*((before != CLASS_INDEX["skin"]).nonzero())))
    y, x = not_skin[len(not_skin) // 2]
    panel.set_brush_size(1)
    drag(w.canvas, [(float(x), float(y))])
    assert (w.doc.mask.data == before).all()
    assert "paint only over" in w.canvas.hint.lower() and "skin" in w.canvas.hint
    w.close()                                                     # saves the tool settings
    prefs = Preferences(tmp_path / "prefs.json")
    assert "lock_label" not in prefs.data["tools"] and prefs.data["tools"]["mirror"] is True
    prefs.data["tools"]["lock_label"] = CLASS_INDEX["skin"]       # an older preferences file
    again = make_window(qtbot, tmp_path / "again", preferences=prefs)
    try:
        assert again.mask_panel.lock.currentData() is None, "each start paints over any class"
        assert again.mask_panel.mirror.isChecked() and "mirrored" in again.brush_label.text()
    finally:
        again.close()
