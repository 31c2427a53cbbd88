"""Classification losses shared by the methods."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def attribute_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-label attribute loss: binary cross-entropy (with logits) summed over the attributes and
    averaged over the batch, as StarGAN / AttGAN / SCGAN weigh it (a mean over attributes too would divide
    their λ_cls by the number of attributes)."""
    return F.binary_cross_entropy_with_logits(logits.float(), target, reduction="sum") / max(1, logits.shape[0])
