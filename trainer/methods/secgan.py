"""Method `secgan`: SeCGAN (shared/papers/secgan.md) — RGB and semantic branches trained in parallel on the
same mini-batch, bridged by the semantic consistency loss (eqs. 11–12) through the frozen parser P;
Algorithm 1 (D every step, G every n_critic). G_seg is kept in the export to show the predicted target
mask. The training code is trainer/methods/editing.py."""
from __future__ import annotations

from dataclasses import dataclass

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class SeCGANConfig(EditorConfig):
    method: str = "secgan"
    semantic_branch: bool = True


@register_method
class SeCGANMethod(EditingMethod):
    name = "secgan"
    config_class = SeCGANConfig
