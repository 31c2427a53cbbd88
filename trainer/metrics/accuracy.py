"""Classification accuracy: per attribute and mean for multi-label outputs, overall and per class for
multi-class outputs. Both have an accumulator so that evaluation can run batch by batch."""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


class MultiLabelAccuracy:
    """Per-attribute accuracy of binary predictions, counting only the labelled (`known`) entries.

    The mean is over attributes (each attribute weighs the same, as AttGAN/STGAN report it), skipping
    attributes with no labelled sample.
    """

    def __init__(self, num_labels: int):
        self.correct = np.zeros(num_labels, dtype=np.int64)
        self.count = np.zeros(num_labels, dtype=np.int64)

    def update(self, predicted: Any, target: Any, known: Any = None) -> None:
        """predicted, target: (N, K) in {0, 1} (bool or numbers; threshold logits at 0 before);
        known: (N, K) bool, default all."""
        p = to_numpy(predicted).astype(bool)
        t = to_numpy(target)
        if p.shape != t.shape or p.ndim != 2 or p.shape[1] != len(self.count):
            raise ValueError(f"expected predicted and target of shape (N, {len(self.count)}), "
                             f"got {p.shape} and {t.shape}")
        t = t > 0.5
        k = np.ones_like(p) if known is None else to_numpy(known).astype(bool)
        if k.shape != p.shape:
            raise ValueError(f"known has shape {k.shape}, expected {p.shape}")
        self.correct += ((p == t) & k).sum(axis=0)
        self.count += k.sum(axis=0)

    def per_label(self) -> np.ndarray:
        """(K,) accuracies; nan where a label had no known sample."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.correct / np.maximum(self.count, 1), np.nan)

    def mean(self) -> float:
        per = self.per_label()
        return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


class MultiClassAccuracy:
    """Overall accuracy of class predictions, plus per-class accuracy (recall) and its mean."""

    def __init__(self, num_classes: int):
        self.correct = np.zeros(num_classes, dtype=np.int64)
        self.count = np.zeros(num_classes, dtype=np.int64)

    def update(self, predicted: Any, target: Any) -> None:
        """predicted, target: (N,) class indices (take the argmax of logits before)."""
        p = to_numpy(predicted).astype(np.int64).ravel()
        t = to_numpy(target).astype(np.int64).ravel()
        if p.shape != t.shape:
            raise ValueError(f"predicted has {p.size} entries, target {t.size}")
        if t.size and (t.min() < 0 or t.max() >= len(self.count)):
            raise ValueError(f"target holds a class outside 0..{len(self.count) - 1}")
        np.add.at(self.count, t, 1)
        np.add.at(self.correct, t[p == t], 1)

    def overall(self) -> float:
        total = self.count.sum()
        return float(self.correct.sum() / total) if total else float("nan")

    def per_class(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.correct / np.maximum(self.count, 1), np.nan)

    def mean_per_class(self) -> float:
        per = self.per_class()
        return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def multilabel_accuracy(predicted: Any, target: Any, known: Any = None) -> tuple[np.ndarray, float]:
    """(per-label accuracies (K,), mean over labels) of binary predictions (N, K)."""
    acc = MultiLabelAccuracy(to_numpy(target).shape[-1])
    acc.update(predicted, target, known)
    return acc.per_label(), acc.mean()


def multiclass_accuracy(predicted: Any, target: Any, num_classes: int) -> tuple[float, np.ndarray]:
    """(overall accuracy, per-class accuracies (num_classes,), nan for absent classes)."""
    acc = MultiClassAccuracy(num_classes)
    acc.update(predicted, target)
    return acc.overall(), acc.per_class()
