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
