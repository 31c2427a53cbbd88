"""Training configs: one dataclass per method, all deriving from TrainConfig.

The full config is saved as JSON in the run folder, next to every checkpoint and next to every exported
model, so that any artefact says exactly how it was made.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from trainer.data.registry import DataConfig


@dataclass
class TrainConfig:
    """Settings every method shares. Methods subclass this and add their own fields (with the
    defaults of their paper)."""

    method: str = ""
    run_dir: str = "runs/default"
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    iters: int = 10000
    batch_size: int = 16
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: str = "none"          # "none" | "linear" | "exp"
    lr_decay_start: int = 0         # iteration at which decay starts
    lr_decay_gamma: float = 0.99    # per-1000-iteration factor for "exp"
    device: str = "auto"            # "auto" | "cpu" | "cuda" | "cuda:N"
    amp: bool = True                # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True      # on CUDA
    compile: bool = False           # torch.compile the networks
    deterministic: bool = False     # deterministic algorithms (exact resume tests)
    log_every: int = 50
    sample_every: int = 1000
    ckpt_every: int = 1000
    eval_every: int = 0             # 0 = only at the end
    keep_checkpoints: int = 2
