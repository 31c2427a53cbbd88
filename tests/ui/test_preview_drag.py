"""While a slider is dragged the attribute edit runs as a preview request; on release a full request runs
and its result replaces the preview."""
from __future__ import annotations


def _edits(engine, start: int = 0) -> list:
    return [c for c in engine.calls[start:] if c.task == "edit_attributes"]


def test_drag_sends_previews_and_release_a_full_edit(opened, qtbot):
    w = opened
    row = w.attributes.sliders["Bangs"]
    n = len(w.engine.calls)
    shown = []
    w.attributes_ctl.channel.finished.connect(lambda tag, out: shown.append(out.result))
    row.drag_started.emit("Bangs")
    for v in (0.3, 0.6, 0.9):
        w.attributes.set_value("Bangs", v)
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    during = _edits(w.engine, n)
    assert during and all(c.preview for c in during), "edits during a drag are previews"
    n = len(w.engine.calls)
    row.drag_finished.emit("Bangs")
    qtbot.waitUntil(lambda: not w.workers.busy and bool(_edits(w.engine, n)), timeout=10000)
    final = _edits(w.engine, n)
    assert len(final) == 1 and not final[0].preview and final[0].y_diff["Bangs"] == 0.9
    assert len(w.doc.history.undo_stack) >= 1, "the drag is still one undo step"


def test_a_change_outside_a_drag_is_a_full_edit_and_release_without_preview_runs_nothing(opened, qtbot):
    w = opened
    n = len(w.engine.calls)
    w.attributes.set_value("Bangs", 0.5)
    qtbot.waitUntil(lambda: not w.workers.busy and bool(_edits(w.engine, n)), timeout=10000)
    assert [c.preview for c in _edits(w.engine, n)] == [False]
    n = len(w.engine.calls)
    row = w.attributes.sliders["Bangs"]
    row.drag_started.emit("Bangs")             # pressed and released without moving
    row.drag_finished.emit("Bangs")
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    assert _edits(w.engine, n) == []
