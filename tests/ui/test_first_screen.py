"""The first ten minutes: the first screen shows the picture (overlay off until the user paints or asks),
the first-run card, the result shown follows the panel in use (with a badge naming it), and the warning
when the models' training domain does not match the picture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceeditor.core.samples import bundled_samples
from faceeditor.ui.canvas import Tool
from tests.helpers.ui import make_window, open_and_wait
from tests.ui.test_canvas_painting import drag


@pytest.fixture(scope="module")
def astronaut_path(tmp_path_factory) -> Path:
    """A real photograph: scikit-image's astronaut, saved as a PNG."""
    import skimage.data

    from faceeditor.core.image_io import save_image

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    save_image(path, skimage.data.astronaut())
    return path


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


# --- 1. the first screen: the picture, not a debug view ------------------------------------------------
def test_a_fresh_picture_is_shown_without_the_mask_overlay(opened):
    w = opened
    assert not w.layers_panel.overlay.isChecked() and not w.act_overlay.isChecked()
    assert not w.canvas.overlay_visible and not w.canvas.overlay.isVisible()
    assert w.doc.mask.data.any(), "the mask is there (parsed on open), only not drawn"


def test_painting_turns_the_overlay_on(opened, qtbot):
    w = opened
    drag(w.canvas, [(20, 60), (50, 60)])
    assert w.layers_panel.overlay.isChecked() and w.act_overlay.isChecked() and w.canvas.overlay.isVisible()


@pytest.mark.parametrize("how", ["tool", "key O", "parser"])
def test_a_mask_tool_or_asking_turns_the_overlay_on(opened, qtbot, how):
    w = opened
    if how == "tool":
        w.tool_actions[Tool.FILL].trigger()
    elif how == "key O":
        w.act_overlay.trigger()
    else:
        w.act_parse.trigger()
        _idle(w, qtbot)
    assert w.layers_panel.overlay.isChecked() and w.canvas.overlay_visible
    w.act_overlay.trigger()                          # and O hides it again
    assert not w.canvas.overlay_visible


def test_a_project_keeps_its_saved_view(opened, qtbot, tmp_path):
    w = opened
    w.act_overlay.trigger()
    path = tmp_path / "work.fep"
    assert w.documents.save_to(path, wait=True)
    w2 = make_window(qtbot, tmp_path / "second")
    try:
        open_and_wait(w2, qtbot, path)
        assert w2.canvas.overlay_visible and w2.layers_panel.overlay.isChecked()
    finally:
        w2.close()


def test_first_run_card_until_a_picture_of_ones_own_is_open(window, qtbot, astronaut_path, tmp_path):
    w = window
    card = w.first_run.card
    assert card.isVisible() and "SynthFaces" in card.about.text()
    assert card.photo_button.text().startswith("Open a photo") and card.sample_button.isEnabled()
    card.sample_button.click()                       # a bundled sample: the card stays over it
    qtbot.waitUntil(lambda: w.doc is not None and not w.workers.busy, timeout=60000)
    assert w.doc.source == bundled_samples()[0].name and card.isVisible()
    open_and_wait(w, qtbot, astronaut_path, timeout_ms=60000)
    assert card.isHidden() and w.ws.prefs.get("first_run_done") is True
    w2 = make_window(qtbot, tmp_path / "again", preferences=w.ws.prefs)   # it does not come back
    try:
        assert w2.first_run.card.isHidden()
    finally:
        w2.close()


def test_first_run_card_can_be_closed_for_good(window, qtbot, tmp_path):
    from faceeditor.core.preferences import Preferences

    card = window.first_run.card
    assert card.isVisible()
    card.close_button.click()
    assert card.isHidden()
    again = make_window(qtbot, tmp_path / "again", preferences=Preferences(tmp_path / "prefs.json"))
    try:
        assert again.first_run.card.isHidden()
    finally:
        again.close()


# --- 3. the active result is on the canvas, and a badge says which ------------------------------------
def test_the_panel_in_use_decides_the_result_shown(opened, qtbot):
    w = opened
    badge = w.view.badge
    assert badge.isVisible() and badge.text() == "Showing: the photo \u2014 no attribute edit yet"
    w.attributes.set_value("Blond_Hair", 0.8)
    _idle(w, qtbot)
    assert w.session["shown"] == "attributes" and badge.text() == "Showing: attribute edit"
    attr_result = w.view.result_photo.copy()
    w.synth_dock.raise_()                            # the user opens the Synthesis tab
    _idle(w, qtbot)
    assert w.session["shown"] == "synthesis" and w.layers_panel.source.currentData() == "synthesis"
    assert w.canvas.has_result and badge.text() == "Showing: synthesis"
    assert not np.array_equal(w.view.result_photo, attr_result)
    w.attr_dock.raise_()                             # back to the sliders: the attribute edit again
    assert w.session["shown"] == "attributes" and badge.text() == "Showing: attribute edit"
    np.testing.assert_array_equal(w.view.result_photo, attr_result)
    assert not w.documents.is_modified or w.doc.history.undo_name != "Shown result", "switching is no step"
    w.layers_panel.split.setChecked(True)
    assert badge.text() == "Showing: photo | attribute edit (split)"
    w.layers_panel.result.setChecked(False)
    assert "Result is off" in badge.text()


def test_generate_shows_the_synthesis_on_the_canvas(opened, qtbot):
    w = opened
    n = sum(c.task == "synthesize" for c in w.engine.calls)
    w.synthesis.generate_requested.emit()
    _idle(w, qtbot)
    assert w.session["shown"] == "synthesis" and w.canvas.has_result
    assert w.view.badge.text() == "Showing: synthesis"
    assert sum(c.task == "synthesize" for c in w.engine.calls) == n + 1, "run once, not twice"


def test_showing_a_synthesis_that_never_ran_draws_it(window, qtbot, synth_sample_path):
    w = window
    w.ws.prefs.data["parse_on_open"] = False         # nothing runs the synthesis on open
    open_and_wait(w, qtbot, synth_sample_path)
    assert not any(c.task == "synthesize" for c in w.engine.calls)
    w.synth_dock.raise_()
    _idle(w, qtbot)
    assert sum(c.task == "synthesize" for c in w.engine.calls) == 1
    assert w.canvas.has_result and w.view.badge.text() == "Showing: synthesis"


# --- 8. the training domain -----------------------------------------------------------------------------
def _synthfaces_window(qtbot, tmp_path, name="w"):
    from faceeditor.core.preferences import Preferences
    from faceeditor.engine.fake import FakeEngine

    return make_window(qtbot, tmp_path / name, engine=FakeEngine(resolution=64, data_domain="synthfaces"),
                       preferences=Preferences(tmp_path / "prefs.json"))


def test_a_synthfaces_pack_on_a_photo_warns_once_per_photo(qtbot, tmp_path, astronaut_path, synth_sample_path):
    w = _synthfaces_window(qtbot, tmp_path)
    try:
        open_and_wait(w, qtbot, synth_sample_path)       # a SynthFaces picture: the models fit it
        assert w.domain.text is None
        open_and_wait(w, qtbot, astronaut_path, timeout_ms=60000)
        assert w.domain.banner.isVisible()
        assert "photograph" in w.domain.text and "synthfaces" in w.domain.text
        w.domain.banner.close_button.click()
        assert w.domain.text is None and w.doc.settings["domain_warning_dismissed"] is True
        open_and_wait(w, qtbot, synth_sample_path)
        open_and_wait(w, qtbot, astronaut_path, timeout_ms=60000)
        assert w.domain.text is None, "dismissed for this photo"
        other = tmp_path / "other.png"                   # another photo warns again
        from faceeditor.core.image_io import save_image

        save_image(other, np.ascontiguousarray(w.doc.photo[:, ::-1]))
        open_and_wait(w, qtbot, other, timeout_ms=60000)
        assert w.domain.text is not None
    finally:
        w.close()
    w2 = _synthfaces_window(qtbot, tmp_path, "again")   # the dismissal is remembered across starts
    try:
        open_and_wait(w2, qtbot, astronaut_path, timeout_ms=60000)
        assert w2.domain.text is None
    finally:
        w2.close()


def test_no_warning_when_the_models_domain_is_unknown(window, qtbot, astronaut_path):
    open_and_wait(window, qtbot, astronaut_path, timeout_ms=60000)      # the fake's data_domain is "none"
    assert window.doc is not None and window.domain.text is None
