"""Reconstruction losses: an image or a mask translated with no change asked for must come back as it was
(the eq. 5 / eq. 10 terms of SeCGAN, AttGAN's reconstruction)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def l1_reconstruction(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every pixel and channel (images)."""
    return (output - target).abs().mean()


def mask_reconstruction(logits: torch.Tensor, target_one_hot: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicted mask logits (N, S, H, W) against a one-hot mask (N, S, H, W) (masks)."""
    return F.cross_entropy(logits, target_one_hot.argmax(dim=1))
