"""Method `stgan`: STGAN (Liu et al. 2019), the backbone MagGAN builds on and the first row of MagGAN's
Table 3. Encoder–decoder G with selective transfer units on the skips, conditioned on y_diff
(trainer/nets/stgan.py); AttGAN's critic with adversarial and attribute heads; WGAN-GP, n_critic 5,
λ_rec 100, λ_cls(G) 10, λ_cls(D) 1, Adam(2e-4, 0.5, 0.999), batch 32, as the official code. The training
code is the base in trainer/methods/editing.py."""
from __future__ import annotations

from dataclasses import dataclass

from trainer.methods.base import register_method
from trainer.methods.editing import EditingMethod, EditorConfig


@dataclass
class STGANConfig(EditorConfig):
    method: str = "stgan"
    backbone: str = "stgan"
    d_layers: int = 5
    batch_size: int = 32
    lr: float = 2e-4


@register_method
class STGANMethod(EditingMethod):
    name = "stgan"
    config_class = STGANConfig
