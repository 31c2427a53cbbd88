"""Method `concat`: "Baseline + Concat" of SeCGAN §4.5 — the backbone's G reads the image concatenated
with the one-hot mask of the frozen parser P along the channels; architecture and losses otherwise those
of the baseline (trainer/methods/editing.py), through its g_input hook."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class ConcatConfig(EditorConfig):
    method: str = "concat"
    input_mask: bool = True
    needs_parser: ClassVar[bool] = True


@register_method
class ConcatMethod(EditingMethod):
    name = "concat"
    config_class = ConcatConfig

    @staticmethod
    def g_input(x: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        """[image, one-hot mask of P] along the channels."""
        return torch.cat([x, s], dim=1)

    def rgb_in_channels(self) -> int:
        return 3 + self.n_seg

    def export_name(self) -> str:
        return f"{self.name}_{self.cfg.backbone}"
