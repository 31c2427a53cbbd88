"""Attribute -> parse-class regions, the edit region of two masks, and PSNR over a region."""
from __future__ import annotations

import math

import numpy as np
import pytest

from faceeditor.core.attribute_regions import (
    ATTRIBUTE_REGIONS,
    edit_region,
    keep_outside,
    masked_psnr,
    region_classes,
)
from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX, EVALUATOR_ATTRIBUTES, PARSE_CLASSES


def test_every_attribute_has_a_region_of_known_classes():
    for name in (*ATTRIBUTES, *EVALUATOR_ATTRIBUTES):
        assert ATTRIBUTE_REGIONS[name], name
        assert set(ATTRIBUTE_REGIONS[name]) <= set(PARSE_CLASSES), name


def test_region_classes_union_and_unknown_name():
    assert region_classes(["Bangs"]) == [CLASS_INDEX["hair"]]
    assert region_classes(["Bangs", "Bushy_Eyebrows"]) == sorted(
        CLASS_INDEX[c] for c in ("hair", "l_brow", "r_brow", "eye_g"))
    with pytest.raises(KeyError, match="Bangz"):
        region_classes(["Bangz"])


def test_edit_region_is_the_union_of_both_masks_grown():
    before = np.zeros((64, 64), np.uint8)
    after = before.copy()
    before[10:20, 10:20] = CLASS_INDEX["hair"]
    after[40:50, 40:50] = CLASS_INDEX["hair"]          # hair appears elsewhere after the edit
    before[30, 30] = CLASS_INDEX["nose"]               # not a Bangs class
    tight = edit_region(before, after, ["Bangs"], dilation=0)
    assert tight.sum() == 200 and tight[15, 15] and tight[45, 45] and not tight[30, 30]
    grown = edit_region(before, after, ["Bangs"])      # 1 px at 64 (1/64 of the side)
    assert grown[9, 15] and grown[20, 15] and not grown[7, 15] and grown.sum() > 200
    only_before = edit_region(before, None, ["Bangs"], dilation=0)
    assert only_before.sum() == 100
    assert not edit_region(before, after, [], dilation=0).any()


def test_edit_region_refuses_bad_masks():
    with pytest.raises(ValueError, match="differ in size"):
        edit_region(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8), ["Bangs"])
    with pytest.raises(ValueError, match="class index 40"):
        edit_region(np.full((8, 8), 40, np.uint8), None, ["Bangs"])
    with pytest.raises(ValueError, match="2-D"):
        edit_region(np.zeros((8, 8, 3), np.float32), None, ["Bangs"])


def test_masked_psnr_only_looks_inside_the_region():
    a = np.full((10, 10, 3), 100, np.uint8)
    b = a.copy()
    b[:5] = 110                                         # error 10 on the top half only
    top = np.zeros((10, 10), bool)
    top[:5] = True
    assert masked_psnr(a, b, ~top) == math.inf
    assert masked_psnr(a, b, top) == pytest.approx(10 * math.log10(255 ** 2 / 100))
    assert masked_psnr(a, b, np.ones((10, 10), bool)) == pytest.approx(10 * math.log10(255 ** 2 / 50))
    assert math.isnan(masked_psnr(a, b, np.zeros((10, 10), bool)))


def test_keep_outside_blends_with_a_thin_seam():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    edited = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    region = np.zeros((64, 64), bool)
    region[20:40, 10:30] = True
    out = keep_outside(original, edited, region)
    assert out.dtype == np.uint8 and out.shape == original.shape
    assert np.array_equal(out[region], edited[region])                     # the region is wholly edited
    assert np.array_equal(out[:, 40:], original[:, 40:])                  # far away: the input
    ring = out[18, 10:30].astype(int)                                     # two pixels above: a mix
    assert not np.array_equal(ring, original[18, 10:30]) and not np.array_equal(ring, edited[18, 10:30])
    hard = keep_outside(original, edited, region, feather=0.0)
    assert np.array_equal(hard[~region], original[~region])
    assert np.array_equal(keep_outside(original, edited, np.zeros_like(region)), original)
    assert np.array_equal(keep_outside(original, edited, np.ones_like(region)), edited)
    with pytest.raises(ValueError, match="shapes differ"):
        keep_outside(original, edited[:32], region)
    with pytest.raises(ValueError, match="feather must be >= 0"):
        keep_outside(original, edited, region, feather=-1)
