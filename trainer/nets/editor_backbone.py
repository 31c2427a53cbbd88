"""What an attribute editor's backbone is: a generator G(x, y_diff) and a critic D(x) -> (realism, attribute
logits) built from the editor's config, plus the loss weights of the original paper.

Each backbone file in trainer/nets/ registers one EditorBackbone under its name in trainer/registry.py
NETWORKS; EditorConfig.backbone names it. The builders receive the whole editor config (trainer/methods/
editing.py EditorConfig: g_width, d_width, n_res, g_layers, d_layers, g_max_width, fc_width,
data.resolution), typed loosely here so that nets/ never imports methods/.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from trainer.registry import NETWORKS, RegistryError


def no_constraint(cfg: Any) -> None:
    """A backbone that takes any resolution the critic takes."""


@dataclass(frozen=True)
class EditorBackbone:
    """The two builders of one backbone family and its original λ values.

    generator(cfg, n_attrs, in_channels, out_channels, activation) -> G(x, c); activation is "tanh" for
    images and "none" for SeCGAN's mask logits.
    critic(cfg, n_attrs, in_channels) -> D(x) returning (realism, attribute logits).
    lambdas: lambda_cls (D on real), lambda_cls_g (G on fake), lambda_rec, used where the config says < 0.
    check(cfg) raises ValueError for a config the networks cannot be built from (e.g. a resolution).
    """

    generator: Callable[[Any, int, int, int, str], nn.Module]
    critic: Callable[[Any, int, int], nn.Module]
    lambdas: Mapping[str, float] = field(default_factory=lambda: {
        "lambda_cls": 1.0, "lambda_cls_g": 1.0, "lambda_rec": 10.0})
    check: Callable[[Any], None] = no_constraint


def editor_backbone(name: str) -> EditorBackbone:
    """The EditorBackbone registered as `name`; RegistryError (a ValueError) naming the known backbones for
    an unknown name or a network that is not an editor backbone."""
    entry = NETWORKS.get(name) if name in NETWORKS else None
    if not isinstance(entry, EditorBackbone):
        raise RegistryError(f"unknown editor backbone {name!r}; known: {', '.join(editor_backbone_names())}")
    return entry


def editor_backbone_names() -> list[str]:
    """Names of the registered editor backbones (imports the built-in network modules; a broken one is
    left out rather than hiding the others)."""
    names = []
    for name in NETWORKS.names():
        try:
            entry = NETWORKS.get(name)
        except ImportError:
            continue
        if isinstance(entry, EditorBackbone):
            names.append(name)
    return names
