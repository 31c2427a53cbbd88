"""StarGAN generator and discriminator (Choi et al. 2018; layer list of SeCGAN's Table 2).

The same two classes serve the RGB branch (3 channels in, tanh out), SeCGAN's semantic branch (12 or 19
mask channels in, softmax out) and tiny test configs, through `in_channels`, `out_channels`,
`out_activation`, `base_width`, `n_res` and `n_layers`.

The condition vector (for the editors: the STGAN difference vector y_diff) is tiled over the image and
concatenated to the input channels of the first layer. With `refined_residual` (SG-GAN's refined residual
learning) the input image is concatenated to the last features before the final convolution, so G can copy
what it does not change; off, the layers and their parameter names are the original ones (old
checkpoints and packs load). Instance norms are affine and keep no running
statistics, so training, eval and the exported ONNX graph all normalise with the image's own statistics.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from trainer.nets.editor_backbone import EditorBackbone
from trainer.registry import NETWORKS

OUT_ACTIVATIONS = ("tanh", "softmax", "none")


def tile_condition(c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N, A) condition -> (N, A, H, W) maps of the size of `like`, for concatenation to its channels."""
    return c.to(like.dtype).view(c.shape[0], c.shape[1], 1, 1).expand(-1, -1, like.shape[2], like.shape[3])


def apply_out_activation(y: torch.Tensor, activation: str) -> torch.Tensor:
    """The generators' last step: tanh (RGB), softmax over channels (semantic masks) or none (logits)."""
    if activation == "tanh":
        return torch.tanh(y)
    if activation == "softmax":
        return torch.softmax(y, dim=1)
    return y


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """Affine instance norm without running statistics: every mode normalises with the image's own."""
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + (Conv3x3, IN, ReLU, Conv3x3, IN)(x), width preserved."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            instance_norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StarGANGenerator(nn.Module):
    """G(x, c): Conv7x7-w, IN, ReLU; n_down x (Conv4x4 s2, IN, ReLU) doubling the width; n_res residual
    blocks; n_down x (ConvT4x4 s2, IN, ReLU) halving it; Conv7x7 to out_channels; output activation.

    Defaults are the official 128x128 layout (w=64 -> 256 in the bottleneck, 6 residual blocks).
    Input height and width must be divisible by 2**n_down.
    """

    def __init__(
        self,
        n_attrs: int = 13,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 64,
        n_down: int = 2,
        n_res: int = 6,
        out_activation: str = "tanh",
        refined_residual: bool = False,
    ):
        super().__init__()
        if out_activation not in OUT_ACTIVATIONS:
            raise ValueError(f"out_activation must be one of {OUT_ACTIVATIONS}, got {out_activation!r}")
        if n_attrs < 0 or in_channels < 1 or out_channels < 1 or base_width < 1 or n_down < 0 or n_res < 0:
            raise ValueError("StarGANGenerator: sizes must be positive (n_attrs, n_down, n_res may be 0)")
        self.n_attrs = n_attrs
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.n_down = n_down
        self.out_activation = out_activation
        self.refined_residual = refined_residual

        layers: list[nn.Module] = [
            nn.Conv2d(in_channels + n_attrs, base_width, 7, 1, 3, bias=False),
            instance_norm(base_width),
            nn.ReLU(inplace=True),
        ]
        width = base_width
        for _ in range(n_down):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), instance_norm(width * 2),
                       nn.ReLU(inplace=True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(n_res)]
        for _ in range(n_down):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), instance_norm(width // 2),
                       nn.ReLU(inplace=True)]
            width //= 2
        if refined_residual:
            self.out = nn.Conv2d(width + in_channels, out_channels, 7, 1, 3, bias=False)
        else:
            layers.append(nn.Conv2d(width, out_channels, 7, 1, 3, bias=False))
            self.out = None
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W); c: (N, n_attrs) condition, tiled over H x W."""
        h = torch.cat([x, tile_condition(c, x)], dim=1) if self.n_attrs else x
        h = self.main(h)
        if self.out is not None:
            h = self.out(torch.cat([h, x], dim=1))
        return apply_out_activation(h, self.out_activation)


class StarGANDiscriminator(nn.Module):
    """PatchGAN with an auxiliary classifier: n_layers x (Conv4x4 s2, LeakyReLU 0.01) doubling the width
    from base_width (64 -> 2048 for the official six); D_adv = Conv3x3 -> 1 (a patch map);
    D_cls = Conv with kernel image_size / 2**n_layers -> n_attrs logits (no sigmoid: use a
    with-logits loss).
    """

    def __init__(
        self,
        image_size: int = 128,
        n_attrs: int = 13,
        in_channels: int = 3,
        base_width: int = 64,
        n_layers: int = 6,
    ):
        super().__init__()
        if n_layers < 1 or image_size % (2 ** n_layers):
            raise ValueError(f"image_size {image_size} must be divisible by 2**n_layers = {2 ** n_layers}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_width, 4, 2, 1), nn.LeakyReLU(0.01)]
        width = base_width
        for _ in range(1, n_layers):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            width *= 2
        self.main = nn.Sequential(*layers)
        self.image_size = image_size
        self.n_attrs = n_attrs
        self.adv = nn.Conv2d(width, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(width, n_attrs, image_size // 2 ** n_layers, bias=False) if n_attrs else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (N, in_channels, image_size, image_size) -> (patch logits (N,1,h,w), class logits (N,n_attrs))."""
        h = self.main(x)
        adv = self.adv(h)
        cls = self.cls(h).flatten(1) if self.cls is not None else None
        return adv, cls


def _generator(cfg: Any, n_attrs: int, in_channels: int, out_channels: int, activation: str) -> StarGANGenerator:
    return StarGANGenerator(n_attrs, in_channels, out_channels, cfg.g_width, 2, cfg.n_res, activation,
                            getattr(cfg, "refined_residual", False))


def _critic(cfg: Any, n_attrs: int, in_channels: int) -> StarGANDiscriminator:
    return StarGANDiscriminator(cfg.data.resolution, n_attrs, in_channels, cfg.d_width, cfg.d_layers)


def _check(cfg: Any) -> None:
    if cfg.data.resolution % 4:
        raise ValueError(f"data.resolution {cfg.data.resolution} must be divisible by 4 for the StarGAN generator")


# the official code's loss weights
NETWORKS.register("stargan", EditorBackbone(
    _generator, _critic, {"lambda_cls": 1.0, "lambda_cls_g": 1.0, "lambda_rec": 10.0}, _check))
