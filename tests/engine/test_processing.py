"""Pre/post-processing: uint8 in, uint8 out, sizes restored, masks never blended."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES, SECGAN_SEGMENTS, secgan_segment_lut
from faceeditor.engine import processing as P
from faceeditor.engine.processing import RequestError


def _image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("normalization", ["minus1_1", "zero_1"])
def test_round_trip_at_model_size_is_exact(normalization):
    images = [_image(32, 32, 0), _image(32, 32, 1)]
    t = P.images_to_tensor(images, 32, normalization)
    assert t.dtype == np.float32 and t.shape == (2, 3, 32, 32)
    lo, hi = (-1.0, 1.0) if normalization == "minus1_1" else (0.0, 1.0)
    assert t.min() >= lo and t.max() <= hi
    back = P.tensor_to_images(t, [(32, 32)] * 2, normalization)
    for a, b in zip(images, back, strict=True):
        assert b.dtype == np.uint8 and np.array_equal(a, b)


def test_channel_order_and_values():
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 255  # pure red
    t = P.images_to_tensor([img], 4, "minus1_1")
    assert np.allclose(t[0, 0], 1.0) and np.allclose(t[0, 1:], -1.0)


def test_sizes_restored_and_interpolation_choice():
    big, small = _image(100, 80, 2), _image(10, 12, 3)
    t = P.images_to_tensor([big, small], 32, "minus1_1")
    expected_big = cv2.resize(big, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1
    expected_small = cv2.resize(small, (32, 32), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1
    assert np.allclose(t[0].transpose(1, 2, 0), expected_big, atol=1e-6)
    assert np.allclose(t[1].transpose(1, 2, 0), expected_small, atol=1e-6)
    out = P.tensor_to_images(t, [big.shape[:2], small.shape[:2]], "minus1_1")
    assert [o.shape for o in out] == [(100, 80, 3), (10, 12, 3)]
    # A smooth image survives the trip down and up closely.
    smooth = cv2.GaussianBlur(big, (0, 0), 8)
    back = P.tensor_to_images(P.images_to_tensor([smooth], 64, "minus1_1"), [smooth.shape[:2]], "minus1_1")[0]
    assert np.abs(back.astype(int) - smooth).mean() < 2.0


def test_output_is_clipped():
    t = np.full((1, 3, 4, 4), 3.0, np.float32)
    t[0, 1] = -7
    out = P.tensor_to_images(t, [(4, 4)], "minus1_1")[0]
    assert (out[..., 0] == 255).all() and (out[..., 1] == 0).all()


def test_masks_resize_nearest_only():
    mask = np.zeros((50, 50), np.uint8)
    mask[:, 25:] = 17
    mask[10:20, 10:20] = 4
    small = P.resize_mask(mask, 16, 16)
    assert set(np.unique(small)) <= {0, 4, 17}
    labels = np.stack([small.astype(np.int64)])
    (back,) = P.labels_to_masks(labels, [(50, 50)])
    assert back.shape == (50, 50) and back.dtype == np.uint8 and set(np.unique(back)) <= {0, 4, 17}


def test_class_lut_identity_and_segments():
    from faceeditor.core.labels import PARSE_CLASSES

    assert P.class_lut(PARSE_CLASSES).tolist() == list(range(NUM_CLASSES))
    segments = [name for name, _ in SECGAN_SEGMENTS]
    assert P.class_lut(segments).tolist() == secgan_segment_lut()
    with pytest.raises(RequestError, match="no counterpart"):
        P.class_lut(["skin", "hair"])


def test_class_lut_landmark_regions():
    from faceeditor.core.landmark_mask import LANDMARK_REGIONS, landmark_region_lut

    regions = [name for name, _ in LANDMARK_REGIONS]
    assert P.class_lut(regions).tolist() == landmark_region_lut().tolist()


def test_onehot():
    mask = np.array([[0, 1], [2, 5]], np.uint8)
    segments = [name for name, _ in SECGAN_SEGMENTS]
    oh = P.masks_to_onehot([mask], 2, P.class_lut(segments), len(segments))
    assert oh.shape == (1, 12, 2, 2) and (oh.sum(axis=1) == 1).all()
    assert oh[0, segments.index("eyebrows"), 1, 0] == 1       # class 2 (l_brow) -> eyebrows
    assert oh[0, segments.index("eyes"), 1, 1] == 1           # class 5 (r_eye) -> eyes
    assert oh[0, segments.index("others"), 0, 0] == 1         # background -> others
    assert CLASS_INDEX["skin"] == 1 and oh[0, 0, 0, 1] == 1


def test_condition_matrix_forms_and_errors():
    names = ["a", "b", "c"]
    assert P.condition_matrix("c", {"b": 0.5}, names, 2).tolist() == [[0, 0.5, 0], [0, 0.5, 0]]
    assert P.condition_matrix("c", [1, 2, 3], names, 2).shape == (2, 3)
    assert P.condition_matrix("c", np.ones((2, 3)), names, 2).dtype == np.float32
    with pytest.raises(RequestError, match=r"c: unknown name\(s\) \['d'\]"):
        P.condition_matrix("c", {"d": 1}, names, 1)
    with pytest.raises(RequestError, match=r"c: expected shape \(3,\) or \(2, 3\)"):
        P.condition_matrix("c", [1, 2], names, 2)
    with pytest.raises(RequestError, match="finite"):
        P.condition_matrix("c", [1, np.nan, 2], names, 1)
    with pytest.raises(RequestError, match=r"c\['a'\]: expected a number"):
        P.condition_matrix("c", {"a": "lots"}, names, 1)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4, 3), np.float32), "float32 array of shape"),
    (np.zeros((4, 4), np.uint8), r"uint8 array of shape \(4, 4\)"),
    (np.zeros((4, 4, 4), np.uint8), r"\(4, 4, 4\)"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
    ("a path", "str"),
])
def test_bad_images(bad, message):
    with pytest.raises(RequestError, match=r"images\[0\]: .*" + message):
        P.check_image("images[0]", bad)


def test_bad_masks():
    with pytest.raises(RequestError, match="class index 19"):
        P.check_mask("masks[0]", np.full((3, 3), 19, np.uint8))
    with pytest.raises(RequestError, match="uint8 \\(H, W\\) class-index mask"):
        P.check_mask("masks[0]", np.zeros((3, 3), np.int32))
    with pytest.raises(RequestError, match="empty list"):
        P.as_list("images", [])
