"""Detail (DESIGN.md §6): the high-frequency energy of an edit relative to its input over the face. A
generator that blurs scores < 1 even when its colours are right on average (which pixel errors and an
evaluator both forgive); 1 = as sharp as the input; > 1 = sharper or noisier.

The high frequencies are the image minus its Gaussian blur (sigma 1 px at 128, scaled with the side);
their energy is the mean square over the face pixels (not background, not cloth). Over many faces the
ratio is that of the summed energies.
"""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from faceeditor.core.labels import CLASS_INDEX
from trainer.metrics._array import to_numpy

NOT_FACE = ("background", "cloth")


def face_region(parse_mask: Any) -> np.ndarray:
    """Boolean (H, W): the pixels of a 19-class parse mask that are neither background nor cloth."""
    return ~np.isin(to_numpy(parse_mask), [CLASS_INDEX[c] for c in NOT_FACE])


def high_frequency_energy(image: Any, where: Any | None = None, sigma: float | None = None) -> float:
    """Mean square of image − GaussianBlur(image) over ``where`` (H, W; all pixels if None), for a (C, H,
    W) image; ``sigma`` defaults to side / 128 px. NaN when ``where`` is empty."""
    img = to_numpy(image, np.float32)
    if img.ndim != 3:
        raise ValueError(f"expected a (C, H, W) image, got {img.shape}")
    mask = np.ones(img.shape[1:], bool) if where is None else to_numpy(where).astype(bool)
    if mask.shape != img.shape[1:]:
        raise ValueError(f"region {mask.shape} does not match the image {img.shape}")
    if not mask.any():
        return math.nan
    s = float(sigma) if sigma is not None else max(img.shape[1:]) / 128.0
    hwc = np.ascontiguousarray(img.transpose(1, 2, 0))
    blurred = cv2.GaussianBlur(hwc, (0, 0), sigmaX=s, borderType=cv2.BORDER_REFLECT)
    high = (hwc - blurred.reshape(hwc.shape))[mask]
    return float(np.mean(high.astype(np.float64) ** 2))


def detail_ratio(edit_energy: Any, input_energy: Any) -> float:
    """Σ energy(edit) / Σ energy(input) over the faces with a value; NaN when the input has none."""
    e = np.atleast_1d(to_numpy(edit_energy, np.float64))
    x = np.atleast_1d(to_numpy(input_energy, np.float64))
    keep = np.isfinite(e) & np.isfinite(x)
    total = float(x[keep].sum())
    return float(e[keep].sum()) / total if total > 0 else math.nan


def detail(edit: Any, image: Any, where: Any | None = None, sigma: float | None = None) -> float:
    """The detail of one edit: its high-frequency energy over ``where`` relative to the input's."""
    return detail_ratio(high_frequency_energy(edit, where, sigma), high_frequency_energy(image, where, sigma))
