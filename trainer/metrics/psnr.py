"""Peak signal-to-noise ratio, per image then averaged (the reconstruction figure of STGAN/AttGAN papers).

data_range is the span of the pixel values: 2 for the project's [-1, 1] floats, 255 for uint8. By default it
is taken from the dtype (uint8 -> 255, anything else -> 2).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


def default_data_range(x: np.ndarray) -> float:
    return 255.0 if x.dtype == np.uint8 else 2.0


def psnr_per_image(x: Any, y: Any, data_range: float | None = None) -> np.ndarray:
    """PSNR in dB of each image pair; x, y: a batch (N, C, H, W) or one image (C, H, W) / (H, W);
    inf where a pair is identical."""
    a, b = to_numpy(x), to_numpy(y)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    rng = default_data_range(a) if data_range is None else float(data_range)
    a, b = a.astype(np.float64), b.astype(np.float64)
    if a.ndim < 4:
        a, b = a[None], b[None]
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(rng ** 2 / mse)


def psnr(x: Any, y: Any, data_range: float | None = None) -> float:
    """Mean over images of the per-image PSNR (dB)."""
    return float(np.mean(psnr_per_image(x, y, data_range)))
