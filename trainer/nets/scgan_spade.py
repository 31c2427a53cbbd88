"""SCGAN's generator with the mask injected at every scale (`--generator spade`), and a style encoder
(`--style-encoder`), for the CPU budget at 128². Neither is in the SCGAN paper; both are measured against it
in docs/results.md.

Why: Table 2's G sees the mask only through an 8x8 bottleneck and must redraw eyes, brows and lips from it;
on two CPU cores it left them as smudges. Here, as in SPADE (Park et al., "Semantic Image Synthesis with
Spatially-Adaptive Normalization"), every residual block normalises its features and re-modulates them with
γ, β computed from the mask at that block's size, so a 3-pixel eyebrow at 128² is in the input of the
layers that draw it.

- `SCGANSpadeGenerator` G(z, c, s): a style vector w = MLP([z, c]) gives the 4x4 start map and enters every
  modulation, so z and c reach every pixel (instance normalisation would otherwise erase a global colour
  that only the start map carried). Upsampling SPADE residual blocks double the side up to the output.
- `SpadeModulation`: IN without affine, then γ, β from ReLU(Conv3x3(mask) + Linear(w)); adding the style
  as a per-channel bias of the hidden layer is what a conv over [mask, tiled w] computes away from the
  border, at a fraction of the cost at 128².
- `StyleEncoder` E(x) -> (μ, log σ²): trained with G as a conditional VAE (BicycleGAN's cVAE-GAN, the
  SPADE paper's multi-modal variant). The paired L1 to the real face then has the right target: z carries
  that face's background, light and clothes, so G learns to use z instead of averaging them away; at
  inference z ~ N(0, 1) draws a new scene for the same mask.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def spade_channels(top: int, side: int) -> int:
    """Channels of the block that outputs side x side: `top` down to 32x32, then halving (at least 16)."""
    return max(16, min(top, top * 32 // side))


def normalise(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Instance normalisation without affine terms, written out: the ONNX exporter cannot emit
    InstanceNorm2d(affine=False) after an upsampling whose channel count it does not track."""
    mean = h.mean(dim=(2, 3), keepdim=True)
    var = (h - mean).pow(2).mean(dim=(2, 3), keepdim=True)
    return (h - mean) * torch.rsqrt(var + eps)


class SpadeModulation(nn.Module):
    """IN(h) * (1 + γ) + β with γ, β from the mask at h's size and the style vector."""

    def __init__(self, channels: int, n_classes: int, style_dim: int, hidden: int):
        super().__init__()
        self.from_mask = nn.Conv2d(n_classes, hidden, 3, 1, 1)
        self.from_style = nn.Linear(style_dim, hidden, bias=False)
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)

    def forward(self, h: torch.Tensor, s: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.from_mask(s) + self.from_style(w)[:, :, None, None])
        return normalise(h) * (1 + self.gamma(a)) + self.beta(a)


class SpadeResBlockUp(nn.Module):
    """Nearest 2x upsampling, then SPADE-ReLU-Conv3x3-SPADE-ReLU-Conv3x3 added to a 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, n_classes: int, style_dim: int):
        super().__init__()
        hidden = min(32, c_out)          # the modulations' hidden layer; at 128² it dominates the cost
        self.mod1 = SpadeModulation(c_in, n_classes, style_dim, hidden)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.mod2 = SpadeModulation(c_out, n_classes, style_dim, hidden)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, s: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        dx = self.conv1(F.leaky_relu(self.mod1(h, s, w), 0.2))
        dx = self.conv2(F.leaky_relu(self.mod2(dx, s, w), 0.2))
        return self.shortcut(h) + dx


class SCGANSpadeGenerator(nn.Module):
    """G(z, c, s) -> image in [-1, 1], the same call as SCGANGenerator; s (N, n_s, R, R) one-hot or soft."""

    START = 4

    def __init__(self, resolution: int, n_classes: int, n_attrs: int, nz: int, top_channels: int = 128,
                 style_dim: int = 64):
        super().__init__()
        if resolution < 2 * self.START or resolution & (resolution - 1):
            raise ValueError(f"the SPADE generator needs a power-of-two size >= {2 * self.START}, got {resolution}")
        self.resolution, self.n_classes = resolution, n_classes
        self.style = nn.Sequential(nn.Linear(nz + n_attrs, style_dim), nn.LeakyReLU(0.2),
                                   nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2))
        c0 = spade_channels(top_channels, self.START)
        self.c0 = c0
        self.start_style = nn.Linear(style_dim, c0 * self.START * self.START)
        self.start_mask = nn.Conv2d(n_classes, c0, 3, 1, 1)
        blocks, c_in, side = [], c0, self.START
        for _ in range(int(math.log2(resolution // self.START))):
            side *= 2
            c_out = spade_channels(top_channels, side)
            blocks.append(SpadeResBlockUp(c_in, c_out, n_classes, style_dim))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.to_rgb = nn.Conv2d(c_in, 3, 3, 1, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        w = self.style(torch.cat([z, c.to(z.dtype)], dim=1))
        # pooling factors are Python ints of the configured size, so the ONNX graph holds no shape arithmetic
        s0 = F.avg_pool2d(s, self.resolution // self.START)
        h = self.start_style(w).view(-1, self.c0, self.START, self.START) + self.start_mask(s0)
        side = self.START
        for block in self.blocks:
            side *= 2
            block_s = s if side == self.resolution else F.avg_pool2d(s, self.resolution // side)
            h = block(h, block_s, w)
        return torch.tanh(self.to_rgb(F.leaky_relu(h, 0.2)))


class StyleEncoder(nn.Module):
    """E(x) -> (μ, log σ²) of z (N, nz): strided 3x3 convs and leaky ReLU down to 4x4, then pooled.

    No normalisation: instance norm would subtract each channel's mean over the image, which is exactly the
    global colour (background, clothes) that z is meant to carry; a first run with it encoded nothing
    (μ spread 0.02 across faces after 800 steps). log σ² starts at -4, so z starts nearly deterministic and
    G can learn to use it before the KL term widens it."""

    def __init__(self, resolution: int, nz: int, base: int = 16, max_channels: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c_out, side = 3, base, resolution
        while side > 4:
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in, c_out, side = c_out, min(max_channels, c_out * 2), side // 2
        self.trunk = nn.Sequential(*layers)
        self.mu = nn.Linear(c_in, nz)
        self.logvar = nn.Linear(c_in, nz)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, -4.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x).mean(dim=(2, 3))
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)
