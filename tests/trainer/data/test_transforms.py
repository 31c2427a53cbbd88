import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX, LANDMARK_GROUPS
from trainer.data.base import flip_arrays
from trainer.data.transforms import (
    LANDMARK5_FLIP_PERM,
    LANDMARK_FLIP_PERM,
    center_square,
    crop_resize_points,
    flip_mask,
    flip_points,
    square_around,
)


def test_landmark_flip_perm_is_an_involution_over_68_points():
    perm = LANDMARK_FLIP_PERM
    assert sorted(perm) == list(range(68))
    assert [perm[perm[i]] for i in range(68)] == list(range(68))


@pytest.mark.parametrize("a,b", [(36, 45), (39, 42), (0, 16), (17, 26), (21, 22), (31, 35), (48, 54),
                                 (60, 64), (40, 47), (55, 59)])
def test_landmark_flip_perm_swaps_mirror_points(a, b):
    assert LANDMARK_FLIP_PERM[a] == b and LANDMARK_FLIP_PERM[b] == a


@pytest.mark.parametrize("fixed", [8, 27, 28, 29, 30, 33, 51, 57, 62, 66])
def test_landmark_flip_perm_keeps_midline_points(fixed):
    assert LANDMARK_FLIP_PERM[fixed] == fixed


def test_landmark_flip_maps_groups_onto_their_mirror_group():
    lo, hi = LANDMARK_GROUPS["r_eye"]
    assert {LANDMARK_FLIP_PERM[i] for i in range(lo, hi)} == set(range(*LANDMARK_GROUPS["l_eye"]))
    lo, hi = LANDMARK_GROUPS["r_brow"]
    assert {LANDMARK_FLIP_PERM[i] for i in range(lo, hi)} == set(range(*LANDMARK_GROUPS["l_brow"]))


def test_flip_points_mirrors_a_symmetric_face_onto_itself():
    # a face symmetric about x = 31.5 in a 64-wide image is its own mirror image after re-indexing
    rng = np.random.default_rng(0)
    pts = np.zeros((68, 2), np.float32)
    for i, j in enumerate(LANDMARK_FLIP_PERM):
        if i <= j:
            x, y = rng.uniform(0, 31.5), rng.uniform(0, 63)
            pts[i] = (x, y)
            pts[j] = (63 - x, y) if i != j else (31.5, y)
    np.testing.assert_allclose(flip_points(pts, 64, LANDMARK_FLIP_PERM), pts, atol=1e-5)


def test_landmark5_perm_swaps_eyes_and_mouth_corners():
    pts = np.array([[10, 5], [20, 5], [15, 9], [11, 14], [19, 14]], np.float32)
    out = flip_points(pts, 30, LANDMARK5_FLIP_PERM)
    np.testing.assert_allclose(out, [[9, 5], [19, 5], [14, 9], [10, 14], [18, 14]])


def test_flip_mask_swaps_left_right_classes():
    mask = np.zeros((4, 6), np.uint8)
    mask[1, 0] = CLASS_INDEX["l_eye"]
    mask[2, 1] = CLASS_INDEX["r_brow"]
    mask[3, 2] = CLASS_INDEX["nose"]
    out = flip_mask(mask)
    assert out[1, 5] == CLASS_INDEX["r_eye"]
    assert out[2, 4] == CLASS_INDEX["l_brow"]
    assert out[3, 3] == CLASS_INDEX["nose"]
    assert (flip_mask(out) == mask).all()


def test_flip_arrays_flips_everything_consistently():
    img = np.zeros((8, 8, 3), np.uint8)
    img[0, 0] = 255
    mask = np.zeros((8, 8), np.uint8)
    mask[0, 0] = CLASS_INDEX["l_ear"]
    lm = np.zeros((68, 2), np.float32)
    lm[36] = (1, 2)
    out = flip_arrays({"image": img, "mask": mask, "landmarks": lm, "attrs": np.ones(15, np.uint8)})
    assert out["image"][0, 7, 0] == 255 and out["image"][0, 0, 0] == 0
    assert out["mask"][0, 7] == CLASS_INDEX["r_ear"]
    np.testing.assert_allclose(out["landmarks"][45], (6, 2))
    assert out["attrs"] is not None and (out["attrs"] == 1).all()


def test_crops_and_point_mapping():
    assert center_square(178, 218) == (0, 20, 178, 198)
    assert square_around(5, 5, 20, 100, 50) == (0, 0, 20, 20)        # moved inside
    assert square_around(50, 25, 80, 100, 50) == (25, 0, 75, 50)      # shrunk to the short side
    # pixel centres: the centre of the crop stays the centre, edge pixels map to edge pixels
    pts = np.array([[0, 20], [177, 197], [88.5, 108.5]], np.float32)
    out = crop_resize_points(pts, (0, 20, 178, 198), 64)
    assert out[0, 0] == pytest.approx(0.5 * 64 / 178 - 0.5)
    np.testing.assert_allclose(out[2], (31.5, 31.5), atol=1e-5)


def test_image_tensor_round_trip_is_exact():
    import torch

    from trainer.data.transforms import image_to_tensor, tensor_to_image
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = image_to_tensor(img)
    assert t.shape == (3, 5, 7) and t.dtype == torch.float32 and t.is_contiguous()
    assert float(t.min()) >= -1 and float(t.max()) <= 1
    assert t[0, 0, 0] == pytest.approx(img[0, 0, 0] / 127.5 - 1)
    assert (tensor_to_image(t) == img).all()


def test_the_trainer_uses_the_one_landmark_mirror_order():
    from faceeditor.core.face_geometry import IBUG_MIRROR, mirror_landmarks
    from trainer.data.synthfaces_dataset import LANDMARK_FLIP

    assert LANDMARK_FLIP_PERM is IBUG_MIRROR and LANDMARK_FLIP.tolist() == list(IBUG_MIRROR)
    pts = np.random.default_rng(0).uniform(0, 63, (68, 2))
    np.testing.assert_allclose(flip_points(pts, 64, LANDMARK_FLIP_PERM), mirror_landmarks(pts, 64), atol=1e-4)
