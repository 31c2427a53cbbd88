"""WGAN-GP (Gulrajani et al. 2017): the critic's and the generator's Wasserstein terms and the one gradient
penalty every WGAN-GP method of the trainer uses (the attribute editors, SCGAN)."""
from __future__ import annotations

import torch


def wasserstein_distance(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """The critic's estimate E[D(x)] − E[D(G(·))]; the critic minimises its negative (plus the penalty)."""
    return real_out.mean() - fake_out.mean()


def generator_adversarial(fake_out: torch.Tensor) -> torch.Tensor:
    """The generator's term −E[D(G(·))]."""
    return -fake_out.mean()


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """x̂ = ε x + (1 − ε) x̃ with ε ~ U(0, 1) per sample, detached and requiring grad: the points at which
    the penalty is taken."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    return (eps * real + (1 - eps) * fake).detach().requires_grad_(True)


def gradient_penalty(critic_out: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of (||∇_x̂ D(x̂)||_2 − 1)², `critic_out` = D(x̂) computed from `x_hat` (so that a
    method may run the critic once over real, fake and x̂ together). Differentiable (double backward), so
    the critic is trained through it; a critic that needs it cannot be torch.compile'd."""
    (grad,) = torch.autograd.grad(critic_out.float().sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
