"""The canvas driven by real (synthetic) mouse and key events: painting, undo, fill, pick, mirror,
class keys, zoom, pan, split and compare."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from faceeditor.core.labels import CLASS_INDEX, flip_class_lut
from faceeditor.ui.canvas import Tool
from tests.helpers.ui import make_window, open_and_wait

HAIR, L_EYE, R_EYE = CLASS_INDEX["hair"], CLASS_INDEX["l_eye"], CLASS_INDEX["r_eye"]


def _send(view, kind, pos: QPointF, button=Qt.MouseButton.LeftButton, buttons=None, mods=Qt.KeyboardModifier.NoModifier):
    """Deliver a mouse event to the canvas viewport (with the pressed-buttons state a real drag has)."""
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    vp = view.viewport()
    event = QMouseEvent(kind, pos, vp.mapToGlobal(pos), button if kind != QEvent.Type.MouseMove else
                        Qt.MouseButton.NoButton, buttons, mods)
    QApplication.sendEvent(vp, event)


def drag(view, points, button=Qt.MouseButton.LeftButton, mods=Qt.KeyboardModifier.NoModifier):
    """Press at the first crop point, move through the others, release at the last."""
    pos = [view.view_point(x, y) for x, y in points]
    _send(view, QEvent.Type.MouseButtonPress, pos[0], button, mods=mods)
    for p in pos[1:]:
        _send(view, QEvent.Type.MouseMove, p, button, buttons=button, mods=mods)
    _send(view, QEvent.Type.MouseButtonRelease, pos[-1], button, mods=mods)


def click(view, x, y, button=Qt.MouseButton.LeftButton, mods=Qt.KeyboardModifier.NoModifier):
    drag(view, [(x, y)], button, mods)


def test_paint_a_stroke_and_undo_it(opened):
    w = opened
    layer = w.doc.mask
    before = layer.data.copy()
    w.mask_panel.select_class(HAIR)
    w.mask_panel.set_brush_size(5)
    w.canvas.overlay.repaints.clear()
    drag(w.canvas, [(20, 60), (50, 60), (90, 62)])
    painted = layer.data != before
    assert painted.any() and (layer.data[painted] == HAIR).all()
    assert (layer.data[60, 20:91] == HAIR).all(), "a gapless stroke along the drag"
    # only dirty rectangles were repainted, never the whole mask
    assert w.canvas.overlay.repaints and all(r.width * r.height < layer.data.size / 4
                                              for r in w.canvas.overlay.repaints)
    assert w.canvas.overlay.pixel_rgba(50, 60)[:3] == (255, 153, 51)   # hair colour in the overlay
    assert w.act_undo.isEnabled() and w.documents.is_modified
    w.act_undo.trigger()
    np.testing.assert_array_equal(layer.data, before)
    assert w.act_redo.isEnabled()
    w.act_redo.trigger()
    assert (layer.data[60, 20:91] == HAIR).all()


def test_right_button_erases_and_eraser_tool(opened):
    w = opened
    layer = w.doc.mask
    layer.replace(np.full(layer.shape, HAIR, np.uint8))
    w.mask_panel.set_brush_size(7)
    drag(w.canvas, [(30, 30), (40, 30)], button=Qt.MouseButton.RightButton)
    assert layer.data[30, 35] == 0
    w.mask_panel.eraser.setCurrentIndex(CLASS_INDEX["skin"])
    w.tool_actions[Tool.ERASER].trigger()
    drag(w.canvas, [(80, 80)])
    assert layer.data[80, 80] == CLASS_INDEX["skin"]


def test_fill_and_pick(opened):
    w = opened
    layer = w.doc.mask
    mask = np.zeros(layer.shape, np.uint8)
    mask[:, 64:] = HAIR
    layer.replace(mask)
    w.mask_panel.select_class(CLASS_INDEX["cloth"])
    w.tool_actions[Tool.FILL].trigger()
    assert w.canvas.tool == Tool.FILL
    click(w.canvas, 10, 10)
    assert (layer.data[:, :64] == CLASS_INDEX["cloth"]).all() and (layer.data[:, 64:] == HAIR).all()
    # Ctrl+click picks the class under the cursor
    click(w.canvas, 100, 50, mods=Qt.KeyboardModifier.ControlModifier)
    assert w.mask_panel.label == HAIR
    # the picker tool picks and goes back to the brush
    w.tool_actions[Tool.PICKER].trigger()
    click(w.canvas, 5, 5)
    assert w.mask_panel.label == CLASS_INDEX["cloth"] and w.canvas.tool == Tool.BRUSH


def test_lock_protects_other_classes(opened):
    w = opened
    layer = w.doc.mask
    mask = np.zeros(layer.shape, np.uint8)
    mask[:, :64] = HAIR
    layer.replace(mask)
    w.mask_panel.lock.setCurrentIndex(HAIR + 1)            # "paint only over hair"
    w.mask_panel.select_class(CLASS_INDEX["hat"])
    w.mask_panel.set_brush_size(9)
    drag(w.canvas, [(40, 50), (90, 50)])
    assert (layer.data[50, 40:64] == CLASS_INDEX["hat"]).all()
    assert (layer.data[50, 64:90] == 0).all()


def test_mirror_painting_swaps_left_and_right(opened):
    w = opened
    layer = w.doc.mask
    layer.replace(np.zeros(layer.shape, np.uint8))
    w.act_mirror.trigger()
    assert w.mask_panel.mirror.isChecked() and layer.mirror
    w.mask_panel.select_class(L_EYE)
    w.mask_panel.set_brush_size(5)
    drag(w.canvas, [(30, 40), (40, 45)])
    left, right = layer.data == L_EYE, layer.data == R_EYE
    assert left.any()
    np.testing.assert_array_equal(left[:, ::-1], right)
    assert flip_class_lut()[L_EYE] == R_EYE


def test_number_keys_select_classes(opened):
    w = opened
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_7)
    assert w.mask_panel.label == 7
    QTest.keyClick(w.canvas, Qt.Key.Key_1)
    QTest.keyClick(w.canvas, Qt.Key.Key_7)
    assert w.mask_panel.label == 17, "two digits typed quickly select 10-18"
    QTest.keyClick(w.canvas, Qt.Key.Key_BracketRight)
    assert w.doc.mask.brush_size > 12
    assert w.canvas.cursor_item.diameter == w.doc.mask.brush_size


def test_brush_cursor_shows_size_and_class_colour(opened):
    w = opened
    w.mask_panel.select_class(HAIR)
    w.mask_panel.set_brush_size(20)
    _send(w.canvas, QEvent.Type.MouseMove, w.canvas.view_point(64, 64), Qt.MouseButton.NoButton,
          buttons=Qt.MouseButton.NoButton)
    cur = w.canvas.cursor_item
    assert cur.isVisible() and cur.diameter == 20
    assert (cur.color.red(), cur.color.green(), cur.color.blue()) == (255, 153, 51)
    assert abs(cur.pos().x() - 64.5) < 1.0 and abs(cur.pos().y() - 64.5) < 1.0


def test_wheel_zooms_to_the_cursor_and_fit_and_one_to_one(opened):
    w = opened
    view = w.canvas
    vp = view.viewport()
    at = QPointF(vp.width() * 0.3, vp.height() * 0.4)
    scene_before = view.mapToScene(at.toPoint())
    z0 = view.zoom
    wheel = QWheelEvent(at, vp.mapToGlobal(at), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, wheel)
    assert view.zoom > z0 * 1.3
    scene_after = view.mapToScene(at.toPoint())
    assert abs(scene_after.x() - scene_before.x()) < 2 and abs(scene_after.y() - scene_before.y()) < 2
    w.act_actual.trigger()
    assert view.zoom == pytest.approx(1.0)
    w.act_fit.trigger()
    rect = view.mapFromScene(view.image_rect).boundingRect()
    assert rect.width() <= vp.width() + 2 and rect.height() <= vp.height() + 2
    assert max(rect.width() / vp.width(), rect.height() / vp.height()) > 0.95


def test_space_drag_and_middle_button_pan(opened):
    w = opened
    view = w.canvas
    view.zoom_by(6.0)
    h0 = view.horizontalScrollBar().value()
    p = QPointF(view.viewport().width() / 2, view.viewport().height() / 2)
    QTest.keyPress(view, Qt.Key.Key_Space)
    before = w.doc.mask.data.copy()
    _send(view, QEvent.Type.MouseButtonPress, p)
    _send(view, QEvent.Type.MouseMove, p + QPointF(-80, 0), buttons=Qt.MouseButton.LeftButton)
    _send(view, QEvent.Type.MouseButtonRelease, p + QPointF(-80, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() == h0 + 80
    np.testing.assert_array_equal(w.doc.mask.data, before), "panning must not paint"
    mid = Qt.MouseButton.MiddleButton
    _send(view, QEvent.Type.MouseButtonPress, p, mid)
    _send(view, QEvent.Type.MouseMove, p + QPointF(50, 0), mid, buttons=mid)
    _send(view, QEvent.Type.MouseButtonRelease, p + QPointF(50, 0), mid)
    assert view.horizontalScrollBar().value() == h0 + 30


def test_split_divider_and_hold_to_compare(opened, qtbot):
    w = opened
    w.attributes.set_value("Bangs", 1.0)
    qtbot.waitUntil(lambda: w.canvas.has_result and not w.workers.busy, timeout=10000)
    view = w.canvas
    assert view.result_item.isVisible() and view.result_item.clip_x is None
    w.act_split.trigger()
    assert w.layers_panel.split.isChecked() and view.divider.isVisible()
    view.set_split_position(40)
    assert view.result_item.clip_x == pytest.approx(40)
    # drag the divider's handle with the mouse
    handle = view.mapFromScene(QPointF(40, view.image_rect.height() / 2))
    target = view.mapFromScene(QPointF(90, view.image_rect.height() / 2))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle)
    QTest.mouseMove(view.viewport(), target)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    assert 80 < view.result_item.clip_x < 100
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Backslash)
    assert not view.result_item.isVisible(), "holding \\ shows the original"
    QTest.keyRelease(view, Qt.Key.Key_Backslash)
    assert view.result_item.isVisible()


def test_strokes_land_in_the_aligned_crop_of_a_photo(qtbot, tmp_path, wide_photo_path):
    """A non-square photo: the face is detected and aligned, and the overlay carries the crop->photo
    transform, so a click lands on the crop pixel under it and pixels map back and forth exactly."""
    w = make_window(qtbot, tmp_path)
    try:
        open_and_wait(w, qtbot, wide_photo_path)
        assert w.doc is not None and w.doc.mode == "face", w.errors
        assert w.canvas.image_rect.width() == 700
        layer = w.doc.mask
        layer.replace(np.zeros(layer.shape, np.uint8))
        w.mask_panel.set_brush_size(1)
        w.mask_panel.select_class(HAIR)
        w.canvas.zoom_by(4.0, QPointF(w.canvas.viewport().rect().center()))
        w.canvas.centerOn(w.canvas.overlay.mapToScene(QPointF(120.5, 100.5)))
        click(w.canvas, 120, 100)
        ys, xs = np.nonzero(layer.data == HAIR)
        assert len(xs) == 1 and abs(xs[0] - 120) <= 1 and abs(ys[0] - 100) <= 1
        # a result pasted back differs from the photo only around the face
        w.attributes.set_value("Pale_Skin", 1.5)
        qtbot.waitUntil(lambda: w.view.result_photo is not None and not w.workers.busy, timeout=10000)
        diff = np.abs(w.view.result_photo.astype(int) - w.doc.photo.astype(int)).sum(axis=2) > 0
        assert diff.any() and not diff[:, :60].any() and not diff[:, -60:].any()
    finally:
        w.close()


def test_drop_opens_a_file(window, qtbot, synth_sample_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(synth_sample_path))])
    vp = window.canvas.viewport()
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.canvas.dropEvent(event)
    qtbot.waitUntil(lambda: window.doc is not None and not window.workers.busy, timeout=20000)
    assert window.doc.source == synth_sample_path.name
    assert str(synth_sample_path.resolve()) in window.ws.prefs.recent_files()
    assert window.recent_menu.actions()[0].text() == synth_sample_path.name
    _ = vp


def test_digits_typed_into_a_spin_box_are_not_class_shortcuts(opened):
    w = opened
    w.mask_panel.select_class(HAIR)
    spin = w.mask_panel.size_spin
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "30")
    assert spin.value() == 30 and w.mask_panel.label == HAIR
    assert w.doc.mask.brush_size == 30


def test_switching_the_crop_carries_the_mask_over(qtbot, tmp_path, wide_photo_path):
    w = make_window(qtbot, tmp_path)
    try:
        open_and_wait(w, qtbot, wide_photo_path)
        assert w.doc.mode == "face" and w.crop_actions["face"].isChecked()
        layer = w.doc.mask
        layer.replace(np.zeros(layer.shape, np.uint8))
        layer.data[100:140, 100:140] = HAIR                   # a block over the face
        w.crop_actions["whole"].trigger()
        assert w.doc.mode == "whole" and w.doc.mask is not layer
        whole = w.doc.mask.data
        assert (whole == HAIR).sum() > 100, "the painted block survives the re-crop"
        assert w.canvas.image_rect.width() == 700 and w.documents.is_modified
        w.crop_actions["face"].trigger()
        back = w.doc.mask.data
        overlap = ((back == HAIR) & (layer.data == HAIR)).sum() / (layer.data == HAIR).sum()
        assert overlap > 0.8
    finally:
        w.close()


def test_overlay_transform_matches_face_align():
    """Crop pixel centres land where face_align's crop -> photo matrix puts them (+0.5: scene
    coordinates are pixel corners), for a rotated and scaled crop."""
    from faceeditor.core.face_align import similarity_transform, transform_points
    from faceeditor.ui.canvas import crop_to_scene_transform

    src = np.array([[10.0, 20.0], [50.0, 25.0], [30.0, 60.0]])
    dst = np.array([[200.0, 100.0], [330.0, 150.0], [230.0, 260.0]])
    m = similarity_transform(src, dst)
    t = crop_to_scene_transform(m)
    for x, y in ((0, 0), (17, 3), (63, 40)):
        p = t.map(QPointF(x + 0.5, y + 0.5))
        expected = transform_points(np.array([[x, y]], float), m)[0] + 0.5
        assert p.x() == pytest.approx(expected[0]) and p.y() == pytest.approx(expected[1])
