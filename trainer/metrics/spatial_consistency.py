"""SCGAN's accuracy of spatial consistency (Jiang et al. §5.8, Table 1).

A segmentor labels each image; the labels are compared pixel by pixel with a reference segmentation and
the per-image pixel accuracy is averaged over images. Run on generated faces against their conditioning
masks it is the score; on real images against their own masks it is the ceiling; on real images against
the masks of other images (shuffled, unpaired) it is the floor.

With `n_classes`, it also counts per reference class how many of its pixels were labelled that class
(recall) and how many pixels were labelled it at all (for the IoU, which also charges a part drawn too
large): the overall figure is dominated by background, skin, hair and cloth, and the per-class figures say
which parts a generator draws so that the segmentor cannot read them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


class SpatialConsistency:
    """Mean over images of the fraction of pixels whose predicted class equals the reference class."""

    def __init__(self, n_classes: int = 0) -> None:
        self.total = 0.0
        self.count = 0
        self.n_classes = n_classes
        self.hits = np.zeros(n_classes, dtype=np.int64)
        self.pixels = np.zeros(n_classes, dtype=np.int64)
        self.predicted = np.zeros(n_classes, dtype=np.int64)

    def update(self, predicted: Any, reference: Any) -> None:
        """predicted, reference: (N, H, W) class indices."""
        p = to_numpy(predicted).astype(np.int64)
        r = to_numpy(reference).astype(np.int64)
        if p.shape != r.shape or p.ndim != 3:
            raise ValueError(f"expected two (N, H, W) label maps of one shape, got {p.shape} and {r.shape}")
        if p.shape[0] == 0:
            return
        if self.n_classes and (r.min() < 0 or r.max() >= self.n_classes):
            raise ValueError(f"reference holds class indices outside 0..{self.n_classes - 1}")
        right = p == r
        self.total += float(right.reshape(p.shape[0], -1).mean(axis=1).sum())
        self.count += int(p.shape[0])
        if self.n_classes:
            self.pixels += np.bincount(r.ravel(), minlength=self.n_classes)
            self.hits += np.bincount(r[right], minlength=self.n_classes)
            self.predicted += np.bincount(np.clip(p.ravel(), 0, self.n_classes - 1), minlength=self.n_classes)

    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def class_recall(self) -> np.ndarray:
        """Per reference class, the fraction of its pixels labelled as that class (NaN: class never seen)."""
        return np.where(self.pixels > 0, self.hits / np.maximum(self.pixels, 1), np.nan)

    def class_iou(self) -> np.ndarray:
        """Per reference class, |predicted ∩ reference| / |predicted ∪ reference| over all images (NaN: class
        never seen in the references)."""
        union = self.pixels + self.predicted - self.hits
        return np.where(self.pixels > 0, self.hits / np.maximum(union, 1), np.nan)


def spatial_consistency(predicted: Any, reference: Any) -> float:
    """Mean per-image pixel accuracy of (N, H, W) label maps."""
    acc = SpatialConsistency()
    acc.update(predicted, reference)
    return acc.value()
