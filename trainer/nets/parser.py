"""Face-parsing networks: BiSeNet (Yu et al. 2018, as used by face-parsing.PyTorch and MagGAN) and a UNet.

Both map an image (N, 3, H, W) in [-1, 1] to logits (N, 19, H, W) over faceeditor.core.labels.PARSE_CLASSES.
No ImageNet weights exist offline, so BiSeNet's context path runs on a small ResNet-like backbone trained
from scratch. At 128² the paper's 1/8 output stride leaves 16×16 logits, too coarse for eyes, lips and
earrings, so the spatial-path stride is configurable (4 in the shipped config, 8 as in the paper).

The hierarchical expression GAN trains through the parser with `tempered_softmax`; the app gets
`ParserExport`, which returns both the class probabilities and the argmax labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import NUM_CLASSES
from trainer.registry import NETWORKS

ARCHS = ("bisenet", "unet")


def tempered_softmax(logits: torch.Tensor, temperature: float, dim: int = 1) -> torch.Tensor:
    """softmax(logits / T) over the class dim.

    The hierarchical expression GAN's eq. 1 writes M = softmax(φ·S(x)) with φ = 1/T: T = 1 is the plain
    softmax, T → 0 approaches the one-hot argmax while staying differentiable.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(logits / temperature, dim=dim)


@dataclass
class ParserNetConfig:
    """Shape of a parser network. `width` is the base channel count; everything scales with it."""

    arch: str = "bisenet"
    width: int = 16
    num_classes: int = NUM_CLASSES
    # BiSeNet: residual blocks per backbone stage, spatial-path output stride (4 or 8), context channels
    # (0 = 4 * width).
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    spatial_stride: int = 4
    context_channels: int = 0
    # BiSeNet: channels of a full-resolution detail refinement of the main head (0 = the paper's head,
    # bilinear upsampling of 1/stride logits). Thin parts (eyeglass frames, lips, earrings) at 128² need it.
    detail_channels: int = 0
    # UNet: number of 2× downsamplings.
    depth: int = 4

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"parser arch must be one of {ARCHS}, got {self.arch!r}")
        if self.width < 1:
            raise ValueError(f"parser width must be >= 1, got {self.width}")
        if self.spatial_stride not in (4, 8):
            raise ValueError(f"spatial_stride must be 4 or 8, got {self.spatial_stride}")
        if len(self.blocks) != 4 or min(self.blocks) < 1:
            raise ValueError(f"blocks must be 4 positive counts, got {self.blocks}")
        if self.detail_channels < 0:
            raise ValueError(f"detail_channels must be >= 0, got {self.detail_channels}")
        if not 1 <= self.depth <= 6:
            raise ValueError(f"unet depth must be in 1..6, got {self.depth}")


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class BasicBlock(nn.Module):
    """ResNet basic block (two 3×3 convs and a shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = ConvBNReLU(cin, cout, 3, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class ResNetBackbone(nn.Module):
    """Stem (1/4) and four residual stages at strides 4, 8, 16, 32; returns the 1/8, 1/16, 1/32 maps."""

    def __init__(self, width: int, blocks: tuple[int, ...]):
        super().__init__()
        w = width
        self.stem = nn.Sequential(ConvBNReLU(3, w, 3, 2), ConvBNReLU(w, w, 3, 1), nn.MaxPool2d(3, 2, 1))
        chans = (w, 2 * w, 4 * w, 8 * w)
        stages = []
        cin = w
        for i, (c, n) in enumerate(zip(chans, blocks, strict=True)):
            layers = [BasicBlock(cin, c, 1 if i == 0 else 2)]
            layers += [BasicBlock(c, c) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            cin = c
        self.stages = nn.ModuleList(stages)
        self.channels = chans

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(x)
        x = self.stages[0](x)
        f8 = self.stages[1](x)
        f16 = self.stages[2](f8)
        f32 = self.stages[3](f16)
        return f8, f16, f32


class AttentionRefinement(nn.Module):
    """ARM: a conv, then channel attention from the globally pooled map."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, cout, 3)
        # no BatchNorm on the 1×1 pooled map: it would fail on a batch of one and adds nothing there
        self.attention = nn.Sequential(nn.Conv2d(cout, cout, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * self.attention(feat.mean(dim=(2, 3), keepdim=True))


class ContextPath(nn.Module):
    """Backbone + ARMs on the 1/16 and 1/32 maps + global context; returns maps at 1/8 and 1/16."""

    def __init__(self, width: int, blocks: tuple[int, ...], channels: int):
        super().__init__()
        self.backbone = ResNetBackbone(width, blocks)
        _, c16, c32 = self.backbone.channels[1:]
        self.arm16 = AttentionRefinement(c16, channels)
        self.arm32 = AttentionRefinement(c32, channels)
        self.global_context = nn.Sequential(nn.Conv2d(c32, channels, 1), nn.ReLU(inplace=True))
        self.refine32 = ConvBNReLU(channels, channels, 3)
        self.refine16 = ConvBNReLU(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f8, f16, f32 = self.backbone(x)
        context = self.global_context(f32.mean(dim=(2, 3), keepdim=True))
        up32 = self.arm32(f32) + context
        up32 = self.refine32(F.interpolate(up32, size=f16.shape[2:], mode="nearest"))
        up16 = self.arm16(f16) + up32
        up16 = self.refine16(F.interpolate(up16, size=f8.shape[2:], mode="nearest"))
        return up16, up32          # at 1/8 and 1/16


class SpatialPath(nn.Module):
    """Three strided convs keeping spatial detail (1/8 as in the paper, or 1/4) and a 1×1 projection."""

    def __init__(self, width: int, channels: int, stride: int):
        super().__init__()
        w = width
        self.layers = nn.Sequential(
            ConvBNReLU(3, w, 7, 2),
            ConvBNReLU(w, w, 3, 2),
            ConvBNReLU(w, 2 * w, 3, 2 if stride == 8 else 1),
            ConvBNReLU(2 * w, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FeatureFusion(nn.Module):
    """FFM: concatenate both paths, project, reweight channels with a squeeze-excitation style attention."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.project = ConvBNReLU(cin, cout, 1)
        mid = max(cout // 4, 4)
        self.attention = nn.Sequential(
            nn.Conv2d(cout, mid, 1), nn.ReLU(inplace=True), nn.Conv2d(mid, cout, 1), nn.Sigmoid()
        )

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat = self.project(torch.cat([spatial, context], dim=1))
        return feat + feat * self.attention(feat.mean(dim=(2, 3), keepdim=True))


class SegHead(nn.Module):
    def __init__(self, cin: int, mid: int, num_classes: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, mid, 3)
        self.classify = nn.Conv2d(mid, num_classes, 1)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(self.classify(self.conv(x)), size=size, mode="bilinear", align_corners=False)


class DetailHead(nn.Module):
    """Main head with full-resolution refinement: the fused features are reduced at 1/stride, upsampled to
    the input size, joined with a shallow full-resolution feature map of the image, and classified there."""

    def __init__(self, cin: int, mid: int, detail: int, num_classes: int):
        super().__init__()
        self.conv = ConvBNReLU(cin, mid, 3)
        self.reduce = ConvBNReLU(mid, 2 * detail, 1)
        self.detail = nn.Sequential(ConvBNReLU(3, detail, 3), ConvBNReLU(detail, detail, 3))
        self.refine = ConvBNReLU(3 * detail, 2 * detail, 3)
        self.classify = nn.Conv2d(2 * detail, num_classes, 1)

    def forward(self, x: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(self.reduce(self.conv(x)), size=image.shape[2:], mode="bilinear", align_corners=False)
        return self.classify(self.refine(torch.cat([up, self.detail(image)], dim=1)))


class BiSeNet(nn.Module):
    """Spatial path + context path fused by an FFM; two auxiliary heads on the context path (training only)."""

    def __init__(self, cfg: ParserNetConfig):
        super().__init__()
        c = cfg.context_channels or 4 * cfg.width
        self.context = ContextPath(cfg.width, tuple(cfg.blocks), c)
        self.spatial = SpatialPath(cfg.width, c, cfg.spatial_stride)
        self.fusion = FeatureFusion(2 * c, 2 * c)
        self.head = (DetailHead(2 * c, c, cfg.detail_channels, cfg.num_classes) if cfg.detail_channels
                     else SegHead(2 * c, c, cfg.num_classes))
        self.aux16 = SegHead(c, c // 2, cfg.num_classes)
        self.aux32 = SegHead(c, c // 2, cfg.num_classes)

    def forward(self, x: torch.Tensor, with_aux: bool = False):
        size = x.shape[2:]
        spatial = self.spatial(x)
        ctx8, ctx16 = self.context(x)
        ctx = F.interpolate(ctx8, size=spatial.shape[2:], mode="bilinear", align_corners=False)
        fused = self.fusion(spatial, ctx)
        logits = self.head(fused, x) if isinstance(self.head, DetailHead) else self.head(fused, size)
        if not with_aux:
            return logits
        return logits, [self.aux16(ctx8, size), self.aux32(ctx16, size)]


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(ConvBNReLU(cin, cout, 3), ConvBNReLU(cout, cout, 3))


class UNet(nn.Module):
    """UNet (Ronneberger et al. 2015) with BN, bilinear upsampling and channels width·2^level (capped at 8×)."""

    def __init__(self, cfg: ParserNetConfig):
        super().__init__()
        chans = [cfg.width * min(2 ** i, 8) for i in range(cfg.depth + 1)]
        self.inc = DoubleConv(3, chans[0])
        self.down = nn.ModuleList(DoubleConv(chans[i], chans[i + 1]) for i in range(cfg.depth))
        self.up = nn.ModuleList(DoubleConv(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(cfg.depth)))
        self.classify = nn.Conv2d(chans[0], cfg.num_classes, 1)

    def forward(self, x: torch.Tensor, with_aux: bool = False):
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        h = skips.pop()
        for up in self.up:
            skip = skips.pop()
            h = up(torch.cat([F.interpolate(h, size=skip.shape[2:], mode="bilinear", align_corners=False), skip], 1))
        logits = self.classify(h)
        return (logits, []) if with_aux else logits


def build_parser_net(cfg: ParserNetConfig) -> nn.Module:
    """The network named by cfg.arch."""
    return BiSeNet(cfg) if cfg.arch == "bisenet" else UNet(cfg)


NETWORKS.register("parser", build_parser_net)


class ParserExport(nn.Module):
    """What the app runs: image (N, 3, H, W) in [-1, 1] -> probs (N, 19, H, W), labels (N, H, W) int64.

    labels is the argmax of probs (not of the logits), so the two outputs always agree.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = torch.softmax(self.net(image), dim=1)
        return probs, probs.argmax(dim=1)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
