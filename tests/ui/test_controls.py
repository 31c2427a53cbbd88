"""The "first ten minutes" controls: attribute sliders fit for fine work, human class names, feedback for
strokes outside the crop and tool settings shown where they act, and a layout that works at 1280 x 720."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from faceeditor.core.labels import CLASS_INDEX, CLASS_LABELS, NUM_CLASSES, PARSE_CLASSES, class_label
from tests.ui.test_canvas_painting import drag


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
    ys, xs = (before != CLASS_INDEX["skin"]).nonzero()
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
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


# --- 7. layout from 1280 x 720 up; file dialogs sized to their content --------------------------------
def _settle(qtbot, w, width, height):
    w.resize(width, height)
    qtbot.waitUntil(lambda: w.size().width() == width and w.size().height() == height, timeout=2000)
    qtbot.wait(50)


def _picture_in_view(canvas):
    return canvas.mapFromScene(canvas.image_rect).boundingRect(), canvas.viewport().rect()


def test_layout_at_1280_by_720_keeps_the_toolbar_and_fits_the_canvas(opened, qtbot):
    from PySide6.QtWidgets import QScrollBar, QToolButton

    from faceeditor.ui.toolbar import COMPACT, WIDE

    w = opened
    _settle(qtbot, w, 1920, 1080)
    assert w.toolbar.toolButtonStyle() == WIDE, "room for text beside the icons"
    wide_zoom = w.canvas.zoom
    _settle(qtbot, w, 1280, 720)
    tb = w.toolbar
    assert tb.toolButtonStyle() == COMPACT, "icons only when the text does not fit"
    bar = tb.rect()
    for action in tb.actions():
        if action.isSeparator() or not action.isVisible():      # e.g. Mirror landmarks, shown with its tool
            continue
        button = tb.widgetForAction(action)
        assert button is not None and button.isVisible(), f"{action.text()} fell off the toolbar"
        assert bar.contains(button.geometry()), action.text()
    label = w.brush_label
    assert label.isVisible() and bar.contains(label.geometry()), "the class indicator stays on the toolbar"
    assert label.width() >= label.sizeHint().width(), "and is not cut"
    extension = [b for b in tb.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button"]
    assert not any(b.isVisible() for b in extension), "nothing overflows into the extension menu"
    # the canvas refitted: the whole picture is in view and fills one direction
    picture, view = _picture_in_view(w.canvas)
    assert view.adjusted(-1, -1, 1, 1).contains(picture), (picture, view)
    assert picture.width() >= view.width() - 6 or picture.height() >= view.height() - 6   # fitInView keeps 2 px
    assert w.canvas.zoom < wide_zoom
    # docks: the attribute sliders are whole (no sideways scrolling) and long enough for fine steps
    area = w.attributes.area
    assert not area.horizontalScrollBar().isVisible() and not any(
        s.isVisible() for s in area.findChildren(QScrollBar) if s.orientation() == Qt.Orientation.Horizontal)
    assert min(s.slider.width() for s in w.attributes.sliders.values()) >= 180
    assert w.mask_panel.classes.isVisible() and w.canvas.width() >= 400
    # after the user zooms, a resize keeps their zoom
    w.canvas.zoom_by(2.0)
    zoom = w.canvas.zoom
    _settle(qtbot, w, 1400, 800)
    assert w.canvas.zoom == zoom and not w.canvas.fitted
    w.act_fit.trigger()
    _settle(qtbot, w, 1280, 720)
    picture, view = _picture_in_view(w.canvas)
    assert view.adjusted(-1, -1, 1, 1).contains(picture), "Fit turns refitting back on"
    # at 4K the text comes back
    _settle(qtbot, w, 3840, 2160)
    assert tb.toolButtonStyle() == WIDE and w.brush_label.isVisible()


def test_file_dialogs_are_sized_to_their_content(window, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QTreeView

    from faceeditor.ui.dialogs import file_dialog

    long_name = "a_rather_long_photo_name_from_a_camera_2026-12-06_22-33-02_edited_version_final.png"
    (tmp_path / long_name).write_bytes(b"x")
    suggested = tmp_path / "sample_edited.png"
    dialog = file_dialog(window, "Export the result", str(suggested), "Images (*.png)", save=True)
    try:
        assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
        assert dialog.selectedFiles() and dialog.selectedFiles()[0].endswith("sample_edited.png")
        screen = window.screen().availableGeometry()
        assert dialog.width() >= min(1000, int(0.9 * screen.width())) - 1
        assert dialog.height() >= min(640, int(0.9 * screen.height())) - 1
        views = [v for v in dialog.findChildren(QTreeView) if v.model() is not None]
        assert views, "Qt's own dialog (offscreen has no native one) has a detail view"
        header = views[0].header()
        metrics = views[0].fontMetrics()
        assert header.sectionSize(0) >= 0.5 * dialog.width(), "the name column gets most of the width"
        for column, sample in ((1, "999.9 KiB"), (3, "2026-12-31 23:59:59")):
            assert header.sectionSize(column) >= metrics.horizontalAdvance(sample), f"column {column} is whole"
        assert dialog.viewMode() == QFileDialog.ViewMode.Detail
    finally:
        dialog.deleteLater()
    opener = file_dialog(window, "Open", str(tmp_path), "Images (*.png)")
    assert opener.fileMode() == QFileDialog.FileMode.ExistingFile
    opener.deleteLater()
