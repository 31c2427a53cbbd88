"""The session model and the document's one undo history: values with change events, saved in the
project's edits; slider drags, merged keyboard changes, toggles, mask strokes and re-crops as undo steps."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core import session as S
from faceeditor.core.document import Document
from faceeditor.core.history import UndoHistory
from faceeditor.core.keyframes import KeyframeFile, KeyframeSpec
from faceeditor.core.project import load_project, save_project


def _doc(size: int = 64, landmarks=None) -> Document:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (size, size + 40, 3), dtype=np.uint8)
    return Document.from_photo(photo, landmarks, mode="whole", resolution=32)


@pytest.fixture
def session():
    s = S.Session()
    s.set_document(_doc())
    return s


def test_changes_are_announced_and_undone_in_one_history(session):
    heard = []
    session.changed.connect(heard.append)
    doc = session.document
    assert session.set(S.SEED, 7) and heard[-2:] == [S.SEED, S.REVISION]
    doc.mask.stroke([(3, 3), (10, 3)])                     # a mask stroke shares the history
    session.set(S.KEEP_DETAIL, True)
    assert [c.name for c in doc.history.undo_stack][-3:] == ["Seed", "Paint skin", "Keep the photo's detail"]
    assert doc.history.undo() == "Keep the photo's detail" and session[S.KEEP_DETAIL] is False
    painted = doc.mask.data.copy()
    assert doc.history.undo() == "Paint skin" and not np.array_equal(doc.mask.data, painted)
    assert doc.history.undo() == "Seed" and session[S.SEED] == 0
    assert doc.history.redo() == "Seed" and session[S.SEED] == 7
    assert not session.set(S.SEED, 7), "setting the same value is no change"


def test_a_drag_is_one_step_and_keyboard_changes_merge(session):
    history = session.history
    n = len(history.undo_stack)
    session.begin_gesture(S.ATTRIBUTES)
    for v in (0.1, 0.4, 0.9, 1.2):
        session.set_attribute("Bangs", v, merge=True)
    assert len(history.undo_stack) == n, "nothing is recorded while the slider is held"
    session.end_gesture(S.ATTRIBUTES, "Set Bangs")
    assert len(history.undo_stack) == n + 1 and session[S.ATTRIBUTES] == {"Bangs": 1.2}
    for v in (0.5, 0.6, 0.7):                              # arrow keys on one slider: one step
        session.set_attribute("Young", v, merge=True)
    assert len(history.undo_stack) == n + 2
    session.set_attribute("Male", 1.0, merge=True)          # another slider: a step of its own
    assert len(history.undo_stack) == n + 3
    history.undo()
    history.undo()
    assert session[S.ATTRIBUTES] == {"Bangs": 1.2}
    history.undo()
    assert session[S.ATTRIBUTES] == {}


def test_merging_stops_after_the_window(session, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(S.time, "monotonic", lambda: clock[0])
    session.set(S.SEED, 1, merge=True)
    clock[0] += S.MERGE_WINDOW_S + 0.5
    session.set(S.SEED, 2, merge=True)
    assert [c.name for c in session.history.undo_stack][-2:] == ["Seed", "Seed"]


def test_values_round_trip_through_the_project_file(session, tmp_path):
    session.set_attribute("Blond_Hair", 0.7)
    session.set(S.SEED, 42)
    session.set_synth_toggles({"Male": 1, "Young": 0})
    session.set(S.KEEP_OUTSIDE, False)
    session.set(S.SHOWN, "synthesis", record=False)
    session.set(S.EXPRESSION, "happy")
    session.set(S.KEYFRAMES, KeyframeFile([KeyframeSpec(time=0.0, seed=1), KeyframeSpec(time=1.0, seed=2)], fps=12,
                                          interpolation={"seed": "hold"}, target="attributes"))
    session.set(S.LANDMARKS, tuple((float(i), float(i % 7)) for i in range(68)))
    session.store()
    doc = session.document
    project = load_project(save_project(tmp_path / "p.fep", doc.to_project()))
    again = Document.from_project(project)
    fresh = S.Session()
    fresh.set_document(again)
    assert fresh.values == session.values
    # hostile or old edits fall back to the defaults, key by key
    again.edits = {"attributes": {"Bangs": "x", "Male": float("nan"), "Young": 1}, "synthesis": {"seed": -3},
                   "keep": {"outside": "yes"}, "result": "elsewhere"}
    fresh.set_document(again)
    assert fresh[S.ATTRIBUTES] == {"Young": 1.0} and fresh[S.SEED] == 0 and fresh[S.KEEP_OUTSIDE] is True
    assert fresh[S.SHOWN] == "attributes"


def test_modified_follows_the_history_and_the_saves(session):
    assert not session.modified
    session.set(S.SEED, 3)
    assert session.modified
    saved = session.revision
    session.mark_clean(saved)
    assert not session.modified
    session.set(S.SEED, 4)
    session.history.undo()
    assert session.modified, "an undo after a save is a change too"
    session.set_readings({"Male": 0.9})
    session.set(S.SHOWN, "synthesis", record=False)
    assert session.revision == saved + 2, "readings and the shown result are not edits"


def test_a_recrop_is_undone_with_the_strokes_before_it():
    lm = np.array([[30 + 20 * np.cos(t), 40 + 25 * np.sin(t)] for t in np.linspace(0, 6.0, 68)])
    doc = _doc(96, landmarks=lm)
    geometry, edits = [], []
    doc.geometry_changed.connect(lambda: geometry.append(doc.mode))
    doc.mask_edited.connect(edits.append)
    doc.mask.stroke([(5, 5), (20, 5)])
    first_layer, painted = doc.mask, doc.mask.data.copy()
    assert doc.recrop("face") and doc.mode == "face" and doc.mask is not first_layer
    doc.mask.stroke([(2, 2), (9, 9)])
    assert [c.name for c in doc.history.undo_stack][-2:] == ["Re-crop (aligned face)", "Paint skin"]
    doc.history.undo()
    assert doc.history.undo().startswith("Re-crop") and doc.mode == "whole" and doc.mask is first_layer
    np.testing.assert_array_equal(doc.mask.data, painted)
    assert doc.history.undo() == "Paint skin" and not np.array_equal(doc.mask.data, painted)
    assert doc.settings["crop_mode"] == "whole" and geometry == ["face", "whole"]
    doc.history.redo()
    doc.history.redo()
    assert doc.mode == "face" and doc.settings["crop_mode"] == "face"
    # the document relays the edits of whichever layer is its mask now, each once
    assert edits == ["Paint skin", "Paint skin", "Undo Paint skin", "Undo Paint skin", "Redo Paint skin"]
    first_layer.stroke([(1, 1), (3, 3)])                  # the layer that is not the document's now
    assert len(edits) == 5


def test_history_budget_and_redo_stack():
    h = UndoHistory(budget=1000)

    class Big:
        name, nbytes = "big", 600

        def undo(self): ...

        def redo(self): ...

    h.push(Big())
    h.push(Big())
    assert len(h.undo_stack) == 1 and h.dropped == 1 and h.nbytes == 600
    h.undo()
    assert h.can_redo
    h.push(Big())
    assert not h.can_redo and h.nbytes == 600


def test_one_synthesis_toggle_is_set_or_given_back_to_the_resolution(session):
    from faceeditor.core.mask_attributes import resolve_attributes

    assert session.set_synth_toggle("Bald", 1.0) and session[S.SYNTH_ATTRS] == {"Bald": 1.0}
    assert session.set_synth_toggle("Male", 0) and session[S.SYNTH_ATTRS] == {"Bald": 1.0, "Male": 0.0}
    assert session.set_synth_toggle("Bald", None) and session[S.SYNTH_ATTRS] == {"Male": 0.0}
    assert [c.name for c in session.history.undo_stack][-3:] == ["Synthesis attributes"] * 3
    session.history.undo()
    assert session[S.SYNTH_ATTRS] == {"Bald": 1.0, "Male": 0.0}
    # the resolution is held beside the values: announced when it changes, never saved, gone with the document
    heard = []
    session.changed.connect(heard.append)
    resolved = resolve_attributes(["Bald"], {}, mask={"Bald": 1.0})
    session.set_synth_resolved(resolved)
    session.set_synth_resolved(resolve_attributes(["Bald"], {}, mask={"Bald": 1.0}))
    assert heard == [S.SYNTH_RESOLVED] and session.synth_resolved == resolved
    assert "synth_resolved" not in str(session.to_edits())
    session.set_document(_doc())
    assert session.synth_resolved is None and session[S.SYNTH_ATTRS] == {}
