"""STGAN-pytorch's generator (bluestyle97/STGAN-pytorch, the PyTorch port of STGAN) in its own parameter
layout, so that its generator checkpoints (`G_<iter>.pth.tar`) load key for key
(trainer/importers/stgan.py).

Encoder: n_layers (Conv4x4 s2 without bias, BatchNorm, LeakyReLU 0.2). Decoder: the first layer reads the
bottleneck with the difference vector tiled onto it; each of the `shortcut_layers` next ones reads the
previous output concatenated with a selective transfer unit's output (`stu[i]`, a convolutional GRU cell
whose state starts at the bottleneck and is upsampled with the attributes tiled onto it); the last layer
is ConvT4x4 to conv_dim / 4 then ConvT3x3 to RGB and Tanh (`one_more_conv`). This project's own STGAN
backbone (trainer/nets/stgan.py) is trained from scratch and names its layers its own way; this module
only mirrors the reference's names. Batch norms use running statistics at test time (the reference calls
G.eval()). Written from the reference's layer list, not copied.
"""
from __future__ import annotations

import torch
from torch import nn

from trainer.nets.stargan import tile_condition
from trainer.registry import NETWORKS


def _conv_bn(c_in: int, c_out: int, kernel: int, act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, 1, (kernel - 1) // 2, bias=False), nn.BatchNorm2d(c_out), act)


class SelectiveTransferUnit(nn.Module):
    """One STU: the hidden state (2 x width channels at half the size) and the attributes are upsampled to
    `state_hat`; reset and update gates on [encoder features, state_hat] choose what the output keeps."""

    def __init__(self, n_attrs: int, width: int, kernel: int = 3):
        super().__init__()
        self.upsample = nn.ConvTranspose2d(width * 2 + n_attrs, width, 4, 2, 1, bias=False)
        self.reset_gate = _conv_bn(width * 2, width, kernel, nn.Sigmoid())
        self.update_gate = _conv_bn(width * 2, width, kernel, nn.Sigmoid())
        self.hidden = _conv_bn(width * 2, width, kernel, nn.Tanh())

    def forward(self, feat: torch.Tensor, state: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state_hat = self.upsample(torch.cat([state, tile_condition(a, state)], dim=1))
        both = torch.cat([feat, state_hat], dim=1)
        r, z = self.reset_gate(both), self.update_gate(both)
        new_state = r * state_hat
        h = self.hidden(torch.cat([feat, new_state], dim=1))
        return (1 - z) * state_hat + z * h, new_state


class STGANOfficialGenerator(nn.Module):
    """G(x, d): x (N, 3, H, W) in [-1, 1], d (N, n_attrs) the difference vector c_trg - c_org (the
    reference tests with values in {-1, 0, 1}) -> (N, 3, H, W) in [-1, 1]. H, W divisible by 2**n_layers."""

    def __init__(self, n_attrs: int = 10, conv_dim: int = 64, n_layers: int = 5, shortcut_layers: int = 3,
                 stu_kernel: int = 3):
        super().__init__()
        if not 1 <= shortcut_layers <= n_layers - 1:
            raise ValueError(f"shortcut_layers must be in [1, {n_layers - 1}], got {shortcut_layers}")
        self.n_layers, self.shortcut_layers = n_layers, shortcut_layers
        self.encoder = nn.ModuleList()
        c_in = 3
        for i in range(n_layers):
            w = conv_dim * 2 ** i
            self.encoder.append(nn.Sequential(nn.Conv2d(c_in, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w),
                                              nn.LeakyReLU(0.2)))
            c_in = w
        self.stu = nn.ModuleList(SelectiveTransferUnit(n_attrs, conv_dim * 2 ** i, stu_kernel)
                                 for i in reversed(range(n_layers - 1 - shortcut_layers, n_layers - 1)))
        self.decoder = nn.ModuleList()
        for i in range(n_layers - 1):
            w = conv_dim * 2 ** (n_layers - 1 - i)
            if i == 0:
                c_in = conv_dim * 2 ** (n_layers - 1) + n_attrs
            elif i <= shortcut_layers:
                c_in = 3 * w
            else:
                c_in = 2 * w
            self.decoder.append(nn.Sequential(nn.ConvTranspose2d(c_in, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w),
                                              nn.ReLU()))
        c_in = conv_dim * (3 if shortcut_layers == n_layers - 1 else 2)
        self.decoder.append(nn.Sequential(
            nn.ConvTranspose2d(c_in, conv_dim // 4, 4, 2, 1, bias=False), nn.BatchNorm2d(conv_dim // 4), nn.ReLU(),
            nn.ConvTranspose2d(conv_dim // 4, 3, 3, 1, 1, bias=False), nn.Tanh()))

    def forward(self, x: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        feats = []
        for layer in self.encoder:
            x = layer(x)
            feats.append(x)
        out = self.decoder[0](torch.cat([feats[-1], tile_condition(d, feats[-1])], dim=1))
        state = feats[-1]
        for i in range(1, self.shortcut_layers + 1):
            transferred, state = self.stu[i - 1](feats[-(i + 1)], state, d)
            out = self.decoder[i](torch.cat([out, transferred], dim=1))
        for i in range(self.shortcut_layers + 1, self.n_layers):
            out = self.decoder[i](out)
        return out


NETWORKS.register("stgan_official", STGANOfficialGenerator)
