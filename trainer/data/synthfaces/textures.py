"""Noise tiles shared by every render of a process (built once, from a fixed seed, so they are the same
in every worker): fine grain for skin, blotches, anisotropic strands for hair and brows, weave for cloth.

Tiles are periodic (filtered in the Fourier domain) and stored twice as large as their period, so a
window at any offset below the period is a plain slice, with no copy and no wrap-around arithmetic.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

PERIOD = 512
_ROW_SHIFT = (2 * PERIOD).bit_length() - 1      # a stored tile row is 2 * PERIOD values long


def _periodic_noise(rng: np.random.Generator, sy: float, sx: float) -> np.ndarray:
    """Gaussian-filtered white noise, periodic with PERIOD, normalised to zero mean and unit std."""
    white = rng.standard_normal((PERIOD, PERIOD))
    fy = np.fft.fftfreq(PERIOD)[:, None]
    fx = np.fft.fftfreq(PERIOD)[None, :]
    g = np.exp(-2.0 * (np.pi ** 2) * ((fy * sy) ** 2 + (fx * sx) ** 2))
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * g))
    out = (out - out.mean()) / (out.std() + 1e-9)
    return out.astype(np.float32)


@lru_cache(maxsize=1)
def tiles() -> dict[str, np.ndarray]:
    """name -> (2*PERIOD, 2*PERIOD) float32 tile."""
    rng = np.random.default_rng(20240611)
    spec = {
        "fine": (0.7, 0.7),        # skin pores, grain
        "mid": (3.0, 3.0),         # skin unevenness
        "low": (14.0, 14.0),       # blotches, cloth folds, background
        "strands": (16.0, 0.8),    # hair strands: long along rows (y), thin across (x)
        "curly": (4.0, 1.2),
    }
    out = {}
    for name, (sy, sx) in spec.items():
        t = _periodic_noise(rng, sy, sx)
        out[name] = np.tile(t, (2, 2))
    return out


def window(name: str, x0: int, y0: int, w: int, h: int, off: tuple[int, int] = (0, 0)) -> np.ndarray:
    """A (h, w) view of a tile starting at image position (x0, y0) shifted by a per-face offset."""
    t = tiles()[name]
    if w > PERIOD or h > PERIOD:
        reps = (h // PERIOD + 2, w // PERIOD + 2)
        big = np.tile(t[:PERIOD, :PERIOD], reps)
        oy, ox = (y0 + off[1]) % PERIOD, (x0 + off[0]) % PERIOD
        return big[oy:oy + h, ox:ox + w]
    oy, ox = (y0 + off[1]) % PERIOD, (x0 + off[0]) % PERIOD
    return t[oy:oy + h, ox:ox + w]


def gather(name: str, iy: np.ndarray, ix: np.ndarray) -> np.ndarray:
    """Tile values at integer coordinates (any shape, any sign; wrapped to the period)."""
    # one flat take: several times faster than indexing with two integer arrays
    flat = tiles()[name].reshape(-1)
    return np.take(flat, np.bitwise_or(np.left_shift(np.bitwise_and(iy, PERIOD - 1), _ROW_SHIFT),
                                       np.bitwise_and(ix, PERIOD - 1)))
