"""Method `attgan`: the AttGAN baseline of SeCGAN's Table 1 (encoder–decoder G with skip connection and
label injection, FC-head critic; AttGAN's λ_rec = 100, λ_cls(G) = 10, lr 2e-4, batch 32, exponential decay).
The training code is the base in trainer/methods/editing.py; the networks are the backbone named by
`backbone` ("attgan" by default)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class AttGANConfig(EditorConfig):
    method: str = "attgan"
    backbone: str = "attgan"
    d_layers: int = 5
    batch_size: int = 32
    lr: float = 2e-4
    lr_decay: Literal["none", "linear", "exp"] = "exp"


@register_method
class AttGANMethod(EditingMethod):
    name = "attgan"
    config_class = AttGANConfig
