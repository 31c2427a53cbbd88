"""Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004) with the paper's settings: an 11×11
Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03, statistics over the window positions that lie fully inside
the image ("valid"), the SSIM map averaged over positions and channels, per image, then over images.

data_range (L in the paper) is the span of the pixel values: 2 for the project's [-1, 1] floats, 255 for
uint8; by default it is taken from the dtype (uint8 -> 255, anything else -> 2). Images are channel-first:
a batch (N, C, H, W) or one image (C, H, W) / (H, W), each side at least 11 pixels.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import correlate1d

from trainer.metrics._array import to_numpy

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian (the 2-D window is its outer product)."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(r ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local mean over the last two axes, kept only where the window fits."""
    out = correlate1d(correlate1d(img, g, axis=-1, mode="constant"), g, axis=-2, mode="constant")
    r = len(g) // 2
    return out[..., r:img.shape[-2] - r, r:img.shape[-1] - r]


def ssim_map(x: np.ndarray, y: np.ndarray, data_range: float) -> np.ndarray:
    """SSIM at every valid window position of (..., H, W) float64 arrays."""
    g = gaussian_window()
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim_per_image(x: Any, y: Any, data_range: float | None = None) -> np.ndarray:
    """Mean SSIM of each image pair (N,)."""
    a, b = to_numpy(x), to_numpy(y)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim < 2 or a.ndim > 4 or min(a.shape[-2:]) < WINDOW:
        raise ValueError(f"SSIM needs (N, C, H, W), (C, H, W) or (H, W) images with H, W >= {WINDOW}; "
                         f"got shape {a.shape}")
    rng = (255.0 if a.dtype == np.uint8 else 2.0) if data_range is None else float(data_range)
    a, b = a.astype(np.float64), b.astype(np.float64)
    while a.ndim < 4:
        a, b = a[None], b[None]
    return ssim_map(a, b, rng).mean(axis=(1, 2, 3))


def ssim(x: Any, y: Any, data_range: float | None = None) -> float:
    """Mean SSIM over images."""
    return float(np.mean(ssim_per_image(x, y, data_range)))
