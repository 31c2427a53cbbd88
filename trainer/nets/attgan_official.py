"""AttGAN-PyTorch's generator (elvisyjlin/AttGAN-PyTorch) in its own parameter layout, so that its
published generators (13 attributes; 128² CelebA and 384² CelebA-HQ, with and without label injection)
load key for key (trainer/importers/attgan.py).

The layers are those of trainer/nets/attgan.py (this project's trainable AttGAN backbone), named as the
reference names them: `enc_layers[i].layers` (Conv4x4 s2 without bias, BatchNorm, LeakyReLU 0.01) and
`dec_layers[i].layers` (ConvT4x4 s2 without bias, BatchNorm, ReLU; the last one ConvT with bias and Tanh).
The reference's width cap is 1024 and its `img_size` sets only the size the attributes are tiled to, so one
key/shape list serves 128² and 384²; here the tile size follows the features. Batch norms use their
running statistics at test time (the reference calls eval() before testing). Written from the
reference's layer list, not copied.
"""
from __future__ import annotations

import torch
from torch import nn

from trainer.nets.stargan import tile_condition
from trainer.registry import NETWORKS

MAX_WIDTH = 1024


class _Block(nn.Module):
    """`layers` = conv (bias only without a norm), optional BatchNorm, activation."""

    def __init__(self, conv: nn.Module, norm: bool, act: nn.Module):
        super().__init__()
        self.layers = nn.Sequential(conv, *( [nn.BatchNorm2d(conv.out_channels)] if norm else []), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class AttGANOfficialGenerator(nn.Module):
    """G(x, a): x (N, 3, H, W) in [-1, 1], a (N, n_attrs) the target attributes as the reference feeds
    them ((0/1 * 2 - 1) * thres_int, scaled by the test intensity) -> (N, 3, H, W) in [-1, 1]."""

    def __init__(self, n_attrs: int = 13, dim: int = 64, n_layers: int = 5, shortcut_layers: int = 1,
                 inject_layers: int = 1):
        super().__init__()
        self.shortcut_layers = min(shortcut_layers, n_layers - 1)
        self.inject_layers = min(inject_layers, n_layers - 1)
        widths = [min(dim * 2 ** i, MAX_WIDTH) for i in range(n_layers)]
        self.enc_layers = nn.ModuleList()
        c_in = 3
        for w in widths:
            self.enc_layers.append(_Block(nn.Conv2d(c_in, w, 4, 2, 1, bias=False), True, nn.LeakyReLU()))
            c_in = w
        self.dec_layers = nn.ModuleList()
        c_in += n_attrs
        for i in range(n_layers - 1):
            w = min(dim * 2 ** (n_layers - 1 - i), MAX_WIDTH)
            self.dec_layers.append(_Block(nn.ConvTranspose2d(c_in, w, 4, 2, 1, bias=False), True, nn.ReLU()))
            c_in = w + (w // 2 if i < self.shortcut_layers else 0) + (n_attrs if i < self.inject_layers else 0)
        self.dec_layers.append(_Block(nn.ConvTranspose2d(c_in, 3, 4, 2, 1, bias=True), False, nn.Tanh()))

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        feats = []
        for layer in self.enc_layers:
            x = layer(x)
            feats.append(x)
        z = torch.cat([feats[-1], tile_condition(a, feats[-1])], dim=1)
        n = len(self.dec_layers)
        for i, layer in enumerate(self.dec_layers):
            z = layer(z)
            if i < self.shortcut_layers:
                z = torch.cat([z, feats[n - 2 - i]], dim=1)
            if i < self.inject_layers:
                z = torch.cat([z, tile_condition(a, z)], dim=1)
        return z


NETWORKS.register("attgan_official", AttGANOfficialGenerator)
