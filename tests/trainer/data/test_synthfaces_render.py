"""SynthFaces renderer: determinism, label consistency, landmark placement, local ground-truth edits."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX, EVALUATOR_ATTRIBUTES, EXPRESSIONS
from trainer.data.synthfaces import (
    ATTR_KEYS,
    ATTRIBUTE_REGIONS,
    EXPRESSION_REGIONS,
    attribute_labels,
    render,
    render_seed,
    sample_params,
    with_attribute,
    with_expression,
    with_pose,
)

C = CLASS_INDEX
SIZE = 64


@pytest.fixture(scope="module")
def samples():
    """A few hundred faces at 64x64 (rendered once for the label tests)."""
    return [render_seed(seed, SIZE) for seed in range(240)]


def _has(sample, name: str) -> bool:
    return bool((sample.mask == C[name]).any())


def test_same_seed_same_bytes_and_seeds_differ():
    a, b = render_seed(1234, 96), render_seed(1234, 96)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.mask.tobytes() == b.mask.tobytes()
    assert a.landmarks.tobytes() == b.landmarks.tobytes()
    assert a.params == b.params and a.attributes == b.attributes
    c = render_seed(1235, 96)
    assert (a.image != c.image).mean() > 0.3


def test_outputs_have_the_contracted_types():
    s = render_seed(7, 80)
    assert s.image.dtype == np.uint8 and s.image.shape == (80, 80, 3)
    assert s.mask.dtype == np.uint8 and s.mask.shape == (80, 80) and s.mask.max() < 19
    assert s.landmarks.dtype == np.float32 and s.landmarks.shape == (68, 2)
    assert set(EVALUATOR_ATTRIBUTES) <= set(s.attributes)
    assert s.expression in EXPRESSIONS and len(s.pose) == 3
    assert s.identity == s.params.identity == 7


def test_attribute_and_expression_frequencies_are_learnable():
    params = [sample_params(seed) for seed in range(1200)]
    labels = [attribute_labels(p) for p in params]
    for name in EVALUATOR_ATTRIBUTES:
        rate = np.mean([lab[name] for lab in labels])
        assert (0.08 if name == "Bald" else 0.15) <= rate <= 0.85, (name, rate)
    male = np.array([lab["Male"] for lab in labels])
    mus = np.array([lab["Mustache"] for lab in labels])
    assert mus[~male].mean() < 0.02 < mus[male].mean()
    expr = [p.expression for p in params]
    for e in EXPRESSIONS:
        assert 0.08 <= expr.count(e) / len(expr) <= 0.18, e
    # A neutral face is drawn without a smile: otherwise its label contradicts its pixels (the smile is
    # happy's action), and an expression classifier cannot learn "neutral".
    smiling = [lab["Smiling"] for p, lab in zip(params, labels, strict=True) if p.expression == "neutral"]
    assert len(smiling) > 80 and not any(smiling)


def test_masks_contain_the_classes_the_attributes_imply(samples):
    n_ear, n_neck, n_open = [0, 0], [0, 0], [0, 0]
    for s in samples:
        a = s.attributes
        assert _has(s, "eye_g") == a["Eyeglasses"]
        assert _has(s, "hat") == a["Wearing_Hat"]
        if a["Bald"]:
            assert not _has(s, "hair")
        elif not a["Wearing_Hat"]:
            assert _has(s, "hair")
        # accessories' labels say whether they can be seen
        assert _has(s, "ear_r") == a["Wearing_Earrings"]
        assert _has(s, "neck_l") == a["Wearing_Necklace"]
        if s.params.attr("Wearing_Earrings") >= 0.5:
            n_ear[0] += 1
            n_ear[1] += _has(s, "ear_r")
        if s.params.attr("Wearing_Necklace") >= 0.5:
            n_neck[0] += 1
            n_neck[1] += _has(s, "neck_l")
        if _has(s, "mouth"):
            assert a["Mouth_Slightly_Open"]
        if a["Mouth_Slightly_Open"]:
            n_open[0] += 1
            n_open[1] += _has(s, "mouth")
        for name in ("skin", "nose", "l_eye", "r_eye", "cloth", "background"):
            assert _has(s, name), name
        assert _has(s, "u_lip") or _has(s, "l_lip")      # a pressed upper lip can be < 1 px at 64x64
    # worn accessories are mostly visible; open mouths are visible
    assert n_ear[0] > 20 and n_ear[1] >= 0.75 * n_ear[0]
    assert n_neck[0] > 15 and n_neck[1] >= 0.75 * n_neck[0]
    assert n_open[0] > 30 and n_open[1] >= 0.85 * n_open[0]


LANDMARK_REGIONS = {
    "jaw": (range(0, 17), ("skin",)),
    "brows": (range(17, 27), ("l_brow", "r_brow")),
    "nose": (range(27, 36), ("nose",)),
    "eyes": (range(36, 48), ("l_eye", "r_eye")),
    "mouth": (range(48, 68), ("mouth", "u_lip", "l_lip")),
}
OCCLUDERS = ("hair", "hat", "eye_g", "l_ear", "r_ear", "ear_r")


CORNERS = {36, 39, 42, 45, 48, 54, 60, 64}      # tips of tapering shapes: two pixels of tolerance


def test_landmarks_fall_inside_the_regions_they_name():
    """Every landmark lies on its part or within one pixel of it (two for eye and mouth corners), unless
    an occluder (hair, hat, glasses, ears, earrings) is within a pixel of it."""
    checked = 0
    for seed in range(120):
        s = render_seed(seed, 96)
        occl = cv2.dilate(np.isin(s.mask, [C[n] for n in OCCLUDERS]).astype(np.uint8), np.ones((3, 3), np.uint8))
        for _group, (idx, names) in LANDMARK_REGIONS.items():
            part = np.isin(s.mask, [C[n] for n in names]).astype(np.uint8)
            band1 = cv2.dilate(part, np.ones((3, 3), np.uint8))
            band2 = cv2.dilate(part, np.ones((5, 5), np.uint8))
            for i in idx:
                x, y = np.round(s.landmarks[i]).astype(int)
                assert 0 <= x < 96 and 0 <= y < 96
                if occl[y, x]:
                    continue
                checked += 1
                assert (band2 if i in CORNERS else band1)[y, x], (seed, i, s.mask[y - 1:y + 2, x - 1:x + 2])
    assert checked > 120 * 50


def test_eye_landmarks_are_ordered_like_ibug():
    p = with_pose(with_expression(sample_params(3), "neutral"))
    lm = render(p, 128).landmarks
    assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]          # right eye (image left) first
    assert lm[17, 0] < lm[21, 0] < lm[22, 0] < lm[26, 0]
    assert lm[48, 0] < lm[51, 0] < lm[54, 0] and lm[51, 1] < lm[57, 1]
    assert lm[0, 0] < lm[8, 0] < lm[16, 0] and lm[8, 1] > lm[30, 1] > lm[27, 1]


def _changed_outside(a, b, regions, dilation: int = 2) -> int:
    ids = [C[r] for r in regions]
    allowed = np.isin(a.mask, ids) | np.isin(b.mask, ids)
    allowed = cv2.dilate(allowed.astype(np.uint8), np.ones((2 * dilation + 1,) * 2, np.uint8)).astype(bool)
    diff = (a.image != b.image).any(-1)
    return int((diff & ~allowed).sum())


def test_attribute_flips_change_only_their_regions():
    for seed in range(10):
        p = sample_params(seed)
        base = render(p, SIZE)
        for name in ATTR_KEYS:
            present = p.attr(name) >= 0.5
            for value in (0.0 if present else 1.0, 0.5):
                q = with_attribute(p, name, value)
                out = render(q, SIZE)
                assert _changed_outside(base, out, ATTRIBUTE_REGIONS[name]) == 0, (seed, name, value)
                assert out.params.identity == p.identity
            if value == 0.5:
                flipped = render(with_attribute(p, name, 0.0 if present else 1.0), SIZE)
                overridden = (name == "Smiling" and p.expression == "happy") or (
                    name == "Mouth_Slightly_Open" and p.expression in ("happy", "surprised", "fearful")) or (
                    name in ("Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair") and base.attributes["Bald"]) or (
                    name == "Wearing_Earrings" and not _has(flipped, "ear_r") and not _has(base, "ear_r")) or (
                    name == "Wearing_Necklace" and not _has(flipped, "neck_l") and not _has(base, "neck_l"))
                if not overridden:
                    assert flipped.attributes[name] != base.attributes[name], (seed, name)


def test_expression_changes_only_expression_regions():
    for seed in range(12):
        p = sample_params(seed)
        base = render(p, SIZE)
        for e in EXPRESSIONS:
            if e == p.expression:
                continue
            out = render(with_expression(p, e), SIZE)
            assert _changed_outside(base, out, EXPRESSION_REGIONS) == 0, (seed, e)
            assert out.expression == e


def test_expressions_move_brows_lids_and_mouth_the_right_way():
    p = with_pose(with_attribute(with_attribute(sample_params(11), "Smiling", 0), "Mouth_Slightly_Open", 0))
    lm = {e: render(with_expression(p, e), 128).landmarks for e in EXPRESSIONS}
    n = lm["neutral"]

    def opening(x):
        return x[66, 1] - x[62, 1]

    def eye_open(x):
        return (x[40, 1] + x[41, 1]) - (x[37, 1] + x[38, 1])

    assert lm["surprised"][19, 1] < n[19, 1] - 1 and opening(lm["surprised"]) > opening(n) + 3
    assert eye_open(lm["surprised"]) > eye_open(n) and eye_open(lm["fearful"]) > eye_open(n)
    assert lm["happy"][48, 1] < n[48, 1] - 1 and lm["happy"][54, 1] < n[54, 1] - 1
    assert lm["sad"][48, 1] > n[48, 1] + 0.5 and lm["sad"][21, 1] < n[21, 1]
    assert lm["angry"][21, 1] > n[21, 1] + 0.5 and lm["angry"][22, 1] > n[22, 1] + 0.5
    assert lm["contemptuous"][54, 1] < lm["contemptuous"][48, 1] - 3     # one corner raised, visibly at 128²
    assert lm["disgusted"][51, 1] < n[51, 1]                             # upper lip raised


def test_pose_turns_the_head():
    p = with_pose(sample_params(5))
    x0 = render(p, 128).landmarks[30, 0]
    assert render(with_pose(p, yaw=30), 128).landmarks[30, 0] > x0 + 4
    assert render(with_pose(p, yaw=-30), 128).landmarks[30, 0] < x0 - 4
    assert render(with_pose(p, pitch=15), 128).landmarks[30, 1] < render(p, 128).landmarks[30, 1]


def test_edits_reject_bad_input():
    p = sample_params(0)
    with pytest.raises(ValueError, match="unknown attribute"):
        with_attribute(p, "Blue_Hair", 1.0)
    with pytest.raises(ValueError, match="finite"):
        with_attribute(p, "Male", float("nan"))
    with pytest.raises(ValueError, match="unknown expression"):
        with_expression(p, "bored")
    with pytest.raises(ValueError, match="size"):
        render(p, 8)
    assert with_attribute(p, "Male", 7.0).attr("Male") == 1.0
