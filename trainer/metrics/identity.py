"""Identity preservation: similarity of dlib's 128-D face descriptors of source and edited images.

dlib says two descriptors closer than 0.6 (Euclidean) are the same person; we report the mean cosine
similarity, the mean Euclidean distance and the fraction of pairs under 0.6. The descriptor function is a
parameter (`descriptor_fn(image_uint8 (H, W, 3)) -> (128,)`); the default detects the largest face with
dlib and describes it (faceeditor.core.face_detect; dlib is imported only when the default is used).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy

SAME_PERSON_DISTANCE = 0.6
DescriptorFn = Callable[[np.ndarray], np.ndarray]


class NoFaceFound(ValueError):
    """The descriptor function found no face in an image."""


def dlib_descriptor_fn() -> DescriptorFn:
    """The default descriptor: the main face found by faceeditor.core.face_detect, described by dlib's
    128-D model. Raises NoFaceFound when an image holds no detectable face."""
    from faceeditor.core import face_detect  # dlib itself is imported there on first use

    def describe(image: np.ndarray) -> np.ndarray:
        try:
            face = face_detect.detect_face(image)
        except face_detect.NoFaceError as exc:
            raise NoFaceFound(str(exc)) from None
        return face_detect.face_descriptor(image, face)
    return describe


def to_uint8_images(images: Any) -> list[np.ndarray]:
    """(N, 3, H, W) floats in [-1, 1] or (N, H, W, 3) uint8 -> list of (H, W, 3) uint8 RGB."""
    arr = to_numpy(images)
    if arr.dtype == np.uint8:
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"uint8 images must be (N, H, W, 3), got {arr.shape}")
        return [np.ascontiguousarray(a) for a in arr]
    if arr.ndim != 4 or arr.shape[1] != 3:
        raise ValueError(f"float images must be (N, 3, H, W) in [-1, 1], got {arr.shape}")
    u8 = np.clip(np.rint((arr.astype(np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return [np.ascontiguousarray(a.transpose(1, 2, 0)) for a in u8]


def descriptor_similarity(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarities (N,), Euclidean distances (N,)) of paired descriptors (N, D)."""
    da, db = np.atleast_2d(to_numpy(a).astype(np.float64)), np.atleast_2d(to_numpy(b).astype(np.float64))
    if da.shape != db.shape:
        raise ValueError(f"descriptor sets differ in shape: {da.shape} vs {db.shape}")
    norms = np.linalg.norm(da, axis=1) * np.linalg.norm(db, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (da * db).sum(axis=1) / norms
    return cos, np.linalg.norm(da - db, axis=1)


def identity_similarity(sources: Any, edited: Any, descriptor_fn: DescriptorFn | None = None,
                        skip_no_face: bool = True) -> dict[str, float]:
    """Mean cosine similarity, mean Euclidean distance and same-person rate of paired images.

    Pairs where either image has no detectable face are skipped and counted (`skipped`) when
    skip_no_face, else NoFaceFound propagates.
    """
    fn = descriptor_fn or dlib_descriptor_fn()
    src, out = to_uint8_images(sources), to_uint8_images(edited)
    if len(src) != len(out):
        raise ValueError(f"{len(src)} sources but {len(out)} edited images")
    da: list[np.ndarray] = []
    db: list[np.ndarray] = []
    skipped = 0
    for s, e in zip(src, out, strict=True):
        try:
            pair = (np.asarray(fn(s), np.float64).ravel(), np.asarray(fn(e), np.float64).ravel())
        except NoFaceFound:
            if not skip_no_face:
                raise
            skipped += 1
            continue
        da.append(pair[0])
        db.append(pair[1])
    result = {"pairs": float(len(da)), "skipped": float(skipped)}
    if not da:
        return result | {"cosine": float("nan"), "euclidean": float("nan"), "same_person_rate": float("nan")}
    cos, dist = descriptor_similarity(np.stack(da), np.stack(db))
    return result | {
        "cosine": float(cos.mean()),
        "euclidean": float(dist.mean()),
        "same_person_rate": float((dist < SAME_PERSON_DISTANCE).mean()),
    }
