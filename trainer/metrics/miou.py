"""Mean intersection-over-union of segmentation masks, from a confusion matrix accumulated over batches.

A class absent from both the predictions and the ground truth of everything seen has no IoU (nan) and is
left out of the mean; a class predicted but never present (or present but never predicted) counts as 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


def confusion_matrix(predicted: Any, target: Any, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(num_classes, num_classes) int64 counts, rows = ground truth, columns = prediction."""
    p = to_numpy(predicted).astype(np.int64).ravel()
    t = to_numpy(target).astype(np.int64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"predicted has {p.size} pixels, target {t.size}")
    keep = t != ignore_index
    p, t = p[keep], t[keep]
    if t.size and (t.min() < 0 or t.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"a class index lies outside 0..{num_classes - 1}")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU = TP / (TP + FP + FN); nan where the class is absent from both."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


class MeanIoU:
    """Accumulate predictions batch by batch, then read per-class IoU and the mean."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.cm = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, predicted: Any, target: Any) -> None:
        self.cm += confusion_matrix(predicted, target, self.num_classes, self.ignore_index)

    def per_class(self) -> np.ndarray:
        return iou_from_confusion(self.cm)

    def mean(self) -> float:
        per = self.per_class()
        return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")

    def pixel_accuracy(self) -> float:
        total = self.cm.sum()
        return float(np.trace(self.cm) / total) if total else float("nan")


def mean_iou(predicted: Any, target: Any, num_classes: int, ignore_index: int = 255) -> tuple[np.ndarray, float]:
    """(per-class IoU, mean IoU) of one set of masks."""
    m = MeanIoU(num_classes, ignore_index)
    m.update(predicted, target)
    return m.per_class(), m.mean()
