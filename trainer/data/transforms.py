"""Array operations the dataset loaders share: crops, resizes, point transforms, horizontal flips and
the conversion to the tensors of the sample contract (trainer/data/registry.py).

Coordinates follow the pixel-centre convention: pixel (i, j) covers [i - 0.5, i + 0.5), so a point x in a
crop starting at x0 of width w lands at (x - x0 + 0.5) * R / w - 0.5 in an R-wide resize, and a horizontal
flip of a W-wide image maps x to W - 1 - x.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from faceeditor.core.face_geometry import IBUG_MIRROR
from faceeditor.core.labels import flip_class_lut

# The 68-point mirror order has one owner, faceeditor.core.face_geometry.
LANDMARK_FLIP_PERM: tuple[int, ...] = IBUG_MIRROR
# CelebA's 5 points: lefteye, righteye, nose, leftmouth, rightmouth (named by image side).
LANDMARK5_FLIP_PERM: tuple[int, ...] = (1, 0, 2, 4, 3)
_CLASS_FLIP_LUT = np.asarray(flip_class_lut(), dtype=np.uint8)


def flip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an (H, W[, C]) array left-right."""
    return np.ascontiguousarray(image[:, ::-1])


def flip_mask(mask: np.ndarray) -> np.ndarray:
    """Mirror a class-index mask and swap the l_/r_ classes so that labels stay true."""
    return _CLASS_FLIP_LUT[mask[:, ::-1]]


def flip_points(points: np.ndarray, width: int, perm: tuple[int, ...]) -> np.ndarray:
    """Mirror (N, 2) pixel points in a `width`-wide image and reorder them so index i keeps its meaning."""
    out = np.asarray(points, dtype=np.float32)[list(perm)].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def center_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square (x0, y0, x1, y1); CelebA's 178x218 gives (0, 20, 178, 198)."""
    side = min(width, height)
    x0 = (width - side) // 2
    y0 = (height - side) // 2
    return x0, y0, x0 + side, y0 + side


def square_around(cx: float, cy: float, side: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A square of `side` centred at (cx, cy), moved inside the image (and shrunk to the image's short
    side if it does not fit), so that every pixel of the crop is a real pixel."""
    s = int(round(min(side, width, height)))
    x0 = int(round(cx - s / 2))
    y0 = int(round(cy - s / 2))
    x0 = min(max(x0, 0), width - s)
    y0 = min(max(y0, 0), height - s)
    return x0, y0, x0 + s, y0 + s


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 image to size x size: area averaging when shrinking, bicubic when enlarging."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=interp)


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Resize a class-index mask with nearest neighbour (class indices must never be blended)."""
    if mask.shape[:2] == (size, size):
        return np.ascontiguousarray(mask)
    return cv2.resize(np.ascontiguousarray(mask), (size, size), interpolation=cv2.INTER_NEAREST)


def crop_resize_points(points: np.ndarray, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Map (N, 2) pixel points of the full image into the `size`-square resize of crop `box`."""
    x0, y0, x1, y1 = box
    p = np.asarray(points, dtype=np.float64)
    out = np.empty_like(p)
    out[:, 0] = (p[:, 0] - x0 + 0.5) * (size / (x1 - x0)) - 0.5
    out[:, 1] = (p[:, 1] - y0 + 0.5) * (size / (y1 - y0)) - 0.5
    return out.astype(np.float32)


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> float32 (3, H, W) in [-1, 1]."""
    chw = np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1), dtype=np.float32)
    chw *= np.float32(1 / 127.5)       # in numpy: no intra-op thread pool to wake per sample
    chw -= np.float32(1.0)
    return torch.from_numpy(chw)


def tensor_to_image(tensor: torch.Tensor) -> np.ndarray:
    """The inverse of image_to_tensor (rounded, clipped): for previews and tests."""
    arr = ((tensor.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return arr.permute(1, 2, 0).cpu().numpy()


def crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The (x0, y0, x1, y1) box of an (H, W, ...) array."""
    x0, y0, x1, y1 = box
    return pixels[y0:y1, x0:x1]
