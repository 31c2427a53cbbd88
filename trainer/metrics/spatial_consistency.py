"""SCGAN's accuracy of spatial consistency (Jiang et al. §5.8, Table 1).

A segmentor labels each image; the labels are compared pixel by pixel with a reference segmentation and
the per-image pixel accuracy is averaged over images. Run on generated faces against their conditioning
masks it is the score; on real images against their own masks it is the ceiling; on real images against
the masks of other images (shuffled, unpaired) it is the floor.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


class SpatialConsistency:
    """Mean over images of the fraction of pixels whose predicted class equals the reference class."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, predicted: Any, reference: Any) -> None:
        """predicted, reference: (N, H, W) class indices."""
        p = to_numpy(predicted)
        r = to_numpy(reference)
        if p.shape != r.shape or p.ndim != 3:
            raise ValueError(f"expected two (N, H, W) label maps of one shape, got {p.shape} and {r.shape}")
        if p.shape[0] == 0:
            return
        per_image = (p.astype(np.int64) == r.astype(np.int64)).reshape(p.shape[0], -1).mean(axis=1)
        self.total += float(per_image.sum())
        self.count += int(p.shape[0])

    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")


def spatial_consistency(predicted: Any, reference: Any) -> float:
    """Mean per-image pixel accuracy of (N, H, W) label maps."""
    acc = SpatialConsistency()
    acc.update(predicted, reference)
    return acc.value()
