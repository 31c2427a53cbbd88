"""Method `parser`: the 19-class face parser (BiSeNet or UNet) trained with OHEM cross-entropy.

The main head and (BiSeNet only) the two auxiliary context-path heads are each trained with OHEM CE, as
face-parsing.PyTorch does. Horizontal flips come from the dataset (DataConfig.flip, on by default here),
which mirrors image, mask and landmarks together and swaps the l_/r_ classes, so the network learns the
subject's own left and right. Evaluation is the confusion-matrix mIoU over the classes present.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES
from faceeditor.core.palette import PALETTE
from trainer.config import ConfigError, TrainConfig, check_net_config
from trainer.data.registry import DataConfig
from trainer.distributed import unwrap
from trainer.losses.ohem_ce import OhemCrossEntropy
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.miou import MeanIoU
from trainer.nets.parser import ParserExport, ParserNetConfig, build_parser_net


@dataclass
class ParserConfig(TrainConfig):
    method: str = "parser"
    data: DataConfig = field(default_factory=lambda: DataConfig(flip=True))
    arch: Literal["bisenet", "unet"] = "bisenet"
    width: int = 16                             # base channels (BiSeNet backbone stage 1, UNet level 0)
    blocks: tuple[int, ...] = (1, 1, 1, 1)      # BiSeNet residual blocks per backbone stage
    spatial_stride: int = 4                     # BiSeNet spatial-path stride: 8 as the paper, 4 for 128²
    context_channels: int = 0                   # BiSeNet context channels; 0 = 4 * width
    detail_channels: int = 8                    # BiSeNet full-resolution refinement head; 0 = paper's head
    unet_depth: int = 4
    ohem_thresh: float = 0.7                    # pixels whose true-class probability is below are hard
    ohem_n_min: int = 0                         # at least this many pixels per batch; 0 = batch pixels / 16
    aux_weight: float = 1.0                     # weight of each auxiliary head's loss (BiSeNet)
    # Hard pixels of class c weigh freq_c^-class_balance (freq = running pixel frequency of the class in the
    # training batches), so that tiny rare parts (mouth, earrings, necklace) are learnt early; 0 = off.
    class_balance: float = 0.5
    max_class_weight: float = 20.0              # cap on the ratio of a class weight to the smallest one
    # defaults = the shipped SynthFaces 128² model: ~14 min on one CPU core
    iters: int = 1700
    batch_size: int = 8
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay: Literal["none", "linear", "exp"] = "linear"
    lr_decay_start: int = 500
    sample_every: int = 500
    ckpt_every: int = 500

    def check(self) -> None:
        super().check()
        check_net_config(self)
        if not 0.0 < self.ohem_thresh <= 1.0:
            raise ConfigError(f"ohem_thresh: expected a probability in (0, 1], got {self.ohem_thresh!r}")
        if self.ohem_n_min < 0 or self.aux_weight < 0 or self.class_balance < 0:
            raise ConfigError("ohem_n_min, aux_weight and class_balance: expected values >= 0")
        if self.max_class_weight < 1:
            raise ConfigError(f"max_class_weight: expected >= 1, got {self.max_class_weight!r}")

    def net_config(self) -> ParserNetConfig:
        return ParserNetConfig(arch=self.arch, width=self.width, num_classes=NUM_CLASSES,
                               blocks=tuple(self.blocks), spatial_stride=self.spatial_stride,
                               context_channels=self.context_channels,
                               detail_channels=self.detail_channels, depth=self.unet_depth)


def colorize_batch(labels: torch.Tensor) -> torch.Tensor:
    """(N, H, W) class indices -> (N, 3, H, W) palette colours in [-1, 1]."""
    palette = torch.tensor(PALETTE.tolist(), dtype=torch.float32, device=labels.device)
    rgb = palette[labels.long().clamp(0, NUM_CLASSES - 1)]          # (N, H, W, 3)
    return rgb.permute(0, 3, 1, 2) / 127.5 - 1.0


@register_method
class ParserMethod(Method):
    name = "parser"
    config_class = ParserConfig
    cfg: ParserConfig

    def __init__(self, cfg: ParserConfig, device: torch.device):
        super().__init__(cfg, device)
        self.net_cfg = cfg.net_config()       # validates arch/width/... early, with a clear message
        self.criterion = OhemCrossEntropy(cfg.ohem_thresh, cfg.ohem_n_min)
        # running pixel frequency per class (EMA over batches); part of the checkpoint for exact resume
        self.class_freq = torch.full((NUM_CLASSES,), 1.0 / NUM_CLASSES)

    FREQ_MOMENTUM = 0.99

    def class_weight(self, mask: torch.Tensor) -> torch.Tensor | None:
        """Update the running class frequencies with this batch and return the class weights (or None)."""
        if self.cfg.class_balance <= 0:
            return None
        counts = torch.bincount(mask.flatten().clamp(0, NUM_CLASSES - 1), minlength=NUM_CLASSES).float().cpu()
        self.class_freq = self.FREQ_MOMENTUM * self.class_freq + (1 - self.FREQ_MOMENTUM) * counts / counts.sum()
        w = self.class_freq.clamp(min=1e-8) ** -self.cfg.class_balance
        w = torch.minimum(w / w.min(), torch.tensor(self.cfg.max_class_weight))
        return w.to(self.device)

    def state_dict(self) -> dict:
        return {"class_freq": self.class_freq.clone()}

    def load_state_dict(self, state: dict) -> None:
        if "class_freq" in state:
            self.class_freq = state["class_freq"].detach().cpu().float().clone()

    def build_networks(self) -> dict[str, nn.Module]:
        return {"parser": build_parser_net(self.net_cfg)}

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        if "mask" not in batch:
            raise KeyError("the parser needs masks; this dataset's samples have no 'mask'")
        net = self.nets["parser"]
        net.train()
        image = batch["image"].to(self.device, non_blocking=True)
        mask = batch["mask"].to(self.device, non_blocking=True).long()
        with self.autocast():
            logits, aux = net(image, with_aux=True)
        weight = self.class_weight(mask)
        loss_main = self.criterion(logits.float(), mask, weight)
        loss_aux = torch.zeros((), device=self.device)
        for a in aux:
            loss_aux = loss_aux + self.criterion(a.float(), mask, weight)
        loss = loss_main + self.cfg.aux_weight * loss_aux
        opt = self.optimizers["parser"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach()), "loss_main": float(loss_main.detach()),
                "loss_aux": float(loss_aux.detach())}

    @torch.no_grad()
    def predict(self, image: torch.Tensor) -> torch.Tensor:
        """Class indices (N, H, W) for images in [-1, 1], in eval mode."""
        net = unwrap(self.nets["parser"])
        was_training = net.training
        net.eval()
        try:
            with self.autocast():
                logits = net(image.to(self.device))
            return logits.float().argmax(dim=1)
        finally:
            net.train(was_training)

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Three rows stacked along N: images, colourised ground truth (black if none), colourised
        prediction."""
        image = batch["image"].to(self.device).float().clamp(-1, 1)
        pred = colorize_batch(self.predict(image))
        gt = colorize_batch(batch["mask"].to(self.device)) if "mask" in batch else torch.full_like(image, -1.0)
        return torch.cat([image, gt, pred], dim=0)

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """mIoU over the classes present in predictions or ground truth, IoU per class, pixel accuracy."""
        miou = MeanIoU(NUM_CLASSES)
        for batch in loader:
            miou.update(self.predict(batch["image"]), batch["mask"])
        per = miou.per_class()
        out = {"miou": miou.mean(), "pixel_acc": miou.pixel_accuracy()}
        out.update({f"iou/{name}": float(v) for name, v in zip(PARSE_CLASSES, per, strict=True) if np.isfinite(v)})
        return out

    def export_specs(self) -> list[ExportSpec]:
        net = copy.deepcopy(unwrap(self.nets["parser"])).float().cpu().eval()
        res = self.cfg.data.resolution
        return [ExportSpec(
            name="parser",
            task="parse",
            module=ParserExport(net).eval(),
            example_inputs={"image": torch.rand(1, 3, res, res) * 2 - 1},
            output_names=["probs", "labels"],
            backbone=self.cfg.arch,
            resolution=res,
            classes=list(PARSE_CLASSES),
            extra={"labels": "argmax of probs over dim 1 (int64)"},
        )]
