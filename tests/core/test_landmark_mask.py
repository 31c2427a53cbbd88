"""Landmark -> 19-class mask rasterisation, the six-region grouping, and mask validation/loading."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from faceeditor.core.face_geometry import (
    IBUG_MIRROR,
    LandmarkError,
    frontal_template,
    load_landmarks,
    mirror_landmarks,
    save_landmarks,
    smile_landmarks,
)
from faceeditor.core.labels import CLASS_INDEX, flip_class_lut
from faceeditor.core.landmark_mask import (
    LANDMARK_REGIONS,
    MOUTH_CLASSES,
    colorize_mask,
    landmark_region_lut,
    landmarks_to_mask,
    mouth_opening,
    polygon_coverage,
    to_landmark_regions,
)
from faceeditor.core.mask_io import MaskError, load_mask, save_mask, validate_mask

S = 128
C = CLASS_INDEX


def at(mask: np.ndarray, point: np.ndarray) -> int:
    x, y = np.round(point).astype(int)
    return int(mask[y, x])


def jittered(seed: int, size: int = S, sigma: float = 1.2) -> np.ndarray:
    """An asymmetric, slightly rolled face (so mirror tests are not trivially symmetric)."""
    rng = np.random.default_rng(seed)
    pts = frontal_template(size) + rng.normal(0.0, sigma, (68, 2))
    angle = np.deg2rad(rng.uniform(-8, 8))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = pts.mean(axis=0)
    return (pts - centre) @ rot.T + centre + rng.uniform(-4, 4, 2)


def test_parts_land_where_their_landmarks_are():
    pts = frontal_template(S)
    m = landmarks_to_mask(pts, S)
    assert m.shape == (S, S) and m.dtype == np.uint8
    # the subject's left eye (iBUG 42-47) lies on the image's right and is class l_eye
    assert at(m, pts[42:48].mean(axis=0)) == C["l_eye"] and pts[42:48, 0].mean() > S / 2
    assert at(m, pts[36:42].mean(axis=0)) == C["r_eye"]
    for i in range(18, 21):
        assert at(m, pts[i]) == C["r_brow"]
    for i in range(23, 26):
        assert at(m, pts[i]) == C["l_brow"]
    assert at(m, pts[30]) == C["nose"] and at(m, pts[29]) == C["nose"]
    assert at(m, 0.5 * (pts[51] + pts[62])) == C["u_lip"]
    assert at(m, 0.5 * (pts[57] + pts[66])) == C["l_lip"]
    assert at(m, pts[8] + [0, -4]) == C["skin"]                       # just above the chin
    assert at(m, 0.5 * (pts[2] + pts[31])) == C["skin"]               # the cheek
    assert at(m, pts[24] + [0, -10]) == C["skin"]                     # the forehead above the brow
    assert m[0, 0] == C["background"] and m[S - 1, 0] == C["background"]
    assert set(np.unique(m)) == {C[n] for n in ("background", "skin", "l_brow", "r_brow", "l_eye", "r_eye",
                                                "nose", "u_lip", "l_lip")}  # closed mouth: no interior


def test_open_mouth_has_an_interior():
    pts = smile_landmarks(frontal_template(S), 1.0)
    m = landmarks_to_mask(pts, S)
    assert at(m, 0.5 * (pts[62] + pts[66])) == C["mouth"]
    assert (m == C["mouth"]).sum() > 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mirrored_landmarks_give_the_mirrored_mask(seed):
    pts = jittered(seed)
    m = landmarks_to_mask(pts, S)
    mirrored = landmarks_to_mask(mirror_landmarks(pts, S), S)
    expected = np.asarray(flip_class_lut(), np.uint8)[m[:, ::-1]]
    assert (mirrored == expected).mean() > 0.995
    assert sorted(IBUG_MIRROR) == list(range(68))


def test_resolution_independent():
    pts = jittered(3)
    small = landmarks_to_mask(pts, S)
    k = 4
    big = landmarks_to_mask((pts + 0.5) * k - 0.5, S * k)   # same face, pixel centres kept aligned
    down = big[1::k, 1::k]                                 # nearest pixel centres of the small grid
    assert (down == small).mean() > 0.985
    for name in ("skin", "nose", "l_eye", "u_lip"):
        a_small, a_big = (small == C[name]).sum(), (big == C[name]).sum() / k ** 2
        assert abs(a_small - a_big) <= 0.06 * a_big + 3, name


def test_sub_pixel_shifts_move_the_mask_sub_pixel():
    pts = frontal_template(S)
    ys, xs = np.mgrid[0:S, 0:S]
    centroids = []
    for dx in (0.0, 0.25, 0.5):
        skin = landmarks_to_mask(pts + [dx, 0.0], S) != C["background"]
        centroids.append(xs[skin].mean())
    assert centroids[1] - centroids[0] == pytest.approx(0.25, abs=0.06)
    assert centroids[2] - centroids[0] == pytest.approx(0.5, abs=0.06)


def test_drawing_onto_a_base_keeps_hair_cloth_and_replaces_old_parts():
    pts = frontal_template(S)
    base = np.zeros((S, S), np.uint8)
    base[: int(pts[19, 1]) - 6, :] = C["hair"]          # hair down to just above the brows (bangs)
    base[S - 12:, :] = C["cloth"]
    base[60:64, 5:9] = C["l_eye"]                        # a stale eye far from the new one
    out = landmarks_to_mask(pts, S, base=base)
    assert (out[S - 12:] == C["cloth"]).all()
    assert out[2, S // 2] == C["hair"]                   # hair above the forehead stays (occluder)
    assert at(out, pts[42:48].mean(axis=0)) == C["l_eye"]
    assert (out[60:64, 5:9] == C["skin"]).all()         # the stale eye became skin
    assert (out == C["l_eye"]).sum() == (landmarks_to_mask(pts, S) == C["l_eye"]).sum()
    no_occluders = landmarks_to_mask(pts, S, base=base, occluders=())
    forehead = pts[24] + [0, -10]
    assert at(no_occluders, forehead) == C["skin"] and at(out, forehead) in (C["hair"], C["skin"])


def test_six_landmark_regions():
    names = [n for n, _ in LANDMARK_REGIONS]
    assert names == ["background", "face", "eyebrows", "eyes", "nose", "lips", "mouth"]
    members = sorted(m for _, ms in LANDMARK_REGIONS for m in ms)
    assert members == sorted(CLASS_INDEX)                # every class grouped exactly once
    pts = smile_landmarks(frontal_template(S), 1.0)
    m = landmarks_to_mask(pts, S)
    r = landmarks_to_mask(pts, S, regions=True)
    assert np.array_equal(r, to_landmark_regions(m))
    assert set(np.unique(r)) == set(range(7))
    lut = landmark_region_lut()
    assert lut[C["l_eye"]] == lut[C["r_eye"]] == 3 and lut[C["hair"]] == 0


def test_bad_landmarks_and_base_are_refused_clearly():
    pts = frontal_template(S)
    with pytest.raises(LandmarkError, match=r"\(68, 2\)"):
        landmarks_to_mask(pts[:67], S)
    bad = pts.copy()
    bad[3, 0] = np.nan
    with pytest.raises(LandmarkError, match="NaN"):
        landmarks_to_mask(bad, S)
    with pytest.raises(LandmarkError, match="degenerate"):
        landmarks_to_mask(np.zeros((68, 2)), S)
    base = np.zeros((S, S), np.uint8)
    base[5, 5] = 19
    with pytest.raises(MaskError, match="unknown class index 19"):
        landmarks_to_mask(pts, S, base=base)
    with pytest.raises(MaskError, match="does not match"):
        landmarks_to_mask(pts, S, base=np.zeros((S, S + 2), np.uint8))


def test_validate_mask():
    assert validate_mask(np.ones((4, 5), np.int64)).dtype == np.uint8
    assert validate_mask(np.ones((4, 5, 1), np.uint8)).shape == (4, 5)
    with pytest.raises(MaskError, match="2-D"):
        validate_mask(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(MaskError, match="integer"):
        validate_mask(np.full((4, 4), 0.5))
    with pytest.raises(MaskError, match="unknown class index -1"):
        validate_mask(np.full((4, 4), -1))
    with pytest.raises(MaskError, match="expected 3x2"):
        validate_mask(np.zeros((4, 4), np.uint8), (2, 3))


def test_load_mask_files(tmp_path):
    good = landmarks_to_mask(frontal_template(64), 64)
    save_mask(tmp_path / "m.png", good)
    assert np.array_equal(load_mask(tmp_path / "m.png", expected_size=64), good)
    palette = Image.fromarray(good, "P")
    palette.putpalette([v for c in colorize_mask(np.arange(19, dtype=np.uint8)[None])[0] for v in c])
    palette.save(tmp_path / "p.png")
    assert np.array_equal(load_mask(tmp_path / "p.png"), good)

    unknown = good.copy()
    unknown[0, 0] = 25
    Image.fromarray(unknown, "L").save(tmp_path / "unknown.png")
    with pytest.raises(MaskError, match=r"unknown class index 25 in 1 pixel.*0\.\.18"):
        load_mask(tmp_path / "unknown.png")
    with pytest.raises(MaskError, match="64x64.*does not match the expected 128x128"):
        load_mask(tmp_path / "m.png", expected_size=128)
    (tmp_path / "notes.png").write_text("this is not an image")
    with pytest.raises(MaskError, match="cannot load mask .*notes.png"):
        load_mask(tmp_path / "notes.png")
    Image.fromarray(colorize_mask(good)).save(tmp_path / "colour.png")
    with pytest.raises(MaskError, match="colour"):
        load_mask(tmp_path / "colour.png")
    with pytest.raises(MaskError, match="no such file"):
        load_mask(tmp_path / "missing.png")


def test_landmarks_json_round_trip_and_errors(tmp_path):
    pts = jittered(5)
    save_landmarks(tmp_path / "l.json", pts)
    assert np.allclose(load_landmarks(tmp_path / "l.json"), pts, atol=1e-3)
    (tmp_path / "short.json").write_text("[[1, 2], [3, 4]]")
    with pytest.raises(LandmarkError, match=r"\(68, 2\)"):
        load_landmarks(tmp_path / "short.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(LandmarkError, match="not valid JSON"):
        load_landmarks(tmp_path / "junk.json")


def test_partial_redraw_and_mouth_opening():
    closed = frontal_template(S)
    open_ = smile_landmarks(closed, 1.0)
    assert mouth_opening(closed) == pytest.approx(0.0, abs=1e-9) and mouth_opening(open_) > 0.02
    base = landmarks_to_mask(closed, S)
    only_mouth = landmarks_to_mask(open_, S, base=base, parts=("mouth",), replace_stale=False)
    changed = only_mouth != base
    assert set(np.unique(only_mouth[changed])) == {C["mouth"]}          # nothing but the interior drawn
    lips = landmarks_to_mask(open_, S, base=base, parts=MOUTH_CLASSES)
    assert np.array_equal(lips == C["nose"], base == C["nose"])         # the nose was left alone
    assert (lips == C["mouth"]).sum() == (landmarks_to_mask(open_, S) == C["mouth"]).sum()
    with pytest.raises(ValueError, match="not drawn from landmarks"):
        landmarks_to_mask(open_, S, parts=("hair",))


def test_polygon_fill_matches_point_in_polygon():
    import cv2

    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:60, 0:80]
    centres = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    for _ in range(20):
        n = int(rng.integers(3, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(5, 35, n)                       # star-shaped, often concave
        poly = np.stack([40 + radii * np.cos(angles), 30 + radii * np.sin(angles)], axis=1)
        got = polygon_coverage(poly, (60, 80)).ravel()
        contour = poly.astype(np.float32).reshape(-1, 1, 2)
        dist = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in centres])
        clear = np.abs(dist) > 1e-3                          # centres on an edge may go either way
        assert np.array_equal(got[clear], dist[clear] > 0)


def test_non_square_masks_keep_x_as_columns():
    h, w = 100, 140
    pts = frontal_template((h, w))
    m = landmarks_to_mask(pts, (h, w))
    assert m.shape == (h, w)
    assert at(m, pts[42:48].mean(axis=0)) == C["l_eye"] and at(m, pts[36:42].mean(axis=0)) == C["r_eye"]
    assert pts[:, 0].max() < w and pts[:, 1].max() < h
