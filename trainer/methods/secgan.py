"""Method `secgan`: SeCGAN (shared/papers/secgan.md) — RGB and semantic branches trained in parallel on the
same mini-batch, bridged by the semantic consistency loss (eqs. 11–12) through the frozen parser P;
Algorithm 1 (D every step, G every n_critic). The RGB branch is the base of trainer/methods/editing.py; this
file adds the semantic branch G_seg/D_seg (eqs. 6–10, cross-entropy reconstruction) and the consistency
terms through the base's hooks. G_seg is kept in the export to show the predicted target mask."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from trainer.distributed import unwrap
from trainer.losses.classification import attribute_bce
from trainer.losses.reconstruction import mask_reconstruction
from trainer.losses.wgan_gp import generator_adversarial
from trainer.methods.base import register_method
from trainer.methods.editing import EditBatch, EditingMethod, EditorConfig, EditorExport, MethodEditor


@dataclass
class SeCGANConfig(EditorConfig):
    method: str = "secgan"
    semantic_branch: bool = True
    needs_parser: ClassVar[bool] = True


class SeCGANEditor(MethodEditor):
    """The method as an editor that also shows G_seg's predicted target mask."""

    @torch.no_grad()
    def predicted_mask(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        """G_seg's logits over the segments for P's mask of x translated by y_diff."""
        m = self.method
        return unwrap(m.nets["G_seg"])(self.source_mask(x), y_diff.to(m.device).float())


@register_method
class SeCGANMethod(EditingMethod):
    name = "secgan"
    config_class = SeCGANConfig

    def extra_networks(self) -> dict[str, nn.Module]:
        # logits out; the softmax of Table 2/3 is applied here and in the export (log-softmax for the
        # cross-entropy terms is then exact)
        return {"G_seg": self._generator(self.n_seg, self.n_seg, "none"), "D_seg": self._critic(self.n_seg)}

    def critics(self) -> list[str]:
        return ["D", "D_seg"]

    def generators(self) -> list[str]:
        return ["G", "G_seg"]

    def d_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        loss = super().d_loss(b, out)
        with torch.no_grad():
            s_fake = torch.softmax(self.nets["G_seg"](b.s_in, b.y_diff), dim=1)
        return loss + self.critic_loss(self.nets["D_seg"], b.s_in, s_fake, b.y_src, out, "D_seg")

    def g_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        loss = super().g_loss(b, out)
        w = self.w
        G_seg, D_seg = self.nets["G_seg"], self.nets["D_seg"]
        G_seg.train()
        D_seg.train()
        logits = G_seg(b.s_in, b.y_diff)
        s_fake = torch.softmax(logits, dim=1)
        adv_s, cls_s = D_seg(s_fake)
        rec_logits = G_seg(b.s_in, torch.zeros_like(b.y_diff))
        l_adv_s, l_cls_s = generator_adversarial(adv_s), attribute_bce(cls_s, b.y_trg)
        l_rec_s = mask_reconstruction(rec_logits, b.s_in)
        # semantic consistency (eqs. 11–12): each branch against the other's one-hot output
        p_out = self.nets["P"](b.x_fake).clamp_min(1e-8)
        l_sc_rgb = F.nll_loss(p_out.log(), s_fake.detach().argmax(dim=1))
        l_sc_seg = F.cross_entropy(logits, p_out.detach().argmax(dim=1))
        loss = loss + w["lambda_sc"] * l_sc_rgb
        loss = loss + l_adv_s + w["lambda_cls_g"] * l_cls_s + w["lambda_rec"] * l_rec_s + w["lambda_sc"] * l_sc_seg
        out.update({"G_seg/adv": float(l_adv_s.detach()), "G_seg/cls": float(l_cls_s.detach()),
                    "G_seg/rec": float(l_rec_s.detach()), "sc/rgb": float(l_sc_rgb.detach()),
                    "sc/seg": float(l_sc_seg.detach())})
        return loss

    def editor(self) -> SeCGANEditor:
        return SeCGANEditor(self)

    def export_name(self) -> str:
        return f"{self.name}_{self.cfg.backbone}"

    def export_module(self) -> nn.Module:
        """The base's graph with G_seg's predicted target mask as a second output."""
        rgb = super().export_module()
        g_seg = copy.deepcopy(unwrap(self.nets["G_seg"])).float().cpu().eval()
        return EditorExport(rgb.g_rgb, rgb.parser, g_seg, self.g_input).eval()
