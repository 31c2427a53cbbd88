"""Per-attribute softmax cross-entropy on the labels that are known (SG-GAN eq. 2: the discriminator's
classification loss is "just for the grouped samples with labels")."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def known_softmax_ce(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """logits (N, A, 2), target (N, A) in {0, 1}, known (N, A) bool: for each attribute the mean
    cross-entropy over the samples whose label of it is known (0 when none is), averaged over the A
    attributes. A sample's unknown label is never looked at (its target is replaced before the loss)."""
    n, a, m = logits.shape
    known = known.bool()
    safe = torch.where(known, target, torch.zeros((), dtype=target.dtype, device=target.device)).long()
    ce = F.cross_entropy(logits.float().reshape(n * a, m), safe.reshape(n * a), reduction="none").view(n, a)
    ce = torch.where(known, ce, torch.zeros((), dtype=ce.dtype, device=ce.device))
    per_attr = ce.sum(0) / known.sum(0).clamp(min=1).to(ce.dtype)
    return per_attr.mean()
