"""Diversity of generated images: the mean distance between every pair of outputs that differ only in
their latent vector (SCGAN: mask and attributes fixed, z varied).

No LPIPS weights exist offline, so the distances are plain ones, named as such: the mean absolute pixel
difference (images in [-1, 1], reported on the [0, 1] intensity scale) and the Euclidean distance between
feature vectors (e.g. the evaluator classifier's pooled features).
"""
from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


def mean_pairwise_l1(images: Any) -> float:
    """images: (K, N, C, H, W) in [-1, 1], K >= 2 outputs for each of N conditions -> the mean over the N
    conditions and the K(K-1)/2 pairs of the mean |a - b| / 2 (0 = identical, 1 = black vs white)."""
    x = to_numpy(images, np.float64)
    if x.ndim != 5 or x.shape[0] < 2:
        raise ValueError(f"expected (K >= 2, N, C, H, W), got {x.shape}")
    d = [np.abs(x[i] - x[j]).reshape(x.shape[1], -1).mean(axis=1) / 2 for i, j in combinations(range(len(x)), 2)]
    return float(np.mean(d))


def mean_pairwise_feature_distance(features: Any) -> float:
    """features: (K, N, F), K >= 2 -> the mean over conditions and pairs of ||f_a - f_b||_2."""
    f = to_numpy(features, np.float64)
    if f.ndim != 3 or f.shape[0] < 2:
        raise ValueError(f"expected (K >= 2, N, F), got {f.shape}")
    d = [np.linalg.norm(f[i] - f[j], axis=1) for i, j in combinations(range(len(f)), 2)]
    return float(np.mean(d))


class MeanAccumulator:
    """Sample-weighted running mean of a per-batch figure."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int) -> None:
        if n > 0 and np.isfinite(value):
            self.total += float(value) * n
            self.count += int(n)

    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")
