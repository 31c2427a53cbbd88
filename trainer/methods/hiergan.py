"""Method `hiergan`: the hierarchical expression GAN with an end-to-end face-parsing network
(shared/papers/hierarchical-expression-gan.md; networks in trainer/nets/hiergan.py, losses in
trainer/losses/expression_gan.py).

One step, on a batch of faces with their expression labels (RaFD, AffectNet, SynthFaces in RaFD's layout):
a random target expression y_t per face; the pipeline (segmenter S → part crops → local G_p, global
G_global, fusion G_f) translates x to y_t; then

- D phase: every discriminator p ∈ {global, fusion, parts} against its generator's output (real: x for
  global and fusion, the masked crop x_s^p for a part), with the expression classifier on the real images;
- G phase: eq. 8, Σ_p λ_p (λ_adv L_adv^p + λ_cls L_cls^p + λ_rec L_rec^p). The cycle of eq. 7: G_global
  and each G_p translate their own output back to y_s (a part at the source's box); the fusion network's
  reconstruction fuses those two reconstructions (G_f(x̂_global, x̂_local) ≈ x), so the cycle does not run
  the whole pipeline twice. The segmenter is updated by the same backward (eq. 9: only the local and fusion
  losses depend on it) unless `end_to_end` is off.

The segmenter starts from a trained parser run (`segmenter`; the paper pretrains on CelebAMask-HQ) and is
kept in eval mode (its batch-norm statistics stay those of the pretraining; its weights train).

Paired expressions (not in the paper; `--data.paired-expressions true`, trainer/data/paired_expressions.py):
on data that shows every identity in every expression (RaFD, SynthFaces' RaFD layout) each face comes with
a target expression and the same identity's picture in it. The target then replaces the random one, and
`--lambda-paired` λ adds λ · (L1(x_out, truth) + L1(x_global, truth)) to G's loss: the fused result and
the global generator learn the translation from the truth as well as from eq. 8's unpaired losses. The
fused output's L1 is logged as `G/paired` whenever the pair is there, also at λ 0, so runs with and
without the term compare on it. `--lambda-paired-region` adds the same two L1s averaged over each face's
true change region (trainer/losses/change_region.py): an expression moves a few hundred pixels of a 128²
face, and the whole-image L1 alone lets the generators learn to copy their input.
`--refined-residual` gives G_global and each G_p SG-GAN's refined residual (their input concatenated
before the last convolution): a 16-wide StarGAN bottleneck cannot even reconstruct a face (L1 0.15 after
2,000 iterations at 128²), so without it the fusion network learns to pass its input through.

`init_from` (not in the paper) starts a run from another hiergan run's G and D (every tensor of the same
name and shape), or from an exported hiergan model (an .onnx file or a pack holding one): G's segmenter,
global, local and fusion tensors are read back from the graph (trainer/onnx_weights.py) and the loaded
pipeline must reproduce the file's output before training goes on; D starts fresh, an export has none.
A bundled model can so be trained further once the run folder that made it is gone; `g_start` N then
updates only D for the first N steps, so its adversarial and expression heads have learnt before G reads
them.

Table 3's region ablation is `parts` (a comma-separated subset of left_eye, right_eye, nose, mouth; ''
= the global generator and the fusion network alone); "w/o end-to-end" is `--no-end-to-end`.

Evaluation (§4, any dataset with expression labels): expression editing accuracy (EEA) of every face
translated to each other expression, judged by a pack's expression classifier (the app's own, `evaluator`;
by default the first installed pack that has one) and per target; the Fréchet distance between the
evaluator's features of real faces and of the edits; where the set holds the same identity in the target
expression (RaFD, SynthFaces' RaFD layout: the `with_expression` re-render of that face), the pixel and
semantic gain toward it (trainer/metrics/ground_truth_gain.py, as the attribute editors' evaluation),
overall and per target; with `miou_data` (a dataset with parse masks), the segmenter's mIoU before (the
parser run's weights) and after the end-to-end training.
"""
from __future__ import annotations

import copy
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from faceeditor.core.labels import EXPRESSIONS, NUM_CLASSES
from trainer.config import ConfigError, TrainConfig
from trainer.data.registry import DataConfig, build_dataset
from trainer.distributed import unwrap
from trainer.losses.change_region import change_region_l1
from trainer.losses.expression_gan import discriminator_adversarial, expression_ce, generator_adversarial
from trainer.losses.reconstruction import l1_reconstruction
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.frechet import frechet_distance_from_features
from trainer.metrics.ground_truth_gain import gain, pixel_errors, semantic_errors, true_change_region
from trainer.metrics.miou import MeanIoU
from trainer.nets.hiergan import (
    LOCAL_INPUTS,
    N_EXPRESSIONS,
    ExpressionEditExport,
    HierarchicalGenerator,
    HierGANShape,
    crop_box,
    discriminators,
    one_hot_expression,
    parse_parts,
)

SEGMENTER_CONFIG = "segmenter.config.json"


@dataclass
class HierGANConfig(TrainConfig):
    method: str = "hiergan"
    data: DataConfig = field(default_factory=lambda: DataConfig(name="rafd", flip=True))
    segmenter: str = ""                  # a trained parser run folder: S's architecture and starting weights
    parts: str = "left_eye,right_eye,nose,mouth"   # the local generators (Table 3); '' = global only
    end_to_end: bool = True              # eq. 9: the GAN losses update S (False = "w/o end-to-end")
    temperature: float = 0.1             # eq. 1's tempered softmax, T = 1/φ
    crop: int = 64                       # side of the part crops (the paper: 64)
    margin: float = 0.25                 # a part's box: its mask's bounding square grown by this share
    min_box: float = 0.125               # ... and at least this share of the image side
    g_width: int = 64                    # StarGAN's G_global (64, 6 residual blocks)
    n_res: int = 6
    local_width: int = 32                # the local generators (StarGAN layout, narrower)
    local_n_res: int = 3
    fusion_width: int = 32
    fusion_residual: bool = False        # G_f outputs x_local + a learnt change, starting at x_local (no paper)
    refined_residual: bool = False       # G_global and each G_p see their input again before the last conv (SG-GAN)
    local_input: Literal["masked", "box"] = "masked"   # G_p reads M_p ⊗ x (eq. 2) or its whole box + mask (no paper)
    local_residual: bool = False         # G_p outputs its crop plus a learnt change, starting at zero (no paper)
    d_width: int = 64
    d_layers: int = 6                    # D_global, D_fusion: 6 at 128²
    local_d_layers: int = 5              # D_p at the crop size: 5 at 64²
    lambda_global: float = 1.0           # λ_p of eq. 8 (the paper tunes them, Figure 4, without giving values)
    lambda_local: float = 1.0
    lambda_fusion: float = 1.0
    lambda_adv: float = 1.0              # StarGAN's weights
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_paired: float = 0.0           # L1 to the same identity in the target expression (data.paired_expressions; no paper)
    lambda_paired_region: float = 0.0    # the same L1 averaged over each face's true change region (no paper)
    lambda_paired_local: float = 0.0     # each G_p's crop against the true picture's change in its box (no paper)
    lr_segmenter: float = 1e-5           # S fine-tunes slower than the GANs learn
    n_critic: int = 1                    # G every n_critic steps
    evaluator: str = ""                  # a pack with a classify_expression model; '' = the first installed
    miou_data: str = ""                  # a dataset root with parse masks (native SynthFaces) for the mIoU
    miou_dataset: str = "synthfaces"
    eval_limit: int = 0                  # test faces for evaluate(); 0 = all
    init_from: str = ""                  # a hiergan run or checkpoint (G and D), or an exported one (.onnx/pack: G)
    g_start: int = 0                     # G and S update from this step on (a fresh D first learns a warm G's fakes)
    # the paper: batch 8, Adam(0.5, 0.999), lr 1e-4
    iters: int = 200000
    batch_size: int = 8
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: Literal["none", "linear", "exp"] = "linear"
    lr_decay_start: int = 100000
    sample_every: int = 1000
    ckpt_every: int = 1000

    def part_names(self) -> tuple[str, ...]:
        try:
            return parse_parts(self.parts)
        except ValueError as exc:
            raise ConfigError(f"parts: {exc}") from None

    def shape(self) -> HierGANShape:
        return HierGANShape(self.data.resolution, self.part_names(), self.g_width, self.n_res, self.local_width,
                            self.local_n_res, self.fusion_width, self.crop, self.temperature, self.margin,
                            self.min_box, self.fusion_residual, self.refined_residual, self.local_input,
                            self.local_residual)

    def check(self) -> None:
        super().check()
        self.part_names()
        if not self.segmenter:
            raise ConfigError("segmenter: hiergan needs the run folder of a trained face parser (--segmenter RUN_DIR)")
        for name in ("g_width", "local_width", "fusion_width", "d_width", "d_layers", "local_d_layers", "n_critic"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        for name in ("n_res", "local_n_res", "g_start"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected an integer >= 0, got {getattr(self, name)!r}")
        if self.data.resolution % 2 ** self.d_layers:
            raise ConfigError(f"d_layers: data.resolution {self.data.resolution} must be divisible by "
                              f"2**d_layers = {2 ** self.d_layers}")
        if self.crop % 4 or self.crop % 2 ** self.local_d_layers:
            raise ConfigError(f"crop: {self.crop} must be divisible by 4 and by 2**local_d_layers = "
                              f"{2 ** self.local_d_layers}")
        if not self.temperature > 0:
            raise ConfigError(f"temperature: expected a value > 0, got {self.temperature}")
        if self.margin < 0 or not 0 < self.min_box <= 1:
            raise ConfigError("margin >= 0 and 0 < min_box <= 1 expected")
        for name in ("lambda_global", "lambda_local", "lambda_fusion", "lambda_adv", "lambda_cls", "lambda_rec",
                     "lambda_paired", "lambda_paired_region", "lambda_paired_local", "lr_segmenter"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected a value >= 0, got {getattr(self, name)}")
        if self.local_input not in LOCAL_INPUTS:
            raise ConfigError(f"local_input: expected one of {', '.join(LOCAL_INPUTS)}, got {self.local_input!r}")
        paired = [n for n in ("lambda_paired", "lambda_paired_region", "lambda_paired_local") if getattr(self, n) > 0]
        if paired and not self.data.paired_expressions:
            raise ConfigError(f"{paired[0]}: the paired term needs the pairs: add --data.paired-expressions true "
                              "(RaFD or SynthFaces' RaFD layout)")


def load_segmenter(source: str, run_dir: str, resolution: int, weights: bool = True) -> nn.Module:
    """The parse network of a parser run (its config; with `weights` its latest checkpoint's tensors). The
    run's config is copied into `run_dir`, so a finished hiergan run rebuilds S without the parser run."""
    from trainer.checkpoint import CheckpointError, saved_nets
    from trainer.config import from_dict, load_json
    from trainer.methods.parser import ParserConfig
    from trainer.nets.parser import build_parser_net

    local = Path(run_dir) / SEGMENTER_CONFIG
    src = Path(source)
    if (src / "config.json").is_file():
        raw = load_json(src / "config.json")
    elif local.is_file() and not weights:
        raw = load_json(local)
    else:
        raise ConfigError(f"segmenter: {source!r} is not a parser run folder (no config.json)")
    if raw.get("method") != "parser":
        raise ConfigError(f"segmenter: {source!r} is a {raw.get('method')!r} run, not a parser run")
    pcfg = from_dict(ParserConfig, raw)
    if pcfg.data.resolution != resolution:
        raise ConfigError(f"segmenter: the parser was trained at {pcfg.data.resolution}², this run is at "
                          f"{resolution}²; train a parser at this resolution")
    net = build_parser_net(pcfg.net_config())
    if weights:
        try:
            _, nets = saved_nets(src, ("parser",))
            net.load_state_dict(nets["parser"])
        except (CheckpointError, RuntimeError) as exc:
            raise ConfigError(f"segmenter: {str(exc).splitlines()[0]}") from None
    if not local.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return net


@register_method
class HierGANMethod(Method):
    name = "hiergan"
    config_class = HierGANConfig
    cfg: HierGANConfig
    reads_data_options = frozenset({"paired_expressions"})

    def __init__(self, cfg: HierGANConfig, device: torch.device):
        super().__init__(cfg, device)
        self.parts = cfg.part_names()
        self.lambdas = {"global": cfg.lambda_global, "fusion": cfg.lambda_fusion,
                        **{p: cfg.lambda_local for p in self.parts}}

    # --- set-up ---------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        c = self.cfg
        # with init_from, S's tensors come from there: the parser run only has to give its architecture
        seg = load_segmenter(c.segmenter, c.run_dir, c.data.resolution, weights=not c.init_from)
        g = HierarchicalGenerator(seg, c.shape())
        g.end_to_end = c.end_to_end
        return {"G": g, "D": discriminators(c.shape(), c.d_width, c.d_layers, c.local_d_layers)}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        g = unwrap(self.nets["G"])
        seg = {id(p) for p in g.segmenter.parameters()}
        opts = {"G": self.adam([p for p in g.parameters() if id(p) not in seg]),
                "D": self.adam(self.nets["D"].parameters())}
        if self.cfg.end_to_end and self.parts:
            opts["S"] = self.adam(g.segmenter.parameters(), lr=self.cfg.lr_segmenter)
        return opts

    def compilable(self) -> list[str]:
        return []

    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if "expression" not in batch:
            raise KeyError("hiergan needs 'expression' labels; this dataset has none (use rafd, affectnet, or "
                           "SynthFaces written in RaFD's layout)")
        return batch["image"].to(self.device).float(), batch["expression"].to(self.device).long()

    # --- data -----------------------------------------------------------------------------------
    def train_data(self, dataset: Any, write: bool = True) -> Any:
        """With data.paired_expressions: each face with a target expression and the same identity's picture
        in it (trainer/data/paired_expressions.py; not in the paper, only for data showing every identity in
        several expressions). The base refuses sparse labels."""
        dataset = super().train_data(dataset, write)
        if not self.cfg.data.paired_expressions:
            return dataset
        from trainer.data.paired_expressions import PairedExpressions, PairedExpressionsError

        try:
            return PairedExpressions(dataset)
        except PairedExpressionsError as exc:
            raise ConfigError(str(exc)) from None

    def _train_mode(self) -> None:
        G = unwrap(self.nets["G"])
        G.train()
        G.segmenter.eval()
        self.nets["D"].train()

    # --- training -------------------------------------------------------------------------------
    def _reals(self, x: torch.Tensor, f) -> dict[str, torch.Tensor]:
        return {"global": x, "fusion": x, **{p: f.crops[p].detach() for p in self.parts}}

    @staticmethod
    def _fakes(f) -> dict[str, torch.Tensor]:
        return {"global": f.x_global, "fusion": f.x_out, **f.local_out}

    def d_loss(self, x: torch.Tensor, y_src: torch.Tensor, f, out: dict[str, float]) -> torch.Tensor:
        D, c = self.nets["D"], self.cfg
        reals, fakes = self._reals(x, f), self._fakes(f)
        total = x.new_zeros(())
        for k, lam in self.lambdas.items():
            adv_r, cls_r = D[k](reals[k])
            adv_f, _ = D[k](fakes[k].detach())
            l_adv, l_cls = discriminator_adversarial(adv_r, adv_f), expression_ce(cls_r, y_src)
            out[f"D_{k}/adv"], out[f"D_{k}/cls"] = float(l_adv.detach()), float(l_cls.detach())
            total = total + lam * (c.lambda_adv * l_adv + c.lambda_cls * l_cls)
        return total

    def g_loss(self, x: torch.Tensor, y_src: torch.Tensor, y_trg: torch.Tensor, f, out: dict[str, float],
               x_pair: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 8 (see the module docstring); with `x_pair`, the same identity's picture in y_trg (paired
        expressions, not in the paper), lambda_paired times the L1 of the fused and the global output to it
        and lambda_paired_region times the same L1s averaged over each face's true change region."""
        G, D, c = unwrap(self.nets["G"]), self.nets["D"], self.cfg
        src = one_hot_expression(y_src)
        # eq. 7's cycle: each generator translates its own output back to the source expression
        rec = {"global": G.g_global(f.x_global, src)}
        changes = {}
        for p in self.parts:
            rec[p] = G.g_local[p](f.local_out[p], src, f.hints.get(p))
            changes[p] = rec[p] - f.local_out[p]
        rec["fusion"] = G.fusion(rec["global"], G.stitch(f.x_local, f.boxes, changes))
        targets = {"global": x, "fusion": x, **f.crops}
        fakes = self._fakes(f)
        total = x.new_zeros(())
        for k, lam in self.lambdas.items():
            adv, cls = D[k](fakes[k])
            l_adv, l_cls = generator_adversarial(adv), expression_ce(cls, y_trg)
            l_rec = l1_reconstruction(rec[k], targets[k])
            out.update({f"G_{k}/adv": float(l_adv.detach()), f"G_{k}/cls": float(l_cls.detach()),
                        f"G_{k}/rec": float(l_rec.detach())})
            total = total + lam * (c.lambda_adv * l_adv + c.lambda_cls * l_cls + c.lambda_rec * l_rec)
        if x_pair is not None:
            # the translation against the same identity's picture in the target expression (no paper: only
            # for data holding every identity in every expression); logged also at λ 0, for comparison
            l_pair = l1_reconstruction(f.x_out, x_pair)
            l_pair_global = l1_reconstruction(f.x_global, x_pair)
            l_region = change_region_l1(f.x_out, x_pair, x)
            out["G/paired"], out["G_global/paired"] = float(l_pair.detach()), float(l_pair_global.detach())
            out["G/paired_region"] = float(l_region.detach())
            if c.lambda_paired > 0:
                total = total + c.lambda_paired * (l_pair + l_pair_global)
            if c.lambda_paired_region > 0:
                total = total + c.lambda_paired_region * (l_region + change_region_l1(f.x_global, x_pair, x))
            if self.parts:
                l_local, l_local_region = self.local_paired_l1(f, x, x_pair)
                out["G_local/paired"] = float(l_local.detach())
                out["G_local/paired_region"] = float(l_local_region.detach())
                if c.lambda_paired_local > 0:
                    total = total + c.lambda_paired_local * (l_local + l_local_region)
        return total

    def local_paired_l1(self, f, x: torch.Tensor, x_pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means over the parts of L1(G_p's crop, the crop it should be), over the whole crop and over the
        crop's true change region (change_region_l1). The crop it should be is its input crop plus the
        true picture's change in the part's box, crop_box(x_pair − x): a G_p that writes it pastes back as
        the true picture inside its box (in either local_input mode; with "box" it is the true picture's
        crop itself). Not in the paper: it teaches each part directly at its own resolution, where the fused
        L1 reaches a part only through a 128² image in which it covers a few hundred pixels; the region
        mean keeps the few changed pixels of a crop from being outweighed by the unchanged rest."""
        s = self.generator().shape
        diff = x_pair - x
        whole, region = [], []
        for j, p in enumerate(self.parts):
            crop = f.crops[p].detach()
            target = crop + crop_box(diff, f.boxes[:, j], s.crop)
            whole.append(l1_reconstruction(f.local_out[p], target))
            region.append(change_region_l1(f.local_out[p], target, crop))
        return torch.stack(whole).mean(), torch.stack(region).mean()

    def _init_from(self) -> None:
        """Warm start from `init_from`: a run's (or checkpoint's) G and D tensors of the same name and shape,
        or an exported model's G, checked to reproduce the export."""
        from trainer.checkpoint import CheckpointError, copy_fitting_tensors, saved_nets

        source = Path(self.cfg.init_from)
        if source.suffix == ".onnx" or (source / "manifest.json").is_file():
            origin, copied, total = self._exported_generator(source)
        else:
            try:
                origin, saved = saved_nets(self.cfg.init_from, ("G", "D"))
            except CheckpointError as exc:
                raise ConfigError(f"init_from: {exc}") from None
            copied, total = copy_fitting_tensors(self.nets, saved)
        if copied == 0:
            raise ConfigError(f"init_from: no tensor of {origin} fits this config's networks")
        self.init_report = f"init_from {origin}: {copied} of {total} tensors copied"
        print(self.init_report, file=sys.stderr, flush=True)

    def _exported_generator(self, source: Path) -> tuple[Path, int, int]:
        """Load G from an exported hiergan graph and check that it computes what the graph does."""
        import onnxruntime as ort

        from trainer.checkpoint import copy_fitting_tensors
        from trainer.onnx_weights import OnnxWeightsError, module_weights, pack_model_file

        try:
            path = pack_model_file(source, self.name)
            weights = module_weights(path, "generator.", self.generator())
        except OnnxWeightsError as exc:
            raise ConfigError(f"init_from: {exc}") from None
        copied, total = copy_fitting_tensors(self.nets, {"G": weights})
        spec = self.export_specs()[0]
        feeds = {k: v.numpy() for k, v in spec.example_inputs.items()}
        try:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            expected = session.run(None, feeds)[0]
        except Exception as exc:  # noqa: BLE001 - ORT raises several kinds for a graph of another shape
            raise ConfigError(f"init_from: {path} does not take this config's inputs "
                              f"({str(exc).splitlines()[0][:120]})") from None
        with torch.no_grad():
            got = spec.module(**spec.example_inputs).numpy()
        diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
        if not diff < 1e-3:
            raise ConfigError(f"init_from: the networks loaded from {path} do not reproduce it (max |diff| "
                              f"{diff:.3g}; {copied} of {total} tensors fit): is this config the "
                              "one that trained it (widths, parts, crop, local_input, residual options)?")
        return path, copied, total

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        if self.cfg.init_from and step == 0:
            self._init_from()
        x, y_src = self._inputs(batch)
        x_pair = None
        if "pair_expression" in batch:      # paired expressions: the target whose true picture the set holds
            y_trg = batch["pair_expression"].to(self.device).long()
            x_pair = batch["pair_image"].to(self.device).float()
        else:
            y_trg = (y_src + torch.randint(1, N_EXPRESSIONS, y_src.shape, device=y_src.device)) % N_EXPRESSIONS
        self._train_mode()
        out: dict[str, float] = {}
        with self.autocast():
            # one forward serves both phases: D reads its fakes detached, G's backward then reaches S
            f = self.generator().run(x, one_hot_expression(y_trg))
            loss_d = self.d_loss(x, y_src, f, out)
        self._update(["D"], loss_d)
        out["D/loss"] = float(loss_d.detach())
        if (step + 1) % self.cfg.n_critic == 0 and step >= self.cfg.g_start:
            with self.autocast():
                loss_g = self.g_loss(x, y_src, y_trg, f, out, x_pair)
            self._update([n for n in ("G", "S") if n in self.optimizers], loss_g)
            out["G/loss"] = float(loss_g.detach())
        return out

    def _update(self, names: list[str], loss: torch.Tensor) -> None:
        for n in names:
            self.optimizers[n].zero_grad(set_to_none=True)
        loss.backward()
        for n in names:
            self.optimizers[n].step()

    # --- inference --------------------------------------------------------------------------------
    def generator(self) -> HierarchicalGenerator:
        return unwrap(self.nets["G"])

    @torch.no_grad()
    def edit(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """x (N, 3, R, R) translated to expression indices `target` (N,)."""
        return self.generator()(x.to(self.device).float(), one_hot_expression(target.to(self.device)))

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: the inputs, then each of the 8 expressions in EXPRESSIONS order."""
        x, _ = self._inputs(batch)
        rows = [x] + [self.edit(x, torch.full((x.shape[0],), k, dtype=torch.long)) for k in range(N_EXPRESSIONS)]
        return torch.cat(rows, dim=0).clamp(-1, 1)

    # --- evaluation -------------------------------------------------------------------------------
    def _pack(self, task: str, given: str = "") -> Path:
        from faceeditor.engine.registry import NoPackError, find_pack

        if given:
            return Path(given)
        try:
            return find_pack(task).path
        except NoPackError as exc:
            raise ConfigError(f"evaluator: {exc}") from None

    def _judge(self):
        from trainer.pack_classifier import PackExpressionClassifier
        from trainer.pack_parser import PackParserError

        try:
            return PackExpressionClassifier(self._pack("classify_expression", self.cfg.evaluator))
        except PackParserError as exc:
            raise ConfigError(f"evaluator: {exc}") from None

    def _parser(self):
        from trainer.pack_parser import PackParser, PackParserError

        try:
            return PackParser(self._pack("parse"))
        except (PackParserError, ConfigError):
            return None

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """EEA (overall and per target), Fréchet distance in the evaluator's feature space, the pixel and
        semantic gain toward the same identity's face in the target expression, and the segmenter's mIoU
        before and after; see the module docstring."""
        judge, parser = self._judge(), self._parser()
        self.generator().eval()
        xs, ys, ids = [], [], []
        for batch in loader:
            xs.append(batch["image"].float())
            ys.append(batch["expression"].long())
            ids.append(batch["identity"].long() if "identity" in batch else torch.full_like(ys[-1], -1))
            if self.cfg.eval_limit and sum(len(v) for v in xs) >= self.cfg.eval_limit:
                break
        lim = self.cfg.eval_limit or None
        x_all, y_all, id_all = torch.cat(xs)[:lim], torch.cat(ys)[:lim], torch.cat(ids)[:lim]
        where = {(int(i), int(e)): n for n, (i, e) in enumerate(zip(id_all, y_all, strict=True)) if i >= 0}
        hits = np.zeros(N_EXPRESSIONS)
        real_hits = 0.0
        asked = np.zeros(N_EXPRESSIONS)
        real_feats, edit_feats = [], []
        pix: dict[int, list[tuple[float, float]]] = defaultdict(list)
        sem: dict[int, list[tuple[float, float]]] = defaultdict(list)
        bs = max(1, self.cfg.batch_size)
        for start in range(0, len(x_all), bs):
            x, y, ident = x_all[start:start + bs], y_all[start:start + bs], id_all[start:start + bs]
            real_logits, feats = judge(x)
            real_feats.append(feats)
            real_hits += float((real_logits.argmax(1) == y).sum())
            x_classes = parser(x).argmax(1).numpy() if parser is not None else None
            for t in range(N_EXPRESSIONS):
                keep = y != t
                if not keep.any():
                    continue
                target = torch.full((int(keep.sum()),), t, dtype=torch.long)
                edited = self.edit(x[keep], target).float().cpu().clamp(-1, 1)
                logits, feats = judge(edited)
                hits[t] += float((logits.argmax(1) == t).sum())
                asked[t] += len(target)
                edit_feats.append(feats)
                self._gains(x[keep], edited, ident[keep], t, x_all, where, parser,
                            None if x_classes is None else x_classes[keep.numpy()], pix, sem)
        # eea_real: the evaluator's accuracy on the real faces themselves, the ceiling an editor can reach
        out: dict[str, float] = {"eea": float(hits.sum() / max(1.0, asked.sum())),
                                 "eea_real": real_hits / max(1, len(x_all))}
        for t, name in enumerate(EXPRESSIONS):
            if asked[t]:
                out[f"eea/{name}"] = float(hits[t] / asked[t])
        out["fd_evaluator"] = frechet_distance_from_features(torch.cat(real_feats).numpy(),
                                                             torch.cat(edit_feats).numpy())
        for key, table in (("gain_pixel", pix), ("gain_semantic", sem)):
            if table:
                every = np.array([v for rows in table.values() for v in rows], np.float64)
                out[key] = gain(every[:, 0], every[:, 1])
                for t, rows in sorted(table.items()):
                    arr = np.array(rows, np.float64)
                    out[f"{key}/{EXPRESSIONS[t]}"] = gain(arr[:, 0], arr[:, 1])
        out.update(self.segmenter_miou())
        return out

    def _gains(self, x, edited, ident, t, x_all, where, parser, x_classes, pix, sem) -> None:
        """Pixel and semantic errors of the edits to expression t whose identity the set also shows in t."""
        edit_classes = parser(edited).argmax(1).numpy() if parser is not None else None
        for i in range(len(x)):
            n = where.get((int(ident[i]), t))
            if n is None:
                continue
            truth = x_all[n]
            region = true_change_region(x[i], truth)
            pix[t].append(pixel_errors(edited[i], x[i], truth, region))
            if parser is not None:
                truth_classes = parser(truth[None]).argmax(1).numpy()[0]
                sem[t].append(semantic_errors(edit_classes[i], x_classes[i], truth_classes, region))

    @torch.no_grad()
    def segmenter_miou(self) -> dict[str, float]:
        """mIoU of the segmenter before (the parser run's weights) and after training, on `miou_data`."""
        c = self.cfg
        if not c.miou_data:
            return {}
        if c.init_from:             # S started from init_from's, not from the parser run's weights
            return {"miou_after": self._miou({"after": self.generator().segmenter})["after"]}
        before = load_segmenter(c.segmenter, c.run_dir, c.data.resolution).to(self.device).eval()
        scores = self._miou({"before": before, "after": self.generator().segmenter})
        return {"miou_before": scores["before"], "miou_after": scores["after"]}

    def _miou(self, nets: dict[str, nn.Module]) -> dict[str, float]:
        c = self.cfg
        data = DataConfig(name=c.miou_dataset, root=c.miou_data, resolution=c.data.resolution, num_workers=0)
        loader = torch.utils.data.DataLoader(build_dataset(data, "test"), batch_size=max(1, c.batch_size))
        scores = {key: MeanIoU(NUM_CLASSES) for key in nets}
        seen = 0
        for batch in loader:
            x = batch["image"].to(self.device).float()
            for key, net in nets.items():
                scores[key].update(net(x).argmax(1).cpu(), batch["mask"])
            seen += len(x)
            if c.eval_limit and seen >= c.eval_limit:
                break
        return {key: score.mean() for key, score in scores.items()}

    # --- export -----------------------------------------------------------------------------------
    def export_module(self) -> nn.Module:
        g = copy.deepcopy(self.generator()).float().cpu().eval()
        return ExpressionEditExport(g).eval()

    def export_specs(self) -> list[ExportSpec]:
        res = self.cfg.data.resolution
        gen = torch.Generator().manual_seed(0)
        example = {"image": torch.rand(1, 3, res, res, generator=gen) * 2 - 1,
                   "expression": one_hot_expression(torch.tensor([EXPRESSIONS.index("happy")])) * 0.7}

        def from_batch(batch: dict[str, Any]) -> dict[str, torch.Tensor]:
            y = batch["expression"].long()
            return {"image": batch["image"].float(), "expression": one_hot_expression((y + 1) % N_EXPRESSIONS)}

        return [ExportSpec(
            name=self.name, task="edit_expression", module=self.export_module(), example_inputs=example,
            output_names=["edited"], backbone="stargan", resolution=res, expressions=list(EXPRESSIONS),
            extra={"expression": "one-hot times an intensity (0 = unchanged, 1 = the trained edit, above 1 "
                                 "exaggerates); the segmenter, global, local and fusion networks are all inside",
                   "parts": list(self.parts), "slider_range": [0.0, 1.5], "parser_inside": True},
            inputs_from_batch=from_batch,
        )]
