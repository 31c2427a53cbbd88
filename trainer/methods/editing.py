"""The attribute editors of SeCGAN's Table 1 on one engine: StarGAN / AttGAN baselines, Baseline + Concat,
and SeCGAN (shared/papers/secgan.md). The registered methods (stargan.py, attgan.py, concat.py,
secgan.py) are this class with their switches set, so that runs of equal length differ only in what the
paper varies.

Every variant: G(x, y_diff) with the STGAN difference vector (targets = the labels of another image of
the batch), WGAN-GP critic with an auxiliary attribute classifier, classification losses on real (D) and
fake (G), and the reconstruction loss of eq. 5 (G(x, 0) = x) in place of StarGAN's cycle loss; D every
step, G every n_critic steps (Algorithm 1).

- concat: G reads the image concatenated with the one-hot mask of the frozen parser P (12 segments).
- secgan: a semantic branch G_seg/D_seg translates P's one-hot mask with the same y_diff (eqs. 6–10,
  cross-entropy reconstruction), and the semantic consistency losses (eqs. 11–12) tie P(G_rgb(x)) and
  G_seg(s) together, each branch trained against the one-hot output of the other.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, NUM_CLASSES, PARSE_CLASSES, SECGAN_SEGMENTS, secgan_segment_lut
from trainer.config import ConfigError, TrainConfig
from trainer.data.registry import DataConfig
from trainer.distributed import unwrap
from trainer.methods.base import ExportSpec, Method
from trainer.nets.attgan import AttGANDiscriminator, AttGANGenerator
from trainer.nets.stargan import StarGANDiscriminator, StarGANGenerator

N_ATTRS = len(ATTRIBUTES)
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair")
SEGMENT_NAMES = [name for name, _ in SECGAN_SEGMENTS]
# the originals' loss weights (StarGAN official code; AttGAN's lambda_1..3), used where a field is < 0
BACKBONE_LAMBDAS = {
    "stargan": {"lambda_cls": 1.0, "lambda_cls_g": 1.0, "lambda_rec": 10.0},
    "attgan": {"lambda_cls": 1.0, "lambda_cls_g": 10.0, "lambda_rec": 100.0},
}


@dataclass
class EditorConfig(TrainConfig):
    method: str = "stargan"
    data: DataConfig = field(default_factory=lambda: DataConfig(flip=True))
    backbone: Literal["stargan", "attgan"] = "stargan"
    input_mask: bool = False             # Baseline + Concat: G_rgb reads [image, one-hot mask of P]
    semantic_branch: bool = False        # SeCGAN: G_seg/D_seg and the semantic consistency loss
    segments: Literal["secgan12", "parse19"] = "secgan12"
    parser: str = ""                     # run folder of the frozen face parser P (concat, secgan)
    evaluator: str = ""                  # run folder of the attribute evaluator classifier (evaluate)
    # networks: width of the first layer (the originals: 64), residual blocks (StarGAN), layers
    g_width: int = 64
    d_width: int = 64
    g_max_width: int = 1024              # AttGAN cap
    n_res: int = 6                       # StarGAN bottleneck residual blocks
    g_layers: int = 5                    # AttGAN encoder/decoder layers
    d_layers: int = 6                    # StarGAN: 6 at 128²; AttGAN: 5
    fc_width: int = 1024                 # AttGAN D heads
    n_critic: int = 5
    lambda_gp: float = 10.0
    lambda_cls: float = -1.0             # D classification on real; < 0 = the backbone's original
    lambda_cls_g: float = -1.0           # G classification on fake; < 0 = the backbone's original
    lambda_rec: float = -1.0             # eq. 5 / eq. 10; < 0 = the backbone's original
    lambda_sc: float = 0.01              # eqs. 11–12 (the paper's best on CelebA, Figure 3)
    eval_limit: int = 0                  # test images for evaluate(); 0 = all of the split
    # StarGAN's schedule (200k iterations, linear decay from 100k, batch 16, lr 1e-4)
    iters: int = 200000
    batch_size: int = 16
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: Literal["none", "linear", "exp"] = "linear"
    lr_decay_start: int = 100000
    sample_every: int = 1000
    ckpt_every: int = 1000

    def weights(self) -> dict[str, float]:
        """λ values with the backbone's originals filled in."""
        out = dict(BACKBONE_LAMBDAS[self.backbone])
        for k in out:
            if getattr(self, k) >= 0:
                out[k] = float(getattr(self, k))
        out["lambda_gp"] = self.lambda_gp
        out["lambda_sc"] = self.lambda_sc
        return out

    def check(self) -> None:
        super().check()
        if self.backbone not in BACKBONE_LAMBDAS:
            raise ConfigError(f"backbone: expected 'stargan' or 'attgan', got {self.backbone!r}")
        if self.n_critic < 1:
            raise ConfigError(f"n_critic: expected a positive integer, got {self.n_critic!r}")
        if (self.input_mask or self.semantic_branch) and not self.parser:
            raise ConfigError("parser: concat and secgan need the run folder of a trained face parser "
                              "(--parser RUN_DIR)")
        if self.lambda_gp < 0 or self.lambda_sc < 0:
            raise ConfigError("lambda_gp and lambda_sc: expected values >= 0")
        for name in ("g_width", "d_width", "g_layers", "d_layers", "fc_width"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        res = self.data.resolution
        down = self.d_layers
        if res % (2 ** down):
            raise ConfigError(f"d_layers: data.resolution {res} must be divisible by 2**d_layers = {2 ** down}")
        if self.backbone == "attgan" and res % (2 ** self.g_layers):
            raise ConfigError(f"g_layers: data.resolution {res} must be divisible by 2**g_layers")
        if self.backbone == "stargan" and res % 4:
            raise ConfigError(f"data.resolution {res} must be divisible by 4 for the StarGAN generator")


def segment_matrix(segments: str) -> torch.Tensor:
    """(19, S) 0/1 matrix summing parse-class probabilities into the model's segments."""
    if segments == "parse19":
        return torch.eye(NUM_CLASSES)
    lut = secgan_segment_lut()
    m = torch.zeros(NUM_CLASSES, len(SEGMENT_NAMES))
    for c, s in enumerate(lut):
        m[c, s] = 1.0
    return m


def segment_names(segments: str) -> list[str]:
    return list(PARSE_CLASSES) if segments == "parse19" else list(SEGMENT_NAMES)


def one_hot_max(probs: torch.Tensor) -> torch.Tensor:
    """One-hot of the argmax over dim 1 (as float), written with ops every ONNX runtime has."""
    return F.one_hot(probs.argmax(dim=1), probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)


def flip_target(y_src: torch.Tensor, k: int) -> torch.Tensor:
    """The target labels of 'flip attribute k' (§4.4): k negated; turning a hair colour on turns the other
    hair colours off (one hair colour at a time, as StarGAN's CelebA test does)."""
    y = y_src.clone()
    y[:, k] = 1.0 - y_src[:, k]
    name = ATTRIBUTES[k]
    if name in HAIR_COLOURS:
        on = y[:, k] > 0.5
        for other in HAIR_COLOURS:
            if other != name:
                y[on, ATTRIBUTES.index(other)] = 0.0
    return y


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||∇ D(x̃)||_2 − 1)² at points x̃ drawn uniformly on the lines between real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    adv, _ = critic(mixed)
    grad, = torch.autograd.grad(adv.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class SegmentParser(nn.Module):
    """The frozen face parser P, returning probabilities over the model's segments (sums of the 19)."""

    def __init__(self, net: nn.Module, segments: str):
        super().__init__()
        self.net = net
        self.register_buffer("group", segment_matrix(segments), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(self.net(image).float(), dim=1)
        return torch.einsum("nchw,cs->nshw", probs, self.group).contiguous()


class EditorExport(nn.Module):
    """What the app runs: (image, y_diff) -> edited (and, for SeCGAN, G_seg's predicted target mask).
    P is inside the graph, so callers never have to supply a mask."""

    def __init__(self, g_rgb: nn.Module, parser: nn.Module | None, g_seg: nn.Module | None, input_mask: bool):
        super().__init__()
        self.g_rgb, self.parser, self.g_seg, self.input_mask = g_rgb, parser, g_seg, input_mask

    def forward(self, image: torch.Tensor, y_diff: torch.Tensor):
        s_in = one_hot_max(self.parser(image)) if self.parser is not None else None
        g_in = torch.cat([image, s_in], dim=1) if self.input_mask else image
        edited = self.g_rgb(g_in, y_diff)
        if self.g_seg is None:
            return edited
        return edited, torch.softmax(self.g_seg(s_in, y_diff), dim=1)


class EditingMethod(Method):
    """Base of stargan / attgan / concat / secgan (registered in their own files)."""

    config_class = EditorConfig
    cfg: EditorConfig

    def __init__(self, cfg: EditorConfig, device: torch.device):
        super().__init__(cfg, device)
        self.w = cfg.weights()
        self.n_seg = len(segment_names(cfg.segments))
        self.uses_parser = cfg.input_mask or cfg.semantic_branch
        self._evaluator: nn.Module | None = None

    # --- networks -------------------------------------------------------------------------------
    def _generator(self, in_channels: int, out_channels: int, activation: str) -> nn.Module:
        c = self.cfg
        if c.backbone == "stargan":
            return StarGANGenerator(N_ATTRS, in_channels, out_channels, c.g_width, 2, c.n_res, activation)
        return AttGANGenerator(N_ATTRS, in_channels, out_channels, c.g_width, c.g_max_width, c.g_layers, 1, 1,
                               activation)

    def _critic(self, in_channels: int) -> nn.Module:
        c = self.cfg
        res = c.data.resolution
        if c.backbone == "stargan":
            return StarGANDiscriminator(res, N_ATTRS, in_channels, c.d_width, c.d_layers)
        return AttGANDiscriminator(res, N_ATTRS, in_channels, c.d_width, c.g_max_width, c.d_layers, c.fc_width)

    def _parser_net(self) -> nn.Module:
        """P rebuilt from the parser run's config (a copy kept in this run folder, so export and
        evaluation of a finished run do not need the parser run), weights from the parser run if present
        (a checkpoint of this run overwrites them anyway)."""
        from trainer.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
        from trainer.config import from_dict
        from trainer.methods.parser import ParserConfig
        from trainer.nets.parser import build_parser_net

        local = Path(self.cfg.run_dir) / "parser.config.json"
        source = Path(self.cfg.parser)
        if (source / "config.json").is_file():
            raw = json.loads((source / "config.json").read_text(encoding="utf-8"))
        elif local.is_file():
            raw = json.loads(local.read_text(encoding="utf-8"))
        else:
            raise ConfigError(f"parser: {self.cfg.parser!r} is not a parser run folder (no config.json)")
        if raw.get("method") != "parser":
            raise ConfigError(f"parser: {self.cfg.parser!r} is a {raw.get('method')!r} run, not a parser run")
        pcfg = from_dict(ParserConfig, raw)
        if pcfg.data.resolution != self.cfg.data.resolution:
            raise ConfigError(f"parser: the parser was trained at {pcfg.data.resolution}², this editor at "
                              f"{self.cfg.data.resolution}²; train a parser at the editor's resolution")
        net = build_parser_net(pcfg.net_config())
        ckpt = latest_checkpoint(source) if source.is_dir() else None
        if ckpt is not None:
            try:
                net.load_state_dict(load_checkpoint(ckpt)["nets"]["parser"])
            except (CheckpointError, KeyError, RuntimeError) as exc:
                raise ConfigError(f"parser: cannot load the weights of {ckpt}: {exc}") from None
            if not local.is_file():
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        elif not local.is_file():
            raise ConfigError(f"parser: {self.cfg.parser!r} holds no checkpoint")
        return SegmentParser(net, self.cfg.segments).eval().requires_grad_(False)

    def build_networks(self) -> dict[str, nn.Module]:
        c = self.cfg
        rgb_in = 3 + (self.n_seg if c.input_mask else 0)
        nets: dict[str, nn.Module] = {"G": self._generator(rgb_in, 3, "tanh"), "D": self._critic(3)}
        if c.semantic_branch:
            # logits out; the softmax of Table 2/3 is applied here and in the export (log-softmax for the
            # cross-entropy terms is then exact)
            nets["G_seg"] = self._generator(self.n_seg, self.n_seg, "none")
            nets["D_seg"] = self._critic(self.n_seg)
        if self.uses_parser:
            nets["P"] = self._parser_net()
        return nets

    def trainable(self) -> list[str]:
        return [n for n in self.nets if n != "P"]

    def compilable(self) -> list[str]:
        return [n for n in ("G", "G_seg") if n in self.nets]

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {n: self.adam(self.nets[n].parameters()) for n in self.trainable()}

    # --- training -------------------------------------------------------------------------------
    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        x = batch["image"].to(self.device, non_blocking=True).float()
        if "attrs" not in batch:
            raise KeyError("the attribute editors need 'attrs'; this dataset has no attribute labels")
        y = batch["attrs"].to(self.device).float()[:, :N_ATTRS]
        s = None
        if self.uses_parser:
            with torch.no_grad():
                s = one_hot_max(self.nets["P"](x))
        return x, y, s

    def _g_input(self, x: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([x, s], dim=1) if self.cfg.input_mask else x

    @staticmethod
    def _cls_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits.float(), target, reduction="sum") / logits.shape[0]

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        w = self.w
        G, D = self.nets["G"], self.nets["D"]
        seg = self.cfg.semantic_branch
        x, y_src, s_in = self._inputs(batch)
        y_trg = y_src[torch.randperm(y_src.shape[0], device=y_src.device)]
        y_diff = y_trg - y_src
        g_in = self._g_input(x, s_in)
        G.train()
        D.train()
        if "P" in self.nets:
            self.nets["P"].eval()
        out: dict[str, float] = {}

        # --- critics (every step) ---
        with torch.no_grad():
            x_fake = G(g_in, y_diff)
            s_fake = torch.softmax(self.nets["G_seg"](s_in, y_diff), dim=1) if seg else None
        loss_d = self._critic_loss(D, x, x_fake, y_src, out, "D")
        if seg:
            loss_d = loss_d + self._critic_loss(self.nets["D_seg"], s_in, s_fake, y_src, out, "D_seg")
        names_d = ["D", "D_seg"] if seg else ["D"]
        for n in names_d:
            self.optimizers[n].zero_grad(set_to_none=True)
        loss_d.backward()
        for n in names_d:
            self.optimizers[n].step()

        # --- generators (every n_critic steps, same mini-batch) ---
        if (step + 1) % self.cfg.n_critic == 0:
            zero = torch.zeros_like(y_diff)
            x_fake = G(g_in, y_diff)
            adv, cls = D(x_fake)
            x_rec = G(g_in, zero)
            l_adv, l_cls, l_rec = -adv.mean(), self._cls_loss(cls, y_trg), (x_rec - x).abs().mean()
            loss_g = l_adv + w["lambda_cls_g"] * l_cls + w["lambda_rec"] * l_rec
            out.update({"G/adv": float(l_adv.detach()), "G/cls": float(l_cls.detach()), "G/rec": float(l_rec.detach())})
            if seg:
                G_seg, D_seg = self.nets["G_seg"], self.nets["D_seg"]
                G_seg.train()
                D_seg.train()
                logits = G_seg(s_in, y_diff)
                s_fake = torch.softmax(logits, dim=1)
                adv_s, cls_s = D_seg(s_fake)
                rec_logits = G_seg(s_in, zero)
                target_in = s_in.argmax(dim=1)
                l_adv_s, l_cls_s = -adv_s.mean(), self._cls_loss(cls_s, y_trg)
                l_rec_s = F.cross_entropy(rec_logits, target_in)
                # semantic consistency (eqs. 11–12): each branch against the other's one-hot output
                p_out = self.nets["P"](x_fake).clamp_min(1e-8)
                l_sc_rgb = F.nll_loss(p_out.log(), s_fake.detach().argmax(dim=1))
                l_sc_seg = F.cross_entropy(logits, p_out.detach().argmax(dim=1))
                loss_g = loss_g + w["lambda_sc"] * l_sc_rgb
                loss_g = loss_g + l_adv_s + w["lambda_cls_g"] * l_cls_s + w["lambda_rec"] * l_rec_s \
                    + w["lambda_sc"] * l_sc_seg
                out.update({"G_seg/adv": float(l_adv_s.detach()), "G_seg/cls": float(l_cls_s.detach()),
                            "G_seg/rec": float(l_rec_s.detach()), "sc/rgb": float(l_sc_rgb.detach()), "sc/seg": float(l_sc_seg.detach())})
            names_g = ["G", "G_seg"] if seg else ["G"]
            for n in names_g:
                self.optimizers[n].zero_grad(set_to_none=True)
            # the two generators' losses share no parameters, so one backward of the sum updates each
            # with its own objective (eqs. 14 and 16)
            loss_g.backward()
            for n in names_g:
                self.optimizers[n].step()
        return out

    def _critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, y_src: torch.Tensor,
                     out: dict[str, float], tag: str) -> torch.Tensor:
        w = self.w
        adv_real, cls_real = critic(real)
        adv_fake, _ = critic(fake)
        gp = gradient_penalty(critic, real, fake)
        wd = adv_real.mean() - adv_fake.mean()
        l_cls = self._cls_loss(cls_real, y_src)
        out.update({f"{tag}/wdist": float(wd.detach()), f"{tag}/gp": float(gp.detach()),
                    f"{tag}/cls": float(l_cls.detach())})
        return -wd + w["lambda_gp"] * gp + w["lambda_cls"] * l_cls

    # --- inference helpers ----------------------------------------------------------------------
    @torch.no_grad()
    def edit(self, x: torch.Tensor, y_diff: torch.Tensor, s_in: torch.Tensor | None = None) -> torch.Tensor:
        G = unwrap(self.nets["G"])
        if self.uses_parser and s_in is None:
            s_in = one_hot_max(self.nets["P"](x))
        return G(self._g_input(x, s_in), y_diff)

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: input, reconstruction (y_diff = 0), then one row per attribute flipped (13)."""
        x, y_src, s_in = self._inputs(batch)
        rows = [x, self.edit(x, torch.zeros_like(y_src), s_in)]
        for k in range(N_ATTRS):
            rows.append(self.edit(x, flip_target(y_src, k) - y_src, s_in))
        return torch.cat(rows, dim=0).clamp(-1, 1)

    # --- evaluation (§4.4) ------------------------------------------------------------------------
    def evaluator(self) -> nn.Module:
        if self._evaluator is None:
            if not self.cfg.evaluator:
                raise ConfigError("evaluator: evaluation needs the run folder of an attribute evaluator "
                                  "classifier (--evaluator RUN_DIR)")
            from trainer.checkpoint import load_trained_method

            method, _ = load_trained_method(self.cfg.evaluator, self.device)
            if getattr(method.cfg, "task", None) != "attributes":
                raise ConfigError(f"evaluator: {self.cfg.evaluator} is not an attribute classifier run")
            if method.cfg.data.resolution != self.cfg.data.resolution:
                raise ConfigError(f"evaluator: trained at {method.cfg.data.resolution}², the editor works "
                                  f"at {self.cfg.data.resolution}²")
            self._evaluator = unwrap(method.nets["classifier"]).eval()
        return self._evaluator

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """Editing accuracy per attribute and mean (flip each attribute of every test image, judge with the
        evaluator), reconstruction PSNR/SSIM, Fréchet distance and Inception-style score in evaluator
        feature space; on SynthFaces also the distance to the ground-truth edited render and G_seg's mask
        accuracy against the ground-truth target mask."""
        from trainer.metrics.editing_accuracy import EditingEvaluation

        ev = EditingEvaluation(self, self.evaluator(), loader, limit=self.cfg.eval_limit)
        return ev.run()

    # --- export -----------------------------------------------------------------------------------
    def export_specs(self) -> list[ExportSpec]:
        c = self.cfg
        res = c.data.resolution
        g = copy.deepcopy(unwrap(self.nets["G"])).float().cpu().eval()
        p = copy.deepcopy(unwrap(self.nets["P"])).float().cpu().eval() if self.uses_parser else None
        g_seg = copy.deepcopy(unwrap(self.nets["G_seg"])).float().cpu().eval() if c.semantic_branch else None
        module = EditorExport(g, p, g_seg, c.input_mask).eval()
        outputs = ["edited", "mask_probs"] if g_seg is not None else ["edited"]
        gen = torch.Generator().manual_seed(0)
        example = {"image": torch.rand(1, 3, res, res, generator=gen) * 2 - 1,
                   "y_diff": torch.zeros(1, N_ATTRS)}

        def from_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            y = batch["attrs"].float()[:, :N_ATTRS]
            return {"image": batch["image"].float(), "y_diff": flip_target(y, 0) - y}

        return [ExportSpec(
            name=f"{self.name}_{c.backbone}" if self.name in ("concat", "secgan") else self.name,
            task="edit_attributes", module=module, example_inputs=example, output_names=outputs,
            backbone=c.backbone, resolution=res,
            classes=segment_names(c.segments) if g_seg is not None else [],
            attributes=list(ATTRIBUTES),
            extra={"y_diff": "y_target - y_source (STGAN); trained on {-1, 0, 1}, sliders may go between "
                             "and beyond", "slider_range": [-2.0, 2.0],
                   "parser_inside": bool(p is not None),
                   "mask_probs": "G_seg's predicted target mask (softmax over classes)" if g_seg is not None
                   else ""},
            inputs_from_batch=from_batch,
        )]
