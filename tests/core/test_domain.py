"""faceeditor.core.domain: what kind of picture is open, and whether the models were trained on it."""
from __future__ import annotations

import numpy as np

from faceeditor.core.domain import PHOTO, SYNTHFACES, domain_warning, picture_domain, picture_key
from faceeditor.core.samples import bundled_samples


def test_picture_domain_from_the_source():
    assert picture_domain("synthface_0004.png") == SYNTHFACES
    assert picture_domain("/somewhere/SynthFace.PNG") == SYNTHFACES
    assert all(picture_domain(p.name) == SYNTHFACES for p in bundled_samples())
    assert picture_domain("holiday.jpg") == PHOTO and picture_domain("") == PHOTO


def test_domain_warning():
    synth = [("parse", "synthfaces"), ("edit_attributes", "synthfaces")]
    text = domain_warning("holiday.jpg", synth)
    assert text and "face parser, attribute editor" in text and "synthfaces" in text
    assert domain_warning("synthface_1.png", synth) is None
    assert domain_warning("holiday.jpg", [("parse", "celebamask_hq")]) is None
    assert domain_warning("synthface_1.png", [("parse", "celebamask_hq")]).startswith("This is a SynthFaces")
    assert domain_warning("holiday.jpg", [("parse", "none"), ("synthesize", "")]) is None


def test_picture_key_tells_pictures_apart():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    assert picture_key(a) == picture_key(a.copy()) != picture_key(b)
