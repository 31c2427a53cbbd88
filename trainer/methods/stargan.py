"""Method `stargan`: the StarGAN baseline of SeCGAN's Table 1 (y_diff conditioning, eq. 5 reconstruction in
place of the cycle loss). The training code is the base in trainer/methods/editing.py; the networks are the
backbone named by `backbone` ("stargan" by default)."""
from __future__ import annotations

from dataclasses import dataclass

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class StarGANConfig(EditorConfig):
    method: str = "stargan"
    backbone: str = "stargan"


@register_method
class StarGANMethod(EditingMethod):
    name = "stargan"
    config_class = StarGANConfig
