"""Which face-parsing classes an attribute edit may change, and how close an edit stays to its input
outside them.

An attribute edit should leave the face alone outside the parts the attribute concerns: "Bangs" may
repaint hair (and the forehead the new fringe covers, which is hair in the edited mask), but not the eyes
or the background. :data:`ATTRIBUTE_REGIONS` names those parts per attribute. The SynthFaces renderer
(trainer/data/synthfaces/regions.py re-exports this table) changes nothing outside them, so on SynthFaces
a perfect editor changes nothing outside them either. On photos it is the natural
reading of the CelebA attribute names.

The region of an edit is the union of its attributes' classes in the parse of the input OR of the edited
image (occlusion: removing hair reveals skin that was hair before), grown by a few pixels for
anti-aliased fringes. Pure numpy + OpenCV: no Qt, no torch.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES

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
    """Sorted parse-class indices that editing ``attributes`` may change. KeyError names an unknown one."""
    found: set[int] = set()
    for name in attributes:
        if name not in ATTRIBUTE_REGIONS:
            raise KeyError(f"no region is known for attribute {name!r} "
                           f"(known: {', '.join(sorted(ATTRIBUTE_REGIONS))})")
        found.update(CLASS_INDEX[c] for c in ATTRIBUTE_REGIONS[name])
    return sorted(found)


def edit_region(mask_before: np.ndarray, mask_after: np.ndarray | None, attributes: Iterable[str], *,
                dilation: float = DEFAULT_DILATION) -> np.ndarray:
    """Boolean (H, W): pixels the edit of ``attributes`` may change — their classes in either parse mask,
    grown by ``dilation`` x the mask side (at least one pixel when ``dilation`` > 0)."""
    before = np.asarray(mask_before)
    if before.ndim != 2 or before.dtype.kind not in "iu":
        raise ValueError(f"masks must be 2-D class-index arrays, got {before.shape} {before.dtype}")
    if before.size and int(before.max()) >= NUM_CLASSES:
        raise ValueError(f"mask holds class index {int(before.max())}, outside 0..{NUM_CLASSES - 1}")
    ids = region_classes(attributes)
    region = np.isin(before, ids)
    if mask_after is not None:
        after = np.asarray(mask_after)
        if after.shape != before.shape:
            raise ValueError(f"the two masks differ in size: {before.shape} vs {after.shape}")
        region |= np.isin(after, ids)
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
