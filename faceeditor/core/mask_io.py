"""Validation of 19-class index masks, in memory and on disk.

A mask handed to synthesis or to the interpolation code must be a 2-D array of class indices below
NUM_CLASSES (faceeditor.core.labels), of the size the model expects. Anything else is refused with a
:class:`MaskError` that names the file (or the argument) and what is wrong, instead of failing deep inside
a warp or a network.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from faceeditor.core.image_io import MASK_FILE_LIMIT, ImageLoadError, load_index_mask
from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES
from faceeditor.core.safe_read import open_regular_file

# Decoding refuses anything larger: a mask is at most a few megapixels.
MAX_MASK_PIXELS = 64 * 1024 * 1024


class MaskError(ValueError):
    """A mask is unusable; the message says which one and why."""


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def validate_mask(mask: object, expected_size: int | tuple[int, int] | None = None, *,
                  num_classes: int = NUM_CLASSES, name: str = "mask") -> np.ndarray:
    """Return ``mask`` as a C-contiguous uint8 (H, W) array after checking shape, dtype and indices.

    ``expected_size`` is S (square) or (H, W). Class indices must be below ``num_classes``.
    """
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise MaskError(f"{name}: expected a 2-D array of class indices, got shape {arr.shape}")
    if arr.size == 0:
        raise MaskError(f"{name}: the mask is empty ({arr.shape[0]}x{arr.shape[1]})")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise MaskError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= num_classes:
        bad = hi if hi >= num_classes else lo
        count = int(((arr < 0) | (arr >= num_classes)).sum())
        raise MaskError(f"{name}: unknown class index {bad} in {count} pixel(s); "
                        f"classes are 0..{num_classes - 1}"
                        + (f" ({', '.join(PARSE_CLASSES)})" if num_classes == NUM_CLASSES else ""))
    if expected_size is not None:
        eh, ew = _size_hw(expected_size)
        if arr.shape != (eh, ew):
            raise MaskError(f"{name}: size {arr.shape[1]}x{arr.shape[0]} (WxH) does not match the expected "
                            f"{ew}x{eh}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def load_mask(path: str | os.PathLike, expected_size: int | tuple[int, int] | None = None, *,
              num_classes: int = NUM_CLASSES, palette: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Read a class-index mask file and validate it (decoding by image_io.load_index_mask).

    Accepted: 8-bit grey or palette PNGs whose values are class indices, grey images saved as RGB, and
    colour-coded masks when ``palette`` (class index -> RGB) is given. Raises :class:`MaskError` for a
    missing or unreadable file, a colour image without palette, an unknown class index, or a size other
    than ``expected_size`` (S or (H, W)).
    """
    name = repr(os.fspath(path))
    try:
        arr = load_index_mask(path, palette=palette, max_pixels=MAX_MASK_PIXELS)
    except ImageLoadError as exc:
        raise MaskError(f"cannot load mask {name}: {exc.reason}") from None
    return validate_mask(arr, expected_size, num_classes=num_classes, name=f"mask {name}")


def _is_colour_image(path: str | os.PathLike) -> bool:
    """Whether the file decodes as RGB(A); False when unreadable (load_mask then says why)."""
    try:
        # a regular file only: Image.open(path) on a named pipe would block until a writer came
        with open_regular_file(path, MASK_FILE_LIMIT, "mask") as fh, Image.open(fh) as im:
            return im.mode in ("RGB", "RGBA", "RGBX")
    except Exception:
        return False


def load_any_mask(path: str | os.PathLike, expected_size: int | tuple[int, int] | None = None) -> np.ndarray:
    """A 19-class mask file in either form the app and the CLI accept: an index PNG (grey or palette,
    pixel = class index; also grey saved as RGB) or a colour PNG in the project's class colours
    (faceeditor.core.palette). MaskError, with a hint for a colour mask in other colours."""
    from faceeditor.core.palette import PALETTE

    if not _is_colour_image(path):
        return load_mask(path, expected_size)
    try:
        return load_mask(path, expected_size, palette=[tuple(int(v) for v in c) for c in PALETTE])
    except MaskError as exc:
        try:
            return load_mask(path, expected_size)      # a grey mask saved as RGB
        except MaskError:
            raise MaskError(f"{exc} (a colour mask must use the project's class colours, "
                            "faceeditor.core.palette; or save the mask as an index PNG)") from None


def save_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write a validated mask as an 8-bit grey PNG (atomically: temporary file, then os.replace)."""
    arr = validate_mask(mask)
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    Image.fromarray(arr, "L").save(tmp, format="PNG")
    os.replace(tmp, p)
