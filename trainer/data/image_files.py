"""Reading image files for the dataset loaders, with every decoding failure turned into a DatasetError
that names the file (a corrupt or truncated JPEG, a zero-byte file, a PNG that is not an image).

Pillow decodes; JPEGs are decoded at a reduced DCT scale when the caller will shrink them anyway
(`min_scale`), which makes building the cache of a 1024-pixel dataset several times faster.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from trainer.data.errors import DatasetError


def _open(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: image file is missing") from None
    except Exception as exc:  # Pillow raises many types for bad files; all mean "not a readable image"
        raise DatasetError(f"{path}: cannot read image ({type(exc).__name__}: {exc})") from None


def read_rgb(path: str | Path, min_scale: float | Callable[[tuple[int, int]], float] = 1.0,
             ) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode an image as uint8 (H, W, 3) RGB.

    With ``min_scale`` < 1 a JPEG may be decoded smaller, at no less than that fraction of its size
    (``min_scale`` may be a function of the file's (width, height)). Returns the pixels and the file's full (width, height), so callers can scale their coordinates by
    ``pixels.shape[1] / width``.
    """
    path = Path(path)
    img = _open(path)
    try:
        with img:
            full = img.size
            scale = min_scale(full) if callable(min_scale) else min_scale
            if img.format == "JPEG" and scale < 1.0:
                img.draft("RGB", (max(1, math.ceil(full[0] * scale)), max(1, math.ceil(full[1] * scale))))
            img.load()
            rgb = img.convert("RGB") if img.mode != "RGB" else img
            arr = np.asarray(rgb, dtype=np.uint8)
    except DatasetError:
        raise
    except Exception as exc:
        raise DatasetError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from None
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DatasetError(f"{path}: decoded to an empty image")
    return np.ascontiguousarray(arr), full


def read_binary_mask(path: str | Path) -> np.ndarray:
    """Decode a black/white mask PNG (any mode) as a bool (H, W) array: True where the pixel is bright."""
    path = Path(path)
    img = _open(path)
    try:
        with img:
            img.load()
            gray = np.asarray(img.convert("L"), dtype=np.uint8)
    except Exception as exc:
        raise DatasetError(f"{path}: cannot decode mask ({type(exc).__name__}: {exc})") from None
    return gray > 127
