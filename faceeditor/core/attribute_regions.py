"""Where an attribute edit may change the picture, and how close an edit stays to its input outside it.

An attribute edit should leave the face alone outside the parts the attribute concerns: "Bangs" may
repaint hair (and the forehead the new fringe covers), but not the eyes or the background.

Two tables, one owner each:

* MagGAN's AR+/AR- tables (:mod:`faceeditor.core.attribute_parts`, the data file
  ``core/data/attribute_parts.json``) are THE regions of an edit, for the 13 editor attributes: per sign,
  parse classes optionally restricted to the pixels near other classes ("Mustache" is the skin of the
  upper lip). The trainer (MagGAN), the engine's ``keep_outside``, the CLI's report and the app's region
  overlay all read them through :func:`attribute_region` / :func:`edit_region`.
* :data:`ATTRIBUTE_REGIONS` is the renderer's class-level contract: per attribute, the classes a
  SynthFaces re-render may change, with no spatial restriction (an AR row may reach further, e.g. Bald '-'
  includes the background where hair can grow). The SynthFaces renderer (trainer/data/synthfaces/regions.py
  re-exports it, and its test holds it) changes nothing outside these classes. It also gives the region of
  the attributes the AR tables do not cover (the evaluator's Smiling, Wearing_*).
  ``benchmarks/attribute_regions_recall.py`` measures the AR regions against the renderer's true changes.

The region of an edit is the union over its attributes of their AR regions in the parse of the input OR of
the edited image (occlusion: removing hair reveals skin that was hair before), grown by a few pixels for
anti-aliased fringes. Pure numpy + OpenCV: no Qt, no torch.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import cv2
import numpy as np

from faceeditor.core.attribute_parts import (
    AttributeParts,
    default_tables,
    grey_dilate,
    influence_map,
)
from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX
from faceeditor.core.mask_io import validate_mask

ATTRIBUTE_REGIONS: dict[str, tuple[str, ...]] = {
    "Bald": ("hair",),
    "Bangs": ("hair",),
    "Black_Hair": ("hair",),
    "Blond_Hair": ("hair",),
    "Brown_Hair": ("hair",),
    "Bushy_Eyebrows": ("l_brow", "r_brow", "eye_g"),
    "Eyeglasses": ("eye_g", "l_eye", "r_eye", "l_brow", "r_brow"),
    # Male moves the jaw line, lowers and thickens the brows, shortens the hair and widens the neck and
    # shoulders: almost everything but the eyes and the mouth.
    "Male": ("background", "skin", "l_brow", "r_brow", "hair", "neck", "neck_l", "cloth", "nose", "l_ear",
             "r_ear", "ear_r", "eye_g", "hat"),
    "Mouth_Slightly_Open": ("mouth", "u_lip", "l_lip", "skin"),
    "Mustache": ("skin", "eye_g"),
    "No_Beard": ("skin", "eye_g"),
    "Pale_Skin": ("skin", "nose", "neck", "l_ear", "r_ear", "u_lip", "l_lip", "eye_g"),
    "Young": ("skin", "hair", "eye_g"),
    "Smiling": ("skin", "mouth", "u_lip", "l_lip", "l_eye", "r_eye", "eye_g"),
    "Wearing_Lipstick": ("u_lip", "l_lip"),
    "Wearing_Hat": ("hat",),
    "Wearing_Earrings": ("ear_r",),
    "Wearing_Necklace": ("neck_l",),
}

# Growth of the region, as a fraction of the mask side (2 px at 128, as the renderer's own check).
DEFAULT_DILATION = 1.0 / 64.0


def region_classes(attributes: Iterable[str]) -> list[int]:
    """Sorted parse-class indices that editing ``attributes`` may change anywhere (the renderer's
    class-level contract, :data:`ATTRIBUTE_REGIONS`). KeyError names an unknown one."""
    found: set[int] = set()
    for name in attributes:
        if name not in ATTRIBUTE_REGIONS:
            raise KeyError(f"no region is known for attribute {name!r} "
                           f"(known: {', '.join(sorted(ATTRIBUTE_REGIONS))})")
        found.update(CLASS_INDEX[c] for c in ATTRIBUTE_REGIONS[name])
    return sorted(found)


def attribute_region(parse: np.ndarray, attribute: str, strengthen: bool = True, *,
                     tables: AttributeParts | None = None) -> np.ndarray:
    """Boolean (H, W): where an edit of ``attribute`` (raised when ``strengthen``, else lowered) may act —
    MagGAN's influence map > 0.5 of ``parse``, a class-index mask (H, W) or probabilities (19, H, W).

    On a mask this equals ``influence_map(one_hot(mask), ...) > 0.5`` (computed by lookup, without the
    19 planes). An attribute the AR tables lack takes its :data:`ATTRIBUTE_REGIONS` classes; KeyError names
    an unknown one. Not dilated (see :func:`edit_region`)."""
    t = tables or default_tables()
    parse = np.asarray(parse)
    if attribute not in ATTRIBUTES:
        ids = region_classes([attribute])
        if parse.ndim == 3:
            return parse[ids].sum(axis=0) > 0.5
        return np.isin(validate_mask(parse), ids)
    if parse.ndim == 3:
        return influence_map(parse, attribute, strengthen, t) > 0.5
    mask = validate_mask(parse)
    k, s = ATTRIBUTES.index(attribute), 0 if strengthen else 1
    region = t.parts[s, k][mask] > 0.5
    win = t.window(s, k, max(mask.shape))
    if win and region.any():
        region &= grey_dilate(t.near[s, k][mask], win) > 0.5
    return region


def slider_region(parse: np.ndarray, attribute: str, value: float, *,
                  tables: AttributeParts | None = None) -> np.ndarray:
    """Boolean (H, W): where a slider of ``attribute`` at ``value`` acts (the '+' row for 0 and above, the
    '-' row below) on a mask or parse probabilities — the app's region overlay. A few ms at 512 px."""
    return attribute_region(parse, attribute, float(value) >= 0.0, tables=tables)


def _signs(attributes: Iterable[str] | Mapping[str, float]) -> list[tuple[str, tuple[bool, ...]]]:
    """(name, signs) per attribute: the sign of its value (+ for 0) in a mapping; both signs for a bare name
    (the direction is unknown). Zero values in a mapping are skipped."""
    if isinstance(attributes, Mapping):
        return [(n, (float(v) > 0,)) for n, v in attributes.items() if float(v) != 0.0]
    return [(n, (True, False)) for n in attributes]


def edit_region(mask_before: np.ndarray, mask_after: np.ndarray | None,
                attributes: Iterable[str] | Mapping[str, float], *, dilation: float = DEFAULT_DILATION,
                tables: AttributeParts | None = None) -> np.ndarray:
    """Boolean (H, W): pixels the edit may change — the union over ``attributes`` of their regions
    (:func:`attribute_region`) in either parse mask, grown by ``dilation`` x the mask side (at least one
    pixel when ``dilation`` > 0).

    ``attributes``: {name: value} (the sign of each non-zero value picks the AR+ or AR- row), or names
    (both rows: the direction is unknown)."""
    before = validate_mask(mask_before)
    asked = _signs(attributes)
    for name, _ in asked:
        if name not in ATTRIBUTES:
            region_classes([name])          # KeyError for an unknown name
    masks = [before]
    if mask_after is not None:
        after = validate_mask(mask_after)
        if after.shape != before.shape:
            raise ValueError(f"the two masks differ in size: {before.shape} vs {after.shape}")
        masks.append(after)
    region = np.zeros(before.shape, bool)
    for name, signs in asked:
        for strengthen in signs:
            for mask in masks:
                region |= attribute_region(mask, name, strengthen, tables=tables)
    if dilation > 0 and region.any():
        r = max(1, math.ceil(dilation * max(before.shape)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        region = cv2.dilate(region.astype(np.uint8), kernel).astype(bool)
    return region


def masked_psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """PSNR (dB, uint8 range 255) between images ``a`` and ``b`` over the pixels where ``where`` is True.

    ``inf`` when they agree there exactly; ``nan`` when ``where`` selects no pixel.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    where = np.asarray(where, bool)
    if a.shape != b.shape or a.shape[:2] != where.shape:
        raise ValueError(f"shapes differ: {a.shape}, {b.shape}, region {where.shape}")
    if not where.any():
        return math.nan
    diff = a[where].astype(np.float64) - b[where].astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 ** 2 / mse)


# Feather of `keep_outside`, as a fraction of the image side (about 1.5 px at 128).
DEFAULT_FEATHER = 1.0 / 85.0


def keep_outside(original: np.ndarray, edited: np.ndarray, region: np.ndarray, *,
                 feather: float = DEFAULT_FEATHER) -> np.ndarray:
    """The edited pixels inside ``region`` and the original ones outside it, with a soft seam.

    Why: a generator repaints the whole crop, and at small resolutions it blurs what it was not asked to
    change; an artist expects the rest of the face to stay exactly as it was. The blend weight is 1 on the
    region and falls off outside it over about ``feather`` x the image side, so the region itself is wholly
    edited and only a thin ring outside it mixes the two.
    """
    original = np.asarray(original)
    edited = np.asarray(edited)
    region = np.asarray(region, bool)
    if original.shape != edited.shape or original.ndim != 3 or original.shape[:2] != region.shape:
        raise ValueError(f"shapes differ: original {original.shape}, edited {edited.shape}, region {region.shape}")
    if feather < 0:
        raise ValueError(f"feather must be >= 0, got {feather}")
    weight = region.astype(np.float32)
    sigma = feather * max(region.shape)
    if sigma > 0 and region.any() and not region.all():
        blurred = cv2.GaussianBlur(weight, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
        weight = np.maximum(weight, blurred)
    w = weight[..., None]
    out = w * edited.astype(np.float32) + (1.0 - w) * original.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(original.dtype)
