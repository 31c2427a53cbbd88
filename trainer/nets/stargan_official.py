"""The official StarGAN generator (yunjey/stargan) in its own parameter layout, so that its published
`200000-G.ckpt` (CelebA 128², 5 attributes) loads key for key (trainer/importers/stargan.py).

The layers are those of trainer/nets/stargan.py (which trains this project's StarGAN-backbone editors) but
numbered as one `main` Sequential, with the Tanh inside it and instance norms that *keep* running-statistic
buffers, as the reference declares them (`track_running_stats=True`). The reference's published weights
only work with the statistics of the image itself (running statistics give washed-out faces; the
reference's issue tracker's known fix is to leave the generator in training mode), so
`InstanceStatsNorm` holds the buffers, loads them, and never uses them: batch statistics in every mode,
which is also what the exported ONNX graph computes. Written from the reference's layer list, not copied.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.nets.stargan import tile_condition
from trainer.registry import NETWORKS


class InstanceStatsNorm(nn.InstanceNorm2d):
    """Affine instance norm with running-statistic buffers (for the checkpoint's keys) that always
    normalises with the image's own statistics."""

    def __init__(self, channels: int):
        super().__init__(channels, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), InstanceStatsNorm(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), InstanceStatsNorm(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class StarGANOfficialGenerator(nn.Module):
    """G(x, c): x (N, 3, H, W) in [-1, 1], c (N, c_dim) target domain labels (0/1 in the reference) ->
    (N, 3, H, W) in [-1, 1]. H and W divisible by 4."""

    def __init__(self, c_dim: int = 5, conv_dim: int = 64, repeat_num: int = 6):
        super().__init__()
        self.c_dim = c_dim
        layers: list[nn.Module] = [nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False),
                                   InstanceStatsNorm(conv_dim), nn.ReLU()]
        width = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), InstanceStatsNorm(width * 2), nn.ReLU()]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), InstanceStatsNorm(width // 2),
                       nn.ReLU()]
            width //= 2
        layers += [nn.Conv2d(width, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.main(torch.cat([x, tile_condition(c, x)], dim=1))


NETWORKS.register("stargan_official", StarGANOfficialGenerator)
