"""Multi-scale structural similarity (Wang, Simoncelli, Bovik 2003), with the original's settings where the
image allows them, and SG-GAN's background measure (§4.3, Table 2) built on it.

MS-SSIM = l_M^{w_M} · Π_{j=1..M} cs_j^{w_j}: the contrast-structure term cs_j (the mean over window positions
of (2σxy + C2) / (σx² + σy² + C2)) at every scale j, the luminance term l_M only at the coarsest; between
scales both images are low-pass filtered by a 2×2 mean and subsampled by 2 (Wang's ms_ssim.m; an odd side
repeats its last row / column). Window, constants and data range as trainer/metrics/ssim.py: an 11×11
Gaussian of σ = 1.5, K1 = 0.01, K2 = 0.03, statistics over the positions where the window fits ("valid").
The original's five weights are (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); computed per channel, then
averaged over channels (as pytorch_msssim does).

No MS-SSIM implementation is a dependency of this project (scikit-image, present in the development
environment only, has single-scale SSIM; torchmetrics and pytorch_msssim are not installed), hence this one.

Small images: five scales need a side of 161 px (halving rounds up: 161, 81, 41, 21, 11). With fewer
pixels this uses as many scales M as keep the coarsest side >= the window, and the first M of the original
weights renormalised to sum to 1 (M = 1 is plain SSIM). A side under 11 px (SG-GAN's 10×10 crop) shrinks the window to the largest odd size
that fits, with σ scaled alike (σ = 1.5 · size / 11). Negative cs / l values (anticorrelated patches, which
a fractional power cannot take) are clamped to 0, as pytorch_msssim does; so the figure lies in [0, 1].
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy
from trainer.metrics.ssim import K1, K2, SIGMA, WINDOW, _filter_valid, gaussian_window

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _downsample(img: np.ndarray) -> np.ndarray:
    """2×2 mean, then every other pixel, over the last two axes (an odd side repeats its last line)."""
    h, w = img.shape[-2:]
    if h % 2 or w % 2:
        pad = [(0, 0)] * (img.ndim - 2) + [(0, h % 2), (0, w % 2)]
        img = np.pad(img, pad, mode="edge")
    return 0.25 * (img[..., 0::2, 0::2] + img[..., 1::2, 0::2] + img[..., 0::2, 1::2] + img[..., 1::2, 1::2])


def scales_and_window(side: int, max_scales: int = len(WEIGHTS)) -> tuple[int, int, float]:
    """(scales, window size, σ) MS-SSIM uses on images whose smaller side is ``side`` (see the module doc)."""
    if side < 1:
        raise ValueError(f"MS-SSIM needs images of at least 1×1 pixel; got side {side}")
    if side < WINDOW:
        size = side if side % 2 else side - 1
        return 1, size, SIGMA * size / WINDOW
    scales, s = 1, side
    while scales < max_scales and (s + 1) // 2 >= WINDOW:
        s = (s + 1) // 2
        scales += 1
    return scales, WINDOW, SIGMA


def _terms(x: np.ndarray, y: np.ndarray, g: np.ndarray, c1: float, c2: float) -> tuple[np.ndarray, np.ndarray]:
    """(luminance, contrast-structure), each averaged over the valid positions: (N, C)."""
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    return (lum * cs).mean(axis=(-2, -1)), cs.mean(axis=(-2, -1))


def ms_ssim_per_image(x: Any, y: Any, data_range: float | None = None,
                      max_scales: int = len(WEIGHTS)) -> np.ndarray:
    """MS-SSIM of each image pair (N,). Images (N, C, H, W), (C, H, W) or (H, W); data_range as ssim.py
    (uint8 -> 255, else 2 for the project's [-1, 1] floats)."""
    a, b = to_numpy(x), to_numpy(y)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.ndim < 2 or a.ndim > 4:
        raise ValueError(f"MS-SSIM needs (N, C, H, W), (C, H, W) or (H, W) images; got shape {a.shape}")
    if not 1 <= max_scales <= len(WEIGHTS):
        raise ValueError(f"max_scales must be 1..{len(WEIGHTS)}; got {max_scales}")
    rng = (255.0 if a.dtype == np.uint8 else 2.0) if data_range is None else float(data_range)
    a, b = a.astype(np.float64), b.astype(np.float64)
    while a.ndim < 4:
        a, b = a[None], b[None]
    scales, size, sigma = scales_and_window(min(a.shape[-2:]), max_scales)
    weights = np.array(WEIGHTS[:scales]) / sum(WEIGHTS[:scales])
    g = gaussian_window(size, sigma)
    c1, c2 = (K1 * rng) ** 2, (K2 * rng) ** 2
    value = np.ones(a.shape[:2])
    for j in range(scales):
        full, cs = _terms(a, b, g, c1, c2)
        term = full if j == scales - 1 else cs       # l·cs at the coarsest scale, cs at the others
        value *= np.maximum(term, 0.0) ** weights[j]
        if j < scales - 1:
            a, b = _downsample(a), _downsample(b)
    return value.mean(axis=1)


def ms_ssim(x: Any, y: Any, data_range: float | None = None) -> float:
    """Mean MS-SSIM over images."""
    return float(np.mean(ms_ssim_per_image(x, y, data_range)))


def background_crop_size(resolution: int) -> int:
    """The side of the background crop at ``resolution``: resolution / 8 (16 px at 128², 8 at 64²).

    SG-GAN crops 10×10 at 128²; scaled as is that would be 5 px at 64², too few for a structural measure,
    so the crop is an eighth of the side (at least 4 px) instead: at 128² a little larger than the paper's."""
    return max(4, int(resolution) // 8)


def background_ms_ssim(edit: Any, image: Any, crop: int | None = None) -> np.ndarray:
    """SG-GAN's background preservation (§4.3): MS-SSIM between the top-left ``crop``×``crop`` corner of
    each edit and of its input (N,); images (N, C, H, W) in [-1, 1]; crop defaults to
    background_crop_size(H)."""
    e, x = to_numpy(edit), to_numpy(image)
    if e.shape != x.shape or e.ndim != 4:
        raise ValueError(f"edit and input must both be (N, C, H, W); got {e.shape} and {x.shape}")
    c = background_crop_size(e.shape[-1]) if crop is None else int(crop)
    return ms_ssim_per_image(e[..., :c, :c], x[..., :c, :c], 2.0)
