"""Preservation (DESIGN.md §6): how closely an edit keeps the input OUTSIDE the true change region, as
PSNR to the input there, measured on the editor's raw output (no paste-back, which would hide a
generator that repaints the whole face). Images (C, H, W) in [-1, 1] (peak 2, the same figure as uint8
with peak 255).

Over many faces the PSNR is that of the pooled squared error (Σ squared differences / Σ pixels), so an
image that happens to match exactly (infinite PSNR on its own) does not make the mean infinite.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


def outside_squared_error(edit: Any, image: Any, region: Any) -> tuple[float, int]:
    """(sum of squared differences, number of values) between edit and input outside ``region`` (H, W)."""
    e, x = to_numpy(edit, np.float64), to_numpy(image, np.float64)
    outside = ~to_numpy(region).astype(bool)
    if e.shape != x.shape or e.ndim != 3 or e.shape[1:] != outside.shape:
        raise ValueError(f"shapes differ: edit {e.shape}, input {x.shape}, region {outside.shape}")
    d = (e - x)[:, outside]
    return float((d * d).sum()), int(d.size)


def psnr_from_squared_error(sq_sum: Any, count: Any, peak: float = 2.0) -> float:
    """PSNR (dB) of the pooled squared errors: inf when they are all 0, NaN when nothing was counted."""
    total, n = float(np.sum(to_numpy(sq_sum, np.float64))), float(np.sum(to_numpy(count, np.float64)))
    if n <= 0:
        return math.nan
    mse = total / n
    return math.inf if mse == 0.0 else 10.0 * math.log10(peak * peak / mse)


def preservation_psnr(edit: Any, image: Any, region: Any, peak: float = 2.0) -> float:
    """PSNR (dB) of one edit against its input outside ``region``: inf when identical there."""
    return psnr_from_squared_error(*outside_squared_error(edit, image, region), peak=peak)
