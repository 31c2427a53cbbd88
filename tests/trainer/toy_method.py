"""A tiny method and in-memory dataset for the training-machinery tests (registered as "toy" on import).

The task: per-pixel two-class segmentation of random 8x8 images (class 1 where the pixel's mean colour is
positive) by a two-layer conv net. Knobs let tests slow steps down, inject NaNs, switch to SGD (so that
gradient averaging shows in the weights) and make the exported graph differ from PyTorch.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import PARSE_CLASSES
from trainer.config import ConfigError, TrainConfig
from trainer.data.registry import DataConfig
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.registry import DATASETS

SPLIT_SIZES = {"train": 24, "val": 8, "test": 6}


@DATASETS.register("toy")
class ToyDataset(torch.utils.data.Dataset):
    """Deterministic random images; `flip` (train split) draws from the global torch RNG, as the real
    datasets do, so the loop's per-sample seeding is exercised."""

    def __init__(self, cfg: DataConfig, split: str):
        self.cfg = cfg
        self.split = split
        n = SPLIT_SIZES[split]
        if cfg.limit:
            n = min(n, cfg.limit)
        g = torch.Generator().manual_seed({"train": 1, "val": 2, "test": 3}[split])
        r = cfg.resolution
        self.images = torch.rand(n, 3, r, r, generator=g) * 2 - 1
        self.masks = (self.images.mean(1) > 0).long()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        image, mask = self.images[i], self.masks[i]
        if self.split == "train" and self.cfg.flip and bool(torch.rand(()) < 0.5):
            image, mask = image.flip(-1), mask.flip(-1)
        return {"image": image.clone(), "mask": mask.clone(), "index": torch.tensor(i)}


@dataclass
class ToyConfig(TrainConfig):
    width: int = 4
    classes: int = 2             # 19 to train on SynthFaces masks
    optimizer: Literal["adam", "sgd"] = "adam"
    noise: float = 0.05          # input noise drawn in train_step (exercises the RNG checkpointing)
    lambda_sc: float = 1.0       # a method-specific weight (exercises the generated --lambda-sc option)
    step_sleep: float = 0.0      # seconds per step, so that a subprocess can be killed mid-run
    nan_at: int = 0              # 1-based step whose loss is NaN (0 = never)
    nan_grad_at: int = 0         # 1-based step whose gradients become NaN while the loss stays finite
    export_mismatch: bool = False  # the traced graph computes something else than eager PyTorch
    tags: tuple[str, ...] = ()

    def check(self) -> None:
        super().check()
        if self.width < 1:
            raise ConfigError(f"width: expected a positive integer, got {self.width}")


class ToyNet(nn.Module):
    def __init__(self, width: int, mismatch: bool = False, classes: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, classes, 1)
        self.mismatch = mismatch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.conv2(torch.relu(self.conv1(x)))
        if self.mismatch and (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
            shift = torch.zeros(1, logits.shape[1], 1, 1)
            shift[:, 0] = 0.05                         # one class only: softmax ignores a common shift
            logits = logits + shift
        return logits


class ToyExport(nn.Module):
    """image -> (probs, labels): the two outputs a parser pack carries."""

    def __init__(self, net: ToyNet):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = torch.softmax(self.net(image), dim=1)
        return probs, probs.argmax(dim=1)


@register_method
class ToyMethod(Method):
    name = "toy"
    config_class = ToyConfig
    cfg: ToyConfig

    def build_networks(self) -> dict[str, nn.Module]:
        return {"net": ToyNet(self.cfg.width, self.cfg.export_mismatch, self.cfg.classes)}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        if self.cfg.optimizer == "sgd":
            return {"net": torch.optim.SGD(self.nets["net"].parameters(), lr=self.cfg.lr)}
        return super().build_optimizers()

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        if self.cfg.step_sleep:
            time.sleep(self.cfg.step_sleep)
        net, opt = self.nets["net"], self.optimizers["net"]
        x = batch["image"] + self.cfg.noise * torch.randn_like(batch["image"])
        with self.autocast():
            loss = self.cfg.lambda_sc * F.cross_entropy(net(x), batch["mask"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.nan_grad_at == step + 1:
            for p in net.parameters():
                p.grad.fill_(float("nan"))
        opt.step()
        value = float(loss.detach())
        if self.cfg.nan_at == step + 1:
            value = float("nan")
        return {"loss": value}

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        probs = torch.softmax(self.nets["net"](batch["image"]), dim=1)[:, 1:2]
        return torch.cat([batch["image"], (probs * 2 - 1).expand(-1, 3, -1, -1)])

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        correct = total = 0
        for batch in loader:
            pred = self.nets["net"](batch["image"].to(self.device)).argmax(1).cpu()
            correct += int((pred == batch["mask"]).sum())
            total += batch["mask"].numel()
        return {"pixel_accuracy": correct / total}

    def export_specs(self) -> list[ExportSpec]:
        r = self.cfg.data.resolution
        return [ExportSpec(
            name="toy_parser", task="parse", module=ToyExport(self.nets["net"]).eval(),
            example_inputs={"image": torch.zeros(1, 3, r, r)}, output_names=["probs", "labels"],
            backbone="toynet", resolution=r,
            classes=["dark", "bright"] if self.cfg.classes == 2 else list(PARSE_CLASSES[:self.cfg.classes]),
        )]


def toy_config(run_dir: str, **overrides) -> ToyConfig:
    """A config for fast CPU runs of the toy method."""
    data = DataConfig(name="toy", root="", resolution=8, num_workers=0)
    base = dict(method="toy", run_dir=str(run_dir), data=data, iters=12, batch_size=4, lr=1e-2,
                device="cpu", deterministic=True, log_every=2, sample_every=0, ckpt_every=5,
                keep_checkpoints=2)
    base.update(overrides)
    return ToyConfig(**base)
