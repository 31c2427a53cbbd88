"""MagGAN's multi-level patch-wise discriminators (shared/papers/maggan.md §3.4, Figure 5, eq. 14).

P critics of one architecture, not sharing weights, each an STGAN critic (trainer/nets/stgan.py) at
`base_size`: level 1 sees the whole image downsampled to base_size and judges global consistency; level
i > 1 sees a random base_size crop of the image downsampled to base_size x 2^(i-1), so the finest level
judges full-resolution detail. A single "deep" critic at 1024² trains unstably and a single "shallow" one
misses global concepts; shallow critics at several scales get both.

Every level keeps an attribute head so the architecture stays uniform; on the finer levels (patches) it
reads the average-pooled features, as the paper says, since a patch's position says nothing of the face.

The crops are an argument: the critic loss must compare real and fake patches cut at the same places,
and the gradient penalty is taken on interpolates of those same patches. `level_views` cuts them;
the forward takes either an image (cutting with given or fresh offsets) or the views themselves.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.nets.stgan import STGANDiscriminator


class PatchCritic(STGANDiscriminator):
    """STGAN's critic whose attribute head reads the average-pooled features (finer levels)."""

    def __init__(self, image_size: int = 128, n_attrs: int = 13, in_channels: int = 3, base_width: int = 64,
                 max_width: int = 1024, n_layers: int = 5, fc_width: int = 1024):
        super().__init__(image_size, n_attrs, in_channels, base_width, max_width, n_layers, fc_width)
        width = min(base_width * 2 ** (n_layers - 1), max_width)
        self.cls = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, fc_width),
                                 nn.LeakyReLU(0.2, inplace=True), nn.Linear(fc_width, n_attrs)) if n_attrs else None


class MultiLevelPatchDiscriminator(nn.Module):
    """x (N, C, image_size, image_size) -> [(realism (N, 1), logits (N, n_attrs)) for each level].

    Levels: log2(image_size / base_size) + 1, level i (0-based) at side base_size x 2^i; the 1024²
    configuration of the paper is image_size 1024, base_size 256 (levels at 256, 512, 1024)."""

    def __init__(self, image_size: int, base_size: int, n_attrs: int = 13, in_channels: int = 3,
                 base_width: int = 64, max_width: int = 1024, n_layers: int = 5, fc_width: int = 1024):
        super().__init__()
        ratio = image_size // base_size if base_size > 0 else 0
        if ratio < 1 or image_size % base_size or ratio & (ratio - 1):
            raise ValueError(f"image_size {image_size} must be base_size {base_size} times a power of two")
        self.image_size, self.base_size, self.n_attrs = image_size, base_size, n_attrs
        self.n_levels = int(math.log2(ratio)) + 1
        args = (base_size, n_attrs, in_channels, base_width, max_width, n_layers, fc_width)
        self.critics = nn.ModuleList(
            [STGANDiscriminator(*args)] + [PatchCritic(*args) for _ in range(self.n_levels - 1)])

    def level_sizes(self) -> list[int]:
        """The side of the (downsampled) image each level cuts its view from."""
        return [self.base_size * 2 ** i for i in range(self.n_levels)]

    def random_offsets(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n_levels, n, 2) top-left corners (row, column) of each sample's crop per level (level 0: zeros)."""
        out = torch.zeros(self.n_levels, n, 2, dtype=torch.long)
        for i, size in enumerate(self.level_sizes()):
            if i:
                out[i] = torch.randint(0, size - self.base_size + 1, (n, 2), generator=generator)
        return out

    def level_views(self, x: torch.Tensor, offsets: torch.Tensor) -> list[torch.Tensor]:
        """Each level's input: the image downsampled (area) to the level's side, cropped at `offsets`."""
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"expected {self.image_size}² images, got {tuple(x.shape[-2:])}")
        b = self.base_size
        views = []
        for i, size in enumerate(self.level_sizes()):
            img = F.avg_pool2d(x, self.image_size // size) if size < self.image_size else x
            if i == 0:
                views.append(img)
                continue
            rows = [int(v) for v in offsets[i, :, 0]]
            cols = [int(v) for v in offsets[i, :, 1]]
            views.append(torch.stack([img[k, :, r:r + b, c:c + b] for k, (r, c) in enumerate(zip(rows, cols, strict=True))]))
        return views

    def forward(self, x: torch.Tensor | list[torch.Tensor],
                offsets: torch.Tensor | None = None) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """x: an image batch (cut with `offsets`, fresh random ones if None) or the list of level views."""
        if isinstance(x, torch.Tensor):
            x = self.level_views(x, self.random_offsets(x.shape[0]) if offsets is None else offsets)
        if len(x) != self.n_levels:
            raise ValueError(f"expected {self.n_levels} level views, got {len(x)}")
        return [critic(v) for critic, v in zip(self.critics, x, strict=True)]
