import numpy as np
import pytest

from faceeditor.core import labels


def test_class_list_matches_design_order():
    assert labels.NUM_CLASSES == 19
    assert labels.PARSE_CLASSES[0] == "background" and labels.PARSE_CLASSES[17] == "hair"
    assert set(labels.CELEBAMASK_HQ_ORDER) == set(labels.PARSE_CLASSES) - {"background"}


def test_flip_lut_is_an_involution_that_swaps_pairs():
    lut = labels.flip_class_lut()
    assert [lut[lut[i]] for i in range(19)] == list(range(19))
    assert lut[labels.CLASS_INDEX["l_eye"]] == labels.CLASS_INDEX["r_eye"]
    assert lut[labels.CLASS_INDEX["nose"]] == labels.CLASS_INDEX["nose"]


def test_secgan_segments_cover_every_class_once():
    members = [m for _, ms in labels.SECGAN_SEGMENTS for m in ms]
    assert sorted(members) == sorted(labels.PARSE_CLASSES)
    assert len(labels.SECGAN_SEGMENTS) == 12
    assert max(labels.secgan_segment_lut()) == 11


def test_attribute_lists():
    assert len(labels.ATTRIBUTES) == 13 and len(labels.EVALUATOR_ATTRIBUTES) == 15
    assert len(labels.CELEBA_ATTRIBUTES_40) == 40
    assert set(labels.EVALUATOR_ATTRIBUTES) <= set(labels.CELEBA_ATTRIBUTES_40)
    assert len(labels.EXPRESSIONS) == 8


# --- class mappings (one owner: labels) ---------------------------------------------------------------

SEGMENTS = [name for name, _ in labels.SECGAN_SEGMENTS]
REGIONS = [name for name, _ in labels.LANDMARK_REGIONS]


def test_every_secgan_segment_maps_to_one_of_its_members_never_background_unless_a_member():
    lut = labels.model_to_parse_lut(SEGMENTS)
    for (name, members), target in zip(labels.SECGAN_SEGMENTS, lut, strict=True):
        assert labels.PARSE_CLASSES[target] in members, name
    assert [labels.PARSE_CLASSES[i] for i in lut if i == 0] == ["background"]   # only "others"
    for (name, members), target in zip(labels.LANDMARK_REGIONS, labels.model_to_parse_lut(REGIONS), strict=True):
        assert labels.PARSE_CLASSES[target] in members, name


def test_parse_classes_pass_through_and_unknown_names_become_background():
    mask = np.arange(19, dtype=np.uint8).reshape(1, 19)
    assert labels.to_parse_classes(mask, labels.PARSE_CLASSES) is mask
    assert labels.to_parse_classes(np.array([[0, 1, 2]]), ["sky", "hair", "skin"]).tolist() == [[0, 17, 1]]
    assert not labels.is_known_class("sky") and labels.is_known_class("eyebrows")


def test_paired_segments_are_split_by_side_like_an_aligned_face():
    eyebrows = SEGMENTS.index("eyebrows")
    mask = np.zeros((6, 12), np.uint8)            # skin
    mask[2, 2:4] = eyebrows                       # image left: the subject's right brow
    mask[2, 8:10] = eyebrows
    out = labels.to_parse_classes(mask, SEGMENTS)
    assert (out[2, 2:4] == labels.CLASS_INDEX["r_brow"]).all() and (out[2, 8:10] == labels.CLASS_INDEX["l_brow"]).all()
    assert (out[0] == labels.CLASS_INDEX["skin"]).all()
    assert labels.to_parse_classes(mask[:, ::-1], SEGMENTS)[:, ::-1].tolist() == \
        np.asarray(labels.flip_class_lut())[out].tolist()


def test_probabilities_follow_the_mask_mapping():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(12, 8, 10)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(0)
    mapped = labels.to_parse_probs(probs, SEGMENTS)
    assert mapped.shape == (19, 8, 10)
    np.testing.assert_allclose(mapped.sum(0), 1.0, atol=1e-5)
    assert np.array_equal(mapped.argmax(0), labels.to_parse_classes(probs.argmax(0), SEGMENTS))


def test_bad_masks_and_class_lists_are_one_line_errors():
    with pytest.raises(labels.LabelError, match="class index 12, outside the model's 12 classes"):
        labels.to_parse_classes(np.full((2, 2), 12, np.uint8), SEGMENTS)
    with pytest.raises(labels.LabelError, match="integer"):
        labels.to_parse_classes(np.zeros((2, 2), np.float32), SEGMENTS)
    with pytest.raises(labels.LabelError, match="non-empty list of names"):
        labels.model_to_parse_lut([])
    with pytest.raises(labels.LabelError, match="shape|\\(12, H, W\\)"):
        labels.to_parse_probs(np.zeros((3, 2, 2)), SEGMENTS)


def test_parse_to_model_lut_groups_the_19():
    assert labels.parse_to_model_lut(labels.PARSE_CLASSES).tolist() == list(range(19))
    assert labels.parse_to_model_lut(SEGMENTS).tolist() == labels.secgan_segment_lut()
    with pytest.raises(labels.LabelError, match="no counterpart"):
        labels.parse_to_model_lut(["skin", "hair"])
