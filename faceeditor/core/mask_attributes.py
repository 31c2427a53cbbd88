"""What a 19-class mask says about the synthesis attributes, and where each attribute of a synthesis comes from.

A mask-to-face generator G(z, c, s) should not be told c = "has hair" for a mask without hair: it paints
hair over the bald head the mask asks for. `attributes_from_mask` reads the few attributes a mask decides
by itself, and leaves out the ones it does not decide (a hat hides whether the head is bald; a mask says
nothing of hair colour, age or sex):

- **Bald**: the head top across the eyes is bare. In every column between the outer corners of the eyes,
  the topmost pixel that is not background is skin (Bald = 1) or hair (Bald = 0), whichever most columns
  show. Undecided when a hat is worn (a hat mask says nothing about baldness), when the head runs off the
  top of the picture, and when the bare "head" rises less than `BALD_MIN_SKULL` eye-to-mouth distances
  above the eyes (a face oval that stops at the forehead, e.g. one drawn from 68 landmarks alone: the
  picture shows no head top at all).
- **Bangs**: hair comes down onto the forehead. In at least `BANGS_MIN_SHARE` of the columns across the
  eyes the lowest hair pixel above the eyes lies within `BANGS_MAX_GAP` eye-to-mouth distances of them
  (the brows in between do not count; hair hiding the brows counts). Undecided when a hat brim, not hair,
  is what comes down, or when the forehead is mostly outside the picture.
- **Eyeglasses**: eyeglasses pixels cover at least `EYEGLASSES_MIN` of the face. Undecided when the mask
  shows neither eyes nor eyeglasses.
- **Mouth_Slightly_Open**: the mouth interior's mean height (its area over its width) is at least
  `MOUTH_OPEN_MIN` eye-to-mouth distances. Undecided when the mask has no mouth or no eyes.

The face is classes skin .. lower lip (1..13); the eye-to-mouth distance D (eyes' centre to the centre of
lips and mouth) is the unit of length, so nothing depends on the mask's resolution. The thresholds were
fitted on SynthFaces ground truth (1000 held-out faces, docs/scgan.md gives the accuracies).

`resolve_attributes` then fills a synthesis's attributes in one order, and says where each value came from
(`SOURCES`): the user's value, else what the mask decides, else the attribute evaluator's reading of the
photo (probability > 0.5 -> 1), else the model's default (engine.manifest.ModelEntry.attribute_defaults).
The CLI (faceeditor-cli synth) and the app's synthesis panel both call it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.mask_io import validate_mask

# The attributes a mask can decide (others are never derived).
MASK_ATTRIBUTES: tuple[str, ...] = ("Bald", "Bangs", "Eyeglasses", "Mouth_Slightly_Open")

# Thresholds (fitted on SynthFaces, with margin; see the module docstring).
EYEGLASSES_MIN = 0.01       # eyeglasses pixels / face pixels (SynthFaces: >= 0.069 with glasses, 0 without)
HAT_MIN = 0.01              # hat pixels / face pixels above which a hat is worn (SynthFaces hats: >= 0.45)
MOUTH_OPEN_MIN = 0.052      # mean interior height, in D (128 px: open >= 0.054, closed <= 0.049; 256 px: 0.069, 0.045)
BALD_MIN_SKULL = 1.3        # bare head top above the eyes, in D (bald heads >= 1.23, landmark ovals <= 1.27)
BANGS_MAX_GAP = 0.52        # hair within this many D above the eyes (30th percentile: bangs <= 0.45, none >= 0.59)
BANGS_MIN_SHARE = 0.3       # ... in at least this share of the columns across the eyes
MIN_KNOWN_SHARE = 0.5       # Bald and Bangs need this share of the columns to be readable
MIN_MOUTH_PIXELS = 4        # fewer mouth + lip pixels: the mouth is not in the mask
MIN_FACE_PIXELS = 16        # fewer face pixels: no face to read
MEASURE_SIZE = 256          # larger masks are read subsampled to about this size (every k-th pixel)

_SKIN, _HAIR, _HAT, _EYE_G, _MOUTH = (CLASS_INDEX[n] for n in ("skin", "hair", "hat", "eye_g", "mouth"))
_EYES = (CLASS_INDEX["l_eye"], CLASS_INDEX["r_eye"])
_LIPS = (CLASS_INDEX["u_lip"], CLASS_INDEX["l_lip"])
_FACE_LAST = CLASS_INDEX["l_lip"]      # skin (1) .. l_lip (13): the face


@dataclass(frozen=True)
class MaskMeasures:
    """The measurements the derived attributes are thresholds on (None: not measurable in this mask)."""

    face_pixels: int
    eyeglasses: float | None = None     # eye_g / face (None: no eyes nor eyeglasses in the mask)
    hat: float | None = None            # hat / face
    mouth_open: float | None = None     # the mouth interior's mean height (area / width), in D
    eye_to_mouth: float | None = None   # D, pixels
    crown_hair: float | None = None     # share of the readable head-top columns topped by hair
    crown_known: float | None = None    # share of the columns whose head top is readable (hair or skin)
    skull: float | None = None          # bare head top's height above the eyes, in D
    bangs: float | None = None          # share of the readable columns with hair or hat near above the eyes
    bangs_hat: float | None = None      # ... of which the hat (not hair) comes down
    bangs_known: float | None = None    # share of the columns whose forehead is readable


def measure_mask(mask: object) -> MaskMeasures:
    """Measure a 19-class mask (validated: faceeditor.core.mask_io.validate_mask raises MaskError)."""
    m = validate_mask(mask)
    step = max(1, min(m.shape) // MEASURE_SIZE)
    if step > 1:                        # the measures are ratios: a nearest-neighbour subsample reads the same
        m = m[::step, ::step]
    counts = np.bincount(m.ravel(), minlength=_HAT + 1)
    face = int(counts[1:_FACE_LAST + 1].sum())
    if face < MIN_FACE_PIXELS:
        return MaskMeasures(face_pixels=face)
    lips = int(counts[list(_LIPS)].sum())
    mouth = int(counts[_MOUTH])
    out: dict[str, float | None] = dict(hat=float(counts[_HAT] / face))
    if counts[list(_EYES)].any() or counts[_EYE_G]:
        out["eyeglasses"] = float(counts[_EYE_G] / face)
    eyes = (m == _EYES[0]) | (m == _EYES[1])
    if not eyes.any():
        eyes = m == _EYE_G                  # dark glasses hide the eyes: their frames stand in
    mouth_region = (m == _MOUTH) | (m == _LIPS[0]) | (m == _LIPS[1])
    eye_rows, mouth_rows = eyes.sum(1), mouth_region.sum(1)
    if eye_rows.any() and mouth_rows.any():
        d = _mean_row(mouth_rows) - _mean_row(eye_rows)
        if d > 0:
            if mouth + lips >= MIN_MOUTH_PIXELS:
                width = int((m == _MOUTH).any(0).sum())
                out["mouth_open"] = float(mouth / width / d) if width else 0.0
            xs = np.flatnonzero(eyes.any(0))
            out.update(eye_to_mouth=d, **_head_top(m, eyes, int(xs[0]), int(xs[-1]) + 1, d))
    return MaskMeasures(face_pixels=face, **out)


def _mean_row(per_row: np.ndarray) -> float:
    """The mean row of a region, from its pixel count per row."""
    return float(np.arange(per_row.size) @ per_row / per_row.sum())


def _head_top(m: np.ndarray, eyes: np.ndarray, x0: int, x1: int, d: float) -> dict[str, float | None]:
    """Crown and forehead measurements over the columns x0..x1-1 (the eyes' span)."""
    cols = m[:, x0:x1]
    h, n = cols.shape
    rows = np.arange(h)[:, None]
    # the head top: the topmost pixel of each column that is not background
    filled = cols != 0
    top = np.where(filled.any(0), filled.argmax(0), -1)
    top_class = cols[np.clip(top, 0, h - 1), np.arange(n)]
    visible = top > 0                                    # row 0: the head runs off the picture
    hair_top = visible & (top_class == _HAIR)
    skin_top = visible & (top_class >= 1) & (top_class <= _FACE_LAST)
    known = int(hair_top.sum() + skin_top.sum())
    # each column's eye top (the eyes' top row where a column has no eye pixel)
    eye_cols = eyes[:, x0:x1]
    eye_top = np.where(eye_cols.any(0), eye_cols.argmax(0), int(eyes.any(1).argmax()))
    skull = None
    if skin_top.any():
        skull = float(np.median(eye_top[skin_top] - top[skin_top]) / d)
    # the forehead: the lowest hair (or hat) pixel above each column's eye top
    above = rows < eye_top[None, :]
    gap = BANGS_MAX_GAP * d

    def lowest(cls: int) -> np.ndarray:
        hit = above & (cols == cls)
        return np.where(hit.any(0), h - 1 - hit[::-1].argmax(0), -1)

    hair_low, hat_low = lowest(_HAIR), lowest(_HAT)
    near_hair = (hair_low >= 0) & (eye_top - hair_low <= gap)
    near_hat = (hat_low >= 0) & (eye_top - hat_low <= gap) & ~near_hair
    far = ~near_hair & ~near_hat & (eye_top - gap >= 0)  # the whole band above the eyes is in the picture
    fore_known = int(near_hair.sum() + near_hat.sum() + far.sum())
    near = int(near_hair.sum() + near_hat.sum())
    return dict(crown_hair=float(hair_top.sum() / known) if known else None, crown_known=known / n, skull=skull,
                bangs=(near / fore_known) if fore_known else None,
                bangs_hat=float(near_hat.sum() / near) if near else 0.0, bangs_known=fore_known / n)


def attributes_from_mask(mask: object) -> dict[str, float]:
    """The attributes the mask decides, 0.0 or 1.0 each; the ones it does not decide are left out.
    See the module docstring for the rules. Raises faceeditor.core.mask_io.MaskError for an invalid mask."""
    return decide(measure_mask(mask))


def decide(s: MaskMeasures) -> dict[str, float]:
    """The thresholds applied to the measurements of `measure_mask`."""
    out: dict[str, float] = {}
    if s.eyeglasses is not None:
        out["Eyeglasses"] = float(s.eyeglasses >= EYEGLASSES_MIN)
    if s.mouth_open is not None:
        out["Mouth_Slightly_Open"] = float(s.mouth_open >= MOUTH_OPEN_MIN)
    hat = s.hat is not None and s.hat >= HAT_MIN
    if not hat and s.crown_hair is not None and (s.crown_known or 0.0) >= MIN_KNOWN_SHARE:
        if s.crown_hair >= 0.5:
            out["Bald"] = 0.0
        elif s.skull is not None and s.skull >= BALD_MIN_SKULL:
            out["Bald"] = 1.0
    if s.bangs is not None and (s.bangs_known or 0.0) >= MIN_KNOWN_SHARE:
        if s.bangs < BANGS_MIN_SHARE:
            out["Bangs"] = 0.0
        elif (s.bangs_hat or 0.0) < 0.5:
            out["Bangs"] = 1.0
    return out


# --- where each attribute comes from ------------------------------------------------------------

SOURCES: tuple[str, ...] = ("set", "mask", "photo", "default")
SOURCE_LABELS = {"set": "set by you", "mask": "from the mask", "photo": "from the photo",
                 "default": "the model's default"}
PHOTO_THRESHOLD = 0.5


@dataclass(frozen=True)
class ResolvedAttributes:
    """Every attribute's value for a synthesis (in the model's order) and where it came from (`SOURCES`)."""

    values: dict[str, float]
    sources: dict[str, str]

    def from_source(self, source: str) -> dict[str, float]:
        """The values that came from `source`, in the model's order."""
        return {n: v for n, v in self.values.items() if self.sources[n] == source}

    def summary(self) -> str:
        """One line for people: "derived from the mask: Bald=1, Eyeglasses=0; from the photo: Male=1"
        ("" when nothing was derived)."""
        parts = []
        for source in ("mask", "photo"):
            got = self.from_source(source)
            if got:
                parts.append(f"from the {source}: " + ", ".join(f"{n}={_fmt(v)}" for n, v in got.items()))
        return ("derived " + "; ".join(parts)) if parts else ""


def resolve_attributes(names: Iterable[str], defaults: Mapping[str, float], *,
                       user: Mapping[str, float] | None = None, mask: Mapping[str, float] | None = None,
                       photo: Mapping[str, float] | None = None) -> ResolvedAttributes:
    """Each of `names`: the `user`'s value, else the `mask`'s (attributes_from_mask), else the `photo`
    reading's (evaluator probabilities; > 0.5 -> 1.0, else 0.0), else `defaults` (missing: 0.0).
    Keys of the mappings that are not among `names` are ignored."""
    user, mask, photo = user or {}, mask or {}, photo or {}
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name in names:
        if name in user:
            values[name], sources[name] = float(user[name]), "set"
        elif name in mask:
            values[name], sources[name] = float(mask[name]), "mask"
        elif name in photo:
            values[name], sources[name] = float(float(photo[name]) > PHOTO_THRESHOLD), "photo"
        else:
            values[name], sources[name] = float(defaults.get(name, 0.0)), "default"
    return ResolvedAttributes(values, sources)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
