"""BiSeNet face parser in the parameter layout of face-parsing.PyTorch (zllrunning), so that its published
`79999_iter.pth` loads into it key for key (trainer/importers/bisenet.py).

The network, as that project builds it: a ResNet-18 context path (no fc) whose 1/8 features stand in for
the spatial path; attention refinement modules on the 1/16 and 1/32 features plus a global-average branch,
each upsampled (nearest) and added; a feature fusion module; three heads (the main one on the fused
features, two auxiliary ones used in training); every head's logits upsampled bilinearly (corners aligned)
to the input size. Convolutions before a batch norm carry no bias. Written from the reference's layer list,
not copied from it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.registry import NETWORKS


class ConvBNReLU(nn.Module):
    """conv (no bias) -> bn -> relu; parameter names `conv`, `bn`."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    """ResNet basic block; `downsample` (1x1 conv + bn) when the width or the stride changes."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                           if c_in != c_out or stride != 1 else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(skip + r)


def _stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1))


class ResNet18Features(nn.Module):
    """conv1/bn1/maxpool, layer1..layer4; returns the 1/8, 1/16 and 1/32 features."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(64, 64, 1)
        self.layer2 = _stage(64, 128, 2)
        self.layer3 = _stage(128, 256, 2)
        self.layer4 = _stage(256, 512, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        f8 = self.layer2(x)
        f16 = self.layer3(f8)
        return f8, f16, self.layer4(f16)


class AttentionRefinement(nn.Module):
    """features * sigmoid(bn(conv1x1(global average of the features)))."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out)
        self.conv_atten = nn.Conv2d(c_out, c_out, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(feat.mean(dim=(2, 3), keepdim=True))))


class ContextPath(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = ResNet18Features()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBNReLU(128, 128)
        self.conv_head16 = ConvBNReLU(128, 128)
        self.conv_avg = ConvBNReLU(512, 128, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f8, f16, f32 = self.resnet(x)
        glob = self.conv_avg(f32.mean(dim=(2, 3), keepdim=True))          # broadcast = nearest upsample
        up32 = self.conv_head32(F.interpolate(self.arm32(f32) + glob, size=f16.shape[2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(f16) + up32, size=f8.shape[2:], mode="nearest"))
        return f8, up16, up32


class FeatureFusion(nn.Module):
    """fused = convblk(cat(spatial, context)); fused + fused * sigmoid(conv2(relu(conv1(mean(fused)))))."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.convblk = ConvBNReLU(c_in, c_out, 1, 1, 0)
        self.conv1 = nn.Conv2d(c_out, c_out // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out // 4, c_out, 1, bias=False)

    def forward(self, sp: torch.Tensor, cp: torch.Tensor) -> torch.Tensor:
        feat = self.convblk(torch.cat([sp, cp], dim=1))
        att = torch.sigmoid(self.conv2(F.relu(self.conv1(feat.mean(dim=(2, 3), keepdim=True)))))
        return feat + feat * att


class BiSeNetHead(nn.Module):
    def __init__(self, c_in: int, c_mid: int, n_classes: int):
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_mid)
        self.conv_out = nn.Conv2d(c_mid, n_classes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.conv(x))


class BiSeNet(nn.Module):
    """x (N, 3, H, W), ImageNet-normalised -> logits (N, n_classes, H, W) of the main head. The auxiliary
    heads (conv_out16, conv_out32) are kept so the checkpoint loads, and run only with `aux=True`."""

    def __init__(self, n_classes: int = 19):
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = BiSeNetHead(256, 256, n_classes)
        self.conv_out16 = BiSeNetHead(128, 64, n_classes)
        self.conv_out32 = BiSeNetHead(128, 64, n_classes)

    def forward(self, x: torch.Tensor, aux: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
        size = x.shape[2:]
        f8, cp8, cp16 = self.cp(x)
        outs = [self.conv_out(self.ffm(f8, cp8))]
        if aux:
            outs += [self.conv_out16(cp8), self.conv_out32(cp16)]
        outs = [F.interpolate(o, size=size, mode="bilinear", align_corners=True) for o in outs]
        return tuple(outs) if aux else outs[0]


NETWORKS.register("bisenet", BiSeNet)
