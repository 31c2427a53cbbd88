"""Piecewise-affine warping of masks and images between landmark sets."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core.face_geometry import (
    LandmarkError,
    frontal_template,
    head_turn_landmarks,
    smile_landmarks,
)
from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.landmark_mask import landmarks_to_mask, mouth_opening
from faceeditor.core.mask_io import MaskError
from faceeditor.core.mask_warp import (
    WarpOptions,
    control_points,
    delaunay_triangles,
    head_similarity,
    warp_field,
    warp_image,
    warp_mask,
)

S = 128
C = CLASS_INDEX


def painted(pts: np.ndarray, size: int = S) -> np.ndarray:
    """A face with a hand-painted layout around it: hair, cloth, an earring-free background."""
    base = np.zeros((size, size), np.uint8)
    ys, xs = np.mgrid[0:size, 0:size]
    centre = pts[27]
    hair = ((xs - centre[0]) / (0.42 * size)) ** 2 + ((ys - centre[1] + 0.05 * size) / (0.45 * size)) ** 2 < 1
    base[hair & (ys < pts[27, 1])] = C["hair"]
    base[ys > pts[8, 1] + 6] = C["cloth"]
    return landmarks_to_mask(pts, size, base=base)


def test_identical_landmarks_are_the_identity():
    pts = frontal_template(S) + np.random.default_rng(0).normal(0, 1.0, (68, 2))
    m = painted(pts)
    assert np.array_equal(warp_mask(m, pts, pts), m)
    img = np.random.default_rng(1).integers(0, 256, (S, S, 3), dtype=np.uint8)
    assert np.array_equal(warp_image(img, pts, pts), img)


def test_triangulation_covers_the_image_once():
    src, dst = control_points(frontal_template(S), smile_landmarks(frontal_template(S), 1.0), (S, S))
    tris = delaunay_triangles(dst)
    d = dst[tris]
    area = 0.5 * np.abs((d[:, 1, 0] - d[:, 0, 0]) * (d[:, 2, 1] - d[:, 0, 1])
                        - (d[:, 2, 0] - d[:, 0, 0]) * (d[:, 1, 1] - d[:, 0, 1]))
    assert area.min() > 0
    assert area.sum() == pytest.approx((S + 1) ** 2, rel=1e-6)   # anchors sit one pixel outside


def test_translation_moves_the_face_and_keeps_the_border():
    pts = frontal_template(S)
    m = painted(pts)
    shift = np.array([6.0, -4.0])
    out = warp_mask(m, pts, pts + shift)
    face = landmarks_to_mask(pts, S) != C["background"]
    ys, xs = np.nonzero(face)
    moved = out[ys - 4, xs + 6]
    assert (moved == m[ys, xs]).mean() > 0.99
    assert np.array_equal(out[S - 1], m[S - 1]) and np.array_equal(out[:, 0], m[:, 0])
    map_x, map_y = warp_field(pts, pts + shift, S)
    assert map_x.dtype == np.float32 and np.allclose(map_x[0], np.arange(S), atol=0.6)


@pytest.mark.parametrize("move", ["smile", "turn"])
def test_warp_predicts_the_mask_of_moved_landmarks(move):
    src = frontal_template(S)
    dst = smile_landmarks(src, 1.0, open_mouth=0.0) if move == "smile" else head_turn_landmarks(src, 12.0)
    truth = landmarks_to_mask(dst, S)
    warped = warp_mask(landmarks_to_mask(src, S), src, dst)
    unwarped_acc = (landmarks_to_mask(src, S) == truth).mean()
    warped_acc = (warped == truth).mean()
    assert warped_acc > 0.98
    if move == "turn":
        assert 1 - warped_acc < 0.25 * (1 - unwarped_acc)    # a quarter of the error of not warping
    else:  # the lips part along a seam the closed mouth did not have; the rest follows
        assert warped_acc > unwarped_acc


def test_closed_mouth_opening_and_points_off_image():
    src = frontal_template(S)                       # inner lips coincide (closed mouth)
    dst = smile_landmarks(src, 1.0)                 # they part
    out = warp_mask(painted(src), src, dst)
    assert set(np.unique(out)) <= set(np.unique(painted(src)))
    off = src + [S * 0.45, 0.0]                     # half the face leaves the image
    out = warp_mask(painted(src), src, off)
    assert out.shape == (S, S) and (out == C["skin"]).sum() > 100


def test_options_and_bad_input():
    pts = frontal_template(S)
    m = painted(pts)
    plain = warp_mask(m, pts, pts + 3, options=WarpOptions(border_points=1, outline="none", ring=None))
    assert plain.shape == m.shape
    with pytest.raises(LandmarkError, match="destination landmarks"):
        warp_mask(m, pts, pts[:10])
    bad = m.copy()
    bad[0, 0] = 40
    with pytest.raises(MaskError, match="unknown class index 40"):
        warp_mask(bad, pts, pts)
    with pytest.raises(ValueError, match="shape"):
        warp_image(np.zeros((0, 4), np.uint8), pts, pts)


# ---------------------------------------------------------------------------------------------- SynthFaces

def _miou(a: np.ndarray, b: np.ndarray) -> float:
    ious = [((a == c) & (b == c)).sum() / ((a == c) | (b == c)).sum()
            for c in np.union1d(np.unique(a), np.unique(b))]
    return float(np.mean(ious))


@pytest.mark.parametrize("change", ["expression", "pose"])
def test_synthfaces_warp_predicts_the_true_mask_better_than_no_warp(change):
    """Re-render one identity with another expression or head pose: warping the source's true mask to the
    new landmarks must come closer to the new render's true mask than the unchanged source mask.
    (benchmarks/landmark_masks_synthfaces.py gives the figures on more faces.)"""
    from trainer.data import synthfaces as sf

    err = {"none": 0, "warp": 0}
    miou = {"none": [], "warp": []}
    for seed in range(4):
        p = sf.with_pose(sf.with_expression(sf.sample_params(500 + seed), "neutral"), 0.0, 0.0, 0.0)
        src = sf.render(p, size=S)
        targets = ([sf.with_expression(p, e) for e in ("happy", "surprised")] if change == "expression"
                   else [sf.with_pose(p, yaw, 0.0, 0.0) for yaw in (-25.0, 20.0)])
        for target in targets:
            dst = sf.render(target, size=S)
            warped = warp_mask(src.mask, src.landmarks, dst.landmarks)
            if mouth_opening(dst.landmarks) > mouth_opening(src.landmarks):
                warped = landmarks_to_mask(dst.landmarks, S, base=warped, parts=("mouth",), replace_stale=False)
            for name, pred in (("none", src.mask), ("warp", warped)):
                err[name] += int((pred != dst.mask).sum())
                miou[name].append(_miou(pred, dst.mask))
    assert err["warp"] < 0.8 * err["none"]
    assert np.mean(miou["warp"]) > np.mean(miou["none"]) + 0.03


def test_head_motion_is_a_similarity_and_raised_brows_leave_the_hair():
    pts = frontal_template(S)
    angle = np.deg2rad(7.0)
    rot = 1.1 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = pts @ rot.T + [3.0, -2.0]
    m = head_similarity(pts, moved)
    assert np.allclose(pts @ m[:, :2].T + m[:, 2], moved)
    base = painted(pts)
    raised = pts.copy()
    raised[17:27, 1] -= 4.0                                   # surprise: the brows go up, the head stays
    out = warp_mask(base, pts, raised)
    hair_before, hair_after = base == C["hair"], out == C["hair"]
    assert (hair_before & hair_after).sum() / (hair_before | hair_after).sum() > 0.97
    brow = landmarks_to_mask(raised, S) == C["l_brow"]
    moved_brow = warp_mask(landmarks_to_mask(pts, S), pts, raised) == C["l_brow"]
    still_brow = landmarks_to_mask(pts, S) == C["l_brow"]
    iou_moved = (moved_brow & brow).sum() / (moved_brow | brow).sum()
    assert iou_moved > 0.7 and iou_moved > 2 * (still_brow & brow).sum() / (still_brow | brow).sum()


def test_non_square_warp():
    h, w = 90, 150
    pts = frontal_template((h, w))
    m = landmarks_to_mask(pts, (h, w))
    assert np.array_equal(warp_mask(m, pts, pts), m)
    out = warp_mask(m, pts, pts + [12.0, 0.0])
    eye = pts[42:48].mean(axis=0) + [12.0, 0.0]
    assert out[int(round(eye[1])), int(round(eye[0]))] == C["l_eye"]
