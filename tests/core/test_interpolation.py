"""Keyframe interpolation: curves, slerp, channels, per-frame masks, mask morphing, the two presets."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core.face_geometry import (
    face_frame,
    frontal_template,
    head_turn_landmarks,
    mirror_landmarks,
    smile_landmarks,
)
from faceeditor.core.head_layout import portrait_layout
from faceeditor.core.interpolation import (
    Interpolation,
    Keyframe,
    KeyframeError,
    interpolate_curve,
    left2right_keyframes,
    morph_masks,
    nosmile2smile_keyframes,
    slerp,
    z_from_seed,
)
from faceeditor.core.labels import CLASS_INDEX, EXPRESSIONS, flip_class_lut
from faceeditor.core.landmark_mask import landmarks_to_mask

S = 96
C = CLASS_INDEX


# ------------------------------------------------------------------------------------------------ slerp

def test_slerp_endpoints_and_norms():
    z0, z1 = z_from_seed(1), z_from_seed(2)
    assert z0.shape == (512,) and z0.dtype == np.float32
    assert np.array_equal(z_from_seed(1), z0) and not np.array_equal(z0, z1)
    assert np.allclose(slerp(z0, z1, 0.0), z0, atol=1e-5) and np.allclose(slerp(z0, z1, 1.0), z1, atol=1e-5)
    u0, u1 = z0 / np.linalg.norm(z0) * 22.0, z1 / np.linalg.norm(z1) * 22.0
    for t in np.linspace(0, 1, 11):
        assert np.linalg.norm(slerp(u0, u1, t)) == pytest.approx(22.0, rel=1e-5)
    # Gaussian latents: slerp keeps the typical norm, linear interpolation shrinks it half-way
    mid_s = np.linalg.norm(slerp(z0, z1, 0.5))
    mid_l = np.linalg.norm(0.5 * (z0 + z1))
    ends = 0.5 * (np.linalg.norm(z0) + np.linalg.norm(z1))
    assert mid_s == pytest.approx(ends, rel=0.02) and mid_l < 0.8 * ends
    # the angle to z0 grows linearly in t
    angle = [np.arccos(np.dot(slerp(u0, u1, t), u0) / 22.0 ** 2) for t in (0.25, 0.5)]
    assert angle[1] == pytest.approx(2 * angle[0], rel=1e-4)


def test_slerp_small_angle_and_bad_shapes():
    z = z_from_seed(3, nz=16)
    near = z * (1 + 1e-9)
    assert np.allclose(slerp(z, near, 0.5), z, atol=1e-5)   # falls back to lerp, no NaN
    assert np.isfinite(slerp(z, -z, 0.3)).all()
    assert np.allclose(slerp(np.zeros(16), z, 0.5), 0.5 * z)
    with pytest.raises(ValueError, match="shape"):
        slerp(np.zeros(3), np.zeros(4), 0.5)


# ------------------------------------------------------------------------------------------------ curves

def test_curves_pass_through_keys_and_hold_outside():
    times = [0, 4, 10, 12]
    values = np.array([[0.0, 1.0], [3.0, -1.0], [4.0, 5.0], [-2.0, 0.0]])
    for method in ("linear", "catmull_rom", "monotone"):
        for t, v in zip(times, values, strict=True):
            assert np.allclose(interpolate_curve(times, values, t, method), v)
        assert np.allclose(interpolate_curve(times, values, -5, method), values[0])
        assert np.allclose(interpolate_curve(times, values, 99, method), values[-1])
    assert np.allclose(interpolate_curve(times, values, 2, "linear"), [1.5, 0.0])


def test_catmull_rom_is_c1_and_monotone_does_not_overshoot():
    times = [0.0, 1.0, 2.0, 3.0]
    values = np.array([0.0, 0.0, 1.0, 1.0])
    ts = np.linspace(0, 3, 301)
    cr = np.array([interpolate_curve(times, values, t, "catmull_rom") for t in ts])
    mono = np.array([interpolate_curve(times, values, t, "monotone") for t in ts])
    assert cr.min() < -1e-3 and cr.max() > 1 + 1e-3          # Catmull-Rom overshoots a step...
    assert mono.min() >= -1e-12 and mono.max() <= 1 + 1e-12   # ...the monotone curve does not
    assert np.all(np.diff(mono) >= -1e-12)
    eps = 1e-5
    for t in (1.0, 2.0):                                     # equal slopes either side of a key
        left = (interpolate_curve(times, values, t, "catmull_rom") -
                interpolate_curve(times, values, t - eps, "catmull_rom")) / eps
        right = (interpolate_curve(times, values, t + eps, "catmull_rom") -
                 interpolate_curve(times, values, t, "catmull_rom")) / eps
        assert left == pytest.approx(right, abs=1e-3)
    with pytest.raises(ValueError, match="increasing"):
        interpolate_curve([0, 0], values[:2], 0.5)
    with pytest.raises(ValueError, match="unknown curve"):
        interpolate_curve(times, values, 0.5, "bezier")


# --------------------------------------------------------------------------------------------- channels

def test_channels_interpolate_between_their_own_keyframes():
    a, b = frontal_template(S), head_turn_landmarks(frontal_template(S), 20.0)
    keys = [
        Keyframe(frame=10, landmarks=a, z=5, attributes={"Male": 0.0}, expression="neutral"),
        Keyframe(frame=20, attributes={"Male": 1.0, "Young": 1.0}),
        Keyframe(frame=30, landmarks=b, z=6, expression={"happy": 0.5, "surprised": 0.5}),
    ]
    it = Interpolation(keys, size=S, curve="linear", nz=64)
    assert len(it) == 21 and list(it.frame_numbers())[0] == 10
    assert np.allclose(it.landmarks_at(10), a) and np.allclose(it.landmarks_at(30), b)
    assert np.allclose(it.landmarks_at(20), 0.5 * (a + b))
    assert np.allclose(it.z_at(10), z_from_seed(5, 64)) and np.allclose(it.z_at(30), z_from_seed(6, 64))
    assert np.allclose(it.z_at(20), slerp(z_from_seed(5, 64), z_from_seed(6, 64), 0.5), atol=1e-6)
    assert it.attributes_at(15) == pytest.approx({"Male": 0.5, "Young": 1.0})   # Young held before frame 20
    e = it.expression_at(20)
    assert e[EXPRESSIONS.index("neutral")] == pytest.approx(0.5)
    assert e[EXPRESSIONS.index("happy")] == pytest.approx(0.25)
    specs = list(it)
    assert [s.index for s in specs] == list(range(21)) and specs[5].frame == 15
    assert all(s.mask.shape == (S, S) for s in specs)
    assert np.array_equal(specs[0].mask, portrait_layout(a, S))
    parts_only = Interpolation(keys, size=S, curve="linear", nz=64, portrait=False)
    assert np.array_equal(parts_only.mask_at(10), landmarks_to_mask(a, S))


def test_clips_from_landmarks_alone_draw_the_whole_portrait():
    """Without keyframe masks every frame is a whole head (hair, neck, cloth), not a floating face; a smile
    leaves the head points, and so the hair, where they were."""
    smile = Interpolation(nosmile2smile_keyframes(size=S, frames=9, steps=3), size=S)
    masks = [smile.mask_at(f) for f in smile.frame_numbers()]
    for m in masks:
        assert {C["hair"], C["neck"], C["skin"], C["nose"]} <= set(np.unique(m).tolist())
    assert all(np.array_equal(m == C["hair"], masks[0] == C["hair"]) for m in masks)
    assert (masks[-1] == C["mouth"]).sum() > 20
    turn = Interpolation(left2right_keyframes(size=S, frames=9, steps=3), size=S)
    hair_x = []
    for f in turn.frame_numbers():
        ys, xs = np.nonzero(turn.mask_at(f) == C["hair"])
        hair_x.append(xs.mean())
    assert np.all(np.diff(hair_x) > 0)                   # the hair goes along with the turning head


def test_painted_mask_follows_the_head():
    pts = frontal_template(S)
    base = np.zeros((S, S), np.uint8)
    yy, xx = np.mgrid[0:S, 0:S]
    base[((xx - pts[27, 0]) / 30.0) ** 2 + ((yy - pts[19, 1]) / 20.0) ** 2 < 1] = C["hair"]
    base[S - 10:, :] = C["cloth"]
    mask = landmarks_to_mask(pts, S, base=base)
    it = Interpolation([Keyframe(0, landmarks=pts, mask=mask),
                        Keyframe(10, landmarks=pts + [10.0, 3.0])], size=S)
    assert np.array_equal(it.mask_at(0), mask)
    xs = np.arange(S)[None, :]
    hair_x = [float((xs * (it.mask_at(f) == C["hair"])).sum() / (it.mask_at(f) == C["hair"]).sum())
              for f in (0, 5, 10)]
    assert hair_x[0] + 2 < hair_x[1] < hair_x[2] - 2    # the painted hair moves with the face
    assert (it.mask_at(10)[S - 5:] == C["cloth"]).all()  # the border stays
    # no landmarks: masks alone morph, z alone works
    disc = np.zeros((S, S), np.uint8)
    only = Interpolation([Keyframe(0, mask=disc, z=np.ones(8)), Keyframe(4, z=-np.ones(8) + 0.1)])
    assert only.landmarks_at(2) is None and np.array_equal(only.mask_at(3), disc)
    assert only.spec(2).z.shape == (8,)


def test_morph_masks_moves_shapes_instead_of_fading():
    yy, xx = np.mgrid[0:S, 0:S]
    a = np.where((xx - 38) ** 2 + (yy - 48) ** 2 < 15 ** 2, C["hair"], 0).astype(np.uint8)
    b = np.where((xx - 58) ** 2 + (yy - 48) ** 2 < 15 ** 2, C["hair"], 0).astype(np.uint8)
    assert np.array_equal(morph_masks(a, b, 0.0), a) and np.array_equal(morph_masks(a, b, 1.0), b)
    mid = morph_masks(a, b, 0.5) == C["hair"]
    assert xx[mid].mean() == pytest.approx(48, abs=1.0)   # half-way ...
    area = a.astype(bool).sum()
    assert 0.6 * area < mid.sum() < 1.1 * area          # ... and one blob, not the union of both
    assert mid.sum() < 0.8 * (a.astype(bool) | b.astype(bool)).sum()


def test_bad_keyframes_get_clear_errors():
    pts = frontal_template(S)
    with pytest.raises(KeyframeError, match="at least one"):
        Interpolation([])
    with pytest.raises(KeyframeError, match="same frame"):
        Interpolation([Keyframe(3, z=1), Keyframe(3, z=2)])
    with pytest.raises(KeyframeError, match="size"):
        Interpolation([Keyframe(0, landmarks=pts), Keyframe(5, landmarks=pts)])
    with pytest.raises(KeyframeError, match=r"frame 5: landmarks.*\(68, 2\)"):
        Interpolation([Keyframe(0, landmarks=pts), Keyframe(5, landmarks=pts[:5])], size=S)
    with pytest.raises(KeyframeError, match="unknown expression 'joyful'"):
        Interpolation([Keyframe(0, expression="joyful")])
    with pytest.raises(KeyframeError, match="z has 4 values"):
        Interpolation([Keyframe(0, z=np.zeros(3)), Keyframe(1, z=np.zeros(4))])
    bad = np.zeros((S, S), np.uint8)
    bad[1, 1] = 99
    with pytest.raises(KeyframeError, match="frame 0: mask.*unknown class index 99"):
        Interpolation([Keyframe(0, mask=bad)])
    with pytest.raises(KeyframeError, match="does not match"):
        Interpolation([Keyframe(0, mask=np.zeros((S, S), np.uint8)), Keyframe(1, mask=np.zeros((S, 8), np.uint8))])
    with pytest.raises(KeyframeError, match="attribute 'Male'"):
        Interpolation([Keyframe(0, attributes={"Male": float("nan")})])
    with pytest.raises(KeyframeError, match="curve"):
        Interpolation([Keyframe(0)], curve="spline")


# ---------------------------------------------------------------------------------------------- presets

def test_left2right_is_a_plausible_mirror_symmetric_turn():
    keys = left2right_keyframes(size=S, frames=25, theta=30.0, steps=5, z=7, attributes={"Male": 1.0})
    assert [k.frame for k in keys] == [0, 6, 12, 18, 24]
    assert np.allclose(keys[2].landmarks, frontal_template(S))
    for i in range(2):   # -theta mirrors +theta, -theta/2 mirrors +theta/2
        assert np.allclose(mirror_landmarks(keys[i].landmarks, S), keys[4 - i].landmarks, atol=1e-6)
    it = Interpolation(keys, size=S)
    nose_x = [it.landmarks_at(f)[30, 0] for f in it.frame_numbers()]
    assert np.all(np.diff(nose_x) > 0)                   # the nose sweeps from left to right
    first = it.landmarks_at(0)
    r_eye_w = np.ptp(first[36:42, 0])
    l_eye_w = np.ptp(first[42:48, 0])
    assert r_eye_w < 0.8 * l_eye_w                       # turned left: the subject's right eye recedes
    assert face_frame(first).iod < face_frame(frontal_template(S)).iod   # foreshortened
    m0, m1 = it.mask_at(0), it.mask_at(24)
    assert (np.asarray(flip_class_lut(), np.uint8)[m0[:, ::-1]] == m1).mean() > 0.995
    spec = it.spec(12)
    assert spec.attributes == {"Male": 1.0} and np.allclose(spec.z, z_from_seed(7))


def test_nosmile2smile_raises_corners_and_opens_the_mouth():
    keys = nosmile2smile_keyframes(size=S, frames=17, steps=5)
    it = Interpolation(keys, size=S)
    corner_y = [0.5 * (it.landmarks_at(f)[48, 1] + it.landmarks_at(f)[54, 1]) for f in it.frame_numbers()]
    assert np.all(np.diff(corner_y) < 0)                 # corners rise steadily
    interior = [(it.mask_at(f) == C["mouth"]).sum() for f in it.frame_numbers()]
    assert interior[0] == 0 and interior[-1] > 20
    assert np.all(np.diff(interior) >= -2)               # opens progressively
    assert np.allclose(it.landmarks_at(16), smile_landmarks(frontal_template(S), 1.0))
    assert it.expression_at(16)[EXPRESSIONS.index("happy")] == pytest.approx(1.0)
    # the attribute channels follow the smile and the parting lips, after the corners
    smiling = [it.attributes_at(f)["Smiling"] for f in it.frame_numbers()]
    opened = [it.attributes_at(f)["Mouth_Slightly_Open"] for f in it.frame_numbers()]
    assert smiling[0] == 0.0 and smiling[-1] == pytest.approx(1.0) and np.all(np.diff(smiling) > 0)
    assert opened[0] == 0.0 and opened[-1] == pytest.approx(1.0) and np.all(np.diff(opened) >= 0)
    assert opened[4] < smiling[4]


def test_nosmile2smile_keeps_the_start_attributes_and_never_closes_an_open_mouth():
    keys = nosmile2smile_keyframes(size=S, frames=9, steps=3,
                                   attributes={"Male": 1.0, "Mouth_Slightly_Open": 1.0, "Smiling": 0.0})
    it = Interpolation(keys, size=S)
    assert it.attributes_at(0) == {"Male": 1.0, "Mouth_Slightly_Open": 1.0, "Smiling": 0.0}
    assert all(it.attributes_at(f)["Mouth_Slightly_Open"] == 1.0 for f in it.frame_numbers())
    assert it.attributes_at(8)["Smiling"] == pytest.approx(1.0) and it.attributes_at(8)["Male"] == 1.0


def test_a_painted_mask_opens_its_mouth_only_where_the_warp_cannot():
    pts = frontal_template(S)
    base = np.zeros((S, S), np.uint8)
    base[S - 10:, :] = C["cloth"]
    painted = landmarks_to_mask(pts, S, base=base)
    keys = nosmile2smile_keyframes(size=S, frames=9, steps=3, mask=painted)
    auto = Interpolation(keys, size=S)
    assert auto.draw_parts == "mouth"
    assert np.array_equal(auto.mask_at(0), painted)                  # the keyframe's own mask, exactly
    last = auto.mask_at(8)
    assert (last == C["mouth"]).sum() > 20 and (last[S - 10:] == C["cloth"]).all()
    none = Interpolation(keys, size=S, draw_parts="none")
    assert (none.mask_at(8) == C["mouth"]).sum() == 0                # a warp alone keeps the mouth shut
    redrawn = Interpolation(keys, size=S, draw_parts="all").mask_at(8)
    assert np.array_equal(redrawn == C["mouth"], landmarks_to_mask(auto.landmarks_at(8), S) == C["mouth"])
    with pytest.raises(KeyframeError, match="draw_parts"):
        Interpolation(keys, size=S, draw_parts="some")


def test_head_turn_predicts_synthfaces_own_head_turns():
    """SynthFaces renders true head turns: lifting the frontal landmarks onto the depth prior and turning
    them must land far closer to the true landmarks than leaving them frontal."""
    from trainer.data import synthfaces as sf

    turned, frontal = [], []
    for seed in range(3):
        p = sf.with_pose(sf.with_expression(sf.sample_params(700 + seed), "neutral"), 0.0, 0.0, 0.0)
        start = sf.render(p, size=S).landmarks.astype(float)
        iod = face_frame(start).iod
        for yaw in (-25.0, 25.0):
            truth = sf.render(sf.with_pose(p, yaw, 0.0, 0.0), size=S).landmarks
            turned.append(np.linalg.norm(head_turn_landmarks(start, yaw) - truth, axis=1).mean() / iod)
            frontal.append(np.linalg.norm(start - truth, axis=1).mean() / iod)
    assert np.mean(turned) < 0.3 * np.mean(frontal)
