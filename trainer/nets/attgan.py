"""AttGAN generator and discriminator (He et al. 2019; layer list of SeCGAN's Table 3).

Generator: an encoder of n_layers (Conv4x4 s2, BN, LeakyReLU) doubling the width up to max_width; a
decoder of n_layers (ConvT4x4 s2) back to the input size. The condition vector (y_diff for the editors)
is tiled and concatenated to the bottleneck and, with `inject_layers`, after the first decoder layers;
`shortcut_layers` skip connections concatenate the matching encoder features. The official 128x128 layout
(64 → 1024, five layers, one shortcut, one injection) gives Table 3's (1536 + n_a) decoder input.

Discriminator: n_layers (Conv4x4 s2, LeakyReLU) then two fully connected heads, FC(fc_width), ReLU,
FC(1) for realism and FC(fc_width), ReLU, FC(n_attrs) for the attributes (logits; use a with-logits
loss). Table 3 lists no normalisation in D, which also suits WGAN-GP (no batch statistics in the critic).

`refined_residual` (SG-GAN's refined residual learning): the last decoder layer keeps `base_width`
features at full size and the input is concatenated to them before a final 3x3 convolution, so G can copy
what it does not change; off, the layers and parameter names are the original ones (old checkpoints load).

The same classes serve the RGB branch (3 channels, tanh) and SeCGAN's semantic branch (12 or 19 mask
channels in, softmax out).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from trainer.nets.editor_backbone import EditorBackbone
from trainer.nets.stargan import OUT_ACTIVATIONS, apply_out_activation, tile_condition
from trainer.registry import NETWORKS


class AttGANGenerator(nn.Module):
    """G(x, c) = decoder(encoder(x), c) with skip connections and label injection."""

    def __init__(
        self,
        n_attrs: int = 13,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 64,
        max_width: int = 1024,
        n_layers: int = 5,
        shortcut_layers: int = 1,
        inject_layers: int = 1,
        out_activation: str = "tanh",
        refined_residual: bool = False,
    ):
        super().__init__()
        if out_activation not in OUT_ACTIVATIONS:
            raise ValueError(f"out_activation must be one of {OUT_ACTIVATIONS}, got {out_activation!r}")
        if n_layers < 1 or not 0 <= shortcut_layers < n_layers or not 0 <= inject_layers < n_layers:
            raise ValueError("AttGANGenerator: need n_layers >= 1 and shortcut/inject layers in [0, n_layers)")
        if n_attrs < 0 or in_channels < 1 or out_channels < 1 or base_width < 1 or max_width < base_width:
            raise ValueError("AttGANGenerator: sizes must be positive (n_attrs may be 0)")
        self.n_attrs = n_attrs
        self.in_channels = in_channels
        self.n_layers = n_layers
        self.shortcut_layers = shortcut_layers
        self.inject_layers = inject_layers
        self.out_activation = out_activation
        self.refined_residual = refined_residual

        widths = [min(base_width * 2 ** i, max_width) for i in range(n_layers)]
        self.encoder = nn.ModuleList()
        c_in = in_channels
        for w in widths:
            self.encoder.append(nn.Sequential(nn.Conv2d(c_in, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w),
                                              nn.LeakyReLU(0.2, inplace=True)))
            c_in = w
        self.decoder = nn.ModuleList()
        c_in = widths[-1] + n_attrs
        for i in range(n_layers - 1):
            w = min(base_width * 2 ** (n_layers - 1 - i), max_width)
            self.decoder.append(nn.Sequential(nn.ConvTranspose2d(c_in, w, 4, 2, 1, bias=False),
                                              nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            c_in = w
            if i < shortcut_layers:
                c_in += widths[n_layers - 2 - i]
            if i < inject_layers:
                c_in += n_attrs
        if refined_residual:
            self.decoder.append(nn.Sequential(nn.ConvTranspose2d(c_in, base_width, 4, 2, 1, bias=False),
                                              nn.BatchNorm2d(base_width), nn.ReLU(inplace=True)))
            self.out = nn.Conv2d(base_width + in_channels, out_channels, 3, 1, 1)
        else:
            self.decoder.append(nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1))
            self.out = None

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W) with H, W divisible by 2**n_layers; c: (N, n_attrs)."""
        feats = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            feats.append(h)
        if self.n_attrs:
            h = torch.cat([h, tile_condition(c, h)], dim=1)
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < self.n_layers - 1:
                if i < self.shortcut_layers:
                    h = torch.cat([h, feats[self.n_layers - 2 - i]], dim=1)
                if i < self.inject_layers and self.n_attrs:
                    h = torch.cat([h, tile_condition(c, h)], dim=1)
        if self.out is not None:
            h = self.out(torch.cat([h, x], dim=1))
        return apply_out_activation(h, self.out_activation)


class AttGANDiscriminator(nn.Module):
    """Conv trunk + FC heads; returns (realism (N, 1), attribute logits (N, n_attrs))."""

    def __init__(
        self,
        image_size: int = 128,
        n_attrs: int = 13,
        in_channels: int = 3,
        base_width: int = 64,
        max_width: int = 1024,
        n_layers: int = 5,
        fc_width: int = 1024,
    ):
        super().__init__()
        if n_layers < 1 or image_size % (2 ** n_layers):
            raise ValueError(f"image_size {image_size} must be divisible by 2**n_layers = {2 ** n_layers}")
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(n_layers):
            w = min(base_width * 2 ** i, max_width)
            layers += [nn.Conv2d(c_in, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in = w
        self.main = nn.Sequential(*layers)
        self.image_size = image_size
        self.n_attrs = n_attrs
        flat = c_in * (image_size // 2 ** n_layers) ** 2
        self.adv = nn.Sequential(nn.Flatten(), nn.Linear(flat, fc_width), nn.ReLU(inplace=True), nn.Linear(fc_width, 1))
        self.cls = nn.Sequential(nn.Flatten(), nn.Linear(flat, fc_width), nn.ReLU(inplace=True),
                                 nn.Linear(fc_width, n_attrs)) if n_attrs else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.main(x)
        return self.adv(h), (self.cls(h) if self.cls is not None else None)


def _generator(cfg: Any, n_attrs: int, in_channels: int, out_channels: int, activation: str) -> AttGANGenerator:
    return AttGANGenerator(n_attrs, in_channels, out_channels, cfg.g_width, cfg.g_max_width, cfg.g_layers, 1, 1,
                           activation, getattr(cfg, "refined_residual", False))


def _critic(cfg: Any, n_attrs: int, in_channels: int) -> AttGANDiscriminator:
    return AttGANDiscriminator(cfg.data.resolution, n_attrs, in_channels, cfg.d_width, cfg.g_max_width,
                               cfg.d_layers, cfg.fc_width)


def _check(cfg: Any) -> None:
    if cfg.data.resolution % (2 ** cfg.g_layers):
        raise ValueError(f"g_layers: data.resolution {cfg.data.resolution} must be divisible by 2**g_layers")


# AttGAN's lambda_1..3
NETWORKS.register("attgan", EditorBackbone(
    _generator, _critic, {"lambda_cls": 1.0, "lambda_cls_g": 10.0, "lambda_rec": 100.0}, _check))
