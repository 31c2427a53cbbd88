"""Everything that defines one SynthFaces face, how it is drawn from a seed, and how it is edited.

Every random draw comes from a sub-generator seeded by ``(seed, part)``: the shape of the face, its
colours, the hair style, the scene, the accessories, the attributes, the expression and the pose each
have their own stream. Flipping an attribute therefore changes one number in :class:`FaceParams` and
nothing else, which is what makes the ground-truth edits of :func:`with_attribute` possible.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS

# Attribute intensities a FaceParams carries: the 15 evaluator attributes and three accessories.
ACCESSORY_ATTRIBUTES: tuple[str, ...] = ("Wearing_Hat", "Wearing_Earrings", "Wearing_Necklace")
ATTR_KEYS: tuple[str, ...] = EVALUATOR_ATTRIBUTES + ACCESSORY_ATTRIBUTES
ATTR_INDEX: dict[str, int] = {name: i for i, name in enumerate(ATTR_KEYS)}
HAIR_COLOUR_ATTRIBUTES: tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair")

# Expression -> facial actions at intensity 1 (a small FACS-like vocabulary; see geometry.py).
ACTIONS: tuple[str, ...] = (
    "brow_raise", "brow_inner", "upper_lid", "lower_lid", "smile", "corner_down", "open", "stretch",
    "press", "upper_lip_raise", "nose_wrinkle", "asym", "round",
)
EXPRESSION_ACTIONS: dict[str, dict[str, float]] = {
    "angry": {"brow_raise": -0.7, "brow_inner": -1.0, "upper_lid": 0.25, "lower_lid": 0.6, "press": 0.9,
              "corner_down": 0.35},
    "contemptuous": {"asym": 1.0, "lower_lid": 0.25, "press": 0.3, "brow_raise": 0.1},
    "disgusted": {"nose_wrinkle": 1.0, "upper_lip_raise": 1.0, "brow_raise": -0.5, "brow_inner": -0.6,
                  "lower_lid": 0.7, "corner_down": 0.6, "open": 0.35},
    "fearful": {"brow_raise": 0.8, "brow_inner": 1.0, "upper_lid": 1.0, "stretch": 1.0, "open": 1.1,
                "corner_down": 0.3},
    "happy": {"smile": 1.0, "lower_lid": 0.55, "open": 1.0, "brow_raise": 0.1},
    "neutral": {},
    "sad": {"brow_inner": 1.0, "brow_raise": -0.15, "upper_lid": -0.45, "corner_down": 1.0, "press": 0.3},
    "surprised": {"brow_raise": 1.0, "upper_lid": 1.0, "open": 2.0, "round": 1.0},
}


@dataclass(frozen=True)
class ShapeParams:
    """Head geometry in head units (half face width ~ 1, y down, eye line at y = 0)."""

    width: float          # face width scale
    length: float         # lower-face length scale
    jaw_f: float          # jaw squareness exponent, female / male variant
    jaw_m: float
    chin_f: float         # chin half-width, female / male variant
    chin_m: float
    chin_z: float         # chin protrusion
    cheek: float          # cheek fullness
    eye_sep: float
    eye_w: float
    eye_h: float
    eye_tilt: float
    eye_y: float
    iris_r: float
    brow_gap: float       # brow height above the eye
    brow_arch: float
    brow_len: float
    brow_tilt: float
    brow_thick: float
    nose_len: float
    nose_w: float
    nose_bridge: float
    nose_prot: float
    nose_tip: float       # tip roundness
    mouth_y: float
    mouth_w: float
    lip_u: float
    lip_l: float
    cupid: float
    ear_y: float
    ear_size: float
    ear_flare: float
    neck_w: float
    skull_h: float


@dataclass(frozen=True)
class LookParams:
    """Colours of skin, eyes, brows and lips, plus texture offsets and ageing traits."""

    skin: tuple[float, float, float]
    blush: float
    iris: tuple[float, float, float]
    brow_dark: float
    lip_tint: float
    lipstick: tuple[float, float, float]
    stubble: float
    beard_style: int        # 0 full, 1 goatee+moustache, 2 short boxed
    mustache_style: int     # 0 chevron, 1 pencil, 2 walrus
    wrinkle: float          # how strongly age shows
    grey_rate: float        # how grey the hair gets with age
    tex: tuple[int, int]    # skin texture offset


@dataclass(frozen=True)
class HairParams:
    """Hair style (the colour mixture lives in the attribute intensities)."""

    style_f: float          # length when female / male variant: 0 crop .. 1 chin .. 2 shoulders .. 3 long
    style_m: float
    volume: float
    hairline: float         # forehead hairline height (head units, negative = up)
    part: float             # parting position, -1..1 (0 = centre)
    fringe: int             # bangs shape: 0 straight, 1 side-swept, 2 wispy
    curl: float             # waviness of the outline and strands
    cover_ears: float       # 0..1: how far side hair comes over the ears (long styles)
    tuck: float             # long hair: 0 in front of the shoulders, 1 behind
    black: tuple[float, float, float]
    blond: tuple[float, float, float]
    brown: tuple[float, float, float]
    other: tuple[float, float, float]   # the colour shown when none of black/blond/brown applies
    fallback: int           # colour the hair takes when its colour attribute is removed (0..2, 3 = other)
    tex: tuple[int, int]


@dataclass(frozen=True)
class SceneParams:
    """Framing, background, light and clothes."""

    scale: float
    cx: float
    cy: float
    bg_kind: int            # 0 gradient, 1 two-tone wall, 2 bokeh, 3 vignette studio
    bg1: tuple[float, float, float]
    bg2: tuple[float, float, float]
    light_az: float         # light direction (radians): azimuth around the view axis, elevation
    light_el: float
    light_k: float          # strength of the directional term
    warmth: float
    cloth: tuple[float, float, float]
    cloth2: tuple[float, float, float]
    pattern: int            # 0 plain, 1 stripes, 2 checks, 3 dots
    neckline: int           # 0 round, 1 V, 2 collar, 3 turtleneck
    shoulder: float
    gaze: tuple[float, float]
    tex: tuple[int, int]


@dataclass(frozen=True)
class AccessoryParams:
    """Styles of the accessories (drawn only when their attribute intensity is > 0)."""

    glasses_shape: int      # 0 round, 1 rectangle, 2 aviator
    glasses_rgb: tuple[float, float, float]
    glasses_thick: float
    lens_tint: float
    hat_kind: int           # 0 beanie, 1 cap, 2 fedora
    hat_rgb: tuple[float, float, float]
    hat_rgb2: tuple[float, float, float]
    earring_kind: int       # 0 stud, 1 hoop, 2 drop
    metal: tuple[float, float, float]
    necklace_kind: int      # 0 chain, 1 pearls, 2 pendant
    necklace_drop: float


@dataclass(frozen=True)
class FaceParams:
    """One face: identity (shape, look, hair, scene, accessories), attribute intensities, expression, pose."""

    seed: int
    identity: int
    attrs: tuple[float, ...]          # intensities in ATTR_KEYS order (0 absent .. 1 present)
    expression: str
    expression_intensity: float
    yaw: float                        # degrees; > 0 turns the face towards the image's right
    pitch: float                      # degrees; > 0 tilts the face up
    roll: float                       # degrees; > 0 rotates clockwise in the image
    shape: ShapeParams
    look: LookParams
    hair: HairParams
    scene: SceneParams
    acc: AccessoryParams

    def attr(self, name: str) -> float:
        return self.attrs[ATTR_INDEX[name]]

    def actions(self) -> dict[str, float]:
        """Facial actions of the expression at its intensity, combined with Smiling and
        Mouth_Slightly_Open (their geometric action is the larger of the two sources)."""
        k = self.expression_intensity
        acts = {a: v * k for a, v in EXPRESSION_ACTIONS[self.expression].items()}
        acts = {a: acts.get(a, 0.0) for a in ACTIONS}
        acts["smile"] = max(acts["smile"], self.attr("Smiling"))
        acts["open"] = max(acts["open"], self.attr("Mouth_Slightly_Open"))
        return acts


# ---------------------------------------------------------------------------------------------------
# labels

def hair_visible(p: FaceParams) -> bool:
    return p.attr("Bald") < 0.5


def attribute_labels(p: FaceParams) -> dict[str, bool]:
    """Binary labels of what the render shows (thresholds at 0.5 of each intensity)."""
    acts = p.actions()
    hair = hair_visible(p)
    lab = {
        "Bald": p.attr("Bald") >= 0.5,
        "Bangs": hair and p.attr("Bangs") >= 0.5,
        "Black_Hair": hair and p.attr("Black_Hair") >= 0.5,
        "Blond_Hair": hair and p.attr("Blond_Hair") >= 0.5,
        "Brown_Hair": hair and p.attr("Brown_Hair") >= 0.5,
        "Bushy_Eyebrows": p.attr("Bushy_Eyebrows") >= 0.5,
        "Eyeglasses": p.attr("Eyeglasses") >= 0.5,
        "Male": p.attr("Male") >= 0.5,
        "Mouth_Slightly_Open": acts["open"] >= 0.5,
        "Mustache": p.attr("Mustache") >= 0.5,
        "No_Beard": p.attr("No_Beard") >= 0.5,
        "Pale_Skin": p.attr("Pale_Skin") >= 0.5,
        "Young": p.attr("Young") >= 0.5,
        "Smiling": acts["smile"] >= 0.5,
        "Wearing_Lipstick": p.attr("Wearing_Lipstick") >= 0.5,
        "Wearing_Hat": p.attr("Wearing_Hat") >= 0.5,
        "Wearing_Earrings": p.attr("Wearing_Earrings") >= 0.5,
        "Wearing_Necklace": p.attr("Wearing_Necklace") >= 0.5,
    }
    # A few more of CelebA's 40 that follow directly from the parameters.
    lab["Goatee"] = (not lab["No_Beard"]) and p.look.beard_style == 1
    lab["Gray_Hair"] = hair and (1.0 - p.attr("Young")) * p.look.grey_rate >= 0.5
    lab["Wavy_Hair"] = hair and p.hair.curl >= 0.5
    lab["Straight_Hair"] = hair and p.hair.curl < 0.2
    return lab


# ---------------------------------------------------------------------------------------------------
# sampling

def part_rng(seed: int, part: str) -> np.random.Generator:
    """The random stream of one part of one face (independent of every other part)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFF, zlib.crc32(part.encode())]))


def _u(r: np.random.Generator, lo: float, hi: float) -> float:
    # what r.uniform(lo, hi) computes (lo + (hi - lo) * next double), without its argument handling
    return float(lo + (hi - lo) * r.random())


def _rgb(c) -> tuple[float, float, float]:
    return (float(min(max(c[0], 0.0), 1.0)), float(min(max(c[1], 0.0), 1.0)), float(min(max(c[2], 0.0), 1.0)))


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return _rgb([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


_SKIN_RAMP = np.array([  # light .. dark skin tones (sRGB 0..1)
    (0.98, 0.85, 0.76), (0.95, 0.79, 0.67), (0.90, 0.72, 0.59), (0.83, 0.63, 0.49),
    (0.72, 0.52, 0.38), (0.60, 0.42, 0.30), (0.45, 0.31, 0.22), (0.34, 0.23, 0.17)])
_IRIS = [(0.33, 0.20, 0.10), (0.20, 0.12, 0.07), (0.45, 0.30, 0.13), (0.30, 0.48, 0.70),
         (0.36, 0.50, 0.33), (0.48, 0.52, 0.55), (0.50, 0.38, 0.18)]
_LIPSTICK = [(0.75, 0.08, 0.14), (0.85, 0.32, 0.42), (0.55, 0.10, 0.22), (0.90, 0.38, 0.30),
             (0.62, 0.20, 0.18)]


def _sample_shape(r: np.random.Generator) -> ShapeParams:
    return ShapeParams(
        width=_u(r, 0.93, 1.06), length=_u(r, 0.93, 1.07),
        jaw_f=_u(r, 1.9, 2.6), jaw_m=_u(r, 2.8, 4.2),
        chin_f=_u(r, 0.18, 0.26), chin_m=_u(r, 0.26, 0.36), chin_z=_u(r, -0.06, 0.06),
        cheek=_u(r, 0.0, 1.0),
        eye_sep=_u(r, 0.36, 0.42), eye_w=_u(r, 0.17, 0.205), eye_h=_u(r, 0.085, 0.11),
        eye_tilt=_u(r, -0.02, 0.045), eye_y=_u(r, -0.02, 0.03), iris_r=_u(r, 0.076, 0.088),
        brow_gap=_u(r, 0.20, 0.27), brow_arch=_u(r, 0.02, 0.07), brow_len=_u(r, 0.95, 1.2),
        brow_tilt=_u(r, -0.03, 0.04), brow_thick=_u(r, 0.045, 0.065),
        nose_len=_u(r, 0.42, 0.52), nose_w=_u(r, 0.13, 0.18), nose_bridge=_u(r, 0.05, 0.075),
        nose_prot=_u(r, 0.22, 0.34), nose_tip=_u(r, 0.0, 1.0),
        mouth_y=_u(r, 0.74, 0.82), mouth_w=_u(r, 0.25, 0.31), lip_u=_u(r, 0.05, 0.075),
        lip_l=_u(r, 0.065, 0.1), cupid=_u(r, 0.2, 1.0),
        ear_y=_u(r, -0.06, 0.04), ear_size=_u(r, 0.9, 1.1), ear_flare=_u(r, 0.35, 0.7),
        neck_w=_u(r, 0.50, 0.58), skull_h=_u(r, 0.96, 1.06),
    )


def _sample_look(r: np.random.Generator) -> LookParams:
    t = float(r.beta(1.6, 2.2)) * (len(_SKIN_RAMP) - 1)
    i = min(int(t), len(_SKIN_RAMP) - 2)
    skin = _SKIN_RAMP[i] * (1 - (t - i)) + _SKIN_RAMP[i + 1] * (t - i)
    skin = skin * np.array([1.0, _u(r, 0.97, 1.03), _u(r, 0.95, 1.05)])
    return LookParams(
        skin=_rgb(skin), blush=_u(r, 0.0, 1.0), iris=_rgb(np.array(_IRIS[int(r.integers(len(_IRIS)))]) *
                                                       _u(r, 0.85, 1.15)),
        brow_dark=_u(r, 0.0, 1.0), lip_tint=_u(r, 0.0, 1.0),
        lipstick=_rgb(np.array(_LIPSTICK[int(r.integers(len(_LIPSTICK)))]) * _u(r, 0.9, 1.1)),
        stubble=_u(r, 0.0, 1.0), beard_style=int(r.integers(3)), mustache_style=int(r.integers(3)),
        wrinkle=_u(r, 0.5, 1.0), grey_rate=_u(r, 0.2, 1.0),
        tex=(int(r.integers(512)), int(r.integers(512))),
    )


def _sample_hair(r: np.random.Generator) -> HairParams:
    def shade(base, jitter):
        return _rgb(np.array(base) * _u(r, 1 - jitter, 1 + jitter))

    others = [(0.55, 0.22, 0.10), (0.70, 0.32, 0.14), (0.62, 0.60, 0.58), (0.42, 0.16, 0.12),
              (0.30, 0.20, 0.35), (0.75, 0.72, 0.70)]
    return HairParams(
        style_f=float(r.choice([0.4, 1.2, 2.0, 2.6, 3.0], p=[0.08, 0.17, 0.3, 0.25, 0.2])) + _u(r, -0.2, 0.2),
        style_m=float(r.choice([0.0, 0.25, 0.6, 1.3], p=[0.35, 0.35, 0.2, 0.1])) + _u(r, 0.0, 0.15),
        volume=_u(r, 0.06, 0.2), hairline=_u(r, -0.82, -0.66), part=float(r.choice([-1.0, 0.0, 1.0])) * _u(r, 0.3, 0.6),
        fringe=int(r.integers(3)), curl=float(r.choice([0.0, 0.3, 0.8], p=[0.5, 0.3, 0.2])) + _u(r, 0, 0.15),
        cover_ears=_u(r, 0.0, 1.0), tuck=float(r.integers(2)),
        black=shade((0.09, 0.075, 0.07), 0.35), blond=shade((0.86, 0.70, 0.44), 0.1),
        brown=shade((0.36, 0.22, 0.13), 0.25), other=shade(others[int(r.integers(len(others)))], 0.1),
        fallback=int(r.integers(4)), tex=(int(r.integers(512)), int(r.integers(512))),
    )


def _sample_scene(r: np.random.Generator) -> SceneParams:
    h = _u(r, 0, 1)
    bg1 = _hsv(h, _u(r, 0.05, 0.45), _u(r, 0.35, 0.95))
    bg2 = _hsv((h + _u(r, -0.15, 0.15)) % 1.0, _u(r, 0.05, 0.5), _u(r, 0.15, 0.85))
    ch = _u(r, 0, 1)
    return SceneParams(
        scale=_u(r, 0.215, 0.235), cx=_u(r, -0.02, 0.02), cy=_u(r, -0.005, 0.025),
        bg_kind=int(r.integers(4)), bg1=bg1, bg2=bg2,
        light_az=_u(r, -1.0, 1.0), light_el=_u(r, 0.15, 0.75), light_k=_u(r, 0.5, 0.8),
        warmth=_u(r, -1, 1),
        cloth=_hsv(ch, _u(r, 0.1, 0.8), _u(r, 0.15, 0.9)),
        cloth2=_hsv((ch + _u(r, 0.3, 0.7)) % 1.0, _u(r, 0.0, 0.6), _u(r, 0.3, 1.0)),
        pattern=int(r.choice(4, p=[0.45, 0.25, 0.15, 0.15])), neckline=int(r.integers(4)),
        shoulder=_u(r, 0.9, 1.1), gaze=(_u(r, -0.25, 0.25), _u(r, -0.15, 0.1)),
        tex=(int(r.integers(512)), int(r.integers(512))),
    )


def _sample_acc(r: np.random.Generator) -> AccessoryParams:
    metals = [(0.85, 0.68, 0.30), (0.78, 0.78, 0.80), (0.72, 0.45, 0.35)]
    frames = [(0.05, 0.05, 0.05), (0.35, 0.20, 0.10), (0.70, 0.60, 0.40), (0.15, 0.15, 0.45),
              (0.55, 0.08, 0.10), (0.75, 0.75, 0.78)]
    return AccessoryParams(
        glasses_shape=int(r.integers(3)), glasses_rgb=frames[int(r.integers(len(frames)))],
        glasses_thick=_u(r, 0.022, 0.04), lens_tint=float(r.choice([0.0, 0.0, 0.6])) * _u(r, 0.5, 1.0),
        hat_kind=int(r.integers(3)), hat_rgb=_hsv(_u(r, 0, 1), _u(r, 0.1, 0.7), _u(r, 0.15, 0.8)),
        hat_rgb2=_hsv(_u(r, 0, 1), _u(r, 0.0, 0.5), _u(r, 0.3, 0.95)),
        earring_kind=int(r.integers(3)), metal=metals[int(r.integers(len(metals)))],
        necklace_kind=int(r.integers(3)), necklace_drop=_u(r, 0.0, 1.0),
    )


def _sample_attrs(r: np.random.Generator, expression: str) -> tuple[float, ...]:
    a = dict.fromkeys(ATTR_KEYS, 0.0)
    male = r.random() < 0.45
    a["Male"] = float(male)
    a["Young"] = float(r.random() < 0.62)
    a["Bald"] = float(r.random() < (0.22 if male else 0.02))
    a["Bangs"] = float(r.random() < (0.22 if male else 0.48))
    colour = r.choice(4, p=[0.30, 0.25, 0.30, 0.15] if male else [0.26, 0.33, 0.26, 0.15])
    if colour < 3:
        a[HAIR_COLOUR_ATTRIBUTES[int(colour)]] = 1.0
    a["Bushy_Eyebrows"] = float(r.random() < (0.38 if male else 0.10))
    a["Eyeglasses"] = float(r.random() < 0.25)
    a["Mustache"] = float(male and r.random() < 0.48)
    beard = male and r.random() < (0.55 if a["Mustache"] else 0.35)
    a["No_Beard"] = float(not beard)
    a["Pale_Skin"] = float(r.random() < 0.25)
    a["Wearing_Lipstick"] = float(r.random() < (0.03 if male else 0.62))
    a["Wearing_Hat"] = float(r.random() < 0.12)
    a["Wearing_Earrings"] = float(r.random() < (0.06 if male else 0.48))
    a["Wearing_Necklace"] = float(r.random() < (0.06 if male else 0.34))
    # Smiling and an open mouth come with some expressions. A smile is added to surprise only: a smiling
    # face is not neutral (its label would contradict the pixels), and the smile is happy's own action.
    smile_p = {"surprised": 0.4}.get(expression, 0.0)
    a["Smiling"] = float(r.random() < smile_p)
    open_p = {"neutral": 0.35, "contemptuous": 0.2, "sad": 0.3, "angry": 0.2}.get(expression, 0.0)
    a["Mouth_Slightly_Open"] = float(r.random() < open_p)
    return tuple(a[k] for k in ATTR_KEYS)


def sample_params(seed: int) -> FaceParams:
    """The face of one seed (deterministic; each seed is a new identity)."""
    seed = int(seed)
    r_expr = part_rng(seed, "expression")
    expression = EXPRESSIONS[int(r_expr.integers(len(EXPRESSIONS)))]
    r_pose = part_rng(seed, "pose")
    yaw = min(max(float(r_pose.normal(0.0, 17.0)), -38.0), 38.0)
    pitch = min(max(float(r_pose.normal(0.0, 5.0)), -12.0), 12.0)
    roll = min(max(float(r_pose.normal(0.0, 5.0)), -12.0), 12.0)
    r_attr = part_rng(seed, "attributes")
    attrs = _sample_attrs(r_attr, expression)
    hair = _sample_hair(part_rng(seed, "hair"))
    scene = _sample_scene(part_rng(seed, "scene"))
    # people who wear earrings mostly keep their hair behind the ears, and necklaces mostly come with
    # open necklines (a sampling correlation; edits never change the hair or the clothes)
    if attrs[ATTR_INDEX["Wearing_Earrings"]] >= 0.5 and hair.tuck < 0.5 and r_attr.random() < 0.85:
        hair = replace(hair, tuck=1.0)
    if attrs[ATTR_INDEX["Wearing_Necklace"]] >= 0.5 and scene.neckline == 3 and r_attr.random() < 0.85:
        scene = replace(scene, neckline=0)
    return FaceParams(
        seed=seed, identity=seed, attrs=attrs,
        expression=expression, expression_intensity=1.0, yaw=yaw, pitch=pitch, roll=roll,
        shape=_sample_shape(part_rng(seed, "shape")), look=_sample_look(part_rng(seed, "look")),
        hair=hair, scene=scene, acc=_sample_acc(part_rng(seed, "accessories")),
    )


# ---------------------------------------------------------------------------------------------------
# edits

def _check_value(what: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return min(max(value, 0.0), 1.0)


def with_attribute(p: FaceParams, name: str, value: float) -> FaceParams:
    """The same face with one attribute set to ``value`` (0 absent, 1 present, clipped to [0, 1]).

    Black/Blond/Brown hair are one colour mixture: raising one lowers the others in proportion; removing
    the only colour gives the hair the identity's fallback colour.
    """
    if name not in ATTR_INDEX:
        raise ValueError(f"unknown attribute {name!r}; known: {', '.join(ATTR_KEYS)}")
    value = _check_value(f"intensity of {name}", value)
    a = list(p.attrs)
    if name in HAIR_COLOUR_ATTRIBUTES:
        k = ATTR_INDEX[name]
        others = [ATTR_INDEX[n] for n in HAIR_COLOUR_ATTRIBUTES if n != name]
        old_total = sum(a[i] for i in others)
        budget = 1.0 - value
        if old_total > 1e-9:
            scale = min(1.0, budget / old_total)
            for i in others:
                a[i] *= scale
        elif budget > 0 and p.hair.fallback < 3 and HAIR_COLOUR_ATTRIBUTES[p.hair.fallback] != name:
            a[ATTR_INDEX[HAIR_COLOUR_ATTRIBUTES[p.hair.fallback]]] = min(budget, a[k])
        a[k] = value
    else:
        a[ATTR_INDEX[name]] = value
    return replace(p, attrs=tuple(a))


def with_expression(p: FaceParams, expression: str, intensity: float = 1.0) -> FaceParams:
    """The same face with another expression (intensity 0 = neutral geometry, 1 = full)."""
    if expression not in EXPRESSIONS:
        raise ValueError(f"unknown expression {expression!r}; known: {', '.join(EXPRESSIONS)}")
    return replace(p, expression=expression, expression_intensity=_check_value("expression intensity", intensity))


def with_pose(p: FaceParams, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> FaceParams:
    """The same face in another head pose (degrees; yaw is limited to ±45, pitch and roll to ±20)."""
    vals = []
    for what, v, lim in (("yaw", yaw, 45.0), ("pitch", pitch, 20.0), ("roll", roll, 20.0)):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"{what} must be finite, got {v!r}")
        vals.append(min(max(v, -lim), lim))
    return replace(p, yaw=vals[0], pitch=vals[1], roll=vals[2])
