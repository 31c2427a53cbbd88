"""Method `sggan`: SG-GAN (shared/papers/sggan.md), a one-input multi-output editor trained on sparsely
labelled data.

Networks (trainer/nets/sggan.py): G(x) gives every (attribute, value) head's output, (N, A, 2, 3, H, W);
D(x) gives a WGAN critic map and one softmax classifier per attribute. The A manipulated attributes are
`attributes` (names of faceeditor.core.labels.ATTRIBUTES, in head order).

One iteration (batch 8, D every step and G every n_critic = 5 steps on the same batch, Adam(0.5, 0.999),
lr 1e-4, linear decay from lr_decay_start to 0 at iters):

- D: −W + λ_gp GP + λ_cls ℓ_d_cls, where W = E[D(x)] − mean over the 2A heads of E[D(x̃_j^i)] and GP is
  the gradient penalty at interpolates between x and every head's output (eq. 8 read per head: the
  real image against each head's output; taken literally, E[D(x)] − Σ_i E[D(x̃^i)] weighs the real term
  half as much as the fakes and has no optimum, so real is set against the mean of the heads);
  ℓ_d_cls (eq. 2) is the softmax cross-entropy of each attribute's classifier on the real images whose
  label of that attribute is known (trainer/losses/known_softmax_ce.py), averaged over the attributes.
- G: λ_adv (−mean E[D(x̃)]) + λ_cls ℓ_g_cls + λ_rec ℓ_rec, where ℓ_g_cls (eq. 3) is the cross-entropy of
  D's classifier of attribute j on head (j, i)'s output toward i, averaged over the heads, and ℓ_rec (eq. 5)
  is, averaged over attributes j, ||G(G(x)^{j,0})^{j,1} − G(x)^{j,1}||_1 + ||G(G(x)^{j,1})^{j,0} − G(x)^{j,0}||_1
  (each a mean absolute error). Neither side is detached: both are outputs of G and eq. 5 is minimised
  through both, as written; the re-fed images run the encoder once and only the one head each needs.
  The per-attribute objectives (eqs. 6–7 are written for one attribute) are averaged over the attributes,
  a common scale that Adam makes immaterial.

Sparse labels (trainer/data/sparse_labels.py, fields data.labeled_fraction / labeled_ids / labeled_seed):
the method wraps the training split in SparseLabels — every label outside the labelled set is replaced
before the method sees a batch — and draws its batches with MixedBatches, `labeled_share` of every
batch from the labelled images (the paper's repetition of the labelled data). The set is saved as
RUN/labeled.txt. The images with hidden labels still feed the adversarial and reconstruction losses.

Evaluation: trainer/metrics/editing_accuracy.py evaluate_editor with SGGANEditor (see there: a flip of
attribute k is head (k, 1 if y_diff_k > 0 else 0); y_diff = 0 is the head of the value D itself reads for
the first attribute), judged by the evaluator run `evaluator`. Export: one `flip_attributes` model,
image -> (flips, attr_probs).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import ATTRIBUTES
from faceeditor.resources import demo_pack_dir
from trainer.config import ConfigError, TrainConfig
from trainer.data.registry import DataConfig
from trainer.data.sparse_labels import (
    LabeledSet,
    LabelSetError,
    MixedBatches,
    SparseLabels,
    labeled_set,
    parse_attributes,
)
from trainer.distributed import unwrap
from trainer.losses.known_softmax_ce import known_softmax_ce
from trainer.losses.reconstruction import l1_reconstruction
from trainer.losses.wgan_gp import generator_adversarial, gradient_penalty, interpolates, wasserstein_distance
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.editing_accuracy import evaluate_editor
from trainer.nets.sggan import SGGANNetConfig, build_sggan_nets

DEFAULT_ATTRIBUTES = ("Male", "Blond_Hair", "Mouth_Slightly_Open", "Eyeglasses")


@dataclass
class SGGANConfig(TrainConfig):
    method: str = "sggan"
    data: DataConfig = field(default_factory=lambda: DataConfig(flip=True))
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES   # manipulated attributes, in head order (A,B,C on the CLI)
    # networks (Tables 4–5 at g_width = d_width = 64, n_res = 6)
    g_width: int = 64
    n_res: int = 6
    output: Literal["refined", "residual", "none"] = "refined"
    identity_start: bool = False         # the output layer starts as a copy of the input (not in the paper)
    d_width: int = 64
    d_max_width: int = 1024
    # losses and schedule (§3.2 "Training Details")
    n_critic: int = 5
    lambda_gp: float = 10.0
    lambda_adv: float = 1.0
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    labeled_share: float = 0.5           # share of every batch drawn from the labelled images (F < 1)
    evaluator: str = ""                  # run folder of the attribute evaluator classifier (evaluate)
    eval_limit: int = 0                  # test images for evaluate(); 0 = all of the split
    iters: int = 20000
    lr_decay: Literal["none", "linear", "exp"] = "linear"
    lr_decay_start: int = 10000
    batch_size: int = 8
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def attribute_names(self) -> list[str]:
        try:
            return parse_attributes(list(self.attributes))
        except LabelSetError as exc:
            raise ConfigError(str(exc)) from None

    def net_config(self) -> SGGANNetConfig:
        return SGGANNetConfig(n_attrs=len(self.attribute_names()), resolution=self.data.resolution,
                              g_width=self.g_width, n_res=self.n_res, output=self.output, d_width=self.d_width,
                              d_max_width=self.d_max_width, identity_start=self.identity_start)

    def check(self) -> None:
        super().check()
        names = self.attribute_names()
        try:
            self.net_config().check()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.n_critic < 1:
            raise ConfigError(f"n_critic: expected a positive integer, got {self.n_critic!r}")
        for k in ("lambda_gp", "lambda_adv", "lambda_cls", "lambda_rec"):
            if getattr(self, k) < 0:
                raise ConfigError(f"{k}: expected a value >= 0, got {getattr(self, k)!r}")
        if not 0.0 <= self.labeled_share < 1.0:
            raise ConfigError(f"labeled_share: expected a float in [0, 1), got {self.labeled_share!r}")
        if self.data.labeled_only:
            raise ConfigError("data.labeled_only: SG-GAN trains on every image (the unlabelled ones too); "
                              "labeled_only is for the fully supervised editors")
        if self.data.labeled_attributes:
            try:
                given = parse_attributes(self.data.labeled_attributes, "data.labeled_attributes")
            except LabelSetError as exc:
                raise ConfigError(str(exc)) from None
            if given != names:
                raise ConfigError(f"data.labeled_attributes: SG-GAN keeps the labels of its own attributes "
                                  f"({','.join(names)}); leave it empty")


class SGGANEditor:
    """SG-GAN as the evaluation's AttributeEditor: edit(x, y_diff) picks one head per image.

    - y_diff non-zero in a manipulated attribute k: head (k, 1 if y_diff_k > 0 else 0). With several (a hair
      colour turned on turns the others off), the largest |y_diff_k|, a positive one before a negative one.
    - y_diff = 0 everywhere (the reconstruction figures): the head of the value D's own classifier reads
      for the first manipulated attribute, i.e. "set it to what it already is".
    - y_diff non-zero only outside the manipulated attributes: the image unchanged (SG-GAN has no head).
    """

    def __init__(self, method: SGGANMethod):
        self.method = method

    def head_index(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        m = self.method
        yd = y_diff[:, m.cols].float()
        mag = yd.abs()
        score = mag + 0.5 * (yd > 0).float()
        k = score.argmax(dim=1)
        value = (yd.gather(1, k[:, None])[:, 0] > 0).long()
        head = k * 2 + value
        on = mag.amax(dim=1) > 1e-6
        none = y_diff.float().abs().amax(dim=1) <= 1e-6
        head = torch.where(on, head, torch.full_like(head, -1))
        if bool(none.any()):
            D = unwrap(m.nets["D"])
            reads = (D.attribute_probs(x[none])[:, 0] > 0.5).long()
            head[none] = reads
        return head

    @torch.no_grad()
    def edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        m = self.method
        x = x.to(m.device).float()
        y_diff = y_diff.to(m.device).float()
        return unwrap(m.nets["G"]).per_row(x, self.head_index(x, y_diff))


class SGGANExport(nn.Module):
    """What the pack carries: image (N, 3, R, R) in [-1, 1] -> flips (N, A, 2, 3, R, R) = every head's
    output, attr_probs (N, A) = D's softmax P(value 1) of each attribute on the input."""

    def __init__(self, g: nn.Module, d: nn.Module):
        super().__init__()
        self.g, self.d = g, d

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.g(image), self.d.attribute_probs(image)


@register_method
class SGGANMethod(Method):
    name = "sggan"
    config_class = SGGANConfig
    cfg: SGGANConfig

    def __init__(self, cfg: SGGANConfig, device: torch.device):
        super().__init__(cfg, device)
        self.attributes = cfg.attribute_names()
        self.cols = [ATTRIBUTES.index(a) for a in self.attributes]
        self.labeled: LabeledSet | None = None
        self._evaluator: nn.Module | None = None

    # --- set-up ---------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        return build_sggan_nets(self.cfg.net_config())

    def compilable(self) -> list[str]:
        return ["G"]                      # D needs double backward (the gradient penalty)

    # --- data -----------------------------------------------------------------------------------
    def train_data(self, dataset: Any, write: bool = True) -> Any:
        """The split with every label outside the labelled set hidden (RUN/labeled.txt); as it is for ALL."""
        self.labeled = labeled_set(dataset, self.cfg.data, self.attributes, self.cfg.run_dir, write=write)
        if self.labeled is None:
            return dataset
        return SparseLabels(dataset, self.labeled.mask())

    def batch_sampler(self, dataset: Any, batch_size: int, *, seed: int, rank: int, world_size: int,
                      start: int) -> Any:
        if self.labeled is None or self.cfg.labeled_share <= 0:
            return None
        return MixedBatches(len(dataset), batch_size, self.labeled.pool(), self.cfg.labeled_share, seed=seed,
                            rank=rank, world_size=world_size, start=start)

    # --- training -------------------------------------------------------------------------------
    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = batch["image"].to(self.device, non_blocking=True).float()
        if "attrs" not in batch:
            raise KeyError("sggan needs 'attrs'; this dataset has no attribute labels")
        y = batch["attrs"].to(self.device).float()[:, self.cols]
        if "attrs_known" in batch:
            known = batch["attrs_known"].to(self.device).bool()[:, self.cols]
        else:
            known = torch.ones_like(y, dtype=torch.bool)
        return x, y, known

    def d_loss(self, x: torch.Tensor, y: torch.Tensor, known: torch.Tensor, out: dict[str, float]) -> torch.Tensor:
        G, D, c = self.nets["G"], self.nets["D"], self.cfg
        with torch.no_grad(), self.autocast():
            fake = G(x)
        flat = fake.flatten(0, 2).float()                     # (N * A * 2, 3, H, W), image-major
        heads = flat.shape[0] // x.shape[0]
        with self.autocast():
            adv_real, cls_real = D(x)
            adv_fake, _ = D(flat)
        real_rep = x.repeat_interleave(heads, dim=0)
        x_hat = interpolates(real_rep, flat)
        gp = gradient_penalty(D(x_hat)[0], x_hat)
        wd = wasserstein_distance(adv_real.float(), adv_fake.float())
        l_cls = known_softmax_ce(cls_real, y, known)
        out.update({"D/wdist": float(wd.detach()), "D/gp": float(gp.detach()), "D/cls": float(l_cls.detach()),
                    "D/labeled": float(known.any(dim=1).float().mean())})
        return -wd + c.lambda_gp * gp + c.lambda_cls * l_cls

    def g_loss(self, x: torch.Tensor, out: dict[str, float]) -> torch.Tensor:
        G, D, c = self.nets["G"], self.nets["D"], self.cfg
        n, a = x.shape[0], len(self.cols)
        with self.autocast():
            fake = G(x)                                       # (N, A, 2, 3, H, W)
            flat = fake.flatten(0, 2)
            adv, cls = D(flat)
        l_adv = generator_adversarial(adv.float())
        attr = torch.arange(a, device=x.device).repeat_interleave(2).repeat(n)      # head (j, i) of each row
        value = torch.arange(2, device=x.device).repeat(n * a)
        l_cls = F.cross_entropy(cls.float()[torch.arange(flat.shape[0], device=x.device), attr], value)
        # eq. 5: head (j, i)'s output re-fed through head (j, 1 − i) must give G(x)^{j, 1 − i}
        other = attr * 2 + (1 - value)
        g = unwrap(G)
        with self.autocast():
            back = g.per_row(flat, other)
        target = fake.flip(2).flatten(0, 2)
        l_rec = 2.0 * l1_reconstruction(back.float(), target.float())     # the two terms of each attribute
        out.update({"G/adv": float(l_adv.detach()), "G/cls": float(l_cls.detach()), "G/rec": float(l_rec.detach())})
        return c.lambda_adv * l_adv + c.lambda_cls * l_cls + c.lambda_rec * l_rec

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        x, y, known = self._inputs(batch)
        self.nets["G"].train()
        self.nets["D"].train()
        out: dict[str, float] = {}
        self._update("D", self.d_loss(x, y, known, out))
        if (step + 1) % self.cfg.n_critic == 0:
            self._update("G", self.g_loss(x, out))
        return out

    def _update(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # --- outputs --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: the input, then one row per head ((attribute 0, value 0), (attribute 0, value 1), ...)."""
        x = batch["image"].to(self.device).float()
        fake = unwrap(self.nets["G"])(x)
        rows = [x] + [fake[:, j, i] for j in range(fake.shape[1]) for i in range(2)]
        return torch.cat(rows, dim=0).clamp(-1, 1)

    def editor(self) -> SGGANEditor:
        return SGGANEditor(self)

    def evaluator(self) -> nn.Module:
        if self._evaluator is None:
            if not self.cfg.evaluator:
                raise ConfigError("evaluator: evaluation needs the run folder of an attribute evaluator "
                                  "classifier (--evaluator RUN_DIR)")
            from trainer.checkpoint import load_attribute_judge

            self._evaluator = load_attribute_judge(self.cfg.evaluator, self.cfg.data.resolution, self.device)
        return self._evaluator

    def evaluation_parser(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The demo pack's parser for the semantic gain (None without it), as the editors use."""
        from trainer.pack_parser import PackParser, PackParserError

        try:
            return PackParser(demo_pack_dir())
        except PackParserError:
            return None

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """The editing evaluation (trainer/metrics/editing_accuracy.py) of SGGANEditor, flipping only the
        attributes this model manipulates."""
        return evaluate_editor(self.editor(), self.evaluator(), loader, resolution=self.cfg.data.resolution,
                               limit=self.cfg.eval_limit, parser=self.evaluation_parser(),
                               attributes=list(self.attributes))

    def export_specs(self) -> list[ExportSpec]:
        c = self.cfg
        res = c.data.resolution
        g = copy.deepcopy(unwrap(self.nets["G"])).float().cpu().eval()
        d = copy.deepcopy(unwrap(self.nets["D"])).float().cpu().eval()
        gen = torch.Generator().manual_seed(0)
        example = {"image": torch.rand(1, 3, res, res, generator=gen) * 2 - 1}
        return [ExportSpec(
            name="sggan", task="flip_attributes", module=SGGANExport(g, d).eval(), example_inputs=example,
            output_names=["flips", "attr_probs"], backbone="sggan", resolution=res,
            attributes=list(self.attributes),
            extra={"heads": "flips[:, a, v] = the image with attributes[a] set to v (0 absent, 1 present), "
                            "one decoder head each, all from one pass",
                   "attr_probs": "P(attributes[a] present) by the discriminator's own classifier (softmax of "
                                 "its two logits) on the input",
                   "output": c.output, "labeled_fraction": c.data.labeled_fraction,
                   "labeled_ids": c.data.labeled_ids},
            normalization="minus1_1",
            inputs_from_batch=lambda batch: {"image": batch["image"].float()},
        )]


__all__ = ["DEFAULT_ATTRIBUTES", "SGGANConfig", "SGGANEditor", "SGGANExport",
           "SGGANMethod"]
