"""The synthesis panel's attributes that nobody set: they follow the painted mask where it decides (a bald
head, eyeglasses, an open mouth, bangs), the evaluator's reading of the photo elsewhere, and say so next to
each toggle; the synthesis runs with those values; the user's click wins and "Automatic" gives it back."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.session import SYNTH_ATTRS
from tests.helpers.ui import make_window, open_and_wait

MASK_DECIDED = ("Bald", "Bangs", "Eyeglasses", "Mouth_Slightly_Open")


def _face_mask(size: int, **attrs: float) -> np.ndarray:
    """A SynthFaces face (seed 25: hair, no hat, glasses, bangs or open mouth) with `attrs` changed."""
    from trainer.data.synthfaces.params import sample_params, with_attribute
    from trainer.data.synthfaces.render import render

    p = sample_params(25)
    for name, value in attrs.items():
        p = with_attribute(p, name, value)
    return cv2.resize(render(p, 128).mask, (size, size), interpolation=cv2.INTER_NEAREST)


@pytest.fixture
def w(qtbot, tmp_path, synth_sample_path):
    window = make_window(qtbot, tmp_path)
    open_and_wait(window, qtbot, synth_sample_path, timeout_ms=90000)     # the first open may be slow
    assert window.doc is not None and window.session.readings is not None, window.errors
    yield window
    window.close()


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def _paint(w, qtbot, mask):
    w.doc.mask.replace(mask, "Import test mask")
    _idle(w, qtbot)


def _last_synthesis(w):
    return [c for c in w.engine.calls if c.task == "synthesize"][-1]


def test_the_panel_shows_what_the_mask_decides_and_the_synthesis_uses_it(w, qtbot):
    panel = w.synthesis
    _paint(w, qtbot, _face_mask(w.doc.mask.shape[0], Bald=1.0, Eyeglasses=1.0))
    assert {n: panel.markers[n].text() for n in MASK_DECIDED} == dict.fromkeys(MASK_DECIDED, "mask")
    assert panel.toggles["Bald"].isChecked() and panel.toggles["Eyeglasses"].isChecked()
    assert not panel.toggles["Mouth_Slightly_Open"].isChecked() and not panel.toggles["Bangs"].isChecked()
    assert "from the mask" in panel.toggles["Bald"].toolTip()
    # the attributes a mask does not decide come from the fake evaluator's reading of the photo
    others = [n for n in panel.toggles if n not in MASK_DECIDED]
    assert all(panel.markers[n].text() == "photo" for n in others)
    assert all(panel.toggles[n].isChecked() == (w.session.readings[n] > 0.5) for n in others)
    attrs = _last_synthesis(w).attrs                                     # the stroke re-ran the synthesis
    assert attrs == panel.attrs() and attrs["Bald"] == 1.0 and attrs["Eyeglasses"] == 1.0
    assert w.session[SYNTH_ATTRS] == {}, "what the mask and the photo give is not the user's choice"


def test_the_markers_follow_the_mask_even_without_a_refresh(w, qtbot):
    panel = w.synthesis
    panel.auto.setChecked(False)
    n = sum(c.task == "synthesize" for c in w.engine.calls)
    size = w.doc.mask.shape[0]
    _paint(w, qtbot, _face_mask(size, Bald=1.0))
    assert panel.toggles["Bald"].isChecked() and panel.markers["Bald"].text() == "mask"
    _paint(w, qtbot, _face_mask(size))                                    # hair again
    assert not panel.toggles["Bald"].isChecked() and panel.markers["Bald"].text() == "mask"
    hat = _face_mask(size, Bald=1.0, Wearing_Hat=1.0)                     # a hat says nothing about baldness:
    assert (hat == CLASS_INDEX["hat"]).any()
    _paint(w, qtbot, hat)                                                 # the reading decides
    assert panel.markers["Bald"].text() == "photo"
    assert panel.toggles["Bald"].isChecked() == (w.session.readings["Bald"] > 0.5)
    assert sum(c.task == "synthesize" for c in w.engine.calls) == n, "no refresh asked for"
    panel.generate.click()
    _idle(w, qtbot)
    assert _last_synthesis(w).attrs["Bald"] == float(w.session.readings["Bald"] > 0.5)


def test_the_user_s_click_wins_and_automatic_gives_it_back(w, qtbot):
    panel = w.synthesis
    _paint(w, qtbot, _face_mask(w.doc.mask.shape[0], Bald=1.0))
    box = panel.toggles["Bald"]
    box.click()                                                          # the user says: not bald
    _idle(w, qtbot)
    assert not box.isChecked() and panel.markers["Bald"].text() == "" and box.font().bold()
    assert w.session[SYNTH_ATTRS] == {"Bald": 0.0} and _last_synthesis(w).attrs["Bald"] == 0.0
    assert w.doc.history.undo_name == "Synthesis attributes" and panel.automatic.isEnabled()
    box.actions()[0].trigger()                                           # right-click ▸ Automatic
    _idle(w, qtbot)
    assert box.isChecked() and panel.markers["Bald"].text() == "mask" and not box.font().bold()
    assert w.session[SYNTH_ATTRS] == {} and _last_synthesis(w).attrs["Bald"] == 1.0
    box.click()
    panel.toggles["Male"].click()
    _idle(w, qtbot)
    assert len(w.session[SYNTH_ATTRS]) == 2
    panel.automatic.click()                                              # every toggle back at once
    _idle(w, qtbot)
    assert w.session[SYNTH_ATTRS] == {} and not panel.automatic.isEnabled()
    assert panel.markers["Bald"].text() == "mask" and panel.markers["Male"].text() == "photo"
