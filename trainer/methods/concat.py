"""Method `concat`: "Baseline + Concat" of SeCGAN §4.5 — the backbone's G reads the image concatenated
with the one-hot mask of the frozen parser P along the channels; architecture and losses otherwise those
of the baseline. The training code is trainer/methods/editing.py."""
from __future__ import annotations

from dataclasses import dataclass

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class ConcatConfig(EditorConfig):
    method: str = "concat"
    input_mask: bool = True


@register_method
class ConcatMethod(EditingMethod):
    name = "concat"
    config_class = ConcatConfig
