"""Method `maggan`: MagGAN (shared/papers/maggan.md) — STGAN with masks of a frozen face parser.

- the mask-guided reconstruction loss (eq. 3) on the preserve mask M(att_diff, x) of eqs. 4-5, from the
  attribute-part matrices AR+ / AR- (faceeditor/core/data/attribute_parts.json, a file a user can edit);
- mask-guided conditioning (eq. 12): G reads the map att_diff_i x M_i^{sgn} instead of the tiled vector;
- SPADE de-normalisation in the decoder (`spade`), the blending trick of eq. 13 as an option (`blend`);
- L_G = L_adv + λ_1 L_rec + λ_2 L_cls + λ_3 L_mre with the paper's λ_1 = 100, λ_2 = 10 (eq. 11);
- `d_levels` > 1: the multi-level patch critics of §3.4 (trainer/nets/patch_discriminators.py), level 1 on
  the whole image at resolution / 2^(d_levels-1), finer levels on patches of that size; the critic loss is
  eq. 14 (the mean over levels of each level's WGAN-GP + classification loss) and G's adversarial and
  classification terms are averaged over the levels likewise. 1 = STGAN's single critic.

The Table 3 variants are configurations: `--lambda-mre 0` (w/o L_mre), `--no-spade` (w/o SP),
`--no-mask-conditioning` (STGAN w/ L_mre). The frozen parser P is a parser run folder or, since only the
parse probabilities of the input images are needed, a model pack whose `parse` model runs in ONNX Runtime
(the demo pack's parser by default: the app edits with the parser it ships). The export takes the parse
probabilities as an input, `masks` (N, 19, H, W), so the app can pass its parser's or the user's painted
mask, and carries the region computation in its graph.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from faceeditor.core.attribute_parts import load_attribute_parts
from faceeditor.core.labels import ATTRIBUTES, NUM_CLASSES, PARSE_CLASSES
from trainer.config import ConfigError
from trainer.distributed import unwrap
from trainer.losses.classification import attribute_bce
from trainer.losses.mask_guided import (
    AttributeRegions,
    blend,
    mask_guided_condition,
    mask_guided_reconstruction,
    preserve_mask,
)
from trainer.losses.wgan_gp import generator_adversarial, gradient_penalty, interpolates, wasserstein_distance
from trainer.methods.base import ExportSpec, register_method
from trainer.methods.editing import N_ATTRS, EditBatch, EditingMethod, flip_target
from trainer.methods.stgan import STGANConfig
from trainer.nets.patch_discriminators import MultiLevelPatchDiscriminator

# The bundled demo pack, written relative to the repository (configs are saved as JSON, so no absolute path).
DEMO_PACK = "faceeditor/resources/models/synthfaces-demo"
# Where configs saved before the pack moved into the package name it.
_MOVED_PARSERS = {"resources/models/synthfaces-demo": DEMO_PACK}


@dataclass
class MagGANConfig(STGANConfig):
    method: str = "maggan"
    segments: str = "parse19"
    parser: str = DEMO_PACK              # a parser run folder or a model pack with a parse model
    spade: bool = True
    mask_conditioning: bool = True       # eq. 12 (False: the tiled y_diff of STGAN)
    blend: bool = False                  # eq. 13, the blending trick (the paper leaves it out of MagGAN)
    lambda_mre: float = 100.0            # λ_3 of eq. 11 (the paper varies it; 0 = "MagGAN w/o L_mre")
    attribute_parts: str = ""            # an edited copy of the AR tables; empty = the bundled file
    d_levels: int = 1                    # §3.4: multi-level patch critics (1 = the single STGAN critic)
    needs_parser: ClassVar[bool] = True

    def check(self) -> None:
        super().check()
        if self.segments != "parse19":
            raise ConfigError("segments: MagGAN reads the 19 parse classes (parse19)")
        if self.d_levels < 1:
            raise ConfigError(f"d_levels: expected a positive integer, got {self.d_levels!r}")
        base = self.data.resolution // 2 ** (self.d_levels - 1)
        if self.data.resolution % 2 ** (self.d_levels - 1) or base % 2 ** self.d_layers:
            raise ConfigError(f"d_levels: the critics' base size data.resolution / 2**(d_levels - 1) must be a "
                              f"whole multiple of 2**d_layers = {2 ** self.d_layers} (resolution "
                              f"{self.data.resolution}, d_levels {self.d_levels})")
        if self.lambda_mre < 0:
            raise ConfigError(f"lambda_mre: expected a value >= 0, got {self.lambda_mre}")
        try:
            load_attribute_parts(self.attribute_parts or None)
        except ValueError as exc:
            raise ConfigError(f"attribute_parts: {exc}") from None


class MagGANExport(nn.Module):
    """What the app runs: (image, y_diff, masks) -> edited, where masks are the parse probabilities of the
    image (N, 19, H, W): the parser's, or a painted mask as one-hot."""

    def __init__(self, g: nn.Module, regions: AttributeRegions, mask_conditioning: bool, use_blend: bool):
        super().__init__()
        self.g, self.regions = g, regions
        self.mask_conditioning, self.use_blend = mask_conditioning, use_blend

    def forward(self, image: torch.Tensor, y_diff: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        maps = self.regions(masks)
        cond = mask_guided_condition(y_diff, maps) if self.mask_conditioning else y_diff
        out = self.g(image, cond)
        return blend(image, out, preserve_mask(y_diff, maps)) if self.use_blend else out


@register_method
class MagGANMethod(EditingMethod):
    name = "maggan"
    config_class = MagGANConfig
    cfg: MagGANConfig

    def __init__(self, cfg: MagGANConfig, device: torch.device):
        super().__init__(cfg, device)
        self.w["lambda_mre"] = float(cfg.lambda_mre)
        self.tables = load_attribute_parts(cfg.attribute_parts or None)
        self.regions = AttributeRegions(self.tables).to(device)
        self._pack_parser = None
        self._maps: tuple[torch.Tensor, torch.Tensor] | None = None

    # --- the frozen parser: a run folder (nets["P"]) or a pack (ONNX Runtime) -----------------------
    def _parser_source(self) -> Path:
        p = Path(_MOVED_PARSERS.get(self.cfg.parser, self.cfg.parser))
        if not p.is_absolute() and not p.exists():
            p = Path(__file__).resolve().parents[2] / p      # the repository's demo pack from anywhere
        return p

    def build_networks(self) -> dict[str, nn.Module]:
        from trainer.pack_parser import PackParser, PackParserError, is_pack

        source = self._parser_source()
        nets: dict[str, nn.Module] = {"G": self._generator(3, 3, "tanh"), "D": self._multi_critic()}
        if is_pack(source):
            try:
                self._pack_parser = PackParser(source)
            except PackParserError as exc:
                raise ConfigError(f"parser: {exc}") from None
            local = Path(self.cfg.run_dir) / "parser.source.json"
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(json.dumps({"pack": str(source), "model": self._pack_parser.entry.name,
                                         "sha256": self._pack_parser.entry.sha256}, indent=2) + "\n",
                             encoding="utf-8")
        else:
            nets["P"] = self._parser_net()
        return nets

    def _multi_critic(self) -> nn.Module:
        """STGAN's critic, or with d_levels > 1 the multi-level patch critics (each as STGAN's at the base)."""
        c = self.cfg
        if c.d_levels == 1:
            return self._critic(3)
        return MultiLevelPatchDiscriminator(c.data.resolution, c.data.resolution // 2 ** (c.d_levels - 1), N_ATTRS,
                                            3, c.d_width, c.g_max_width, c.d_layers, c.fc_width)

    # --- eq. 14: the critics' loss averaged over the levels ------------------------------------------
    def d_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        if self.cfg.d_levels == 1:
            return super().d_loss(b, out)
        with torch.no_grad():
            x_fake = self.generate(self.nets["G"], b.g_in, b.y_diff, b.s_in)
        D = self.nets["D"]
        multi = unwrap(D)
        offsets = multi.random_offsets(b.x.shape[0])
        real_v, fake_v = multi.level_views(b.x, offsets), multi.level_views(x_fake, offsets)
        hat_v = [interpolates(r, f) for r, f in zip(real_v, fake_v, strict=True)]
        w = self.w
        total = 0.0
        logs: dict[str, list[float]] = {"wdist": [], "gp": [], "cls": []}
        levels = zip(D(real_v), D(fake_v), D(hat_v), hat_v, strict=True)
        for i, ((a_r, c_r), (a_f, _), (a_h, _), x_hat) in enumerate(levels):
            wd, gp, l_cls = wasserstein_distance(a_r, a_f), gradient_penalty(a_h, x_hat), attribute_bce(c_r, b.y_src)
            for k, v in (("wdist", wd), ("gp", gp), ("cls", l_cls)):
                out[f"D{i + 1}/{k}"] = float(v.detach())
                logs[k].append(out[f"D{i + 1}/{k}"])
            total = total + (-wd + w["lambda_gp"] * gp + w["lambda_cls"] * l_cls)
        out.update({f"D/{k}": sum(v) / len(v) for k, v in logs.items()})
        return total / len(real_v)

    def fool_critic(self, D: nn.Module, x_fake: torch.Tensor, y_trg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cfg.d_levels == 1:
            return super().fool_critic(D, x_fake, y_trg)
        outs = D(x_fake)              # fresh crops: G is judged on patches it cannot aim at
        l_adv = sum(generator_adversarial(a) for a, _ in outs) / len(outs)
        l_cls = sum(attribute_bce(c, y_trg) for _, c in outs) / len(outs)
        return l_adv, l_cls

    @torch.no_grad()
    def source_mask(self, x: torch.Tensor) -> torch.Tensor:
        """The parse probabilities (N, 19, H, W) of x (soft masks, as the paper)."""
        if self._pack_parser is not None:
            return self._pack_parser(x).to(x.device)
        return self.nets["P"](x)

    # --- G with mask guidance ----------------------------------------------------------------------
    @torch.no_grad()
    def influence_maps(self, s_in: torch.Tensor) -> torch.Tensor:
        """The regions (N, 2, 13, H, W) of a parse; the last batch's are kept (a step asks 3-4 times)."""
        if self._maps is None or self._maps[0] is not s_in:
            self._maps = (s_in, self.regions(s_in))
        return self._maps[1]

    def generate(self, G: nn.Module, g_in: torch.Tensor, y_diff: torch.Tensor,
                 s_in: torch.Tensor | None) -> torch.Tensor:
        maps = self.influence_maps(s_in)
        cond = mask_guided_condition(y_diff, maps) if self.cfg.mask_conditioning else y_diff
        out = G(g_in, cond)
        return blend(g_in, out, preserve_mask(y_diff, maps)) if self.cfg.blend else out

    def reconstruct(self, G: nn.Module, g_in: torch.Tensor, s_in: torch.Tensor | None) -> torch.Tensor:
        """G's own output for y_diff = 0, before any blending: with the blending trick the blended
        reconstruction is the input by construction, and the loss must still teach G to copy what it
        does not change inside the regions."""
        zeros = torch.zeros(g_in.shape[0], N_ATTRS, device=g_in.device, dtype=g_in.dtype)
        cond = (torch.zeros(g_in.shape[0], N_ATTRS, *g_in.shape[2:], device=g_in.device, dtype=g_in.dtype)
                if self.cfg.mask_conditioning else zeros)
        return G(g_in, cond)

    def g_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        loss = super().g_loss(b, out)
        if self.w["lambda_mre"] <= 0:
            return loss
        keep = preserve_mask(b.y_diff, self.influence_maps(b.s_in))
        l_mre = mask_guided_reconstruction(b.x, b.x_fake, keep)
        out["G/mre"] = float(l_mre.detach())
        return loss + self.w["lambda_mre"] * l_mre

    # --- export ---------------------------------------------------------------------------------
    def export_module(self) -> nn.Module:
        g = copy.deepcopy(unwrap(self.nets["G"])).float().cpu().eval()
        return MagGANExport(g, AttributeRegions(self.tables), self.cfg.mask_conditioning, self.cfg.blend).eval()

    def export_specs(self) -> list[ExportSpec]:
        return [self._spec(self.cfg.data.resolution)]

    def preview_specs(self, module: nn.Module | None = None) -> list[ExportSpec]:
        """The same weights traced at half the resolution (G is fully convolutional and the attribute
        regions scale with the size): the engine adds its upsampled change to the full-resolution input,
        x + up(G(down x) - down x). benchmarks/edit_latency.py measures it against the full model.
        `module`: another (image, y_diff, masks) -> edited graph to trace in its place (preview_distill's
        student, trained at that size)."""
        spec = self._spec(self.cfg.data.resolution // 2, module)
        spec.name, spec.preview_of, spec.inputs_from_batch = f"{self.name}_preview", self.name, None
        spec.extra["preview"] = "half resolution; its change (edited - image) is added to the input"
        return [spec]

    def _spec(self, res: int, module: nn.Module | None = None) -> ExportSpec:
        c = self.cfg
        gen = torch.Generator().manual_seed(0)
        masks = torch.softmax(torch.randn(1, NUM_CLASSES, res, res, generator=gen) * 3, dim=1)
        example = {"image": torch.rand(1, 3, res, res, generator=gen) * 2 - 1,
                   "y_diff": torch.zeros(1, N_ATTRS), "masks": masks}

        def from_batch(batch: dict[str, Any]) -> dict[str, torch.Tensor]:
            x = batch["image"].float()
            y = batch["attrs"].float()[:, :N_ATTRS]
            return {"image": x, "y_diff": flip_target(y, 0) - y, "masks": self.source_mask(x.to(self.device)).cpu()}

        return ExportSpec(
            name=self.name, task="edit_attributes", module=module if module is not None else self.export_module(),
            example_inputs=example,
            output_names=["edited"], backbone=c.backbone, resolution=res, classes=list(PARSE_CLASSES),
            attributes=list(ATTRIBUTES),
            extra={"y_diff": "y_target - y_source (STGAN); trained on {-1, 0, 1}, sliders may go between "
                             "and beyond", "slider_range": [-2.0, 2.0], "parser_inside": False,
                   "masks_input": "parse probabilities (N, 19, H, W) of the image: the pack's parser, or a "
                                  "painted mask as one-hot; the attribute regions are computed inside",
                   "attribute_parts": self.tables.to_json(), "blend": bool(c.blend)},
            inputs_from_batch=from_batch,
        )
