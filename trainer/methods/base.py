"""The contract between the one training loop (trainer/loop.py) and a method.

The loop owns: device placement, DistributedDataParallel wrapping, autocast, LR schedules, data iteration,
checkpoints, logging, the NaN guard and sample grids. A method owns its networks, its optimisers and what one
training step does (losses and the update schedule, e.g. D every step and G every n_critic).

Adding a method = one file in trainer/methods/ with a Method subclass decorated with @register_method,
and its name in trainer/registry.py METHODS (or, from outside the package, just the decorator).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from trainer.config import TrainConfig
from trainer.registry import METHODS


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register a Method subclass under its `name`."""
    return METHODS.register(cls.name, cls)


def method_class(name: str) -> type[Method]:
    """The Method subclass registered as `name` (RegistryError, a ValueError, lists the known ones)."""
    return METHODS.get(name)


@dataclass
class ExportSpec:
    """One network to export as one ONNX model of a pack.

    `module` maps the named inputs (in order) to the named outputs (in order); batch is dim 0 of every
    input and output and is exported as dynamic.

    `inputs_from_batch` maps a dataset batch (the sample dicts of trainer/data/registry.py, collated) to
    the module's inputs for the export parity check on real data; without it, inputs whose names are keys
    of the batch are taken from it (cast to the example's dtype) and the others are drawn at random.
    """

    name: str                                   # model name in the manifest, also the ONNX file stem
    task: str                                   # a faceeditor.engine.manifest.TASKS entry
    module: nn.Module
    example_inputs: dict[str, torch.Tensor]
    output_names: list[str]
    backbone: str = ""
    resolution: int = 0
    classes: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    expressions: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    normalization: str = "minus1_1"             # faceeditor.engine.manifest.ModelEntry.normalization
    preview_of: str = ""                        # the model this one is a faster stand-in for (ModelEntry)
    inputs_from_batch: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None


# Data options only some methods read, and which (for the refusal message of Method.check_data_options).
PAIRED_OPTIONS = {"paired_flips": "the attribute editors", "paired_expressions": "hiergan"}


class Method:
    """Base of all training methods."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[TrainConfig]] = TrainConfig
    # the data options this method's train_data reads; the loop refuses the others (check_data_options)
    reads_data_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.cfg = cfg
        self.device = device
        # Filled by the loop: build_networks() moved to device, possibly DDP-wrapped; use these in steps.
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    # --- set-up ---------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        """Create the networks (on CPU); the loop moves and wraps them and stores them in self.nets."""
        raise NotImplementedError

    def trainable(self) -> list[str]:
        """Names of the networks that are trained (and DDP-wrapped); the rest are frozen helpers."""
        return list(self.nets)

    def compilable(self) -> list[str]:
        """Names of the networks that torch.compile may wrap when cfg.compile is set. Leave out those that
        need double backward (a WGAN-GP critic: torch.compile does not support create_graph=True)."""
        return list(self.nets)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimisers over self.nets (Adam with the paper's betas by default)."""
        return {n: self.adam(self.nets[n].parameters()) for n in self.trainable()}

    def adam(self, params: Iterable[Any], lr: float | None = None,
             betas: tuple[float, float] | None = None, **kwargs: Any) -> torch.optim.Adam:
        """Adam with cfg.lr / cfg.betas unless given; the fused CUDA kernel on GPUs (one launch for all
        parameters instead of several per tensor)."""
        if self.device.type == "cuda":
            kwargs.setdefault("fused", True)
        return torch.optim.Adam(params, lr=self.cfg.lr if lr is None else lr,
                                betas=tuple(self.cfg.betas if betas is None else betas), **kwargs)

    # --- data -----------------------------------------------------------------------------------
    def train_data(self, dataset: Any, write: bool = True) -> Any:
        """The training split as this method sees it (SG-GAN: its sparse labels, trainer/data/
        sparse_labels.py); `write` = this process may write into the run folder. The base refuses the
        sparse-label settings, which only methods that implement them read."""
        from trainer.config import ConfigError
        from trainer.data.sparse_labels import sparse_requested

        if sparse_requested(self.cfg.data):
            raise ConfigError(f"data.labeled_*: method {self.cfg.method!r} does not train on sparse labels "
                              f"(sggan does; the attribute editors with data.labeled_only)")
        return dataset

    def check_data_options(self) -> None:
        """ConfigError when the config asks for a data option (PAIRED_OPTIONS) that this method's
        train_data does not read (`reads_data_options`): refused, not silently ignored. The loop calls it
        before train_data."""
        from trainer.config import ConfigError

        for option, readers in PAIRED_OPTIONS.items():
            if getattr(self.cfg.data, option, False) and option not in self.reads_data_options:
                raise ConfigError(f"data.{option}: method {self.cfg.method!r} does not read "
                                  f"{option.replace('_', ' ')} ({readers} do, with --lambda-paired)")

    def batch_sampler(self, dataset: Any, batch_size: int, *, seed: int, rank: int, world_size: int,
                      start: int) -> Any:
        """A batch order other than the loop's seeded permutations (trainer/data/stream.py batch_stream's
        `sampler`), or None."""
        return None

    # --- training -------------------------------------------------------------------------------
    def autocast(self) -> AbstractContextManager:
        """bf16 autocast on CUDA when cfg.amp, else a no-op. Wrap forward passes in it."""
        if self.device.type == "cuda" and self.cfg.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        """One iteration: forward, losses, backward, optimiser steps. Returns the losses as floats
        (the loop logs them and stops on a NaN/Inf among them)."""
        raise NotImplementedError

    # --- extra state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """State of the method beyond its networks and optimisers that a checkpoint must keep for an exact
        resume (e.g. a running average, a fixed noise batch); tensors and plain types only, so that
        torch.load(weights_only=True) reads it back."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of state_dict(), called on resume after the networks and optimisers are restored."""

    # --- outputs --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] for the sample grid: typically inputs and outputs stacked
        along N; the grid has one column per sample of `batch`, so each kind of image is one row.
        The loop calls it (and evaluate) on rank 0 only, with self.nets unwrapped and in eval mode."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """The paper's evaluation protocol on the given data; metric name -> value."""
        raise NotImplementedError

    def export_specs(self) -> list[ExportSpec]:
        """The networks the app uses, ready for ONNX export (eval mode, unwrapped)."""
        raise NotImplementedError

    def preview_specs(self) -> list[ExportSpec]:
        """Faster stand-ins of export_specs' models (their `preview_of` names the model) for the app to run
        while a slider is dragged; none unless a method has them."""
        return []
