"""The All flips view (SG-GAN, task flip_attributes) on the fake engine: it fills with one tile per
attribute from one pass, a click applies that flip (undoable, saved in the project, shown on the canvas,
the face the slider edits start from), and without a flip model it says so."""
from __future__ import annotations

import numpy as np

from faceeditor.core.labels import ATTRIBUTES
from faceeditor.core.project import load_project
from faceeditor.core.session import FLIP, SHOWN
from faceeditor.engine.fake import FakeEngine
from faceeditor.engine.requests import EditAttributesRequest, FlipAttributesRequest
from tests.helpers.ui import make_window, open_and_wait


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)


def _flip_calls(w):
    return [c for c in w.engine.calls if isinstance(c, FlipAttributesRequest)]


def test_the_view_fills_from_one_pass(opened, qtbot):
    w = opened
    _idle(w, qtbot)
    assert list(w.flips.tiles) == list(ATTRIBUTES)
    assert len(_flip_calls(w)) == 1                     # every flip of the face: one request, one pass
    sheet = w.flips_ctl.sheet
    for name, tile in w.flips.tiles.items():
        assert sheet.label(name).replace("_", " ") in tile.text() and not tile.isChecked()
    assert not w.flips.message.isVisible() and w.flips.grid_box.isEnabled()


def test_a_click_applies_the_flip_and_undo_restores(opened, qtbot):
    w = opened
    _idle(w, qtbot)
    sheet = w.flips_ctl.sheet
    w.flips.tiles["Bangs"].click()
    _idle(w, qtbot)
    value = sheet.flip_value("Bangs")
    assert w.session[FLIP] == {"attribute": "Bangs", "value": value}
    assert w.session[SHOWN] == "flip" and w.flips.tiles["Bangs"].isChecked()
    assert np.array_equal(w.view.result_photo, w.doc.paste(sheet.head("Bangs", value)))   # on the canvas
    assert w.canvas.has_result and w.view.badge.text() == "Showing: flip"
    assert "Flip" in w.act_undo.text()
    assert len(_flip_calls(w)) == 1                     # applying reuses the pass
    w.documents.undo()
    _idle(w, qtbot)
    assert w.session[FLIP] is None and w.session[SHOWN] == "attributes"
    assert not w.flips.tiles["Bangs"].isChecked() and w.view.result_photo is None and not w.canvas.has_result
    w.documents.redo()
    _idle(w, qtbot)
    assert w.session[FLIP]["attribute"] == "Bangs" and w.session[SHOWN] == "flip"
    w.flips.tiles["Bangs"].click()                      # the applied tile again: the flip comes off
    _idle(w, qtbot)
    assert w.session[FLIP] is None


def test_sliders_edit_the_flipped_face(opened, qtbot):
    w = opened
    _idle(w, qtbot)
    w.flips_ctl.apply("Male", 1)
    _idle(w, qtbot)
    w.session.set_attribute("Young", 1.0)
    _idle(w, qtbot)
    edit = [c for c in w.engine.calls if isinstance(c, EditAttributesRequest)][-1]
    assert np.array_equal(edit.images[0], w.flips_ctl.sheet.head("Male", 1))   # flip first, then the sliders
    assert w.session[SHOWN] == "attributes"
    w.session.set_attribute("Young", 0.0)
    _idle(w, qtbot)
    assert w.session[SHOWN] == "flip"                   # the flip alone is the result again


def test_the_flip_is_saved_in_the_project(opened, qtbot, tmp_path):
    w = opened
    _idle(w, qtbot)
    w.flips_ctl.apply("Eyeglasses", 1)
    _idle(w, qtbot)
    path = tmp_path / "flip.fep"
    assert w.documents.save_to(path, wait=True)
    assert load_project(path).edits["flip"] == {"attribute": "Eyeglasses", "value": 1}
    w2 = make_window(qtbot, tmp_path / "second")
    try:
        open_and_wait(w2, qtbot, path)
        _idle(w2, qtbot)
        assert w2.session[FLIP] == {"attribute": "Eyeglasses", "value": 1} and w2.session[SHOWN] == "flip"
        assert w2.view.results.get("flip") is not None
        if w2.flips_ctl.sheet.flip_value("Eyeglasses") == 1:
            assert w2.flips.tiles["Eyeglasses"].isChecked()
    finally:
        w2.close()


def test_without_a_flip_model_the_view_says_so(qtbot, tmp_path, synth_sample_path):
    w = make_window(qtbot, tmp_path, engine=FakeEngine(resolution=64, flips=False))
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        _idle(w, qtbot)
        assert "No model pack" in w.flips.message.text() and "flip" in w.flips.message.text()
        assert not w.flips.grid_box.isEnabled() and not w.flips.tiles and not w.flips.refresh_button.isEnabled()
        w.flips_ctl.apply("Bangs", 1)                   # nothing to show, nothing breaks
        _idle(w, qtbot)
        assert not w.errors
    finally:
        w.close()


def test_cancel_stops_the_pass(qtbot, tmp_path, synth_sample_path):
    engine = FakeEngine(resolution=64)
    w = make_window(qtbot, tmp_path, engine=engine)
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        _idle(w, qtbot)
        engine.delay_s = 10.0
        engine.started.clear()
        w.ws.flip_base.keep(np.zeros(1), "", None)      # forget the kept sheet: Refresh runs a pass
        w.flips.refresh_button.click()
        assert engine.started.wait(5)
        qtbot.waitUntil(lambda: w.flips.busy_row.isVisible(), timeout=5000)
        w.flips.cancel_button.click()
        _idle(w, qtbot)
        assert "Cancelled" in w.flips.message.text() and not w.errors
        assert not w.flips.busy_row.isVisible()
    finally:
        engine.delay_s = 0.0
        w.close()


def test_menu_action_shows_the_dock(opened, qtbot):
    w = opened
    w.flips_dock.hide()
    w.act_all_flips.trigger()
    assert w.flips_dock.isVisible()


def test_projects_without_a_flip_still_load():
    from faceeditor.core.session import Session, read_flip

    session = Session()
    session._load({"attributes": {"Bangs": 0.5}, "result": "attributes"})     # a project from before flips
    assert session[FLIP] is None and "flip" not in session.to_edits()
    for bad in ("Bangs", {"attribute": "Bangs"}, {"attribute": "Bangs", "value": 2}, {"attribute": 3, "value": 1},
                {"attribute": "Bangs", "value": True}):
        assert read_flip(bad) is None
    session._load({"flip": {"attribute": "Bangs", "value": 1}, "result": "flip"})
    assert session[FLIP] == {"attribute": "Bangs", "value": 1} and session[SHOWN] == "flip"
