"""faceeditor.core.mask_attributes: the attributes a mask decides (on SynthFaces renders of one face with one
attribute changed), what it leaves undecided, and the order that resolves a synthesis's attributes."""
import numpy as np
import pytest

from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX
from faceeditor.core.landmark_mask import landmarks_to_mask
from faceeditor.core.mask_attributes import (
    MASK_ATTRIBUTES,
    ResolvedAttributes,
    attributes_from_mask,
    measure_mask,
    resolve_attributes,
)
from faceeditor.core.mask_io import MaskError
from trainer.data.synthfaces.params import attribute_labels, sample_params, with_attribute
from trainer.data.synthfaces.render import render

# seed 25: a near-frontal neutral face with hair and no bangs, hat, glasses or open mouth
BASE_SEED = 25


@pytest.fixture(scope="module")
def base():
    p = sample_params(BASE_SEED)
    labels = attribute_labels(p)
    assert not any(labels[n] for n in ("Bald", "Bangs", "Eyeglasses", "Mouth_Slightly_Open", "Wearing_Hat"))
    return p


def mask_of(p, size=128):
    return render(p, size).mask


def test_the_plain_face_has_hair_no_glasses_and_a_closed_mouth(base):
    assert attributes_from_mask(mask_of(base)) == {"Bald": 0.0, "Bangs": 0.0, "Eyeglasses": 0.0,
                                                   "Mouth_Slightly_Open": 0.0}


def test_a_hairless_head_is_bald_and_the_same_head_with_hair_is_not(base):
    bald = mask_of(with_attribute(base, "Bald", 1.0))
    assert not (bald == CLASS_INDEX["hair"]).any()
    assert attributes_from_mask(bald)["Bald"] == 1.0
    assert attributes_from_mask(mask_of(base))["Bald"] == 0.0


def test_a_hat_leaves_baldness_undecided(base):
    for p in (with_attribute(base, "Wearing_Hat", 1.0),
              with_attribute(with_attribute(base, "Bald", 1.0), "Wearing_Hat", 1.0)):
        mask = mask_of(p)
        assert (mask == CLASS_INDEX["hat"]).any()
        assert "Bald" not in attributes_from_mask(mask)


def test_eyeglasses_pixels_mean_eyeglasses(base):
    assert attributes_from_mask(mask_of(with_attribute(base, "Eyeglasses", 1.0)))["Eyeglasses"] == 1.0


def test_an_open_mouth_is_read(base):
    assert attributes_from_mask(mask_of(with_attribute(base, "Mouth_Slightly_Open", 1.0))
                                )["Mouth_Slightly_Open"] == 1.0


def test_bangs_are_hair_on_the_forehead(base):
    assert attributes_from_mask(mask_of(with_attribute(base, "Bangs", 1.0)))["Bangs"] == 1.0


def test_the_reading_does_not_depend_on_the_resolution(base):
    mask = mask_of(with_attribute(base, "Eyeglasses", 1.0))
    big = np.kron(mask, np.ones((4, 4), np.uint8))          # 512 px, nearest neighbour
    assert attributes_from_mask(big) == attributes_from_mask(mask)


def test_a_face_drawn_from_landmarks_alone_is_not_called_bald(base):
    """68 landmarks give a face oval that stops at the forehead: no head top, so no baldness either way."""
    sample = render(base, 128)
    derived = attributes_from_mask(landmarks_to_mask(sample.landmarks, 128))
    assert "Bald" not in derived and derived["Eyeglasses"] == 0.0


def test_what_a_mask_cannot_say_is_left_out():
    assert attributes_from_mask(np.zeros((64, 64), np.uint8)) == {}          # no face at all
    hair_only = np.zeros((64, 64), np.uint8)
    hair_only[:20] = CLASS_INDEX["hair"]
    assert attributes_from_mask(hair_only) == {}
    skin = np.zeros((64, 64), np.uint8)
    skin[10:50, 10:50] = CLASS_INDEX["skin"]                              # a face without eyes or mouth
    assert attributes_from_mask(skin) == {}
    skin[20:24, 18:26] = CLASS_INDEX["l_eye"]                             # eyes without glasses; no mouth
    assert attributes_from_mask(skin) == {"Eyeglasses": 0.0}
    assert set(attributes_from_mask(mask_of(sample_params(3)))) <= set(MASK_ATTRIBUTES)


def test_an_invalid_mask_is_refused():
    with pytest.raises(MaskError):
        attributes_from_mask(np.full((8, 8), 19, np.uint8))
    with pytest.raises(MaskError):
        measure_mask(np.zeros((2, 8, 8), np.uint8))


# --- the resolution order --------------------------------------------------------------------------

DEFAULTS = {"Young": 1.0, "No_Beard": 1.0, "Bald": 0.0}


def test_set_beats_mask_beats_photo_beats_default():
    r = resolve_attributes(ATTRIBUTES, DEFAULTS,
                           user={"Bald": 0.0, "Male": 0.7},
                           mask={"Bald": 1.0, "Eyeglasses": 1.0, "Mouth_Slightly_Open": 0.0},
                           photo={"Eyeglasses": 0.1, "Male": 0.9, "Young": 0.2, "Pale_Skin": 0.8,
                                  "Smiling": 0.9})
    assert list(r.values) == list(ATTRIBUTES)
    assert r.values["Bald"] == 0.0 and r.sources["Bald"] == "set"          # the user's value wins
    assert r.values["Male"] == 0.7 and r.sources["Male"] == "set"
    assert r.values["Eyeglasses"] == 1.0 and r.sources["Eyeglasses"] == "mask"   # the mask beats the photo
    assert r.values["Young"] == 0.0 and r.sources["Young"] == "photo"      # the photo beats the default
    assert r.values["Pale_Skin"] == 1.0 and r.sources["Pale_Skin"] == "photo"
    assert r.values["No_Beard"] == 1.0 and r.sources["No_Beard"] == "default"
    assert r.values["Mustache"] == 0.0 and r.sources["Mustache"] == "default"
    assert "Smiling" not in r.values, "only the model's attributes"
    assert r.from_source("mask") == {"Eyeglasses": 1.0, "Mouth_Slightly_Open": 0.0}
    assert r.summary() == ("derived from the mask: Eyeglasses=1, Mouth_Slightly_Open=0; "
                           "from the photo: Pale_Skin=1, Young=0")


def test_nothing_derived_says_nothing():
    r = resolve_attributes(["Male", "Young"], {"Young": 1.0})
    assert r == ResolvedAttributes({"Male": 0.0, "Young": 1.0}, {"Male": "default", "Young": "default"})
    assert r.summary() == ""
