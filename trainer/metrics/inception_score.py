"""An Inception-Score-style figure computed from the evaluator classifier's softmax (no Inception weights
exist offline); label it LABEL. IS = exp(E_x KL(p(y|x) || p(y))), with p(y) the mean prediction of the
split; the images are cut into `splits` consecutive parts and the mean and standard deviation over parts are
reported, as Salimans et al. do.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy

LABEL = "IS-style score in evaluator space"


def inception_style_score(probs: Any, splits: int = 10, eps: float = 1e-12) -> tuple[float, float]:
    """(mean, std) over splits. probs: (N, K) class probabilities (rows sum to 1), N >= splits."""
    p = to_numpy(probs).astype(np.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise ValueError(f"probs must be (N, K) with N >= splits >= 1; got shape {p.shape}, splits={splits}")
    if (p < -1e-6).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs rows must be probability distributions (apply softmax to logits first)")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_style_score_multilabel(probs: Any, splits: int = 10, eps: float = 1e-12) -> tuple[float, float]:
    """The same figure for a multi-label evaluator: p(y|x) is the product of independent Bernoullis over the
    K attributes (sigmoid outputs), so the KL of the joint over the 2^K label sets is the sum of the
    per-attribute Bernoulli KLs. probs: (N, K) in [0, 1], N >= splits."""
    p = to_numpy(probs).astype(np.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise ValueError(f"probs must be (N, K) with N >= splits >= 1; got shape {p.shape}, splits={splits}")
    if (p < -1e-6).any() or (p > 1 + 1e-6).any():
        raise ValueError("probs must be per-attribute probabilities in [0, 1] (apply sigmoid to logits first)")
    p = p.clip(eps, 1 - eps)
    scores = []
    for part in np.array_split(p, splits):
        m = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(m)) + (1 - part) * (np.log(1 - part) - np.log(1 - m))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
