"""Method `stargan`: the StarGAN baseline of SeCGAN's Table 1 (y_diff conditioning, eq. 5 reconstruction in
place of the cycle loss). The training code is trainer/methods/editing.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class StarGANConfig(EditorConfig):
    method: str = "stargan"
    backbone: Literal["stargan", "attgan"] = "stargan"


@register_method
class StarGANMethod(EditingMethod):
    name = "stargan"
    config_class = StarGANConfig
