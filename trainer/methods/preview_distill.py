"""Method `preview_distill`: a preview model taught by the full editor it stands in for.

While a slider is dragged the app shows a preview: an editor run at half the resolution, whose change is
upsampled onto the full-resolution input, x + up(S(down x) − down x) (the engine's rule for a model with
`preview_of`). The editor's own weights traced at 64² (`export --preview`) run 2-4x faster but were never
trained at that size: the bundled MagGAN's preview kept 0.10 less pixel gain than its full pass. Here the
student S starts from the teacher's weights and is trained so that exactly what the app shows while
dragging matches what the teacher gives at full resolution on release:

    L = | clamp(x + up(S(down x, y_diff, down m) − down x)) − clamp(T(x, y_diff, m)) |_1

over the training faces, with m the frozen parser's probabilities of x (the teacher's own parser) and
y_diff one attribute flipped per face (half at full strength, the ground-truth protocol; half at a random
slider value in (0, flip_strength_max], since the app previews every value it passes through). Down is area
averaging and up bilinear, as the engine resizes (faceeditor/engine/processing.py, Engine._resize_probs).

The teacher is a finished run of an editor that has a preview path (Method.preview_specs: maggan); it stays
frozen and is reloaded from its run folder on resume. `faceeditor-train export RUN --out PACK --append`
writes the student as the teacher's preview model (its `preview_of` names the teacher's model), so export
the teacher without `--preview`. evaluate() reports how much of the teacher's change the preview
reproduces (`gain_to_full`: 1 − Σ|P − T| / Σ|x − T|; 1 = the full result, 0 = the input) for the student
and for the teacher's weights traced at the small size (the old preview), on every attribute's flip.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import ATTRIBUTES
from trainer.config import ConfigError, TrainConfig
from trainer.distributed import unwrap
from trainer.methods.base import ExportSpec, Method, register_method
from trainer.metrics.editing_accuracy import flip_target

N_ATTRS = len(ATTRIBUTES)
SCALE = 2          # the preview runs at half the teacher's resolution (the engine's preview_of rule)


@dataclass
class PreviewDistillConfig(TrainConfig):
    method: str = "preview_distill"
    teacher: str = ""                 # run folder of the trained editor (a method with a preview path: maggan)
    teacher_checkpoint: str = ""      # a checkpoint file of that run; empty = its latest
    flip_strength_max: float = 2.0    # the slider's range: half of each batch is flipped at U(0, this]
    batch_size: int = 8
    lr: float = 5e-5
    betas: tuple[float, float] = (0.9, 0.999)
    ckpt_every: int = 500
    sample_every: int = 500
    eval_limit: int = 64              # val faces evaluate() reads (0 = all)

    def check(self) -> None:
        super().check()
        if not self.teacher:
            raise ConfigError("teacher: give the run folder of the editor to distil (e.g. --teacher runs/maggan-128)")
        if not self.flip_strength_max > 0:
            raise ConfigError(f"flip_strength_max: expected a value > 0, got {self.flip_strength_max}")
        if self.eval_limit < 0:
            raise ConfigError(f"eval_limit: expected an integer >= 0, got {self.eval_limit}")


def shrink(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Area averaging by an integer factor (cv2's INTER_AREA for whole factors, the engine's downscale)."""
    return F.avg_pool2d(x, scale) if scale > 1 else x


def preview_result(module: nn.Module, x: torch.Tensor, y_diff: torch.Tensor, masks: torch.Tensor,
                   scale: int) -> torch.Tensor:
    """What the app shows while dragging: x + up(S(down x) − down x), clamped to [-1, 1]."""
    xs = shrink(x, scale)
    change = module(xs, y_diff, shrink(masks, scale)) - xs
    up = F.interpolate(change, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return (x + up).clamp(-1, 1)


@register_method
class PreviewDistillMethod(Method):
    name = "preview_distill"
    config_class = PreviewDistillConfig
    cfg: PreviewDistillConfig

    def __init__(self, cfg: PreviewDistillConfig, device: torch.device):
        super().__init__(cfg, device)
        from trainer.checkpoint import CheckpointError, load_trained_method

        try:
            teacher, state = load_trained_method(cfg.teacher, device, cfg.teacher_checkpoint or None)
        except ConfigError:
            raise
        except (CheckpointError, OSError, ValueError) as exc:
            raise ConfigError(f"teacher: {exc}") from None
        if type(teacher).preview_specs is Method.preview_specs:
            raise ConfigError(f"teacher: method {teacher.cfg.method!r} has no preview path to distil (maggan has)")
        if teacher.cfg.data.resolution != cfg.data.resolution:
            raise ConfigError(f"data.resolution: the teacher was trained at {teacher.cfg.data.resolution}, "
                              f"the config says {cfg.data.resolution}")
        self.teacher_method, self.teacher_step = teacher, int(state["step"])
        self.full = teacher.export_module().to(device).eval()
        for p in self.full.parameters():
            p.requires_grad_(False)

    def build_networks(self) -> dict[str, nn.Module]:
        student = copy.deepcopy(self.full).cpu()
        for p in student.parameters():
            p.requires_grad_(True)
        return {"S": student}

    # --- training -------------------------------------------------------------------------------
    def draw_y_diff(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One attribute flipped per face: the first half at full strength, the rest at U(0, max]."""
        n = y.shape[0]
        ks = torch.randint(0, N_ATTRS, (n,), generator=generator)
        y_diff = torch.stack([flip_target(y[i:i + 1], int(k))[0] - y[i] for i, k in enumerate(ks)])
        strength = torch.ones(n, 1)
        half = n // 2
        strength[half:, 0] = (1.0 - torch.rand(n - half, generator=generator)) * self.cfg.flip_strength_max
        return y_diff * strength.to(y_diff.device)

    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = batch["image"].to(self.device, non_blocking=True).float()
        if "attrs" not in batch:
            raise KeyError("preview_distill needs 'attrs' (the attribute editors' labels); this dataset has none")
        y = batch["attrs"].to(self.device).float()[:, :N_ATTRS]
        return x, y, self.teacher_method.source_mask(x).float()

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        x, y, masks = self._inputs(batch)
        y_diff = self.draw_y_diff(y.cpu()).to(self.device)
        with torch.no_grad():
            target = self.full(x, y_diff, masks).clamp(-1, 1)
        S = self.nets["S"]
        S.train()
        with self.autocast():
            loss = F.l1_loss(preview_result(S, x, y_diff, masks, SCALE).float(), target)
        opt = self.optimizers["S"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"S/l1_to_full": float(loss.detach())}

    # --- outputs --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_images(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Rows: input, then for Bald, Eyeglasses and Blond_Hair flipped: the full result, the traced
        preview, the student's preview."""
        x, y, masks = self._inputs(batch)
        rows = [x]
        S = unwrap(self.nets["S"])
        for name in ("Bald", "Eyeglasses", "Blond_Hair"):
            y_diff = flip_target(y, ATTRIBUTES.index(name)) - y
            rows += [self.full(x, y_diff, masks).clamp(-1, 1),
                     preview_result(self.full, x, y_diff, masks, SCALE),
                     preview_result(S, x, y_diff, masks, SCALE)]
        return torch.cat(rows).cpu()

    @torch.no_grad()
    def evaluate(self, loader: torch.utils.data.DataLoader) -> dict[str, float]:
        """gain_to_full (1 − Σ|P − T| / Σ|x − T|, pooled per attribute then averaged) of the student's and
        the traced preview, and their mean L1 to the full result, over every attribute's flip."""
        S = unwrap(self.nets["S"]).eval()
        sums = {k: torch.zeros(N_ATTRS, dtype=torch.float64) for k in ("student", "traced", "input")}
        seen = 0
        for batch in loader:
            x, y, masks = self._inputs(batch)
            if self.cfg.eval_limit:
                keep = self.cfg.eval_limit - seen
                if keep <= 0:
                    break
                x, y, masks = x[:keep], y[:keep], masks[:keep]
            seen += x.shape[0]
            for k in range(N_ATTRS):
                y_diff = flip_target(y, k) - y
                full = self.full(x, y_diff, masks).clamp(-1, 1)
                sums["input"][k] += float((x - full).abs().sum())
                sums["student"][k] += float((preview_result(S, x, y_diff, masks, SCALE) - full).abs().sum())
                sums["traced"][k] += float((preview_result(self.full, x, y_diff, masks, SCALE)
                                            - full).abs().sum())
        if not seen:
            return {}
        changed = sums["input"] > 0
        out: dict[str, float] = {"images": float(seen)}
        pixels = seen * 3 * self.cfg.data.resolution ** 2
        for who in ("student", "traced"):
            gains = 1.0 - sums[who][changed] / sums["input"][changed]
            out[f"gain_to_full/{who}"] = float(gains.mean())
            out[f"l1_to_full/{who}"] = float(sums[who].sum() / (pixels * N_ATTRS))
            for k in torch.nonzero(changed).flatten().tolist():
                out[f"gain_to_full/{who}/{ATTRIBUTES[k]}"] = float(1.0 - sums[who][k] / sums["input"][k])
        return out

    def export_specs(self) -> list[ExportSpec]:
        """The student as the teacher's preview model: the teacher's preview spec (name, preview_of, inputs
        at the small size) with the student's weights."""
        t = self.teacher_method
        (spec,) = t.preview_specs(module=copy.deepcopy(unwrap(self.nets["S"])).float().cpu().eval())
        if spec.resolution != self.cfg.data.resolution // SCALE:
            raise ConfigError(f"teacher: its preview model runs at {spec.resolution}, not "
                              f"{self.cfg.data.resolution // SCALE}")
        spec.extra["preview"] = (f"distilled from {t.cfg.method} step {self.teacher_step} at 1/{SCALE} "
                                 "of its resolution; its change (edited - image) is added to the input")
        return [spec]

    def state_dict(self) -> dict[str, Any]:
        return {"teacher_step": self.teacher_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "teacher_step" in state and int(state["teacher_step"]) != self.teacher_step:
            raise ConfigError(f"teacher: the run was distilled from step {int(state['teacher_step'])} of the "
                              f"teacher, which is now at step {self.teacher_step}; pass --teacher-checkpoint")
