"""Online hard example mining cross-entropy (as face-parsing.PyTorch trains BiSeNet).

Easy pixels (the large skin/background areas) would otherwise dominate the mean; OHEM averages only the hard
ones: every pixel whose loss exceeds `thresh` (i.e. whose true-class probability is below exp(-thresh)),
and at least the `n_min` hardest pixels of the batch when fewer than that are above the threshold.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = 255


def ohem_cross_entropy(logits: torch.Tensor, target: torch.Tensor, thresh: float, n_min: int,
                       ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Mean cross-entropy over the hard pixels.

    logits (N, C, H, W), target (N, H, W) int64; pixels labelled `ignore_index` never count. `thresh` is a
    loss value (nats); `n_min` the minimum number of pixels averaged (clipped to the valid pixel count).
    """
    if n_min < 0:
        raise ValueError(f"n_min must be >= 0, got {n_min}")
    loss = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none").flatten()
    loss = loss[target.flatten() != ignore_index]
    if loss.numel() == 0:
        return logits.sum() * 0.0
    hard = loss > thresh
    n_hard = int(hard.sum())
    n_min = min(n_min, loss.numel())
    if n_hard >= n_min:
        return loss[hard].mean() if n_hard else loss.sum() * 0.0
    return loss.topk(n_min).values.mean()


class OhemCrossEntropy(nn.Module):
    """OHEM cross-entropy with the threshold given as a probability (face-parsing.PyTorch uses 0.7).

    n_min = 0 means a sixteenth of the batch's pixels.
    """

    def __init__(self, thresh_prob: float = 0.7, n_min: int = 0, ignore_index: int = IGNORE_INDEX):
        super().__init__()
        if not 0.0 < thresh_prob <= 1.0:
            raise ValueError(f"OHEM threshold probability must be in (0, 1], got {thresh_prob}")
        self.thresh = -math.log(thresh_prob)
        self.n_min = n_min
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        n_min = self.n_min or target.numel() // 16
        return ohem_cross_entropy(logits, target, self.thresh, n_min, self.ignore_index)
