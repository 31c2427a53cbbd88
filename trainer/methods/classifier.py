"""Method `classifier`: the evaluator classifiers that judge editing accuracy (DESIGN.md §6).

task "attributes": the 15 EVALUATOR_ATTRIBUTES, multi-label, BCE over the labelled entries only
(`attrs_known`), so datasets without Smiling/Wearing_Lipstick still train the other 13.
task "expression": the 8 EXPRESSIONS, cross-entropy.
Both are trained on the training split only; their pooled features feed the Fréchet distance.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS
from trainer.config import ConfigError, TrainConfig, check_net_config
from trainer.data.registry import DataConfig
from trainer.distributed import unwrap
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.accuracy import MultiClassAccuracy, MultiLabelAccuracy
from trainer.nets.classifier import ClassifierExport, ClassifierNetConfig, EvaluatorClassifier

TASKS = ("attributes", "expression")


@dataclass
class ClassifierConfig(TrainConfig):
    method: str = "classifier"
    data: DataConfig = field(default_factory=lambda: DataConfig(flip=True))
    task: Literal["attributes", "expression"] = "attributes"   # 15 multi-label | 8 multi-class
    width: int = 16                    # channels of the first stage; doubled per stage up to feature_dim
    feature_dim: int = 256             # penultimate features (Fréchet distance space)
    stages: int = 5
    dropout: float = 0.2
    # a classifier run folder or checkpoint whose trunk (conv layers) initialises this network, e.g. the
    # attribute evaluator for the expression one: its mouth/brow features break the long chance-level
    # plateau that subtle expressions otherwise sit on. Empty = train from scratch.
    init_from: str = ""
    # defaults = the shipped SynthFaces 128² attribute evaluator (~30 min on one CPU core)
    iters: int = 2500
    batch_size: int = 32
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay: Literal["none", "linear", "exp"] = "linear"
    lr_decay_start: int = 800
    sample_every: int = 500
    ckpt_every: int = 500

    def check(self) -> None:
        super().check()
        check_net_config(self)

    def net_config(self) -> ClassifierNetConfig:
        if self.task not in TASKS:
            raise ValueError(f"classifier task must be one of {TASKS}, got {self.task!r}")
        n = len(EVALUATOR_ATTRIBUTES) if self.task == "attributes" else len(EXPRESSIONS)
        return ClassifierNetConfig(num_outputs=n, width=self.width, feature_dim=self.feature_dim,
                                   stages=self.stages, dropout=self.dropout)


_GREEN = torch.tensor([-0.6, 0.8, -0.6])
_RED = torch.tensor([0.9, -0.8, -0.8])
_GREY = torch.tensor([-0.2, -0.2, -0.2])
_BLUE = torch.tensor([-0.8, -0.5, 0.9])


@register_method
class ClassifierMethod(Method):
    name = "classifier"
    config_class = ClassifierConfig
    cfg: ClassifierConfig

    def __init__(self, cfg: ClassifierConfig, device: torch.device):
        super().__init__(cfg, device)
        self.net_cfg = cfg.net_config()
        self.task = cfg.task
        self._trunk_initialised = False

    def build_networks(self) -> dict[str, nn.Module]:
        return {"classifier": EvaluatorClassifier(self.net_cfg)}

    @staticmethod
    def _init_trunk(net: EvaluatorClassifier, source: str) -> None:
        """Copy the conv trunk of another classifier run's latest checkpoint (or of a checkpoint file)."""
        from trainer.checkpoint import CheckpointError, saved_nets

        try:
            ckpt, saved = saved_nets(source, ("classifier",))
        except CheckpointError as exc:
            raise ConfigError(f"init_from: {exc}") from None
        state = saved["classifier"]
        trunk = {k[len("trunk."):]: v for k, v in state.items() if k.startswith("trunk.")}
        try:
            net.trunk.load_state_dict(trunk)
        except RuntimeError as exc:
            raise ConfigError(f"init_from: the trunk of {ckpt} does not fit this config "
                              f"({str(exc).splitlines()[0]})") from None

    def _targets(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.task == "attributes":
            if "attrs" not in batch:
                raise KeyError("the attribute classifier needs 'attrs'; this dataset has no attribute labels")
            attrs = batch["attrs"].to(self.device).float()
            known = batch.get("attrs_known")
            known = torch.ones_like(attrs, dtype=torch.bool) if known is None else known.to(self.device).bool()
            return attrs, known
        if "expression" not in batch:
            raise KeyError("the expression classifier needs 'expression'; this dataset has no expression labels")
        return batch["expression"].to(self.device).long(), None

    def loss(self, logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor | None) -> torch.Tensor:
        if self.task == "attributes":
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            w = known.float()
            return (bce * w).sum() / w.sum().clamp(min=1.0)
        return F.cross_entropy(logits, target)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        net = self.nets["classifier"]
        if self.cfg.init_from and not self._trunk_initialised:
            # only at the very first step: a resumed run has its own weights, and loading a trained run
            # for evaluation or export never needs the source run
            if step == 0:
                self._init_trunk(unwrap(net), self.cfg.init_from)
            self._trunk_initialised = True
        net.train()
        image = batch["image"].to(self.device, non_blocking=True)
        target, known = self._targets(batch)
        with self.autocast():
            logits, _ = net(image)
        loss = self.loss(logits.float(), target, known)
        opt = self.optimizers["classifier"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def predict(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, features) in eval mode."""
        net = unwrap(self.nets["classifier"])
        was_training = net.training
        net.eval()
        try:
            with self.autocast():
                logits, features = net(image.to(self.device))
            return logits.float(), features.float()
        finally:
            net.train(was_training)

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Two rows stacked along N: the images, and under each a chart of one bar per attribute /
        expression whose length is the predicted probability.

        Attributes: green = predicted right, red = wrong, grey = unlabelled. Expression: the true class's
        bar is green when predicted, blue when missed; a wrongly predicted class's bar is red.
        """
        image = batch["image"].to(self.device).float().clamp(-1, 1)
        logits, _ = self.predict(image)
        target, known = self._targets(batch)
        n, _, h, w = image.shape
        k = logits.shape[1]
        probs = torch.sigmoid(logits) if self.task == "attributes" else torch.softmax(logits, dim=1)
        chart = torch.full_like(image, -1.0)
        row = max(h // k, 1)
        for i in range(n):
            pred = int(logits[i].argmax())
            for j in range(k):
                if self.task == "attributes":
                    colour = _GREY if not known[i, j] else (
                        _GREEN if bool(logits[i, j] > 0) == bool(target[i, j] > 0.5) else _RED)
                else:
                    true = int(target[i])
                    colour = (_GREEN if pred == true else _BLUE) if j == true else (_RED if j == pred else _GREY)
                length = max(1, int(round(float(probs[i, j]) * w)))
                y0 = j * row
                chart[i, :, y0:y0 + max(row - 1, 1), :length] = colour.to(self.device)[:, None, None]
        return torch.cat([image, chart], dim=0)

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """Attributes: accuracy per attribute and the mean over attributes. Expression: overall accuracy,
        accuracy per expression and its mean."""
        if self.task == "attributes":
            acc = MultiLabelAccuracy(len(EVALUATOR_ATTRIBUTES))
            for batch in loader:
                logits, _ = self.predict(batch["image"])
                target, known = self._targets(batch)
                acc.update(logits > 0, target, known)
            out = {"mean_acc": acc.mean()}
            out.update({f"acc/{name}": float(v) for name, v in zip(EVALUATOR_ATTRIBUTES, acc.per_label(), strict=True)
                        if v == v})
            return out
        macc = MultiClassAccuracy(len(EXPRESSIONS))
        for batch in loader:
            logits, _ = self.predict(batch["image"])
            target, _ = self._targets(batch)
            macc.update(logits.argmax(dim=1), target)
        out = {"acc": macc.overall(), "mean_class_acc": macc.mean_per_class()}
        out.update({f"acc/{name}": float(v) for name, v in zip(EXPRESSIONS, macc.per_class(), strict=True) if v == v})
        return out

    def export_specs(self) -> list[ExportSpec]:
        net = copy.deepcopy(unwrap(self.nets["classifier"])).float().cpu().eval()
        res = self.cfg.data.resolution
        attrs = self.task == "attributes"
        return [ExportSpec(
            name="attr_classifier" if attrs else "expr_classifier",
            task="classify_attributes" if attrs else "classify_expression",
            module=ClassifierExport(net).eval(),
            example_inputs={"image": torch.rand(1, 3, res, res) * 2 - 1},
            output_names=["logits", "features"],
            backbone="cnn",
            resolution=res,
            attributes=list(EVALUATOR_ATTRIBUTES) if attrs else [],
            expressions=[] if attrs else list(EXPRESSIONS),
            extra={"activation": "sigmoid" if attrs else "softmax", "feature_dim": self.cfg.feature_dim,
                   "features": "global-average-pooled last conv stage (Fréchet distance space)"},
        )]
