"""The timeline dock on the fake engine: keyframes added, moved (by dragging their handle) and deleted on
every track, each one undo step; scrubbing previews the frame under the playhead off the UI thread (and
caches it); play advances the playhead; the landmark drag on the canvas moves the mask; a project with a
timeline saves and reloads identical; the app's export decodes back and equals `faceeditor-cli render`."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from faceeditor.core import timeline as T
from faceeditor.core.face_geometry import frontal_template
from faceeditor.core.keyframes import TRACKS
from faceeditor.core.session import ATTRIBUTES, EXPRESSION, KEYFRAMES, LANDMARKS, SEED
from faceeditor.ui.canvas import Tool


@pytest.fixture
def w(opened):
    s = opened.session
    if opened.timeline_ctl.landmarks() is None:        # a face the detector missed: give it one
        s.set(LANDMARKS, tuple(map(tuple, frontal_template(opened.doc.mask.data.shape[0]))), record=False)
    s.set(ATTRIBUTES, {"Male": 1.0}, record=False)
    s.set(EXPRESSION, "happy", record=False)
    opened.doc.history.clear()
    return opened


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)


def _drag(handle, to: float) -> None:
    """What a mouse drag of a handle ends with: its position, then the finished signal."""
    handle.setPos(to, handle.row)
    handle.sigPositionChangeFinished.emit(handle)


def test_keys_on_every_track_are_added_moved_deleted_and_undone(w, qtbot):
    panel, s = w.timeline, w.session
    history = w.doc.history
    for track in TRACKS:
        panel.track_box.setCurrentIndex(TRACKS.index(track))
        panel.set_frame(0)
        panel.add_button.click()
        panel.set_frame(10)
        s.set(SEED, 5, record=False)
        panel.add_button.click()
        assert T.key_times(s[KEYFRAMES], track) == [0.0, 10 / s[KEYFRAMES].fps], track
        assert len(panel.handles_of(track)) == 2
        assert history.undo_name.startswith("Add")
        # drag the second handle to frame 20: the key is retimed, one step
        steps = len(history.undo_stack)
        _drag(panel.handles_of(track)[1], 20.2 / s[KEYFRAMES].fps)
        assert T.key_times(s[KEYFRAMES], track) == [0.0, 20 / s[KEYFRAMES].fps]
        assert len(history.undo_stack) == steps + 1 and history.undo_name.startswith("Move")
        # select and delete the first
        panel.select(panel.handles_of(track)[0])
        panel.delete_button.click()
        assert T.key_times(s[KEYFRAMES], track) == [20 / s[KEYFRAMES].fps]
        w.documents.undo()
        assert T.key_times(s[KEYFRAMES], track) == [0.0, 20 / s[KEYFRAMES].fps]
        assert len(panel.handles_of(track)) == 2        # the dock follows the session
        w.documents.undo()
        assert T.key_times(s[KEYFRAMES], track) == [0.0, 10 / s[KEYFRAMES].fps]
        w.documents.redo()
        assert T.key_times(s[KEYFRAMES], track) == [0.0, 20 / s[KEYFRAMES].fps]
    tl = s[KEYFRAMES]
    assert T.key_value(tl, "seed", 0.0) == {"seed": 0} and T.key_value(tl, "seed", 0.8)["seed"] == 5
    assert T.key_value(tl, "expression", 0.0) == {"expression": "happy", "intensity": 1.0}
    # the interpolation of a track is an undo step too
    panel.track_box.setCurrentIndex(TRACKS.index("seed"))
    panel.mode_box.setCurrentIndex(2)
    panel.mode_box.activated.emit(2)
    assert T.mode_of(s[KEYFRAMES], "seed") == "hold"
    w.documents.undo()
    assert T.mode_of(s[KEYFRAMES], "seed") == "linear"


def test_scrub_previews_off_the_ui_thread_with_a_cache_and_play_advances(w, qtbot):
    ctl, panel, s = w.timeline_ctl, w.timeline, w.session
    panel.track_box.setCurrentIndex(TRACKS.index("seed"))
    panel.add_button.click()
    panel.set_frame(8)
    s.set(SEED, 9, record=False)
    panel.add_button.click()
    engine_calls = len(w.engine.calls)
    panel.set_frame(4)
    _idle(w, qtbot)
    assert 4 in ctl.cache and "synthesis" in w.view.results
    shown = w.view.results["synthesis"][0].copy()
    panel.set_frame(0)
    _idle(w, qtbot)
    assert not np.array_equal(w.view.results["synthesis"][0], shown)   # another z, another face
    calls = len(w.engine.calls)
    panel.set_frame(4)                                               # cached: no new engine call
    assert len(w.engine.calls) == calls > engine_calls
    assert np.array_equal(w.view.results["synthesis"][0], shown)
    # play at the clip's fps: the playhead moves on, and stops at the end without loop
    panel.play_button.setChecked(True)
    qtbot.waitUntil(lambda: panel.frame >= 8 or not ctl.timer.isActive(), timeout=5000)
    qtbot.waitUntil(lambda: not ctl.timer.isActive(), timeout=5000)
    assert panel.frame == 8 and not panel.play_button.isChecked()
    panel.loop_button.setChecked(True)
    panel.play_button.setChecked(True)
    qtbot.wait(600)          # 25 fps over 9 frames: it has wrapped at least once
    assert ctl.timer.isActive()
    panel.play_button.setChecked(False)
    _idle(w, qtbot)


def test_a_landmark_drag_moves_the_mask_and_a_keyframe_records_it(w, qtbot):
    canvas, ctl, s = w.canvas, w.timeline_ctl, w.session
    canvas.set_tool(Tool.LANDMARKS)
    old = ctl.landmarks()
    assert canvas.landmarks is not None and np.allclose(canvas.landmarks, old)
    before = w.doc.mask.data.copy()
    # drag the mouth (Shift: the whole part) 6 crop pixels down
    i = 57
    start = canvas.view_point(*old[i])
    end = canvas.view_point(old[i][0], old[i][1] + 6)
    from PySide6.QtCore import Qt

    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     start.toPoint())
    qtbot.mouseMove(canvas.viewport(), end.toPoint())
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                       end.toPoint())
    new = ctl.landmarks()
    moved = np.abs(new - old).sum(axis=1) > 1
    assert moved[48:68].all() and not moved[:48].any()                 # the mouth, and only it
    assert not np.array_equal(w.doc.mask.data, before)                   # the mask followed the warp
    assert w.doc.history.undo_name == "Move landmarks"
    w.documents.undo()                                                   # one step: points and mask
    assert np.array_equal(w.doc.mask.data, before) and np.allclose(ctl.landmarks(), old)
    w.documents.redo()
    assert np.allclose(ctl.landmarks(), new)
    w.timeline.track_box.setCurrentIndex(TRACKS.index("landmarks"))
    w.timeline.add_button.click()
    assert np.allclose(np.asarray(T.key_value(s[KEYFRAMES], "landmarks", 0.0)["landmarks"]), new)


def test_a_timeline_saves_and_reloads_identical(w, qtbot, tmp_path):
    ctl, s = w.timeline_ctl, w.session
    assert ctl.apply_preset("left2right")
    w.timeline.track_box.setCurrentIndex(TRACKS.index("attributes"))
    w.timeline.add_button.click()
    tl = s[KEYFRAMES]
    assert len(T.key_times(tl, "landmarks")) == 7 and T.frame_count(tl) == 48
    path = tmp_path / "clip.fep"
    assert w.documents.save_to(path, wait=True)
    from faceeditor.core.document import Document
    from faceeditor.core.project import load_project

    assert Document.from_project(load_project(path), path).keyframes == tl
    from tests.helpers.ui import open_and_wait

    open_and_wait(w, qtbot, path)
    assert w.session[KEYFRAMES] == tl and w.session[LANDMARKS] == s[LANDMARKS]


@pytest.mark.parametrize("fmt", ["mp4", "png"])
def test_the_export_decodes_back_and_equals_the_cli_render(w, qtbot, tmp_path, fmt):
    from faceeditor.commands.render import render_project

    ctl = w.timeline_ctl
    assert ctl.apply_preset("nosmile2smile")
    n = T.frame_count(w.session[KEYFRAMES])
    out = tmp_path / ("clip.mp4" if fmt == "mp4" else "frames")
    done = []
    ctl.exported.connect(done.append)
    progress = []
    ctl.export_progress.connect(lambda d, t: progress.append(d))
    assert ctl.export(str(out), size=64 if fmt == "mp4" else None)
    qtbot.waitUntil(lambda: bool(done), timeout=30000)
    assert done[0].completed and done[0].frames == n and progress[-1] == n
    if fmt == "mp4":
        import av

        with av.open(str(out)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == n and frames[0].shape == (64, 64, 3)
        return
    project = tmp_path / "p.fep"
    assert w.documents.save_to(project, wait=True)
    cli_out = tmp_path / "cli_frames"
    result = render_project(str(project), w.engine, str(cli_out))
    app_frames = sorted(out.glob("*.png"))
    cli_frames = sorted(cli_out.glob("*.png"))
    assert result.frames == n == len(app_frames) == len(cli_frames)
    for a, b in zip(app_frames, cli_frames, strict=True):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), a.name


def test_each_export_lets_go_of_its_progress_box(w, qtbot):
    """A finished export closes and deletes its progress box and disconnects it: boxes do not pile up."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication, QProgressDialog

    ctl = w.timeline_ctl
    for _ in range(3):
        ctl._progress_dialog(4)
        ctl.export_progress.emit(2, 4)
        ctl.exported.emit(None)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert not w.findChildren(QProgressDialog)
    ctl.export_progress.emit(3, 4)                                # no box of an old export is reached


def test_a_cancelled_export_leaves_nothing(w, qtbot, tmp_path):
    ctl = w.timeline_ctl
    assert ctl.apply_preset("left2right")
    w.engine.delay_s = 0.05
    done = []
    ctl.exported.connect(done.append)
    out = tmp_path / "clip.mp4"
    ctl.export(str(out), batch=2)
    ctl.cancel_export()
    qtbot.waitUntil(lambda: bool(done), timeout=30000)
    w.engine.delay_s = 0.0
    assert done[0].cancelled and not out.exists() and not list(tmp_path.glob("*.mp4*"))


def test_the_landmarks_tool_is_picked_from_the_toolbar_and_its_mirror_drags_both_sides(w, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from faceeditor.core.face_geometry import IBUG_MIRROR

    canvas, ctl, tb = w.canvas, w.timeline_ctl, w.toolbar
    act = w.tool_actions[Tool.LANDMARKS]
    tools = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tools")
    assert act in tools.actions() and w.act_landmark_mirror in tools.actions()
    assert "(L)" in act.toolTip() and not w.act_landmark_mirror.isVisible()
    assert not canvas.landmarks_item.isVisible()
    qtbot.mouseClick(tb.widgetForAction(act), Qt.MouseButton.LeftButton)      # the user picks the tool
    assert canvas.tool == Tool.LANDMARKS and act.isChecked()
    assert canvas.landmarks_item.isVisible() and len(canvas.landmarks) == 68   # the 68 points are shown
    mirror_button = tb.widgetForAction(w.act_landmark_mirror)
    assert w.act_landmark_mirror.isVisible()
    qtbot.waitUntil(mirror_button.isVisible, timeout=2000)      # the bar lays the button out
    assert "Landmarks" in w.brush_label.text()
    qtbot.mouseClick(mirror_button, Qt.MouseButton.LeftButton)
    assert canvas.landmark_mirror and "mirrored" in w.brush_label.text()
    old = ctl.landmarks()
    i = 36                                              # an eye's outer corner, dragged 5 px outwards
    start, end = canvas.view_point(*old[i]), canvas.view_point(old[i][0] - 5, old[i][1])
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(canvas.viewport(), end.toPoint())
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.LeftButton, pos=end.toPoint())
    new = ctl.landmarks()
    j = IBUG_MIRROR[i]
    moved = np.flatnonzero(np.abs(new - old).sum(axis=1) > 1e-6)
    assert set(moved) == {i, j}
    assert new[i][0] < old[i][0] - 3 and new[j][0] > old[j][0] + 3          # the mirror point goes the other way
    assert w.doc.history.undo_name == "Move landmarks"
    # keys: B back to the brush hides the points and the landmark mirror; L picks the tool again
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.tool == Tool.BRUSH and not canvas.landmarks_item.isVisible()
    assert not w.act_landmark_mirror.isVisible()
    QTest.keyClick(canvas, Qt.Key.Key_L)
    assert canvas.tool == Tool.LANDMARKS and canvas.landmarks_item.isVisible()
    QTest.keyClick(canvas, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    assert not canvas.landmark_mirror and not w.act_landmark_mirror.isChecked()


def test_the_export_dialog_sets_the_length_as_frames_or_duration(w, qtbot):
    from faceeditor.ui.dialogs import ExportClipDialog

    d = ExportClipDialog(25.0, 48)
    assert d.frames.value() == 48 and d.duration.value() == pytest.approx(1.92)
    assert d.choice()[3] is None                     # the timeline's own length
    d.duration.setValue(4.0)
    assert d.frames.value() == 100 and d.choice()[2:] == (25.0, 100)
    d.fps.setValue(10.0)                             # a typed duration is kept when the fps changes
    assert d.frames.value() == 40 and d.duration.value() == pytest.approx(4.0)
    d.frames.setValue(30)
    assert d.duration.value() == pytest.approx(3.0)
    d.fps.setValue(15.0)                             # a typed frame count is kept
    assert d.frames.value() == 30 and d.duration.value() == pytest.approx(2.0)
    d.dialog.deleteLater()


def test_an_export_of_another_length_samples_the_span_and_keeps_the_timeline(w, qtbot, tmp_path):
    ctl, s = w.timeline_ctl, w.session
    panel = w.timeline
    panel.track_box.setCurrentIndex(TRACKS.index("seed"))
    panel.set_frame(0)
    panel.add_button.click()
    panel.set_frame(8)
    s.set(SEED, 9, record=False)
    panel.add_button.click()
    tl = s[KEYFRAMES]
    outs = {}
    for n in (None, 17, 3):
        out = tmp_path / f"frames{n}"
        done = []
        ctl.exported.connect(done.append)
        assert ctl.export(str(out), frames=n)
        qtbot.waitUntil(lambda d=done: bool(d), timeout=30000)
        ctl.exported.disconnect(done.append)
        outs[n] = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
        assert done[0].frames == len(outs[n]) == (n or 9)
    assert s[KEYFRAMES] == tl                        # the keyframes did not move
    native, slow, short = outs[None], outs[17], outs[3]
    # both ends are the keys' frames; 17 frames over 8 steps: every other one is a timeline frame
    for sampled in (slow, short):
        assert np.array_equal(sampled[0], native[0]) and np.array_equal(sampled[-1], native[-1])
    assert np.array_equal(slow[8], native[4]) and np.array_equal(short[1], native[4])
    assert not np.array_equal(slow[1], native[0]) and not np.array_equal(slow[1], native[1])
    errors = len(w.errors)
    assert not ctl.export(str(tmp_path / "bad.mp4"), frames=0)
    assert len(w.errors) == errors + 1 and "frames" in str(w.errors[-1])
