"""Keyframe interpolation for synthesis clips: landmarks (and the masks they drive), latent z, attributes,
expression.

SCGAN (§5.5) interpolates in landmark space rather than mask space: blending two masks only cross-fades,
while moving landmarks and rebuilding the mask per frame moves the face parts. Here every channel of a
keyframe is optional and interpolated over the keyframes that set it (held before the first and after the
last): landmarks along a linear, Catmull-Rom or monotone cubic curve in time; z by spherical interpolation
(slerp) so that the latent norm stays typical; attributes and expression weights linearly. The mask of a
frame is the nearest keyframe mask warped piecewise-affinely from that keyframe's landmarks to the frame's
(so painted hair and cloth follow the face), with the mouth interior drawn from the frame's landmarks when
the mouth opens; without keyframe masks, the frame's landmarks give the whole portrait (a head template
fitted to them, faceeditor.core.head_layout, with every face part drawn on top), or with ``portrait=False``
the face parts alone on background.
Between two different keyframe masks the class shapes morph through their signed distance fields.

Also the paper's two presets: :func:`left2right_keyframes` (a head turn) and
:func:`nosmile2smile_keyframes` (a neutral mouth breaking into a smile).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceeditor.core.face_geometry import (
    as_landmarks,
    frontal_template,
    head_turn_landmarks,
    lip_parting,
    smile_landmarks,
)
from faceeditor.core.head_layout import portrait_layout
from faceeditor.core.keyframes import CURVES, KeyframeError
from faceeditor.core.labels import EXPRESSIONS
from faceeditor.core.landmark_mask import (
    DEFAULT_STYLE,
    MaskStyle,
    landmark_region_lut,
    landmarks_to_mask,
    mouth_opening,
)
from faceeditor.core.mask_io import validate_mask
from faceeditor.core.mask_warp import DEFAULT_WARP, WarpOptions, warp_mask

DRAW_PARTS: tuple[str, ...] = ("auto", "all", "mouth", "none")
DEFAULT_NZ = 512


# --------------------------------------------------------------------------------------------- latent space

def z_from_seed(seed: int, nz: int = DEFAULT_NZ) -> np.ndarray:
    """The latent vector a seed stands for: ``default_rng(seed).standard_normal(nz)`` as float32."""
    return np.random.default_rng(int(seed)).standard_normal(int(nz)).astype(np.float32)


def slerp(z0: np.ndarray, z1: np.ndarray, t: float, eps: float = 1e-6) -> np.ndarray:
    """Spherical interpolation between two latent vectors (t = 0 gives z0, t = 1 gives z1).

    Follows the great circle between the directions, so two vectors of equal norm keep that norm all the
    way (linear interpolation shrinks a Gaussian latent's norm by up to 1/sqrt(2) half-way). Falls back to
    linear interpolation when the vectors are (anti)parallel, where the great circle is ill-defined.
    """
    a = np.asarray(z0, np.float64)
    b = np.asarray(z1, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"slerp: latent vectors differ in shape, {a.shape} vs {b.shape}")
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < eps or nb < eps:
        return ((1.0 - t) * a + t * b).astype(np.float32)
    cos = float(np.clip(np.dot(a.ravel(), b.ravel()) / (na * nb), -1.0, 1.0))
    omega = math.acos(cos)
    sin = math.sin(omega)
    if sin < eps:
        return ((1.0 - t) * a + t * b).astype(np.float32)
    return ((math.sin((1.0 - t) * omega) / sin) * a + (math.sin(t * omega) / sin) * b).astype(np.float32)


# ------------------------------------------------------------------------------------------------- curves

def _tangents(times: np.ndarray, values: np.ndarray, method: str) -> np.ndarray:
    k = len(times)
    h = np.diff(times).reshape((-1,) + (1,) * (values.ndim - 1))
    delta = np.diff(values, axis=0) / h
    m = np.empty_like(values)
    m[0], m[-1] = delta[0], delta[-1]
    if k == 2:
        return m
    if method == "catmull_rom":
        span = (times[2:] - times[:-2]).reshape((-1,) + (1,) * (values.ndim - 1))
        m[1:-1] = (values[2:] - values[:-2]) / span
    else:  # monotone (Fritsch-Carlson): no overshoot, flat where the data turn
        h0, h1 = h[:-1], h[1:]
        d0, d1 = delta[:-1], delta[1:]
        w1, w2 = 2 * h1 + h0, h1 + 2 * h0
        same = d0 * d1 > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            harmonic = (w1 + w2) / (w1 / d0 + w2 / d1)
        m[1:-1] = np.where(same, harmonic, 0.0)
    return m


def interpolate_curve(times: Sequence[float], values: np.ndarray, t: float, method: str = "catmull_rom"
                      ) -> np.ndarray:
    """Value at time ``t`` of the curve through ``values[k]`` at ``times[k]`` (strictly increasing).

    ``linear`` joins the keys by straight segments; ``catmull_rom`` is the cubic Hermite spline whose
    tangent at a key is the slope between its neighbours (passes through every key, C1-smooth);
    ``monotone`` uses Fritsch-Carlson tangents (never overshoots the keys); ``hold`` keeps each key's value
    until the next key. Outside the keys the value is held. ``values`` may have any trailing shape (e.g. (K, 68, 2)).
    """
    if method not in CURVES:
        raise ValueError(f"unknown curve {method!r}; use one of {', '.join(CURVES)}")
    ts = np.asarray(times, np.float64)
    vals = np.asarray(values, np.float64)
    if len(ts) != len(vals) or len(ts) == 0:
        raise ValueError("interpolate_curve: need as many values as times, and at least one")
    if len(ts) > 1 and np.any(np.diff(ts) <= 0):
        raise ValueError("interpolate_curve: times must be strictly increasing")
    if len(ts) == 1 or t <= ts[0]:
        return vals[0].copy()
    if t >= ts[-1]:
        return vals[-1].copy()
    i = int(np.searchsorted(ts, t, side="right") - 1)
    h = ts[i + 1] - ts[i]
    s = (t - ts[i]) / h
    if method == "hold":
        return vals[i].copy()
    if method == "linear":
        return (1.0 - s) * vals[i] + s * vals[i + 1]
    m = _tangents(ts, vals, method)
    h00, h10 = 2 * s ** 3 - 3 * s ** 2 + 1, s ** 3 - 2 * s ** 2 + s
    h01, h11 = -2 * s ** 3 + 3 * s ** 2, s ** 3 - s ** 2
    return h00 * vals[i] + h10 * h * m[i] + h01 * vals[i + 1] + h11 * h * m[i + 1]


# -------------------------------------------------------------------------------------------- mask morph

def _signed_distance(region: np.ndarray) -> np.ndarray:
    """Negative inside (distance to the outside), positive outside (distance to the inside)."""
    inside = region.astype(np.uint8)
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    return d_out - d_in


def morph_masks(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    """Blend two aligned masks by interpolating each class's signed distance field (u = 0 gives ``a``,
    u = 1 gives ``b``); class boundaries move from one layout to the other instead of cross-fading."""
    if u <= 0.0:
        return a.copy()
    if u >= 1.0:
        return b.copy()
    classes = np.union1d(np.unique(a), np.unique(b))
    far = float(a.shape[0] + a.shape[1])
    best = np.full(a.shape, np.inf, np.float32)
    out = np.zeros_like(a)
    for c in classes:
        sa = _signed_distance(a == c) if (a == c).any() else np.full(a.shape, far, np.float32)
        sb = _signed_distance(b == c) if (b == c).any() else np.full(b.shape, far, np.float32)
        sd = (1.0 - u) * sa + u * sb
        better = sd < best
        best[better] = sd[better]
        out[better] = c
    return out


# ------------------------------------------------------------------------------------------------ frames

@dataclass
class Keyframe:
    """What is fixed at one frame of the timeline; every channel is optional.

    landmarks: (68, 2) pixel coordinates; mask: 19-class index mask (drawn for these landmarks, or for
    the landmarks interpolated at this frame); z: a seed (int) or a latent vector; attributes: name ->
    intensity; expression: a name from EXPRESSIONS, or name -> weight.
    """

    frame: int
    landmarks: np.ndarray | None = None
    mask: np.ndarray | None = None
    z: int | np.ndarray | None = None
    attributes: dict[str, float] = field(default_factory=dict)
    expression: str | Mapping[str, float] | None = None


@dataclass
class FrameSpec:
    """Everything needed to render one frame. ``index`` counts from 0 within the clip; ``frame`` is the
    timeline frame number (fractional in a resampled export). ``expression`` holds a weight per EXPRESSIONS
    entry (None when unset)."""

    index: int
    frame: float
    landmarks: np.ndarray | None
    mask: np.ndarray | None
    z: np.ndarray | None
    attributes: dict[str, float]
    expression: np.ndarray | None


def _expression_weights(value: str | Mapping[str, float], frame: int) -> np.ndarray:
    weights = np.zeros(len(EXPRESSIONS))
    items = {value: 1.0} if isinstance(value, str) else dict(value)
    for name, w in items.items():
        if name not in EXPRESSIONS:
            raise KeyframeError(f"keyframe at frame {frame}: unknown expression {name!r}; "
                                f"use one of {', '.join(EXPRESSIONS)}")
        weights[EXPRESSIONS.index(name)] = float(w)
    return weights


class Interpolation:
    """Per-frame specs between the first and the last keyframe, computed lazily (constant memory).

    size: (H, W) or S of the masks; needed when no keyframe has a mask but landmarks are given.
    curve: landmark curve (CURVES). regions: group masks into the six landmark regions.
    draw_parts: what to draw from the frame's landmarks over the warped keyframe mask: ``"all"`` face
    parts, ``"mouth"`` (the mouth interior, when the mouth is open wider than in the keyframe: a warp
    cannot open a closed mouth), ``"none"``; ``"auto"`` is "mouth" when keyframe masks exist (the warped
    painted mask is the better guess for everything else, see benchmarks/landmark_masks_synthfaces.py) and
    "all" when the masks come from landmarks alone. portrait: without keyframe masks, a frame's mask is
    the whole portrait its landmarks give (faceeditor.core.head_layout); False: the face parts alone on
    background. modes: how the seed, attributes and expression channels move between keys ("linear":
    slerp / straight lines, "smooth": eased slerp / monotone cubic, "hold": steps); the landmarks follow
    ``curve``. reference: (mask, its landmarks), a mask drawn for other landmarks than any keyframe's (the
    open document's), warped to every frame's landmarks when no keyframe has a mask.
    """

    def __init__(self, keyframes: Sequence[Keyframe], *, size: int | tuple[int, int] | None = None,
                 nz: int = DEFAULT_NZ, curve: str = "catmull_rom", regions: bool = False,
                 draw_parts: str = "auto", style: MaskStyle = DEFAULT_STYLE,
                 warp: WarpOptions = DEFAULT_WARP, portrait: bool = True,
                 modes: Mapping[str, str] | None = None,
                 reference: tuple[np.ndarray, np.ndarray] | None = None):
        if not keyframes:
            raise KeyframeError("need at least one keyframe")
        if curve not in CURVES:
            raise KeyframeError(f"unknown landmark curve {curve!r}; use one of {', '.join(CURVES)}")
        keys = sorted(keyframes, key=lambda k: int(k.frame))
        frames = [int(k.frame) for k in keys]
        if len(set(frames)) != len(frames):
            dup = sorted({f for f in frames if frames.count(f) > 1})
            raise KeyframeError(f"two keyframes at the same frame: {dup}")
        if draw_parts not in DRAW_PARTS:
            raise KeyframeError(f"draw_parts must be one of {', '.join(DRAW_PARTS)}, got {draw_parts!r}")
        self.curve, self.regions, self.portrait = curve, regions, bool(portrait)
        self.style, self.warp, self.nz = style, warp, int(nz)
        self.first, self.last = frames[0], frames[-1]
        self.modes = {"seed": "linear", "attributes": "linear", "expression": "linear", **(modes or {})}
        for track, mode in self.modes.items():
            if mode not in ("linear", "smooth", "hold"):
                raise KeyframeError(f"unknown interpolation {mode!r} for {track}; use linear, smooth or hold")

        self._lm_t, lms = [], []
        self._mask_keys: list[tuple[int, np.ndarray]] = []
        self._z_t, zs = [], []
        self._attr: dict[str, tuple[list[int], list[float]]] = {}
        self._expr_t, exprs = [], []
        hw = None if size is None else ((int(size), int(size)) if isinstance(size, (int, np.integer))
                                        else (int(size[0]), int(size[1])))
        for k in keys:
            where = f"keyframe at frame {k.frame}"
            if k.landmarks is not None:
                try:
                    lms.append(as_landmarks(k.landmarks, f"{where}: landmarks"))
                except ValueError as exc:
                    raise KeyframeError(str(exc)) from None
                self._lm_t.append(int(k.frame))
            if k.mask is not None:
                try:
                    m = validate_mask(k.mask, hw, name=f"{where}: mask")
                except ValueError as exc:
                    raise KeyframeError(str(exc)) from None
                hw = m.shape
                self._mask_keys.append((int(k.frame), m))
            if k.z is not None:
                if isinstance(k.z, (int, np.integer)):
                    z = z_from_seed(int(k.z), self.nz)
                else:
                    z = np.asarray(k.z, np.float32).ravel()
                    if z.size == 0 or not np.isfinite(z).all():
                        raise KeyframeError(f"{where}: z must be a seed or a finite, non-empty vector")
                    if zs and z.shape != zs[0].shape:
                        raise KeyframeError(f"{where}: z has {z.size} values, another keyframe's has "
                                            f"{zs[0].size}")
                zs.append(z)
                self._z_t.append(int(k.frame))
            for name, value in (k.attributes or {}).items():
                if not isinstance(value, (int, float, np.number)) or not math.isfinite(float(value)):
                    raise KeyframeError(f"{where}: attribute {name!r} needs a finite number, got {value!r}")
                ts, vs = self._attr.setdefault(str(name), ([], []))
                ts.append(int(k.frame))
                vs.append(float(value))
            if k.expression is not None:
                exprs.append(_expression_weights(k.expression, int(k.frame)))
                self._expr_t.append(int(k.frame))
        if zs and len({z.size for z in zs}) > 1:
            raise KeyframeError("keyframes' z vectors differ in length")
        self._lms = np.stack(lms) if lms else None
        self._zs = zs
        self._exprs = np.stack(exprs) if exprs else None
        self.size = hw
        self.reference = None
        if reference is not None:
            ref_mask, ref_lms = reference
            try:
                ref_mask = validate_mask(ref_mask, self.size, name="reference mask")
                ref_lms = as_landmarks(ref_lms, "reference landmarks")
            except ValueError as exc:
                raise KeyframeError(str(exc)) from None
            self.size = ref_mask.shape
            self.reference = (ref_mask, ref_lms)
        if self._lms is not None and self.size is None:
            raise KeyframeError("landmark keyframes without any mask: pass size=(H, W) for the masks")
        if draw_parts == "auto":
            draw_parts = "mouth" if self._mask_keys or self.reference is not None else "all"
        self.draw_parts = draw_parts
        # Whether the clip opens the mouth wider than any mask was drawn with, decided once for the clip:
        # drawn on every frame or on none, since switching the drawn interior on mid-clip made a pop.
        self._opens_mouth = False
        if self._lms is not None:
            if self.reference is not None and not self._mask_keys:
                drawn = [mouth_opening(self.reference[1])]
            else:
                drawn = [mouth_opening(self.landmarks_at(t)) for t, _ in self._mask_keys]
            self._opens_mouth = bool(drawn) and max(mouth_opening(p) for p in self._lms) > min(drawn)

    def __len__(self) -> int:
        return self.last - self.first + 1

    def frame_numbers(self) -> range:
        return range(self.first, self.last + 1)

    # -- channels ------------------------------------------------------------------------------------
    def landmarks_at(self, frame: float) -> np.ndarray | None:
        if self._lms is None:
            return None
        return interpolate_curve(self._lm_t, self._lms, float(frame), self.curve)

    def z_at(self, frame: float) -> np.ndarray | None:
        if not self._zs:
            return None
        ts = self._z_t
        if frame <= ts[0]:
            return self._zs[0].copy()
        if frame >= ts[-1]:
            return self._zs[-1].copy()
        i = int(np.searchsorted(ts, frame, side="right") - 1)
        u = (frame - ts[i]) / (ts[i + 1] - ts[i])
        mode = self.modes["seed"]
        if mode == "hold":
            return self._zs[i].copy()
        if mode == "smooth":
            u = u * u * (3.0 - 2.0 * u)     # eased: no sudden start or stop at a key
        return slerp(self._zs[i], self._zs[i + 1], u)

    def _curve(self, track: str) -> str:
        return {"linear": "linear", "smooth": "monotone", "hold": "hold"}[self.modes[track]]

    def attributes_at(self, frame: float) -> dict[str, float]:
        method = self._curve("attributes")
        return {name: float(interpolate_curve(ts, np.asarray(vs), float(frame), method))
                for name, (ts, vs) in self._attr.items()}

    def expression_at(self, frame: float) -> np.ndarray | None:
        if self._exprs is None:
            return None
        return interpolate_curve(self._expr_t, self._exprs, float(frame), self._curve("expression"))

    def mask_at(self, frame: float) -> np.ndarray | None:
        landmarks = self.landmarks_at(frame)
        base = None
        if self._mask_keys:
            times = [t for t, _ in self._mask_keys]
            i = int(np.searchsorted(times, frame, side="right") - 1)
            chosen = [self._mask_keys[max(i, 0)]]
            if 0 <= i < len(times) - 1 and frame > times[i]:
                chosen.append(self._mask_keys[i + 1])
            warped = []
            for t, m in chosen:
                if landmarks is not None:
                    src = self.landmarks_at(t)
                    m = warp_mask(m, src, landmarks, options=self.warp)
                warped.append(m)
            if len(warped) == 2:
                (ta, _), (tb, _) = chosen
                base = morph_masks(warped[0], warped[1], (frame - ta) / (tb - ta))
            else:
                base = warped[0]
        elif self.reference is not None:
            ref_mask, ref_lms = self.reference
            base = ref_mask
            if landmarks is not None:
                base = warp_mask(ref_mask, ref_lms, landmarks, options=self.warp)
        out = base
        if landmarks is not None:
            if base is None and self.portrait:
                out = portrait_layout(landmarks, self.size, style=self.style)
            elif self.draw_parts == "all" or base is None:
                out = landmarks_to_mask(landmarks, self.size, base=base, style=self.style)
            elif self.draw_parts == "mouth" and self._opens_mouth:
                out = landmarks_to_mask(landmarks, self.size, base=base, style=self.style,
                                        parts=("mouth",), replace_stale=False)
        if out is not None and self.regions:
            out = landmark_region_lut()[out]
        return out

    def spec(self, frame: float, index: int | None = None) -> FrameSpec:
        """Frame ``frame`` of the timeline; a fractional ``frame`` lies between two (an export resampled to
        another frame count, faceeditor.core.timeline.sample_positions), ``index`` its place in that export."""
        f = float(frame) if float(frame) != int(frame) else int(frame)
        return FrameSpec(index=int(frame) - self.first if index is None else int(index), frame=f,
                         landmarks=self.landmarks_at(f), mask=self.mask_at(f), z=self.z_at(f),
                         attributes=self.attributes_at(f), expression=self.expression_at(f))

    def __iter__(self) -> Iterator[FrameSpec]:
        for f in self.frame_numbers():
            yield self.spec(f)


# --------------------------------------------------------------------------------------------- presets

def _key_frames(frames: int, steps: int) -> list[int]:
    if frames < 2:
        raise KeyframeError(f"a clip needs at least 2 frames, got {frames}")
    steps = max(2, min(int(steps), frames))
    return sorted({int(round(v)) for v in np.linspace(0, frames - 1, steps)})


def left2right_keyframes(*, size: int | tuple[int, int] = 128, frames: int = 48, theta: float = 30.0,
                         steps: int = 7, landmarks: np.ndarray | None = None, mask: np.ndarray | None = None,
                         z: int | np.ndarray | None = 0, attributes: Mapping[str, float] | None = None
                         ) -> list[Keyframe]:
    """SCGAN's Left2Right: the head turns from yaw -theta to +theta (degrees) over ``frames`` frames.

    ``landmarks`` are a frontal set (default: :func:`frontal_template` for ``size``); each keyframe's set
    comes from :func:`head_turn_landmarks` (the 2-D points lifted onto a depth prior, rotated, projected).
    ``steps`` keyframes (made odd, so that one is frontal) sample the turn; a smooth landmark curve joins
    them. ``mask`` (painted for the frontal landmarks) rides on the frontal keyframe and is warped to
    every frame, so its hair and cloth turn with the head.
    """
    base = frontal_template(size) if landmarks is None else as_landmarks(landmarks)
    steps = int(steps) + (1 - int(steps) % 2)
    at = _key_frames(frames, steps)
    yaws = np.linspace(-theta, theta, len(at))
    keys = [Keyframe(frame=f, landmarks=head_turn_landmarks(base, float(y))) for f, y in zip(at, yaws, strict=True)]
    frontal = int(np.argmin(np.abs(yaws)))
    keys[frontal].landmarks = head_turn_landmarks(base, 0.0)
    keys[frontal].mask = mask
    keys[0].z = z
    keys[0].attributes = dict(attributes or {})
    return keys


def nosmile2smile_keyframes(*, size: int | tuple[int, int] = 128, frames: int = 32, steps: int = 5,
                            landmarks: np.ndarray | None = None, mask: np.ndarray | None = None,
                            z: int | np.ndarray | None = 0, attributes: Mapping[str, float] | None = None,
                            open_mouth: float = 1.0) -> list[Keyframe]:
    """SCGAN's NoSmile2Smile: a neutral face breaks into a smile over ``frames`` frames.

    Keyframes sample :func:`smile_landmarks` at evenly spaced intensities, so the corners rise first and
    the lips part later (as the deformation prescribes). ``mask`` (for the neutral landmarks) rides on
    the first keyframe. The expression channel goes from "neutral" to "happy", and the attribute channels
    "Smiling" and "Mouth_Slightly_Open" follow the smile and the lips' parting (never below their values
    in ``attributes``), so that a model conditioned on them is not asked for a closed mouth over an open
    one's mask; models without these attributes ignore them.
    """
    base = frontal_template(size) if landmarks is None else as_landmarks(landmarks)
    at = _key_frames(frames, steps)
    amounts = np.linspace(0.0, 1.0, len(at))
    start = dict(attributes or {})
    keys = [Keyframe(frame=f, landmarks=smile_landmarks(base, float(a), open_mouth=open_mouth),
                     attributes={"Smiling": max(float(a), start.get("Smiling", 0.0)),
                                 "Mouth_Slightly_Open": max(lip_parting(float(a), open_mouth),
                                                            start.get("Mouth_Slightly_Open", 0.0))})
            for f, a in zip(at, amounts, strict=True)]
    keys[0].mask = mask
    keys[0].z = z
    keys[0].attributes = {**start, **keys[0].attributes}
    keys[0].expression = "neutral"
    keys[-1].expression = "happy"
    return keys


__all__ = [
    "CURVES", "DEFAULT_NZ", "FrameSpec", "Interpolation", "Keyframe", "KeyframeError",
    "interpolate_curve", "left2right_keyframes", "morph_masks", "nosmile2smile_keyframes", "slerp",
    "z_from_seed",
]
