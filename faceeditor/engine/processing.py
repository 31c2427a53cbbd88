"""Pre- and post-processing between callers' uint8 arrays and the networks' float tensors.

Pure numpy/cv2 functions, shared by the real engine and the fake one, so UI tests exercise the same
conversions the real models get.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from faceeditor.core.labels import NUM_CLASSES, LabelError, parse_to_model_lut
from faceeditor.engine.requests import NORMALIZATIONS


class RequestError(ValueError):
    """A request the engine cannot run; the message names the field."""


# --- checks ---------------------------------------------------------------------------------------


def as_list(where: str, items) -> list[np.ndarray]:
    """A request's images/masks as a non-empty list (a single array is a batch of one)."""
    if isinstance(items, np.ndarray):
        return [items]
    if isinstance(items, Sequence) and not isinstance(items, str | bytes):
        items = list(items)
        if not items:
            raise RequestError(f"{where}: empty list")
        return items
    raise RequestError(f"{where}: expected an array or a list of arrays, got {type(items).__name__}")


def check_image(where: str, image) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise RequestError(f"{where}: expected a uint8 (H, W, 3) RGB array, got {_describe(image)}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise RequestError(f"{where}: image is empty {image.shape}")
    return image


def check_mask(where: str, mask) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.uint8 or mask.ndim != 2:
        raise RequestError(f"{where}: expected a uint8 (H, W) class-index mask, got {_describe(mask)}")
    if mask.size == 0:
        raise RequestError(f"{where}: mask is empty {mask.shape}")
    top = int(mask.max())
    if top >= NUM_CLASSES:
        raise RequestError(f"{where}: class index {top} is not one of the {NUM_CLASSES} parse classes")
    return mask


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    return type(x).__name__


# --- resizing -------------------------------------------------------------------------------------


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """INTER_AREA when shrinking, INTER_LINEAR when enlarging; unchanged when the size already fits."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    interp = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest neighbour only: class indices must never be blended."""
    if mask.shape[:2] == (height, width):
        return mask
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)


# --- tensors --------------------------------------------------------------------------------------


def images_to_tensor(images: list[np.ndarray], size: int, normalization: str) -> np.ndarray:
    """uint8 (H, W, 3) images -> float32 (N, 3, size, size) normalised."""
    scale, offset = NORMALIZATIONS[normalization]
    batch = np.stack([resize_image(im, size, size) for im in images]).astype(np.float32)
    batch *= scale / 255.0
    batch += offset
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def tensor_to_images(tensor: np.ndarray, sizes: list[tuple[int, int]], normalization: str) -> list[np.ndarray]:
    """float32 (N, 3, h, w) network output -> uint8 (H, W, 3) at each (H, W) of `sizes`.

    Resizing happens on the float values, then one rounding to uint8."""
    scale, offset = NORMALIZATIONS[normalization]
    out = []
    for t, (h, w) in zip(tensor, sizes, strict=True):
        hwc = np.ascontiguousarray(t.transpose(1, 2, 0), dtype=np.float32)
        hwc = (hwc - offset) * (255.0 / scale)
        hwc = resize_image(hwc, w, h)
        out.append(np.clip(np.rint(hwc), 0, 255).astype(np.uint8))
    return out


def add_change(images: list[np.ndarray], change: np.ndarray, normalization: str) -> list[np.ndarray]:
    """uint8 (H, W, 3) images plus a float32 (N, 3, h, w) change in network units, resized to each image
    (on the float values) -> uint8 images: the change applied to the full-resolution input."""
    scale, _offset = NORMALIZATIONS[normalization]
    out = []
    for image, delta in zip(images, change, strict=True):
        hwc = np.ascontiguousarray(delta.transpose(1, 2, 0), dtype=np.float32) * (255.0 / scale)
        hwc = resize_image(hwc, image.shape[1], image.shape[0])
        out.append(np.clip(np.rint(image.astype(np.float32) + hwc), 0, 255).astype(np.uint8))
    return out


def class_lut(model_classes: Sequence[str]) -> np.ndarray:
    """Map the 19 parse-class indices of callers' masks onto a model's class list
    (faceeditor.core.labels.parse_to_model_lut); RequestError when some parse class has no counterpart."""
    try:
        return parse_to_model_lut(model_classes)
    except LabelError as exc:
        raise RequestError(str(exc)) from None


def masks_to_onehot(masks: list[np.ndarray], size: int, lut: np.ndarray, n_classes: int,
                    antialias: bool = False) -> np.ndarray:
    """uint8 parse-class masks -> float32 one-hot (N, n_classes, size, size) in the model's classes.

    antialias: a mask larger than ``size`` gives each pixel the share of each class it covers (one-hot at
    the mask's size, area-averaged down) instead of the class at its centre, so a boundary that moves by
    a fraction of a pixel moves the input by a fraction too: clips rasterised finer than the model's
    size then change smoothly instead of in whole-pixel jumps."""
    if antialias and any(m.shape[0] > size for m in masks):
        out = np.zeros((len(masks), n_classes, size, size), dtype=np.float32)
        for i, m in enumerate(masks):
            idx = lut[m]
            for c in np.unique(idx):
                out[i, c] = cv2.resize((idx == c).astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        return out
    idx = np.stack([lut[resize_mask(m, size, size)] for m in masks])          # (N, s, s)
    onehot = np.zeros((len(masks), n_classes, size, size), dtype=np.float32)
    np.put_along_axis(onehot, idx[:, None], 1.0, axis=1)
    return onehot


def labels_to_masks(labels: np.ndarray, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """int (N, h, w) class indices -> uint8 (H, W) at each size (nearest neighbour)."""
    return [resize_mask(lab.astype(np.uint8), w, h) for lab, (h, w) in zip(labels, sizes, strict=True)]


def condition_matrix(where: str, value, names: Sequence[str], n: int) -> np.ndarray:
    """A condition given as {name: value}, one vector, or one row per image -> float32 (n, len(names))."""
    k = len(names)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise RequestError(f"{where}: unknown name(s) {unknown}; the model knows {list(names)}")
        row = np.zeros(k, dtype=np.float32)
        for name, v in value.items():
            row[list(names).index(name)] = _finite(f"{where}[{name!r}]", v)
        return np.repeat(row[None], n, axis=0)
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise RequestError(f"{where}: expected a mapping or numbers, got {type(value).__name__}") from None
    if arr.shape == (k,):
        arr = np.repeat(arr[None], n, axis=0)
    if arr.shape != (n, k):
        raise RequestError(f"{where}: expected shape ({k},) or ({n}, {k}) for {k} names, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise RequestError(f"{where}: values must be finite")
    return np.ascontiguousarray(arr)


def _finite(where: str, v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise RequestError(f"{where}: expected a number, got {v!r}") from None
    if not np.isfinite(f):
        raise RequestError(f"{where}: must be finite, got {v!r}")
    return f


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
