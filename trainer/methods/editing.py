"""The attribute editors of SeCGAN's Table 1 share this base: StarGAN / AttGAN baselines (stargan.py,
attgan.py), Baseline + Concat (concat.py) and SeCGAN (secgan.py, shared/papers/secgan.md); MagGAN and SG-GAN
extend it the same way.

The base trains G(x, y_diff) with the STGAN difference vector (targets = the labels of another image of the
batch) against a WGAN-GP critic with an auxiliary attribute classifier: classification losses on real (D)
and fake (G), and the reconstruction loss of eq. 5 (G(x, 0) = x) in place of StarGAN's cycle loss; D every
step, G every n_critic steps (Algorithm 1), on the same mini-batch. The networks come from the backbone named
by the config (an EditorBackbone registered in trainer/registry.py NETWORKS by a file of trainer/nets/).

A method changes what it needs through hooks, so that runs of equal length differ only in what its paper
varies:

- g_input / rgb_in_channels: what G reads besides the image (concat: the one-hot mask of the frozen parser P);
- extra_networks, critics, generators: networks of its own and which of them each phase updates;
- d_loss / g_loss: the critic's and the generator's objective of one step (call super() and add terms);
- fool_critic: G's adversarial and classification terms against a critic (MagGAN's multi-level critics);
- editor: how the evaluation (trainer/metrics/editing_accuracy.py) runs the trained method;
- export_name / export_module: what the pack carries.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, NUM_CLASSES, PARSE_CLASSES, SECGAN_SEGMENTS, secgan_segment_lut
from faceeditor.resources import demo_pack_dir
from trainer.config import ConfigError, TrainConfig
from trainer.data.registry import DataConfig
from trainer.distributed import unwrap
from trainer.losses.change_region import change_region_l1
from trainer.losses.classification import attribute_bce
from trainer.losses.reconstruction import l1_reconstruction
from trainer.losses.wgan_gp import generator_adversarial, gradient_penalty, interpolates, wasserstein_distance
from trainer.methods.base import ExportSpec, Method
from trainer.metrics.editing_accuracy import AttributeEditor, evaluate_editor, flip_target
from trainer.nets.editor_backbone import EditorBackbone, editor_backbone

# The bundled demo pack, whose parser reads edits at its resolution when a method has none of its own.
DEMO_PACK = demo_pack_dir()

__all__ = ["EditBatch", "EditingMethod", "EditorConfig", "EditorExport", "MethodEditor", "SegmentParser",
           "flip_target", "one_hot_max", "segment_matrix", "segment_names"]

N_ATTRS = len(ATTRIBUTES)
SEGMENT_NAMES = [name for name, _ in SECGAN_SEGMENTS]
# fields that record what the method does (saved in every config.json); the method, not the flag, decides
METHOD_FLAGS = ("input_mask", "semantic_branch")


@dataclass
class EditorConfig(TrainConfig):
    method: str = "stargan"
    data: DataConfig = field(default_factory=lambda: DataConfig(flip=True))
    backbone: str = "stargan"            # a network registered as an EditorBackbone (trainer/registry.py)
    input_mask: bool = False             # records Baseline + Concat (G_rgb reads [image, one-hot mask of P])
    semantic_branch: bool = False        # records SeCGAN (G_seg/D_seg and the semantic consistency loss)
    segments: Literal["secgan12", "parse19"] = "secgan12"
    parser: str = ""                     # run folder of the frozen face parser P (concat, secgan)
    evaluator: str = ""                  # attribute evaluator classifier (evaluate): a run folder or a model pack
    # networks: width of the first layer (the originals: 64), residual blocks (StarGAN), layers
    g_width: int = 64
    d_width: int = 64
    g_max_width: int = 1024              # AttGAN cap
    n_res: int = 6                       # StarGAN bottleneck residual blocks
    g_layers: int = 5                    # AttGAN encoder/decoder layers
    d_layers: int = 6                    # StarGAN: 6 at 128²; AttGAN: 5
    fc_width: int = 1024                 # AttGAN / STGAN D heads
    shortcut_layers: int = 4             # STGAN: skips with selective transfer units (the original: 4 at 128²)
    inject_layers: int = 4               # STGAN: decoder layers after which y_diff is concatenated again
    use_stu: bool = True                 # STGAN: STUs on the skips (False = AttGAN-style plain skips)
    spade: bool = False                  # STGAN: SPADE de-normalisation from the condition in the decoder
    refined_residual: bool = False       # the input concatenated before G's last convolution (SG-GAN)
    n_critic: int = 5
    lambda_gp: float = 10.0
    lambda_cls: float = -1.0             # D classification on real; < 0 = the backbone's original
    lambda_cls_g: float = -1.0           # G classification on fake; < 0 = the backbone's original
    lambda_rec: float = -1.0             # eq. 5 / eq. 10; < 0 = the backbone's original
    lambda_sc: float = 0.01              # eqs. 11–12 (the paper's best on CelebA, Figure 3)
    lambda_paired: float = 0.0           # L1 to SynthFaces' re-render of the flip (data.paired_flips; no paper)
    lambda_paired_region: float = 0.0    # the same L1 averaged over each face's true change region (no paper)
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

    # the method reads the frozen face parser P (a method's config class sets it)
    needs_parser: ClassVar[bool] = False
    # `evaluate --evaluator` also takes a model pack (its classify_attributes model, load_attribute_judge)
    pack_judges: ClassVar[bool] = True

    def backbone_entry(self) -> EditorBackbone:
        """The registered backbone; ConfigError naming the known ones if there is none of that name."""
        try:
            return editor_backbone(self.backbone)
        except ValueError as exc:
            raise ConfigError(f"backbone: {exc}") from None

    def weights(self) -> dict[str, float]:
        """λ values with the backbone's originals filled in."""
        out = dict(self.backbone_entry().lambdas)
        for k in out:
            if getattr(self, k) >= 0:
                out[k] = float(getattr(self, k))
        out["lambda_gp"] = self.lambda_gp
        out["lambda_sc"] = self.lambda_sc
        return out

    def check(self) -> None:
        super().check()
        backbone = self.backbone_entry()
        for f in dataclasses.fields(self):
            if f.name in METHOD_FLAGS and getattr(self, f.name) != f.default:
                raise ConfigError(f"{f.name}: fixed by the method ({f.default} for {self.method!r}); choose the "
                                  f"method instead (concat reads the parser's mask, secgan adds the semantic "
                                  f"branch)")
        if self.n_critic < 1:
            raise ConfigError(f"n_critic: expected a positive integer, got {self.n_critic!r}")
        if self.needs_parser and not self.parser:
            raise ConfigError("parser: concat and secgan need the run folder of a trained face parser "
                              "(--parser RUN_DIR)")
        if self.lambda_gp < 0 or self.lambda_sc < 0:
            raise ConfigError("lambda_gp and lambda_sc: expected values >= 0")
        for name in ("lambda_paired", "lambda_paired_region"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected a value >= 0, got {getattr(self, name)}")
            if getattr(self, name) > 0 and not self.data.paired_flips:
                raise ConfigError(f"{name}: the paired term needs the re-renders: add --data.paired-flips true "
                                  "(SynthFaces only)")
        if self.data.paired_flips and self.data.labeled_only:
            raise ConfigError("data.paired_flips and data.labeled_only: choose one (paired flips are for "
                              "SynthFaces, where every label is known)")
        for name in ("g_width", "d_width", "g_layers", "d_layers", "fc_width"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        d = self.data
        if (d.labeled_fraction < 1.0 or d.labeled_ids) and not d.labeled_only:
            raise ConfigError("data.labeled_fraction / data.labeled_ids: the attribute editors need every "
                              "source label; add --data.labeled-only true to train on the labelled images only")
        if d.labeled_only and not d.labeled_attributes:
            raise ConfigError("data.labeled_attributes: name the attributes whose labelled images to train on "
                              "(the SG-GAN run's attributes, e.g. Male,Blond_Hair,Mouth_Slightly_Open,Eyeglasses)")
        if d.labeled_only:
            from trainer.data.sparse_labels import LabelSetError, parse_attributes

            try:
                parse_attributes(d.labeled_attributes, "data.labeled_attributes")
            except LabelSetError as exc:
                raise ConfigError(str(exc)) from None
        res = self.data.resolution
        down = self.d_layers
        if res % (2 ** down):
            raise ConfigError(f"d_layers: data.resolution {res} must be divisible by 2**d_layers = {2 ** down}")
        try:
            backbone.check(self)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


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
    """What the app runs: (image, y_diff) -> edited (and, with G_seg, its predicted target mask).
    P is inside the graph, so callers never have to supply a mask; `g_input` is the method's g_input hook."""

    def __init__(self, g_rgb: nn.Module, parser: nn.Module | None, g_seg: nn.Module | None,
                 g_input: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]):
        super().__init__()
        self.g_rgb, self.parser, self.g_seg, self.g_input = g_rgb, parser, g_seg, g_input

    def forward(self, image: torch.Tensor, y_diff: torch.Tensor):
        s_in = one_hot_max(self.parser(image)) if self.parser is not None else None
        edited = self.g_rgb(self.g_input(image, s_in), y_diff)
        if self.g_seg is None:
            return edited
        return edited, torch.softmax(self.g_seg(s_in, y_diff), dim=1)


@dataclass
class EditBatch:
    """One training step's tensors, shared by the d_loss and g_loss hooks: the images, their labels, the
    targets (another image's labels, or with paired flips one attribute flipped), y_diff, P's one-hot mask
    (methods with a parser), G's input, the edited images of the G phase (set by EditingMethod.g_loss for
    the terms methods add) and, with paired flips, the true re-render of each target."""

    x: torch.Tensor
    y_src: torch.Tensor
    y_trg: torch.Tensor
    y_diff: torch.Tensor
    s_in: torch.Tensor | None
    g_in: torch.Tensor
    x_fake: torch.Tensor | None = None
    x_pair: torch.Tensor | None = None      # the re-render of the flip y_trg asks (data.paired_flips)


class MethodEditor:
    """A method in training as an AttributeEditor: images on any device in, edits on the method's device
    out. P's mask of the last batch is kept, so that the 14 edits the evaluation asks of one batch read
    the parser once."""

    def __init__(self, method: EditingMethod):
        self.method = method
        self._last: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def source_mask(self, x: torch.Tensor) -> torch.Tensor | None:
        """P's one-hot mask of x (None for a method without a parser)."""
        if not self.method.cfg.needs_parser:
            return None
        if self._last is None or self._last[0] is not x:
            self._last = (x, self.method.source_mask(x.to(self.method.device).float()))
        return self._last[1]

    @torch.no_grad()
    def edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        m = self.method
        return m.edit(x.to(m.device).float(), y_diff.to(m.device).float(), self.source_mask(x))


class EditingMethod(Method):
    """Base of the attribute editors (stargan / attgan / concat / secgan, registered in their own files)."""

    config_class = EditorConfig
    cfg: EditorConfig
    reads_data_options = frozenset({"paired_flips"})

    def __init__(self, cfg: EditorConfig, device: torch.device):
        super().__init__(cfg, device)
        self.backbone = cfg.backbone_entry()
        self.w = cfg.weights()
        self.n_seg = len(segment_names(cfg.segments))
        self._evaluator: Callable | None = None      # an nn.Module, or a pack's ONNX classifier

    # --- hooks ----------------------------------------------------------------------------------
    @staticmethod
    def g_input(x: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        """What G_rgb reads: the image (concat adds P's one-hot mask). Also traced into the export."""
        return x

    def rgb_in_channels(self) -> int:
        """Input channels of G_rgb, matching g_input."""
        return 3

    def extra_networks(self) -> dict[str, nn.Module]:
        """Networks of the method besides G, D (and P), built right after G and D."""
        return {}

    def critics(self) -> list[str]:
        """The networks the critic phase (d_loss) updates."""
        return ["D"]

    def generators(self) -> list[str]:
        """The networks the generator phase (g_loss) updates."""
        return ["G"]

    def generate(self, G: nn.Module, g_in: torch.Tensor, y_diff: torch.Tensor,
                 s_in: torch.Tensor | None) -> torch.Tensor:
        """The edit G makes of G's input for y_diff (MagGAN: the condition map and the blending trick)."""
        return G(g_in, y_diff)

    def reconstruct(self, G: nn.Module, g_in: torch.Tensor, s_in: torch.Tensor | None) -> torch.Tensor:
        """G's reconstruction for the loss of eq. 5 (y_diff = 0)."""
        zeros = torch.zeros(g_in.shape[0], N_ATTRS, device=g_in.device, dtype=g_in.dtype)
        return self.generate(G, g_in, zeros, s_in)

    @torch.no_grad()
    def source_mask(self, x: torch.Tensor) -> torch.Tensor | None:
        """What the method reads of the frozen parser for images x: P's one-hot mask (None without P)."""
        return one_hot_max(self.nets["P"](x)) if self.cfg.needs_parser else None

    def d_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        """The critics' objective of one step (every step): WGAN-GP + λ_cls classification of the real
        images. Logs into `out`."""
        with torch.no_grad():
            x_fake = self.generate(self.nets["G"], b.g_in, b.y_diff, b.s_in)
        return self.critic_loss(self.nets["D"], b.x, x_fake, b.y_src, out, "D")

    def g_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        """The generators' objective (every n_critic steps): adversarial + λ_cls_g classification of the
        edits + λ_rec reconstruction G(x, 0) = x (eq. 5). Sets b.x_fake. Logs into `out`."""
        G, D, w = self.nets["G"], self.nets["D"], self.w
        b.x_fake = self.generate(G, b.g_in, b.y_diff, b.s_in)
        l_adv, l_cls = self.fool_critic(D, b.x_fake, b.y_trg)
        x_rec = self.reconstruct(G, b.g_in, b.s_in)
        l_rec = l1_reconstruction(x_rec, b.x)
        out.update({"G/adv": float(l_adv.detach()), "G/cls": float(l_cls.detach()), "G/rec": float(l_rec.detach())})
        loss = l_adv + w["lambda_cls_g"] * l_cls + w["lambda_rec"] * l_rec
        if b.x_pair is not None:
            # the edit against SynthFaces' re-render of the same face with the flip (no paper: synthetic
            # only); logged also at λ 0, so runs with and without the term compare on it
            l_pair = l1_reconstruction(b.x_fake, b.x_pair)
            l_region = change_region_l1(b.x_fake, b.x_pair, b.x)
            out["G/paired"], out["G/paired_region"] = float(l_pair.detach()), float(l_region.detach())
            if self.cfg.lambda_paired > 0:
                loss = loss + self.cfg.lambda_paired * l_pair
            if self.cfg.lambda_paired_region > 0:
                loss = loss + self.cfg.lambda_paired_region * l_region
        return loss

    def fool_critic(self, D: nn.Module, x_fake: torch.Tensor, y_trg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """G's adversarial and classification terms against critic D (MagGAN: averaged over its levels)."""
        adv, cls = D(x_fake)
        return generator_adversarial(adv), attribute_bce(cls, y_trg)

    def editor(self) -> AttributeEditor:
        """This method as the evaluation's AttributeEditor."""
        return MethodEditor(self)

    def export_name(self) -> str:
        """The model's name in the pack."""
        return self.name

    def export_module(self) -> nn.Module:
        """The graph the pack carries: (image, y_diff) -> edited (see EditorExport)."""
        g = copy.deepcopy(unwrap(self.nets["G"])).float().cpu().eval()
        p = copy.deepcopy(unwrap(self.nets["P"])).float().cpu().eval() if self.cfg.needs_parser else None
        return EditorExport(g, p, None, self.g_input).eval()

    # --- networks -------------------------------------------------------------------------------
    def _generator(self, in_channels: int, out_channels: int, activation: str) -> nn.Module:
        return self.backbone.generator(self.cfg, N_ATTRS, in_channels, out_channels, activation)

    def _critic(self, in_channels: int) -> nn.Module:
        return self.backbone.critic(self.cfg, N_ATTRS, in_channels)

    def _parser_net(self) -> nn.Module:
        """P rebuilt from the parser run's config (a copy kept in this run folder, so export and
        evaluation of a finished run do not need the parser run), weights from the parser run if present
        (a checkpoint of this run overwrites them anyway)."""
        from trainer.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
        from trainer.config import from_dict, load_json
        from trainer.methods.parser import ParserConfig
        from trainer.nets.parser import build_parser_net

        local = Path(self.cfg.run_dir) / "parser.config.json"
        source = Path(self.cfg.parser)
        if (source / "config.json").is_file():
            raw = load_json(source / "config.json")      # the shared loader: regular file, size, depth
        elif local.is_file():
            raw = load_json(local)
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
        nets: dict[str, nn.Module] = {"G": self._generator(self.rgb_in_channels(), 3, "tanh"), "D": self._critic(3)}
        nets.update(self.extra_networks())
        if self.cfg.needs_parser:
            nets["P"] = self._parser_net()
        return nets

    def trainable(self) -> list[str]:
        return [n for n in self.nets if n != "P"]

    def compilable(self) -> list[str]:
        return [n for n in self.generators() if n in self.nets]

    # --- data -----------------------------------------------------------------------------------
    def train_data(self, dataset, write: bool = True):
        """With data.paired_flips: each face with its re-render with one attribute flipped (trainer/data/
        paired_flips.py). With data.labeled_only: only the images SG-GAN's labelled set holds for the same labeled_fraction
        (or labeled_ids), labeled_seed and labeled_attributes, with ALL their labels (y_diff needs every
        source label; this favours the editor). Other sparse settings are refused (EditorConfig.check)."""
        from trainer.data.sparse_labels import labeled_set, labeled_subset, parse_attributes

        d = self.cfg.data
        if d.paired_flips:
            from trainer.data.paired_flips import PairedFlips, PairedFlipsError

            try:
                return PairedFlips(dataset, d.resolution)
            except PairedFlipsError as exc:
                raise ConfigError(str(exc)) from None
        if not d.labeled_only:
            return dataset
        names = parse_attributes(d.labeled_attributes, "data.labeled_attributes")
        chosen = labeled_set(dataset, d, names, self.cfg.run_dir, write=write)
        return dataset if chosen is None else labeled_subset(dataset, chosen)

    # --- training -------------------------------------------------------------------------------
    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        x = batch["image"].to(self.device, non_blocking=True).float()
        if "attrs" not in batch:
            raise KeyError("the attribute editors need 'attrs'; this dataset has no attribute labels")
        y = batch["attrs"].to(self.device).float()[:, :N_ATTRS]
        return x, y, self.source_mask(x)

    def critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, y_src: torch.Tensor,
                    out: dict[str, float], tag: str) -> torch.Tensor:
        """−W + λ_gp GP + λ_cls BCE(real) of one critic; logs `tag`/wdist, /gp, /cls."""
        w = self.w
        adv_real, cls_real = critic(real)
        adv_fake, _ = critic(fake)
        x_hat = interpolates(real, fake)
        gp = gradient_penalty(critic(x_hat)[0], x_hat)
        wd = wasserstein_distance(adv_real, adv_fake)
        l_cls = attribute_bce(cls_real, y_src)
        out.update({f"{tag}/wdist": float(wd.detach()), f"{tag}/gp": float(gp.detach()),
                    f"{tag}/cls": float(l_cls.detach())})
        return -wd + w["lambda_gp"] * gp + w["lambda_cls"] * l_cls

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        x, y_src, s_in = self._inputs(batch)
        x_pair = None
        if "pair_target" in batch:          # paired flips: one attribute flipped, with its true re-render
            y_trg = batch["pair_target"].to(self.device).float()
            x_pair = batch["pair_image"].to(self.device, non_blocking=True).float()
        else:
            y_trg = y_src[torch.randperm(y_src.shape[0], device=y_src.device)]
        b = EditBatch(x, y_src, y_trg, y_trg - y_src, s_in, self.g_input(x, s_in), x_pair=x_pair)
        self.nets["G"].train()
        self.nets["D"].train()
        if "P" in self.nets:
            self.nets["P"].eval()
        out: dict[str, float] = {}

        loss_d = self.d_loss(b, out)
        self._update(self.critics(), loss_d)
        if (step + 1) % self.cfg.n_critic == 0:
            # the generators' losses share no parameters, so one backward of the sum updates each with its
            # own objective (SeCGAN eqs. 14 and 16)
            self._update(self.generators(), self.g_loss(b, out))
        return out

    def _update(self, names: list[str], loss: torch.Tensor) -> None:
        for n in names:
            self.optimizers[n].zero_grad(set_to_none=True)
        loss.backward()
        for n in names:
            self.optimizers[n].step()

    # --- inference helpers ----------------------------------------------------------------------
    @torch.no_grad()
    def edit(self, x: torch.Tensor, y_diff: torch.Tensor, s_in: torch.Tensor | None = None) -> torch.Tensor:
        G = unwrap(self.nets["G"])
        if self.cfg.needs_parser and s_in is None:
            s_in = self.source_mask(x)
        return self.generate(G, self.g_input(x, s_in), y_diff, s_in)

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: input, reconstruction (y_diff = 0), then one row per attribute flipped (13)."""
        x, y_src, s_in = self._inputs(batch)
        rows = [x, self.edit(x, torch.zeros_like(y_src), s_in)]
        for k in range(N_ATTRS):
            rows.append(self.edit(x, flip_target(y_src, k) - y_src, s_in))
        return torch.cat(rows, dim=0).clamp(-1, 1)

    # --- evaluation (§4.4) ------------------------------------------------------------------------
    def evaluator(self) -> Callable:
        if self._evaluator is None:
            if not self.cfg.evaluator:
                raise ConfigError("evaluator: evaluation needs the run folder of an attribute evaluator "
                                  "classifier or a model pack with one (--evaluator RUN_DIR|PACK_DIR)")
            from trainer.checkpoint import load_attribute_judge

            self._evaluator = load_attribute_judge(self.cfg.evaluator, self.cfg.data.resolution, self.device)
        return self._evaluator

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """The §4.4 protocol (trainer/metrics/editing_accuracy.py) on this method's editor, judged by the
        evaluator run: the same code that judges an exported pack."""
        return evaluate_editor(self.editor(), self.evaluator(), loader, resolution=self.cfg.data.resolution,
                               segments=self.cfg.segments, limit=self.cfg.eval_limit,
                               parser=self.evaluation_parser())

    def evaluation_parser(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The parser that reads edits, truths and inputs for the semantic gain: the method's own frozen
        parser when it reads the 19 classes, else the demo pack's, else None (the
        semantic gain is then left out). The pack's parser resizes what it reads to its resolution."""
        if self.cfg.needs_parser and self.cfg.segments == "parse19":
            return lambda x: self.source_mask(x.to(self.device).float()).cpu()
        from trainer.pack_parser import PackParser, PackParserError

        try:
            parser = PackParser(DEMO_PACK)
        except PackParserError:
            return None
        return parser

    # --- export -----------------------------------------------------------------------------------
    def export_specs(self) -> list[ExportSpec]:
        c = self.cfg
        res = c.data.resolution
        module = self.export_module()
        has_mask = getattr(module, "g_seg", None) is not None
        gen = torch.Generator().manual_seed(0)
        example = {"image": torch.rand(1, 3, res, res, generator=gen) * 2 - 1,
                   "y_diff": torch.zeros(1, N_ATTRS)}

        def from_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            y = batch["attrs"].float()[:, :N_ATTRS]
            return {"image": batch["image"].float(), "y_diff": flip_target(y, 0) - y}

        return [ExportSpec(
            name=self.export_name(), task="edit_attributes", module=module, example_inputs=example,
            output_names=["edited", "mask_probs"] if has_mask else ["edited"],
            backbone=c.backbone, resolution=res,
            classes=segment_names(c.segments) if has_mask else [],
            attributes=list(ATTRIBUTES),
            extra={"y_diff": "y_target - y_source (STGAN); trained on {-1, 0, 1}, sliders may go between "
                             "and beyond", "slider_range": [-2.0, 2.0],
                   "parser_inside": bool(c.needs_parser),
                   "mask_probs": "G_seg's predicted target mask (softmax over classes)" if has_mask else ""},
            inputs_from_batch=from_batch,
        )]
