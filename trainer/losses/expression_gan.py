"""Losses of the hierarchical expression GAN (shared/papers/hierarchical-expression-gan.md §3.2).

Eq. 5 is the log-likelihood GAN loss, here in its usual non-saturating form (binary cross-entropy with
logits on the PatchGAN maps; G maximises log D(G(x))); eq. 6 the auxiliary classifier's cross-entropy
over the 8 expressions (on real images with their own expression for D, on edits with the target for G);
eq. 7 the L1 cycle loss (trainer/losses/reconstruction.py)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_adversarial(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−(log D(real) + log(1 − D(fake))), averaged over the patches."""
    real, fake = real_logits.float(), fake_logits.float()
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_adversarial(fake_logits: torch.Tensor) -> torch.Tensor:
    """−log D(G(x)): the non-saturating generator side of eq. 5."""
    fake = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def expression_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6: cross-entropy of the classifier's (N, 8) logits against expression indices (N,)."""
    return F.cross_entropy(logits.float(), target.long())
