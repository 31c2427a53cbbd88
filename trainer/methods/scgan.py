"""Method `scgan`: mask-to-face synthesis G(z, c, s) (Jiang et al., "Spatially Constrained GANs").

Algorithm 1, one loop iteration per D/S update: each iteration samples z ~ N(0, 1), a real batch (x, c, s)
and target masks s_t = shuffle(s); D descends L_adv (WGAN-GP) + λ_cls L_cls^real and S descends
L_seg^real; every n_repeat-th iteration G then descends -D_d(G(z, c, s_t)) + λ_cls L_cls^fake +
λ_seg L_seg^fake(s_t) on the same z, c, s_t. So `iters` counts D/S updates and G is updated iters/n_repeat
times. The losses of the latest G update are reported at every iteration (the log averages them).

Choices where the paper is silent or loose:
- A_s (eq. 9) sums cross-entropy over pixels; here it is the mean over pixels (the usual implementation),
  so λ_seg = 1 does not drown the other terms. A_c sums BCE over attributes and averages over the batch.
- Attributes are coded 0 (absent) / 1 (present), the BCE targets; the export says so and gives the
  training-set mode of each attribute as a default for callers that leave one unset.
- Masks may be the 19 parse classes or a grouping of them (`classes`): SeCGAN's 12 segments or the paper's
  six landmark regions plus background (faceeditor.core.landmark_mask.LANDMARK_REGIONS).
- `lambda_rec` > 0 (not in the paper; 0 by default) adds a paired term λ_rec·|G(z, c, s) - x|_1 on the real
  triple (x, c, s) of the batch, for data that pairs every mask with its face (SynthFaces, CelebAMask-HQ).
  It pulls G to the faces' colours directly instead of only through the critic, which on two CPU cores
  did not get the colour noise out in thousands of G updates; it also makes G ignore z even more.
- `lambda_texture` > 0 (not in the paper) adds λ_tex·|E(G(z, c, s)) - E(x)|_1 on the same real triple, E the
  mean absolute finite difference across columns and across rows (two maps, so the strands' direction
  counts) over windows of 1/16 of the side: L1 alone pulls G to the average face of a
  mask, whose hair is smooth (an independent parser reads smooth hair as a hat); matching the amount of fine
  structure per window asks for strands where the face has them and none in smooth regions, without asking
  for them at exact pixels. No pretrained perceptual network can be had offline, hence this hand-made one.
- `mask_skips` (not in the paper) adds the mask, average-pooled, through a zero-initialised 1x1 conv before
  every RESBLKUP and the last conv: Table 2's G sees the mask only through a 4x4 or 8x8 bottleneck at 64², and
  the eyes, brows and lips are smaller than one bottleneck cell.
- `init_from` (not in the paper) starts G and D from another scgan run's tensors wherever name and shape
  agree, e.g. a run with another `bottleneck`: the blocks that match need not be learnt again on CPU.
- §5.7: `segmentor_from` loads S from another scgan run at the first step and freezes it;
  `segmentor_pretrain_iters` > 0 first trains S alone on real pairs for that many iterations (counted in
  `iters`), then freezes it.

Evaluation (§5.8, Table 1): accuracy of spatial consistency of generated faces against their conditioning
masks, with the floor (real images against shuffled, unpaired masks) and ceiling (real images against their
own masks), judged by this run's segmentor (as the paper) or by a parser run (`spatial_judge`); attribute
accuracy of the faces with an evaluator classifier run (`evaluator`), for the dataset's attributes and with
each attribute flipped in turn (z and mask fixed); diversity across z with mask and attributes fixed.
"""
from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, PARSE_CLASSES, SECGAN_SEGMENTS, secgan_segment_lut
from faceeditor.core.landmark_mask import LANDMARK_REGIONS, landmark_region_lut
from faceeditor.core.palette import PALETTE
from trainer.config import ConfigError, TrainConfig, check_net_config
from trainer.data.registry import DataConfig
from trainer.distributed import unwrap
from trainer.losses.classification import attribute_bce
from trainer.losses.wgan_gp import gradient_penalty, interpolates
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.accuracy import MultiLabelAccuracy
from trainer.metrics.diversity import MeanAccumulator, mean_pairwise_feature_distance, mean_pairwise_l1
from trainer.metrics.spatial_consistency import SpatialConsistency
from trainer.nets.scgan import SCGANNetConfig, SynthesizeExport, build_scgan_nets

CLASS_GROUPINGS = ("parse19", "secgan12", "landmark6")
N_ATTRS = len(ATTRIBUTES)


def class_grouping(name: str) -> tuple[list[str], list[list[str]], np.ndarray]:
    """(class names, parse classes in each, LUT 19 parse-class indices -> grouped index) of a grouping."""
    if name == "parse19":
        return list(PARSE_CLASSES), [[c] for c in PARSE_CLASSES], np.arange(len(PARSE_CLASSES))
    if name == "secgan12":
        groups = SECGAN_SEGMENTS
        lut = np.asarray(secgan_segment_lut())
    elif name == "landmark6":
        groups = LANDMARK_REGIONS
        lut = landmark_region_lut()
    else:
        raise ValueError(f"classes must be one of {CLASS_GROUPINGS}, got {name!r}")
    return [g for g, _ in groups], [list(m) for _, m in groups], lut.astype(np.int64)


@dataclass
class SCGANConfig(TrainConfig):
    pack_judges: ClassVar[bool] = True        # `evaluate --evaluator/--spatial-judge` also take a model pack
    method: str = "scgan"
    # defaults = the CPU demo model: 64², channels at a quarter of Table 2 (G about 3 MB)
    data: DataConfig = field(default_factory=lambda: DataConfig(resolution=64))
    classes: Literal["parse19", "secgan12", "landmark6"] = "parse19"
    nz: int = 512
    width: float = 0.25                  # channel multiplier of Table 2 (1.0 = the paper)
    d_max_channels: int = 2048           # widest critic layer at width 1.0
    seg_blocks: int = 4                  # RESBLKs in the segmentor
    bottleneck: int = 0                  # G's encoder output side; 0 = Table 2's rule (8x8, 4x4 at 64²)
    mask_skips: bool = False             # G also gets the pooled mask at every decoder scale (not in the paper)
    generator: Literal["paper", "spade"] = "paper"   # G's design: Table 2, or mask at every block (not in the paper)
    spade_channels: int = 64             # the SPADE generator's widest blocks
    style_dim: int = 64                  # the SPADE generator's style vector
    style_encoder: bool = False          # z of the paired term from E(x), a conditional VAE (not in the paper)
    lambda_kl: float = 0.05              # KL(E(x) || N(0, 1)) with style_encoder
    lambda_div: float = 0.0              # mode-seeking term: two z, one mask, different faces (not in the paper)
    n_repeat: int = 5                    # D/S updates per G update
    lambda_cls: float = 5.0
    lambda_seg: float = 1.0
    lambda_gp: float = 10.0
    lambda_rec: float = 0.0              # paired L1 to the real face of the same mask (not in the paper)
    lambda_texture: float = 0.0          # paired local texture energy of that face (not in the paper)
    texture_jitter: bool = False         # texture windows at a random offset each step: no fixed 1/16 grid
    lambda_parts: float = 0.0            # paired L1 again over brows, eyes, nose, mouth and lips alone (not in the paper)
    segmentor_from: str = ""             # an scgan run folder (or checkpoint) whose S is loaded and frozen
    segmentor_pretrain_iters: int = 0    # > 0: train S alone first for this many iterations, then freeze it
    init_from: str = ""                  # an scgan run (or checkpoint): G and D start from its same-shaped tensors
    # evaluation
    evaluator: str = ""                  # attribute classifier run folder (method "classifier") or a model pack
    spatial_judge: str = ""              # parser run folder or model pack judging spatial consistency; empty = S
    eval_flip: bool = True               # also flip each attribute in turn (z, mask fixed)
    eval_z_samples: int = 4              # latents per condition for the diversity figures (< 2 = skip)
    eval_same_mask: int = 100            # SynthFaces samples re-rendered for the same-mask reference (0 = skip)
    eval_limit: int = 0                  # evaluate on the first N samples of a split only (0 = all)
    eval_seed: int = 1234                # latents of evaluation and sample grids
    iters: int = 20000
    batch_size: int = 16
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    sample_every: int = 1000
    ckpt_every: int = 1000

    def check(self) -> None:
        super().check()
        if self.classes not in CLASS_GROUPINGS:
            raise ConfigError(f"classes: expected one of {CLASS_GROUPINGS}, got {self.classes!r}")
        check_net_config(self)
        if self.n_repeat < 1:
            raise ConfigError(f"n_repeat: expected a positive integer, got {self.n_repeat!r}")
        for name in ("lambda_cls", "lambda_seg", "lambda_gp", "lambda_rec", "lambda_texture", "lambda_parts", "lambda_kl",
                     "lambda_div"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected a value >= 0, got {getattr(self, name)!r}")
        if min(self.segmentor_pretrain_iters, self.eval_z_samples, self.eval_seed, self.eval_same_mask,
               self.eval_limit) < 0:
            raise ConfigError("segmentor_pretrain_iters, eval_z_samples, eval_seed, eval_same_mask and eval_limit: "
                              "expected integers >= 0")
        if self.segmentor_pretrain_iters and self.segmentor_from:
            raise ConfigError("segmentor_from and segmentor_pretrain_iters: give one way to pre-train S, not both")
        if self.style_encoder and not (self.lambda_rec > 0 or self.lambda_texture > 0):
            raise ConfigError("style_encoder trains E through the paired terms: give lambda_rec or lambda_texture > 0")
        if self.segmentor_pretrain_iters >= self.iters:
            raise ConfigError(f"segmentor_pretrain_iters ({self.segmentor_pretrain_iters}) must be below "
                              f"iters ({self.iters}), or nothing but S is trained")

    def net_config(self) -> SCGANNetConfig:
        names, _, _ = class_grouping(self.classes)
        return SCGANNetConfig(resolution=self.data.resolution, n_classes=len(names), n_attrs=N_ATTRS,
                              nz=self.nz, width=self.width, d_max_channels=self.d_max_channels,
                              seg_blocks=self.seg_blocks, bottleneck=self.bottleneck,
                              mask_skips=self.mask_skips, generator=self.generator,
                              spade_channels=self.spade_channels, style_dim=self.style_dim,
                              style_encoder=self.style_encoder)


def _saved_nets(source: str, names: tuple[str, ...], option: str) -> tuple[Path, dict[str, Any]]:
    """trainer.checkpoint.saved_nets with its error reported against the config option that named it."""
    from trainer.checkpoint import CheckpointError, saved_nets

    try:
        return saved_nets(source, names)
    except CheckpointError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def _set_requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


def texture_energy(image: torch.Tensor, window: int) -> torch.Tensor:
    """Mean absolute finite difference in each window x window block, across columns (channel 0: vertical
    strands) and across rows (channel 1), all colour channels together: how much fine structure a region
    holds and which way it runs (hair strands vs striped cloth), wherever exactly it lies."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs()
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
    energy = torch.cat([F.pad(dx, (0, 1)).mean(1, keepdim=True), F.pad(dy, (0, 0, 0, 1)).mean(1, keepdim=True)], 1)
    return F.avg_pool2d(energy, window)


SMALL_PARTS = ("l_brow", "r_brow", "l_eye", "r_eye", "nose", "mouth", "u_lip", "l_lip")


def part_l1(fake: torch.Tensor, real: torch.Tensor, parts: torch.Tensor) -> torch.Tensor:
    """Mean |fake - real| over the pixels where `parts` (N, H, W, 0/1) is set: the small parts are a few
    percent of a face, so the whole-image L1 hardly asks for their colour (grey lips read as skin)."""
    weight = parts.unsqueeze(1).to(fake.dtype)
    return ((fake - real).abs() * weight).sum() / (weight.sum() * fake.shape[1]).clamp_min(1.0)


@register_method
class SCGANMethod(Method):
    name = "scgan"
    config_class = SCGANConfig
    cfg: SCGANConfig

    def __init__(self, cfg: SCGANConfig, device: torch.device):
        super().__init__(cfg, device)
        self.net_cfg = cfg.net_config()
        self.class_names, self.class_members, lut = class_grouping(cfg.classes)
        self.n_classes = len(self.class_names)
        self.lut = torch.as_tensor(lut, dtype=torch.long)
        first = [PARSE_CLASSES.index(m[0]) for m in self.class_members]
        self.palette = torch.tensor(PALETTE[first].tolist(), dtype=torch.float32) / 127.5 - 1.0
        # running attribute counts of the training batches (export: the default of unset attributes)
        self.attr_sum = torch.zeros(N_ATTRS, dtype=torch.float64)
        self.attr_count = 0
        self.last_g: dict[str, float] = {}
        self._segmentor_loaded = False
        self.init_report = ""

    # --- set-up ---------------------------------------------------------------------------------
    def build_networks(self) -> dict[str, nn.Module]:
        return build_scgan_nets(self.net_cfg)

    def trainable(self) -> list[str]:
        names = ["generator", "discriminator", *(["encoder"] if self.cfg.style_encoder else [])]
        return names if self.cfg.segmentor_from else [*names, "segmentor"]

    def compilable(self) -> list[str]:
        return ["generator", "segmentor"]          # the critic needs double backward (gradient penalty)

    def state_dict(self) -> dict[str, Any]:
        return {"attr_sum": self.attr_sum.clone(), "attr_count": int(self.attr_count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "attr_sum" in state:
            self.attr_sum = state["attr_sum"].detach().cpu().double().clone()
            self.attr_count = int(state.get("attr_count", 0))

    def _load_segmentor(self) -> None:
        """§5.7: S from another scgan run's latest checkpoint (or a checkpoint file), then frozen."""
        ckpt, saved = _saved_nets(self.cfg.segmentor_from, ("segmentor",), "segmentor_from")
        weights = saved["segmentor"]
        try:
            unwrap(self.nets["segmentor"]).load_state_dict(weights)
        except RuntimeError as exc:
            raise ConfigError(f"segmentor_from: the segmentor of {ckpt} does not fit this config (classes "
                              f"{self.cfg.classes!r}, width {self.cfg.width}): {str(exc).splitlines()[0]}") from None

    def _init_from(self) -> None:
        """Warm start: copy into G and D every tensor of another run's checkpoint with the same name and shape."""
        source = Path(self.cfg.init_from)
        if source.suffix == ".onnx" or (source / "manifest.json").is_file():
            ckpt, sources = self._exported_generator(source)
        else:
            ckpt, sources = _saved_nets(self.cfg.init_from, ("generator", "discriminator"), "init_from")
        from trainer.checkpoint import copy_fitting_tensors

        copied, total = copy_fitting_tensors(self.nets, sources)
        if copied == 0:
            raise ConfigError(f"init_from: no tensor of {ckpt} fits this config's networks")
        which = "/".join({"generator": "G", "discriminator": "D"}[name] for name in sources)
        self.init_report = f"init_from {ckpt}: {copied} of {total} {which} tensors copied"
        print(self.init_report, file=sys.stderr, flush=True)

    @staticmethod
    def _exported_generator(source: Path) -> tuple[Path, dict[str, dict[str, torch.Tensor]]]:
        """G's tensors from an exported scgan model (an .onnx file or the scgan model of a pack): the
        bundled model is a starting point once its run folder is gone. D, S and E start fresh."""
        from trainer.onnx_weights import OnnxWeightsError, onnx_state_dict, pack_model_file

        try:
            path = pack_model_file(source, "scgan")
            return path, {"generator": onnx_state_dict(path, "generator.")}
        except OnnxWeightsError as exc:
            raise ConfigError(f"init_from: {exc}") from None

    # --- data -----------------------------------------------------------------------------------
    def group(self, mask: torch.Tensor) -> torch.Tensor:
        """(N, H, W) parse-class indices -> indices of this run's classes (long, on the mask's device)."""
        mask = mask.long()
        if mask.numel() and (int(mask.min()) < 0 or int(mask.max()) >= len(PARSE_CLASSES)):
            raise ValueError(f"mask holds class indices outside 0..{len(PARSE_CLASSES) - 1}")
        return self.lut.to(mask.device)[mask]

    def part_mask(self, labels: torch.Tensor) -> torch.Tensor:
        """(N, H, W) 0/1 of the pixels whose class holds one of SMALL_PARTS (labels in this run's classes)."""
        small = [i for i, members in enumerate(self.class_members) if set(members) & set(SMALL_PARTS)]
        return torch.isin(labels, torch.tensor(small, device=labels.device))

    def onehot(self, labels: torch.Tensor) -> torch.Tensor:
        """(N, H, W) grouped indices -> float32 (N, C, H, W) one-hot."""
        return F.one_hot(labels, self.n_classes).permute(0, 3, 1, 2).float()

    def _real(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        missing = [k for k in ("image", "mask", "attrs") if k not in batch]
        if missing:
            raise KeyError(f"SCGAN needs images, masks and attribute labels; this dataset's samples have no "
                           f"{missing}")
        image = batch["image"].to(self.device, non_blocking=True).float()
        labels = self.group(batch["mask"].to(self.device, non_blocking=True))
        attrs = batch["attrs"].to(self.device, non_blocking=True).float()[:, :N_ATTRS]
        if attrs.shape[1] != N_ATTRS:
            raise ValueError(f"attrs: expected at least {N_ATTRS} entries (ATTRIBUTES order), got {attrs.shape[1]}")
        return image, labels, attrs

    def segmentor_frozen(self, step: int) -> bool:
        p = self.cfg.segmentor_pretrain_iters
        return bool(self.cfg.segmentor_from) or (p > 0 and step >= p)

    # --- training -------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        cfg = self.cfg
        if cfg.init_from and step == 0:
            self._init_from()
        if cfg.segmentor_from and not self._segmentor_loaded:
            if step == 0:               # a resumed run has the (frozen) S in its own checkpoint
                self._load_segmentor()
            _set_requires_grad(unwrap(self.nets["segmentor"]), False)
            self._segmentor_loaded = True
        image, labels, c = self._real(batch)
        self.attr_sum += c.detach().double().sum(0).cpu()
        self.attr_count += c.shape[0]
        seg_net = self.nets["segmentor"]
        pretrain = step < cfg.segmentor_pretrain_iters
        frozen = self.segmentor_frozen(step)

        if pretrain:
            loss_s = self._segmentor_step(image, labels)
            return {"s_seg": loss_s}

        gen, disc = self.nets["generator"], self.nets["discriminator"]
        n = image.shape[0]
        if cfg.style_encoder:
            # conditional VAE (SPADE's multi-modal variant): the fakes are G(E(x), c, s) of the real triple
            target = labels
            with torch.no_grad(), self.autocast():
                z = self._encode(image)[0]
        else:
            z = torch.randn(n, cfg.nz, device=self.device)
            target = labels[torch.randperm(n, device=self.device)]
        s_t = self.onehot(target)

        # D: -L_adv + λ_cls L_cls^real (lines 8-16)
        with torch.no_grad(), self.autocast():
            fake = unwrap(gen)(z, c, s_t).float()
        x_hat = interpolates(image, fake)
        with self.autocast():          # one critic pass over real, fake and interpolated images
            adv, cls = disc(torch.cat([image, fake, x_hat]))
        real_adv, fake_adv, hat_adv = adv.float().split(n)
        d_real, d_fake = real_adv.mean(), fake_adv.mean()
        gp = gradient_penalty(hat_adv, x_hat)
        d_cls = attribute_bce(cls[:n], c)
        loss_d = d_fake - d_real + cfg.lambda_gp * gp + cfg.lambda_cls * d_cls
        opt_d = self.optimizers["discriminator"]
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = {"d_loss": float(loss_d.detach()), "d_wdist": float((d_real - d_fake).detach()),
               "d_gp": float(gp.detach()), "d_cls": float(d_cls.detach())}

        # S: L_seg^real (lines 17-18)
        if not frozen:
            out["s_seg"] = self._segmentor_step(image, labels)
        else:
            _set_requires_grad(unwrap(seg_net), False)

        # G every n_repeat-th iteration (lines 20-27), on the same z, c, s_t
        g_index = step - cfg.segmentor_pretrain_iters
        if (g_index + 1) % cfg.n_repeat == 0:
            plain_d, plain_s = unwrap(disc), unwrap(seg_net)
            _set_requires_grad(plain_d, False)
            _set_requires_grad(plain_s, False)
            try:
                g_kl = None
                if cfg.style_encoder:       # a fresh draw from E(x), with gradients into E
                    z, g_kl = self._encode(image)
                with self.autocast():
                    fake = gen(z, c, s_t)
                    adv, cls = plain_d(fake)
                    seg = plain_s(fake)
                g_adv = -adv.float().mean()
                g_cls = attribute_bce(cls, c)
                g_seg = F.cross_entropy(seg.float(), target)
                loss_g = g_adv + cfg.lambda_cls * g_cls + cfg.lambda_seg * g_seg
                g_rec = g_tex = g_div = g_parts = None
                if g_kl is not None:
                    loss_g = loss_g + cfg.lambda_kl * g_kl
                if cfg.lambda_div > 0:      # mode seeking (MSGAN): |G(z1) - G(z2)| / |z1 - z2| kept large
                    z2 = torch.randn_like(z)
                    with self.autocast():
                        fake2 = gen(z2, c, s_t).float()
                    ratio = (fake.float() - fake2).abs().mean() / (z - z2).abs().mean()
                    g_div = 1.0 / (ratio + 1e-5)
                    loss_g = loss_g + cfg.lambda_div * g_div
                if cfg.lambda_rec > 0 or cfg.lambda_texture > 0 or cfg.lambda_parts > 0:   # the real triple: G(z, c, s) vs x
                    if cfg.style_encoder:     # the pass above is already the real triple's
                        paired = fake.float()
                    else:                     # the paper's G: the batch's z on the unshuffled masks
                        with self.autocast():
                            paired = gen(z, c, self.onehot(labels)).float()
                    g_rec = (paired - image).abs().mean()
                    loss_g = loss_g + cfg.lambda_rec * g_rec
                    if cfg.lambda_parts > 0:
                        g_parts = part_l1(paired, image, self.part_mask(labels))
                        loss_g = loss_g + cfg.lambda_parts * g_parts
                    if cfg.lambda_texture > 0:
                        window = max(2, image.shape[-1] // 16)
                        dy, dx = ((int(v) for v in torch.randint(0, window, (2,))) if cfg.texture_jitter
                                  else (0, 0))
                        a, b = paired[..., dy:, dx:], image[..., dy:, dx:]
                        gap = texture_energy(a, window) - texture_energy(b, window)
                        g_tex = gap.abs().sum(1).mean()
                        loss_g = loss_g + cfg.lambda_texture * g_tex
                opts = [self.optimizers[k] for k in ("generator", "encoder") if k in self.optimizers]
                for opt in opts:
                    opt.zero_grad(set_to_none=True)
                loss_g.backward()
                for opt in opts:
                    opt.step()
            finally:
                _set_requires_grad(plain_d, True)
                _set_requires_grad(plain_s, not frozen)
            self.last_g = {"g_loss": float(loss_g.detach()), "g_adv": float(g_adv.detach()),
                           "g_cls": float(g_cls.detach()), "g_seg": float(g_seg.detach())}
            if g_rec is not None:
                self.last_g["g_rec"] = float(g_rec.detach())
            for key, value in (("g_tex", g_tex), ("g_kl", g_kl), ("g_div", g_div), ("g_parts", g_parts)):
                if value is not None:
                    self.last_g[key] = float(value.detach())
        out.update(self.last_g)
        return out

    def _encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z = μ + σ·ε drawn from E(x), KL(N(μ, σ²) || N(0, 1)) summed over z and averaged over the batch)."""
        with self.autocast():
            mu, logvar = self.nets["encoder"](image)
        mu, logvar = mu.float(), logvar.float()
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return z, -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()

    def _segmentor_step(self, image: torch.Tensor, labels: torch.Tensor) -> float:
        seg_net = self.nets["segmentor"]
        with self.autocast():
            logits = seg_net(image)
        loss = F.cross_entropy(logits.float(), labels)
        opt = self.optimizers["segmentor"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    # --- inference helpers ----------------------------------------------------------------------
    def latents(self, n: int, seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(int(seed))
        return torch.randn(n, self.cfg.nz, generator=g).to(self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, attrs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gen = unwrap(self.nets["generator"])
        with self.autocast():
            return gen(z, attrs, self.onehot(labels)).float()

    @torch.no_grad()
    def segment(self, image: torch.Tensor) -> torch.Tensor:
        """This run's S: grouped class indices (N, H, W)."""
        with self.autocast():
            return unwrap(self.nets["segmentor"])(image).float().argmax(dim=1)

    def colorize(self, labels: torch.Tensor) -> torch.Tensor:
        return self.palette.to(labels.device)[labels].permute(0, 3, 1, 2)

    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Five rows: real faces; their masks (this run's classes); G with their masks and attributes
        and two fixed latents; S on the first of those."""
        image, labels, c = self._real(batch)
        n = image.shape[0]
        fake1 = self.generate(self.latents(n, self.cfg.eval_seed), c, labels)
        fake2 = self.generate(self.latents(n, self.cfg.eval_seed + 1), c, labels)
        return torch.cat([image.clamp(-1, 1), self.colorize(labels), fake1, fake2,
                          self.colorize(self.segment(fake1))], dim=0)

    # --- evaluation -----------------------------------------------------------------------------
    def _load_run(self, run_dir: str, method_name: str, what: str) -> Any:
        from trainer.checkpoint import CheckpointError, load_trained_method

        try:
            method, _ = load_trained_method(run_dir, self.device)
        except (CheckpointError, ConfigError) as exc:
            raise ConfigError(f"{what}: cannot load {run_dir!r}: {exc}") from None
        if method.cfg.method != method_name:
            raise ConfigError(f"{what}: {run_dir!r} is a {method.cfg.method!r} run, expected {method_name!r}")
        return method

    def _judge(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """image (N, 3, R, R) -> grouped labels (N, R, R): this run's S, or the `spatial_judge` parser."""
        if not self.cfg.spatial_judge:
            return self.segment
        from trainer.pack_parser import PackParser, PackParserError, is_pack

        if is_pack(self.cfg.spatial_judge):          # a model pack's parse model (e.g. the bundled parser)
            try:
                pack_parser = PackParser(self.cfg.spatial_judge, threads=torch.get_num_threads())
            except PackParserError as exc:
                raise ConfigError(f"spatial_judge: {exc}") from None
            return lambda image: self.group(pack_parser(image).argmax(dim=1))
        parser = self._load_run(self.cfg.spatial_judge, "parser", "spatial_judge")
        res = parser.cfg.data.resolution

        def judge(image: torch.Tensor) -> torch.Tensor:
            r = image.shape[-1]
            x = image if res == r else F.interpolate(image, size=(res, res), mode="bilinear", align_corners=False)
            labels = parser.predict(x).to(self.device)
            if res != r:
                labels = F.interpolate(labels[:, None].float(), size=(r, r), mode="nearest")[:, 0].long()
            return self.group(labels)
        return judge

    def _evaluator(self) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None:
        """image -> (logits of the 13 ATTRIBUTES, features) by the `evaluator` classifier run, or None."""
        if not self.cfg.evaluator:
            return None
        from trainer.pack_parser import PackParserError, is_pack

        if is_pack(self.cfg.evaluator):            # a model pack's attribute classifier (ONNX Runtime)
            from trainer.pack_classifier import PackAttributeClassifier

            try:
                return PackAttributeClassifier(self.cfg.evaluator, threads=torch.get_num_threads())
            except PackParserError as exc:
                raise ConfigError(f"evaluator: {exc}") from None
        clf = self._load_run(self.cfg.evaluator, "classifier", "evaluator")
        if clf.cfg.task != "attributes":
            raise ConfigError(f"evaluator: {self.cfg.evaluator!r} classifies {clf.cfg.task!r}, not attributes")
        res = clf.cfg.data.resolution

        def evaluate(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if image.shape[-1] != res:
                image = F.interpolate(image, size=(res, res), mode="bilinear", align_corners=False)
            logits, features = clf.predict(image)
            return logits[:, :N_ATTRS].to(self.device), features.to(self.device)
        return evaluate

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """Table 1's spatial consistency (score, floor, ceiling), attribute accuracy (as labelled and
        with each attribute flipped), and diversity across z; see the module docstring."""
        cfg = self.cfg
        judge, evaluator = self._judge(), self._evaluator()
        score, ceiling = SpatialConsistency(self.n_classes), SpatialConsistency(self.n_classes)
        floor, flipped_score = SpatialConsistency(), SpatialConsistency()
        attr_fake, attr_real = MultiLabelAccuracy(N_ATTRS), MultiLabelAccuracy(N_ATTRS)
        flip_hits = np.zeros(N_ATTRS)
        flip_count = 0
        div_l1, real_l1, div_feat, real_feat = (MeanAccumulator() for _ in range(4))
        k = cfg.eval_z_samples
        carry: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None = None
        seen = 0
        for b, batch in enumerate(loader):
            if cfg.eval_limit and seen >= cfg.eval_limit:
                break
            image, labels, c = self._real(batch)
            n = image.shape[0]
            seen += n
            z = self.latents(n, cfg.eval_seed + 7919 * b)
            pred_real = judge(image)
            ceiling.update(pred_real, labels)
            fake = self.generate(z, c, labels)
            score.update(judge(fake), labels)
            feats_real = None
            if evaluator is not None:
                logits, _ = evaluator(fake)
                attr_fake.update(logits > 0, c)
                logits_real, feats_real = evaluator(image)
                attr_real.update(logits_real > 0, c)
            # floor and the real-pair references: each image against the previous sample of the stream
            prev_labels = torch.cat([carry[0], labels[:-1]]) if carry else labels[:-1]
            prev_image = torch.cat([carry[1], image[:-1]]) if carry else image[:-1]
            cur = slice(0, n) if carry else slice(1, n)
            floor.update(pred_real[cur], prev_labels)
            real_l1.update(mean_pairwise_l1(torch.stack([image[cur], prev_image])), prev_image.shape[0])
            if feats_real is not None:
                prev_f = torch.cat([carry[2], feats_real[:-1]]) if carry else feats_real[:-1]
                real_feat.update(mean_pairwise_feature_distance(torch.stack([feats_real[cur], prev_f])),
                                 prev_f.shape[0])
            carry = (labels[-1:], image[-1:], feats_real[-1:] if feats_real is not None else None)
            if cfg.eval_flip:
                for j in range(N_ATTRS):
                    c_flip = c.clone()
                    c_flip[:, j] = 1 - c_flip[:, j]
                    fake_j = self.generate(z, c_flip, labels)
                    flipped_score.update(judge(fake_j), labels)
                    if evaluator is not None:
                        logits_j, _ = evaluator(fake_j)
                        flip_hits[j] += float(((logits_j[:, j] > 0) == (c_flip[:, j] > 0.5)).sum())
                flip_count += n
            if k >= 2:
                fakes = [fake] + [self.generate(self.latents(n, cfg.eval_seed + 7919 * b + 104729 * i), c, labels)
                                  for i in range(1, k)]
                div_l1.update(mean_pairwise_l1(torch.stack(fakes)), n)
                if evaluator is not None:
                    feats = torch.stack([evaluator(f)[1] for f in fakes])
                    div_feat.update(mean_pairwise_feature_distance(feats), n)

        out: dict[str, float] = {"spatial_acc": score.value(), "spatial_floor": floor.value(),
                                 "spatial_ceiling": ceiling.value()}
        # per class: how much of it the judge reads back from the faces and from the real images
        for key, acc in (("spatial_recall", score), ("spatial_ceiling_recall", ceiling)):
            out.update({f"{key}/{name}": float(v) for name, v in zip(self.class_names, acc.class_recall(),
                                                                     strict=True) if v == v})
        for key, acc in (("spatial_iou", score), ("spatial_ceiling_iou", ceiling)):
            out.update({f"{key}/{name}": float(v) for name, v in zip(self.class_names, acc.class_iou(),
                                                                     strict=True) if v == v})
        if cfg.eval_flip:
            out["spatial_acc_attrs_flipped"] = flipped_score.value()
        if evaluator is not None:
            out["attr_acc"] = attr_fake.mean()
            out["attr_acc_real"] = attr_real.mean()
            out.update({f"attr_acc/{a}": float(v) for a, v in zip(ATTRIBUTES, attr_fake.per_label(), strict=True)
                        if v == v})
            if cfg.eval_flip and flip_count:
                per = flip_hits / flip_count
                out["attr_flip_acc"] = float(per.mean())
                out.update({f"attr_flip_acc/{a}": float(v) for a, v in zip(ATTRIBUTES, per, strict=True)})
        if k >= 2:
            out["diversity_l1"] = div_l1.value()
            if evaluator is not None:
                out["diversity_feat"] = div_feat.value()
        out["real_pairs_l1"] = real_l1.value()
        if evaluator is not None:
            out["real_pairs_feat"] = real_feat.value()
        same = self._same_mask_reference(loader)
        if same is not None:
            out["real_same_mask_l1"] = same
        return out

    def _same_mask_reference(self, loader: torch.utils.data.DataLoader) -> float | None:
        """On native SynthFaces: the distance between two real renders of one mask (the face drawn again
        with another face's scene and hair shades; trainer/data/synthfaces/restyle.py), over up to
        `eval_same_mask` samples, the reference for diversity across z with the mask fixed."""
        dataset = getattr(loader, "dataset", None)
        root = getattr(dataset, "root", None)
        if self.cfg.eval_same_mask <= 0 or root is None or not (Path(root) / "meta.json").is_file():
            return None
        from trainer.data.synthfaces.restyle import same_mask_l1

        start = int(getattr(dataset, "start", 0))
        count = min(len(dataset), self.cfg.eval_same_mask, self.cfg.eval_limit or len(dataset))
        return same_mask_l1(root, list(range(start, start + count)), self.cfg.data.resolution)

    # --- export ---------------------------------------------------------------------------------
    def attribute_defaults(self) -> list[float]:
        """The training-set mode of each attribute (0 or 1); 0 for all before any training batch."""
        if not self.attr_count:
            return [0.0] * N_ATTRS
        return [float(v > 0.5) for v in (self.attr_sum / self.attr_count).tolist()]

    def export_specs(self) -> list[ExportSpec]:
        net = copy.deepcopy(unwrap(self.nets["generator"])).float().cpu().eval()
        res = self.cfg.data.resolution
        example_labels = torch.zeros(1, res, res, dtype=torch.long)
        example_labels[:, res // 4: 3 * res // 4, res // 4: 3 * res // 4] = min(1, self.n_classes - 1)

        def from_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            labels = self.group(batch["mask"].cpu())
            n = labels.shape[0]
            z = torch.randn(n, self.cfg.nz, generator=torch.Generator().manual_seed(self.cfg.eval_seed))
            return {"mask": self.onehot(labels), "z": z, "attrs": batch["attrs"].float()[:, :N_ATTRS].cpu()}

        return [ExportSpec(
            name="scgan",
            task="synthesize",
            module=SynthesizeExport(net).eval(),
            example_inputs={"mask": self.onehot(example_labels), "z": torch.zeros(1, self.cfg.nz),
                            "attrs": torch.zeros(1, N_ATTRS)},
            output_names=["image"],
            backbone="scgan",
            resolution=res,
            classes=list(self.class_names),
            attributes=list(ATTRIBUTES),
            extra={
                "nz": self.cfg.nz,
                "z_distribution": "standard normal",
                "generator": self.cfg.generator,
                "class_grouping": self.cfg.classes,
                "class_members": {g: m for g, m in zip(self.class_names, self.class_members, strict=True)},
                "attribute_coding": "0 = absent, 1 = present (training labels); values between or beyond "
                                    "interpolate or exaggerate",
                "attribute_defaults": dict(zip(ATTRIBUTES, self.attribute_defaults(), strict=True)),
            },
            inputs_from_batch=from_batch,
        )]
