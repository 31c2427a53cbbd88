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
                       ignore_index: int = IGNORE_INDEX, class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy over the hard pixels.

    logits (N, C, H, W), target (N, H, W) int64; pixels labelled `ignore_index` never count. `thresh` is a
    loss value (nats); `n_min` the minimum number of pixels averaged (clipped to the valid pixel count).
    With `class_weight` (C,), the hard pixels are chosen on the unweighted loss and then averaged with the
    weight of their true class (sum w·loss / sum w).
    """
    if n_min < 0:
        raise ValueError(f"n_min must be >= 0, got {n_min}")
    loss = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none").flatten()
    flat = target.flatten()
    valid = flat != ignore_index
    loss, flat = loss[valid], flat[valid]
    if loss.numel() == 0:
        return logits.sum() * 0.0
    hard = loss > thresh
    n_hard = int(hard.sum())
    n_min = min(n_min, loss.numel())
    if n_hard >= n_min:
        if not n_hard:
            return loss.sum() * 0.0
        picked = hard.nonzero().squeeze(1)
    else:
        picked = loss.topk(n_min).indices
    if class_weight is None:
        return loss[picked].mean()
    w = class_weight.to(loss)[flat[picked]]
    return (w * loss[picked]).sum() / w.sum()


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

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                class_weight: torch.Tensor | None = None) -> torch.Tensor:
        n_min = self.n_min or target.numel() // 16
        return ohem_cross_entropy(logits, target, self.thresh, n_min, self.ignore_index, class_weight)
