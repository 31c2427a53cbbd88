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
