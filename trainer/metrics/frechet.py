"""Fréchet distance between Gaussians fitted to two sets of features — FID's formula, computed in the
feature space of this project's evaluator classifier (no Inception weights exist offline). Figures from it
must be labelled LABEL, never "FID": they are comparable only with figures from the same evaluator.

    d² = ||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from trainer.metrics._array import to_numpy

LABEL = "FD in evaluator feature space"


def gaussian_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) (unbiased, N − 1) of features (N, D), N >= 2."""
    f = to_numpy(features).astype(np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, eps: float = 1e-6) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    If the product of the covariances is singular (fewer samples than dimensions), eps is added to both
    diagonals before the square root; a tiny imaginary part left by numerical error is dropped.
    """
    m1, m2 = to_numpy(mu1).astype(np.float64), to_numpy(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(to_numpy(sigma1).astype(np.float64)), np.atleast_2d(to_numpy(sigma2).astype(np.float64))
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != (m1.size, m1.size):
        raise ValueError(f"mismatched Gaussian parameters: means {m1.shape}, {m2.shape}; "
                         f"covariances {s1.shape}, {s2.shape}")
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm left a large imaginary component ({np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    diff = m1 - m2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def frechet_distance_from_features(features1: Any, features2: Any) -> float:
    """FD between Gaussians fitted to two feature sets (N1, D) and (N2, D)."""
    return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))
