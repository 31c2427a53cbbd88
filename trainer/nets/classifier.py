"""The evaluator classifier: a plain CNN that judges editing accuracy and embeds images for the Fréchet
distance (DESIGN.md §6). One instance reads the 15 EVALUATOR_ATTRIBUTES (multi-label), another the
8 EXPRESSIONS (multi-class).

`features` is the globally average-pooled output of the last conv stage (non-negative, like Inception's
pool3 that FID uses); `logits` is one linear layer on top of it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from trainer.registry import NETWORKS


@dataclass
class ClassifierNetConfig:
    """`width` is the channel count of the first stage; stages double it up to `feature_dim`."""

    num_outputs: int = 15
    width: int = 32
    feature_dim: int = 256
    stages: int = 5          # each halves the resolution (128² -> 4²)
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.num_outputs < 1 or self.width < 1 or self.feature_dim < 1 or self.stages < 1:
            raise ValueError(f"classifier sizes must be positive: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _conv_bn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class EvaluatorClassifier(nn.Module):
    """Stages of (3×3 stride-2 conv, 3×3 conv), global average pool -> features, dropout + linear -> logits."""

    def __init__(self, cfg: ClassifierNetConfig):
        super().__init__()
        self.cfg = cfg
        layers = []
        cin = 3
        for i in range(cfg.stages):
            c = cfg.feature_dim if i == cfg.stages - 1 else min(cfg.width * 2 ** i, cfg.feature_dim)
            layers += [_conv_bn_relu(cin, c, 2), _conv_bn_relu(c, c, 1)]
            cin = c
        self.trunk = nn.Sequential(*layers)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(cfg.feature_dim, cfg.num_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image (N, 3, H, W) in [-1, 1] -> (logits (N, num_outputs), features (N, feature_dim))."""
        features = self.trunk(x).mean(dim=(2, 3))
        return self.fc(self.dropout(features)), features


NETWORKS.register("classifier", EvaluatorClassifier)


class ClassifierExport(nn.Module):
    """What a pack holds: image -> logits, features (the network itself, in eval mode)."""

    def __init__(self, net: EvaluatorClassifier):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(image)
