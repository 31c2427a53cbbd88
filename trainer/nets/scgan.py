"""SCGAN networks (Jiang et al., "Spatially Constrained GANs", appendix Table 2 and Fig. 3).

- `SCGANGenerator` G(z, c, s), fed step by step: the one-hot segmentation s goes through a strided conv
  encoder down to a small map; the latent z goes through a fully connected layer to a map of that size and
  is concatenated; RESBLKUP blocks upsample; the attribute label c is tiled and concatenated; more
  RESBLKUP blocks; a 3x3 conv and tanh.
- `SCGANDiscriminator`: PatchGAN critic (strided 4x4 convs, leaky ReLU 0.2, no normalisation) with an
  auxiliary attribute classifier sharing every layer but the last.
- `SCGANSegmentor`: encoder-decoder with a RESBLK bottleneck, logits over the segmentation classes.

Sizes follow Table 2 at 128² (encoder 64-128-256-512 to 8x8, latent as 64x8x8, attributes enter at 32x32,
critic 64 ... 2048 to 2x2). Other resolutions keep the structure: the encoder goes down to 8x8 (4x4 at 64²,
never fewer than four halvings; `bottleneck` sets another side) and back up with as many RESBLKUP blocks,
the attribute label enters before the last two of them, and the critic halves down to 2x2. `width` multiplies every channel count (1.0 =
the paper), so a CPU demo model stays a few MB.

Table 2 row b1 says FC-(N8192) but gives its output as 64x8x8 (4096) and row 5 concatenates 512 + 64 = 576
channels; the shapes agree with each other, so the FC outputs 64 x 8 x 8 here.

Fig. 3 is an image only; RESBLKUP here is: nearest 2x upsampling, then Conv3x3-IN-ReLU-Conv3x3-IN added to a
Conv1x1 shortcut of the upsampled input, then ReLU (the "RESBLKUP, IN, RELU" of Table 2). RESBLK is the
StarGAN residual block (x + Conv3x3-IN-ReLU-Conv3x3-IN). Instance norms are affine without running
statistics, so training, evaluation and ONNX normalise alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainer.nets.stargan import ResidualBlock, instance_norm, tile_condition
from trainer.registry import NETWORKS

PAPER_WIDTH = 64                  # base channel count of Table 2
GENERATORS = ("paper", "spade")


@dataclass
class SCGANNetConfig:
    """Shapes of the three SCGAN networks."""

    resolution: int = 128
    n_classes: int = 19               # n_s: channels of the one-hot segmentation
    n_attrs: int = 13                 # n_c
    nz: int = 512                     # n_z
    width: float = 1.0                # channel multiplier (1.0 = Table 2)
    d_max_channels: int = 2048        # cap of the critic's widest layer at width 1.0 (Table 2 reaches 2048)
    seg_blocks: int = 4               # RESBLKs in the segmentor bottleneck
    bottleneck: int = 0               # side of the generator's encoder output; 0 = 8x8, at least 4 halvings
    mask_skips: bool = False          # also add the mask, pooled, at every decoder scale (not in the paper)
    generator: str = "paper"          # "paper" (Table 2) or "spade" (trainer/nets/scgan_spade.py; not in the paper)
    spade_channels: int = 64          # the SPADE generator's widest blocks (up to 32x32), halving above
    style_dim: int = 64               # the SPADE generator's style vector w = MLP([z, c])
    style_encoder: bool = False       # also build E(x) -> (mu, log var) of z (conditional VAE; not in the paper)

    def __post_init__(self) -> None:
        r = self.resolution
        if r < 32 or r & (r - 1):
            raise ValueError(f"SCGAN resolution must be a power of two >= 32, got {r}")
        for name in ("n_classes", "n_attrs", "nz", "d_max_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {self.n_classes}")
        if not self.width > 0:
            raise ValueError(f"width must be > 0, got {self.width}")
        if self.seg_blocks < 0:
            raise ValueError(f"seg_blocks must be >= 0, got {self.seg_blocks}")
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, got {self.generator!r}")
        if self.spade_channels < 16 or self.style_dim < 1:
            raise ValueError(f"spade_channels must be >= 16 and style_dim >= 1, got {self.spade_channels}, "
                             f"{self.style_dim}")
        if self.generator == "spade" and self.mask_skips:
            raise ValueError("mask_skips belongs to the paper's generator; the SPADE generator gets the mask "
                             "at every block already")
        b = self.bottleneck
        if b and (b & (b - 1) or b < 2 or r // b < 2 ** (self.attr_blocks + 1)):
            raise ValueError(f"bottleneck must be 0 (auto) or a power of two >= 2 with at least "
                             f"{self.attr_blocks + 1} halvings from {r}, got {b}")

    def ch(self, paper_channels: int) -> int:
        """A Table 2 channel count scaled by `width` (at least 4)."""
        return max(4, int(round(paper_channels * self.width)))

    @property
    def n_down(self) -> int:
        """Halvings of the generator's segmentation encoder: down to `bottleneck`, or by default to 8x8
        with at least four."""
        if self.bottleneck:
            return int(math.log2(self.resolution // self.bottleneck))
        return max(4, int(math.log2(self.resolution)) - 3)

    @property
    def bottleneck_side(self) -> int:
        return self.resolution >> self.n_down

    @property
    def attr_blocks(self) -> int:
        """RESBLKUP blocks after the attribute label is concatenated (two, as Table 2)."""
        return 2

    @property
    def d_layers(self) -> int:
        """Strided critic layers: down to 2x2 (six at 128², as Table 2)."""
        return int(math.log2(self.resolution)) - 1


class ResBlockUp(nn.Module):
    """RESBLKUP: ReLU(IN(Conv3x3(ReLU(IN(Conv3x3(up(x)))))) + Conv1x1(up(x))), up = nearest 2x."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
            instance_norm(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            instance_norm(out_channels),
        )
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.body(up) + self.shortcut(up))


def _down(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False), instance_norm(out_channels), nn.ReLU(inplace=True)]


class SCGANGenerator(nn.Module):
    """G(z, c, s) -> image in [-1, 1]. s: (N, n_s, R, R) one-hot (or soft) segmentation, z: (N, nz),
    c: (N, n_c) attribute label."""

    def __init__(self, cfg: SCGANNetConfig):
        super().__init__()
        self.cfg = cfg
        n = cfg.n_down
        # encoder channels: 64, 128, 256, 512, 512, ... (Table 2 rows 1-4)
        self.enc_channels = [cfg.ch(PAPER_WIDTH * 2 ** min(i, 3)) for i in range(n)]
        layers: list[nn.Module] = []
        c_in = cfg.n_classes
        for c_out in self.enc_channels:
            layers += _down(c_in, c_out)
            c_in = c_out
        self.encoder = nn.Sequential(*layers)
        # latent: FC to z_channels x b x b, IN, ReLU (row b1: 64 x 8 x 8 at 128²)
        self.z_channels = cfg.ch(PAPER_WIDTH)
        b = cfg.bottleneck_side
        self.fc = nn.Linear(cfg.nz, self.z_channels * b * b)
        self.z_norm = instance_norm(self.z_channels)
        # RESBLKUP outputs mirror the encoder: 512, 256 | attrs | 128, 64 at 128²
        up_out = list(reversed(self.enc_channels))
        c_in = self.enc_channels[-1] + self.z_channels
        before = n - cfg.attr_blocks
        self.up_before = nn.Sequential(*[ResBlockUp(ci, co) for ci, co in
                                         zip([c_in, *up_out[:before - 1]], up_out[:before], strict=True)])
        c_mid = up_out[before - 1] + cfg.n_attrs
        self.up_after = nn.Sequential(*[ResBlockUp(ci, co) for ci, co in
                                        zip([c_mid, *up_out[before:-1]], up_out[before:], strict=True)])
        self.to_rgb = nn.Conv2d(up_out[-1], 3, 3, 1, 1)
        # mask skips: before each RESBLKUP and before to_rgb, a 1x1 conv of the mask average-pooled to that
        # side is added to the features; zero-initialised, so a generator without them is the starting point
        self.mask_pool: list[int] = []
        self.mask_in = nn.ModuleList()
        if cfg.mask_skips:
            block_inputs = [c_in, *up_out[:before - 1], c_mid, *up_out[before:-1]]
            for i, channels in enumerate([*block_inputs, up_out[-1]]):
                self.mask_pool.append(2 ** (n - i))
                conv = nn.Conv2d(cfg.n_classes, channels, 1, 1, 0, bias=False)
                nn.init.zeros_(conv.weight)
                self.mask_in.append(conv)

    def _skip(self, i: int, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if not self.mask_pool:
            return h
        k = self.mask_pool[i]
        return h + self.mask_in[i](F.avg_pool2d(s, k) if k > 1 else s)

    def forward(self, z: torch.Tensor, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.encoder(s)
        b = h.shape[-1]
        zmap = self.fc(z).view(z.shape[0], self.z_channels, b, b)
        h = torch.cat([h, F.relu(self.z_norm(zmap))], dim=1)
        i = 0
        for block in self.up_before:
            h = block(self._skip(i, h, s))
            i += 1
        h = torch.cat([h, tile_condition(c, h)], dim=1)
        for block in self.up_after:
            h = block(self._skip(i, h, s))
            i += 1
        return torch.tanh(self.to_rgb(self._skip(i, h, s)))


class SCGANDiscriminator(nn.Module):
    """x -> (D_d patch scores (N, 1, 2, 2), D_c attribute logits (N, n_c))."""

    def __init__(self, cfg: SCGANNetConfig):
        super().__init__()
        self.cfg = cfg
        cap = cfg.ch(cfg.d_max_channels)
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(cfg.d_layers):
            c_out = min(cfg.ch(PAPER_WIDTH * 2 ** i), cap)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c_out
        self.trunk = nn.Sequential(*layers)
        self.out_adv = nn.Conv2d(c_in, 1, 3, 1, 1)
        final = cfg.resolution >> cfg.d_layers
        # Table 2 row c: one logit per attribute from the whole final map (kernel = its size)
        self.out_cls = nn.Conv2d(c_in, cfg.n_attrs, final, 1, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.out_adv(h), self.out_cls(h).flatten(1)


class SCGANSegmentor(nn.Module):
    """S(x) -> segmentation logits (N, n_s, R, R): two strided convs, RESBLKs, two transposed convs."""

    def __init__(self, cfg: SCGANNetConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.ch(64), cfg.ch(128), cfg.ch(32)
        self.net = nn.Sequential(
            *_down(3, c1),
            *_down(c1, c2),
            *[ResidualBlock(c2) for _ in range(cfg.seg_blocks)],
            nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), instance_norm(c1), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c1, c3, 4, 2, 1, bias=False), instance_norm(c3), nn.ReLU(inplace=True),
            nn.Conv2d(c3, cfg.n_classes, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SynthesizeExport(nn.Module):
    """The engine's `synthesize` convention: (mask one-hot (N,C,H,W), z (N,nz), attrs (N,A)) -> image."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, mask: torch.Tensor, z: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
        return self.generator(z, attrs, mask)


def build_generator(cfg: SCGANNetConfig) -> nn.Module:
    """G(z, c, s) of the config's `generator`: Table 2's, or the SPADE one (trainer/nets/scgan_spade.py)."""
    if cfg.generator == "spade":
        from trainer.nets.scgan_spade import SCGANSpadeGenerator

        return SCGANSpadeGenerator(cfg.resolution, cfg.n_classes, cfg.n_attrs, cfg.nz, cfg.spade_channels,
                                   cfg.style_dim)
    return SCGANGenerator(cfg)


def build_scgan_nets(cfg: SCGANNetConfig) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {"generator": build_generator(cfg), "discriminator": SCGANDiscriminator(cfg),
                                  "segmentor": SCGANSegmentor(cfg)}
    if cfg.style_encoder:
        from trainer.nets.scgan_spade import StyleEncoder

        nets["encoder"] = StyleEncoder(cfg.resolution, cfg.nz)
    return nets


NETWORKS.register("scgan", build_scgan_nets)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
