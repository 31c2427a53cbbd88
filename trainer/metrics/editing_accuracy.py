"""SeCGAN §4.4 on any dataset: flip each of the 13 attributes of every test image and measure

- editing accuracy: the evaluator classifier sees the flipped attribute as asked (per attribute, mean);
- reconstruction PSNR / SSIM of G(x, 0) against x;
- Fréchet distance between the evaluator features of real images and of each attribute's edits, averaged
  over attributes (as the paper's ssFID), and an Inception-style score of all edits, both in the
  evaluator's feature / label space (no Inception or SwAV weights exist offline);
- on SynthFaces (whose renderer re-draws the same face with the attribute changed) the distance of each
  edit to the ground-truth edited render, with the unedited input's distance as reference, the editing
  accuracy the evaluator gives the ground-truth renders themselves (the ceiling a perfect editor reaches
  with this evaluator), and, for a
  model with a semantic branch, G_seg's pixel accuracy against the ground-truth target mask (reference:
  the unchanged input mask).
"""
from __future__ import annotations

import warnings
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, secgan_segment_lut
from trainer.metrics.frechet import frechet_distance_from_features
from trainer.metrics.inception_score import inception_style_score_multilabel
from trainer.metrics.psnr import psnr_per_image
from trainer.metrics.ssim import ssim_per_image


def _synthfaces_meta(dataset: Any) -> dict | None:
    """The native SynthFaces meta of a dataset whose faces today's renderer re-draws identically, else None
    (with a warning when only the renderer version differs: its ground-truth edits would not match)."""
    from trainer.data.synthfaces.render import RENDERER_VERSION

    meta = getattr(dataset, "meta", None)
    if not (isinstance(meta, dict) and meta.get("format") == "synthfaces-native"):
        return None
    version = meta.get("renderer_version", 1)          # datasets written before the key existed were v1
    if version != RENDERER_VERSION:
        warnings.warn(f"{getattr(dataset, 'root', 'this dataset')}: rendered by SynthFaces renderer v{version}, "
                      f"this is v{RENDERER_VERSION}; its ground-truth edits would not match the stored faces, "
                      "so the gt_* and edit_acc_gt_renders metrics are left out (re-render the data to get "
                      "them)", stacklevel=3)
        return None
    return meta


class GroundTruthEdits:
    """Re-renders SynthFaces samples with a target attribute vector (13 values in {0, 1})."""

    def __init__(self, meta: dict, resolution: int, segments: str):
        from trainer.data.synthfaces import render, with_attribute
        from trainer.data.synthfaces.native import sample_face

        self._render, self._with = render, with_attribute
        seed, edited = int(meta["seed"]), float(meta.get("edited_fraction", 0.0))
        self._params = lambda index: sample_face(seed, int(index), edited)
        self.size = int(meta["size"])
        self.res = resolution
        self.lut = np.array(secgan_segment_lut() if segments == "secgan12" else list(range(19)), np.uint8)

    def edited_params(self, index: int, y_src: np.ndarray, y_trg: np.ndarray):
        """The face parameters of sample ``index`` with the attributes that differ set as in ``y_trg``."""
        p = self._params(index)
        for k in np.flatnonzero(y_src != y_trg):
            if y_trg[k] < 0.5:
                p = self._with(p, ATTRIBUTES[k], 0.0)
        for k in np.flatnonzero(y_src != y_trg):
            if y_trg[k] >= 0.5:
                p = self._with(p, ATTRIBUTES[k], 1.0)
        return p

    @staticmethod
    def _label_vector(p) -> np.ndarray:
        from trainer.data.synthfaces.params import attribute_labels

        shown = attribute_labels(p)
        return np.array([float(shown[a]) for a in ATTRIBUTES], np.float32)

    def source_labels(self, index: int) -> np.ndarray:
        """The 13 labels (0/1) of sample ``index`` as stored."""
        return self._label_vector(self._params(index))

    def labels(self, index: int, y_src: np.ndarray, y_trg: np.ndarray) -> np.ndarray:
        """The 13 labels (0/1) the re-render carries: where they differ from ``y_trg`` the asked edit cannot
        show (a hair colour on a bald face, a closed mouth under an expression that opens it)."""
        return self._label_vector(self.edited_params(index, y_src, y_trg))

    def rendered(self, index: int, y_src: np.ndarray, y_trg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (R, R, 3), parse mask uint8 (R, R) in the 19 classes) of the edited face."""
        s = self._render(self.edited_params(index, y_src, y_trg), self.size)
        img, mask = s.image, s.mask
        if self.res != self.size:
            img = cv2.resize(img, (self.res, self.res), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (self.res, self.res), interpolation=cv2.INTER_NEAREST)
        return img, mask

    def __call__(self, index: int, y_src: np.ndarray, y_trg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(image float32 (3, R, R) in [-1, 1], segment mask uint8 (R, R))."""
        img, mask = self.rendered(index, y_src, y_trg)
        return img.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0, self.lut[mask]


class EditingEvaluation:
    """Runs the protocol for an EditingMethod (trainer/methods/editing.py) and an evaluator network."""

    def __init__(self, method: Any, evaluator: nn.Module, loader: torch.utils.data.DataLoader, limit: int = 0,
                 ground_truth: bool = True):
        self.m = method
        self.evaluator = evaluator
        self.loader = loader
        self.limit = int(limit)
        meta = _synthfaces_meta(loader.dataset) if ground_truth else None
        self.gt = GroundTruthEdits(meta, method.cfg.data.resolution, method.cfg.segments) if meta else None

    def _judge(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, feats = self.evaluator(x.to(self.m.device).float())
        return logits.float()[:, :len(ATTRIBUTES)].cpu(), feats.float().cpu()

    @torch.no_grad()
    def run(self) -> dict[str, float]:
        from trainer.distributed import unwrap
        from trainer.methods.editing import flip_target

        k_attrs = len(ATTRIBUTES)
        correct = np.zeros(k_attrs)
        seen = 0
        real_feats: list[torch.Tensor] = []
        fake_feats: list[list[torch.Tensor]] = [[] for _ in range(k_attrs)]
        fake_probs: list[torch.Tensor] = []
        rec_psnr: list[np.ndarray] = []
        rec_ssim: list[np.ndarray] = []
        gt_l1, gt_ref_l1, gt_psnr = [], [], []
        gt_correct = np.zeros(k_attrs)
        mask_acc, mask_ref_acc = [], []
        has_seg = "G_seg" in self.m.nets
        for batch in self.loader:
            if self.limit and seen >= self.limit:
                break
            if self.limit:
                batch = {k: v[: self.limit - seen] for k, v in batch.items()}
            x, y_src, s_in = self.m._inputs(batch)
            n = x.shape[0]
            seen += n
            rec = self.m.edit(x, torch.zeros_like(y_src), s_in)
            xn, rn = x.cpu().numpy(), rec.clamp(-1, 1).cpu().numpy()
            rec_psnr.append(psnr_per_image(rn, xn, 2.0))
            rec_ssim.append(ssim_per_image(rn, xn, 2.0))
            real_feats.append(self._judge(x)[1])
            for k in range(k_attrs):
                y_trg = flip_target(y_src, k)
                y_diff = y_trg - y_src
                out = self.m.edit(x, y_diff, s_in).clamp(-1, 1)
                logits, feats = self._judge(out)
                correct[k] += ((logits[:, k] > 0).float() == y_trg[:, k].cpu()).sum().item()
                fake_feats[k].append(feats)
                fake_probs.append(torch.sigmoid(logits))
                seg_pred = None
                if has_seg:
                    seg_pred = unwrap(self.m.nets["G_seg"])(s_in, y_diff).argmax(dim=1).cpu().numpy()
                if self.gt is not None:
                    ys, yt = y_src.cpu().numpy(), y_trg.cpu().numpy()
                    on = out.cpu().numpy()
                    gimgs = []
                    for i in range(n):
                        gimg, gmask = self.gt(int(batch["index"][i]), ys[i], yt[i])
                        gimgs.append(gimg)
                        gt_l1.append(float(np.abs(on[i] - gimg).mean()))
                        gt_ref_l1.append(float(np.abs(xn[i] - gimg).mean()))
                        gt_psnr.append(float(psnr_per_image(on[i], gimg, 2.0)[0]))
                        if seg_pred is not None:
                            mask_acc.append(float((seg_pred[i] == gmask).mean()))
                            mask_ref_acc.append(float((s_in[i].argmax(dim=0).cpu().numpy() == gmask).mean()))
                    # the evaluator on the ground-truth edits: the accuracy a perfect editor would get
                    g_logits, _ = self._judge(torch.from_numpy(np.stack(gimgs)))
                    gt_correct[k] += ((g_logits[:, k] > 0).float() == y_trg[:, k].cpu()).sum().item()
        if seen == 0:
            raise ValueError("evaluation: the split is empty")
        per_attr = correct / seen
        real = torch.cat(real_feats).numpy()
        fds = [frechet_distance_from_features(real, torch.cat(f).numpy()) for f in fake_feats]
        probs = torch.cat(fake_probs).numpy()
        out: dict[str, float] = {
            "edit_acc": float(per_attr.mean()),
            **{f"edit_acc/{name}": float(v) for name, v in zip(ATTRIBUTES, per_attr, strict=True)},
            "rec_psnr": float(np.mean(np.concatenate(rec_psnr))),
            "rec_ssim": float(np.mean(np.concatenate(rec_ssim))),
            "fd_evaluator": float(np.mean(fds)),
            "is_evaluator": inception_style_score_multilabel(probs, splits=min(10, len(probs)))[0],
            "images": float(seen),
        }
        if gt_l1:
            gt_acc = gt_correct / seen
            out["edit_acc_gt_renders"] = float(gt_acc.mean())
            out.update({f"edit_acc_gt_renders/{name}": float(v) for name, v in zip(ATTRIBUTES, gt_acc, strict=True)})
            out.update({"gt_l1": float(np.mean(gt_l1)), "gt_l1_unedited": float(np.mean(gt_ref_l1)),
                        "gt_psnr": float(np.mean(gt_psnr))})
        if mask_acc:
            out.update({"gseg_mask_acc": float(np.mean(mask_acc)),
                        "gseg_mask_acc_unedited": float(np.mean(mask_ref_acc))})
        return out
