"""SeCGAN §4.4 on any dataset, for any attribute editor: flip each of the 13 attributes of every test image
and measure

- editing accuracy: the evaluator classifier sees the flipped attribute as asked (per attribute, mean);
- reconstruction PSNR / SSIM of edit(x, 0) against x;
- Fréchet distance between the evaluator features of real images and of each attribute's edits, averaged
  over attributes (as the paper's ssFID), and an Inception-style score of all edits, both in the
  evaluator's feature / label space (no Inception or SwAV weights exist offline);
- on SynthFaces (whose renderer re-draws the same face with the attribute changed) the distance of each
  edit to the ground-truth edited render, with the unedited input's distance as reference, the editing
  accuracy the evaluator gives the ground-truth renders themselves (the ceiling a perfect editor reaches
  with this evaluator), and, for an editor that predicts the target mask, its pixel accuracy against the
  ground-truth target mask (reference: the true mask of the unedited input);
- on SynthFaces, per attribute and overall (the mean over the 13 attributes that have a value), the
  measures judged against that re-render (DESIGN.md §6): `gain_pixel` and `gain_semantic`
  (ground_truth_gain.py; the semantic one needs a `parser`), `preservation_db` (preservation.py) and
  `detail` (detail.py);
- with a `parser`, on any dataset: MagGAN's mask-aware reconstruction error `mre` (eq. 2), the change
  an edit makes outside the regions of the AR tables (faceeditor/core/data/attribute_parts.json) of the
  input's parse, per attribute and overall;
- SG-GAN's Table 2 (§4.3): the evaluator's accuracy on the attributes an edit is NOT asked to change
  (`unrelated_acc`, per flipped attribute and per pair, with the unedited input's agreement with the labels
  as the ceiling, `unrelated_acc_input`), the background kept (`background_msssim`: MS-SSIM of the top-left
  corner of edit and input, trainer/metrics/ms_ssim.py) and the Inception-style score of each attribute's
  edits (`is_evaluator/<Attr>`).

`attributes` names the attributes to flip (any subset of the 13, in any order; default all): per-attribute
figures and their means are then over those only.

The editor is anything with ``edit(x, y_diff)`` (AttributeEditor) and optionally ``predicted_mask(x,
y_diff)``: a method in training (trainer/methods/editing.py MethodEditor) and an exported pack
(trainer/pack_editor.py OnnxEditor) are judged by this same code.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
import torch
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, NUM_CLASSES, secgan_segment_lut
from trainer.losses.mask_guided import AttributeRegions, preserve_mask
from trainer.metrics.detail import detail_ratio, face_region, high_frequency_energy
from trainer.metrics.frechet import frechet_distance_from_features
from trainer.metrics.ground_truth_gain import gain, pixel_errors, semantic_errors, true_change_region
from trainer.metrics.inception_score import inception_style_score_multilabel
from trainer.metrics.mre import mask_aware_reconstruction_error
from trainer.metrics.ms_ssim import background_crop_size, background_ms_ssim
from trainer.metrics.preservation import outside_squared_error, psnr_from_squared_error
from trainer.metrics.psnr import psnr_per_image
from trainer.metrics.ssim import ssim_per_image

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair")
GROUND_TRUTH_MEASURES = ("gain_pixel", "gain_semantic", "preservation_db", "detail")


@runtime_checkable
class AttributeEditor(Protocol):
    """What the evaluation needs of an editor: images (N, 3, H, W) in [-1, 1] and y_diff = y_trg − y_src
    (N, 13) in, edited images (N, 3, H, W) out (any device; the evaluation brings them to the CPU)."""

    def edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class MaskPredictingEditor(AttributeEditor, Protocol):
    """An editor that also predicts the target mask (SeCGAN's G_seg): scores (N, S, H, W) over the S
    segments (12 = SeCGAN's, 19 = the parse classes) whose argmax is the predicted class."""

    def predicted_mask(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor: ...


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


def attribute_indices(attributes: Sequence[str] | None) -> list[int]:
    """The ATTRIBUTES indices of the named attributes, in the order given (None: all 13); ValueError for a
    name that is not one of them, a repeated one or none at all."""
    if attributes is None:
        return list(range(len(ATTRIBUTES)))
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    unknown = [a for a in names if a not in ATTRIBUTES]
    if unknown:
        raise ValueError(f"attributes: unknown {', '.join(map(str, unknown))} (known: {', '.join(ATTRIBUTES)})")
    repeated = sorted({a for a in names if names.count(a) > 1})
    if repeated or not names:
        raise ValueError(f"attributes: {'repeated ' + ', '.join(repeated) if repeated else 'none named'}")
    return [ATTRIBUTES.index(a) for a in names]


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
    """Runs the protocol for an AttributeEditor judged by an evaluator network.

    `judge(x)` returns (attribute logits (N, >= 13), features (N, F)) — the attribute classifier of
    trainer/methods/classifier.py; `resolution` is the images' size and `segments` ("secgan12" or
    "parse19") the classes of a predicted mask, both for the SynthFaces ground truth. `parser(x)` (images
    (N, 3, H, W) in [-1, 1] -> class scores (N, 19, H, W)), when given, reads edit, truth and input for the
    semantic gain; without it `gain_semantic` is left out. `attributes`: the attributes to flip (None: all
    13). The judge may be any callable (e.g. trainer/pack_classifier.py's ONNX one): an nn.Module's
    parameters give the device its inputs go to, anything else reads them on the CPU.
    """

    def __init__(self, editor: AttributeEditor, judge: Callable | None, loader: torch.utils.data.DataLoader, *,
                 resolution: int, segments: str = "secgan12", limit: int = 0, ground_truth: bool = True,
                 parser: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 attributes: Sequence[str] | None = None):
        self.attrs = attribute_indices(attributes)
        self.background_crop = background_crop_size(resolution)
        self.editor = editor
        self.parser = parser
        self._regions = None
        if parser is not None:
            self._regions = AttributeRegions()
        self.judge = judge
        self.loader = loader
        self.limit = int(limit)
        params = next(iter(judge.parameters()), None) if isinstance(judge, nn.Module) else None
        self.device = params.device if params is not None else torch.device("cpu")
        meta = _synthfaces_meta(loader.dataset) if ground_truth else None
        self.gt = GroundTruthEdits(meta, resolution, segments) if meta else None

    def _judge(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, feats = self.judge(x.to(self.device).float())
        return logits.float()[:, :len(ATTRIBUTES)].cpu(), feats.float().cpu()

    def _edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        return self.editor.edit(x, y_diff).float().cpu().clamp(-1, 1)

    def _classes(self, x: torch.Tensor) -> np.ndarray | None:
        """The parser's class map (N, H, W) of images x, None without a parser."""
        if self.parser is None:
            return None
        return self.parser(x.float()).argmax(dim=1).cpu().numpy()

    @torch.no_grad()
    def run(self) -> dict[str, float]:
        k_attrs = len(ATTRIBUTES)
        predicts_mask = isinstance(self.editor, MaskPredictingEditor)
        correct = np.zeros(k_attrs)
        seen = 0
        real_feats: list[torch.Tensor] = []
        fake_feats: list[list[torch.Tensor]] = [[] for _ in range(k_attrs)]
        fake_probs: list[torch.Tensor] = []
        attr_probs: list[list[torch.Tensor]] = [[] for _ in range(k_attrs)]
        # [k, j]: judged j as the flip of k leaves it, on the edits / on the inputs; and how many were judged
        kept_edit, kept_input, kept_n = (np.zeros((k_attrs, k_attrs)) for _ in range(3))
        background: list[list[np.ndarray]] = [[] for _ in range(k_attrs)]
        rec_psnr: list[np.ndarray] = []
        rec_ssim: list[np.ndarray] = []
        gt_l1, gt_ref_l1, gt_psnr = [], [], []
        gt_correct = np.zeros(k_attrs)
        mask_acc, mask_ref_acc = [], []
        mre: list[list[tuple[float, int]]] = [[] for _ in range(k_attrs)]     # (batch MRE, batch size)
        judged = _GroundTruthJudged(k_attrs)
        for batch in self.loader:
            if self.limit and seen >= self.limit:
                break
            if self.limit:
                batch = {k: v[: self.limit - seen] for k, v in batch.items()}
            if "attrs" not in batch:
                raise KeyError("the editing evaluation needs 'attrs'; this dataset has no attribute labels")
            x = batch["image"].float()
            y_src = batch["attrs"].float()[:, :k_attrs]
            n = x.shape[0]
            seen += n
            rec = self._edit(x, torch.zeros_like(y_src))
            xn, rn = x.numpy(), rec.numpy()
            rec_psnr.append(psnr_per_image(rn, xn, 2.0))
            rec_ssim.append(ssim_per_image(rn, xn, 2.0))
            logits_src, feats_src = self._judge(x)
            real_feats.append(feats_src)
            read_src = (logits_src > 0).float() == y_src            # the judge agrees with the labels (N, 13)
            true_src = (self.gt.lut[batch["mask"].numpy()] if self.gt is not None and "mask" in batch
                        else None)
            probs_src = self.parser(x.float()).float().cpu() if self.parser is not None else None
            maps_src = (self._regions(probs_src) if probs_src is not None and probs_src.shape[1] == NUM_CLASSES
                        else None)
            if self.gt is not None:
                cls_src = probs_src.argmax(dim=1).numpy() if probs_src is not None else None
                parse_src = batch["mask"].numpy() if "mask" in batch else cls_src   # the face, for detail
                faces = [None if parse_src is None else face_region(parse_src[i]) for i in range(n)]
                hf_src = [high_frequency_energy(xn[i], faces[i]) for i in range(n)]
            for k in self.attrs:
                y_trg = flip_target(y_src, k)
                y_diff = y_trg - y_src
                out = self._edit(x, y_diff)
                logits, feats = self._judge(out)
                correct[k] += ((logits[:, k] > 0).float() == y_trg[:, k]).sum().item()
                fake_feats[k].append(feats)
                fake_probs.append(torch.sigmoid(logits))
                attr_probs[k].append(fake_probs[-1])
                # SG-GAN Table 2: the attributes this flip does not ask to change (all but k, and but the
                # hair colours that turning k on turns off) should still read as their labels
                unasked = (y_trg == y_src).float()
                kept_edit[k] += (((logits > 0).float() == y_src).float() * unasked).sum(0).numpy()
                kept_input[k] += (read_src.float() * unasked).sum(0).numpy()
                kept_n[k] += unasked.sum(0).numpy()
                background[k].append(background_ms_ssim(out.numpy(), xn, self.background_crop))
                if maps_src is not None:        # MagGAN's MRE (eq. 2): change outside the attribute's regions
                    changed = 1.0 - preserve_mask(y_diff, maps_src)      # the flip's regions (N, 1, H, W)
                    mre[k].append((mask_aware_reconstruction_error(x, out[:, None], changed), n))
                if self.gt is None:
                    continue
                seg_pred = (self.editor.predicted_mask(x, y_diff).argmax(dim=1).cpu().numpy() if predicts_mask
                            else None)
                ys, yt = y_src.numpy(), y_trg.numpy()
                on = out.numpy()
                gimgs = []
                for i in range(n):
                    gimg, gmask = self.gt(int(batch["index"][i]), ys[i], yt[i])
                    gimgs.append(gimg)
                    gt_l1.append(float(np.abs(on[i] - gimg).mean()))
                    gt_ref_l1.append(float(np.abs(xn[i] - gimg).mean()))
                    gt_psnr.append(float(psnr_per_image(on[i], gimg, 2.0)[0]))
                    if seg_pred is not None:
                        mask_acc.append(float((seg_pred[i] == gmask).mean()))
                        if true_src is not None:
                            mask_ref_acc.append(float((true_src[i] == gmask).mean()))
                # the evaluator on the ground-truth edits: the accuracy a perfect editor would get
                truths = torch.from_numpy(np.stack(gimgs))
                g_logits, _ = self._judge(truths)
                gt_correct[k] += ((g_logits[:, k] > 0).float() == y_trg[:, k]).sum().item()
                cls_out, cls_gt = ((self._classes(out), self._classes(truths)) if cls_src is not None
                                   else (None, None))
                for i in range(n):
                    region = true_change_region(xn[i], gimgs[i])
                    judged.pixel[k].append(pixel_errors(on[i], xn[i], gimgs[i], region))
                    if cls_src is not None:
                        judged.semantic[k].append(semantic_errors(cls_out[i], cls_src[i], cls_gt[i], region))
                    judged.outside[k].append(outside_squared_error(on[i], xn[i], region))
                    judged.energy[k].append((high_frequency_energy(on[i], faces[i]), hf_src[i]))
        if seen == 0:
            raise ValueError("evaluation: the split is empty")
        ks = self.attrs
        names = [ATTRIBUTES[k] for k in ks]
        per_attr = correct[ks] / seen
        real = torch.cat(real_feats).numpy()
        fds = [frechet_distance_from_features(real, torch.cat(fake_feats[k]).numpy()) for k in ks]
        probs = torch.cat(fake_probs).numpy()
        out: dict[str, float] = {
            "edit_acc": float(per_attr.mean()),
            **{f"edit_acc/{name}": float(v) for name, v in zip(names, per_attr, strict=True)},
            "rec_psnr": float(np.mean(np.concatenate(rec_psnr))),
            "rec_ssim": float(np.mean(np.concatenate(rec_ssim))),
            "fd_evaluator": float(np.mean(fds)),
            "is_evaluator": inception_style_score_multilabel(probs, splits=min(10, len(probs)))[0],
            "images": float(seen),
        }
        for k, name in zip(ks, names, strict=True):
            p = torch.cat(attr_probs[k]).numpy()
            # 10 splits from 100 edits on, fewer below so that a split holds 10 (a 1-image split scores 1)
            splits = max(1, min(10, len(p) // 10))
            out[f"is_evaluator/{name}"] = inception_style_score_multilabel(p, splits=splits)[0]
        out.update(_unrelated_figures(ks, kept_edit, kept_input, kept_n))
        bg = [float(np.mean(np.concatenate(background[k]))) for k in ks]
        out["background_msssim"] = float(np.mean(bg))
        out.update({f"background_msssim/{name}": v for name, v in zip(names, bg, strict=True)})
        if gt_l1:
            gt_acc = gt_correct[ks] / seen
            out["edit_acc_gt_renders"] = float(gt_acc.mean())
            out.update({f"edit_acc_gt_renders/{name}": float(v) for name, v in zip(names, gt_acc, strict=True)})
            out.update({"gt_l1": float(np.mean(gt_l1)), "gt_l1_unedited": float(np.mean(gt_ref_l1)),
                        "gt_psnr": float(np.mean(gt_psnr))})
        if gt_l1:
            out.update(judged.figures(ks))
        if mre[ks[0]]:
            per = [float(np.average([e for e, _ in mre[k]], weights=[c for _, c in mre[k]])) for k in ks]
            out["mre"] = float(np.mean(per))
            out.update({f"mre/{name}": v for name, v in zip(names, per, strict=True)})
        if mask_acc:
            out["gseg_mask_acc"] = float(np.mean(mask_acc))
            if mask_ref_acc:
                out["gseg_mask_acc_unedited"] = float(np.mean(mask_ref_acc))
        return out


class _GroundTruthJudged:
    """Per attribute, the per-face terms of the ground-truth measures, and their figures."""

    def __init__(self, k_attrs: int):
        self.pixel: list[list[tuple[float, float]]] = [[] for _ in range(k_attrs)]
        self.semantic: list[list[tuple[float, float]]] = [[] for _ in range(k_attrs)]
        self.outside: list[list[tuple[float, int]]] = [[] for _ in range(k_attrs)]
        self.energy: list[list[tuple[float, float]]] = [[] for _ in range(k_attrs)]

    def figures(self, attrs: Sequence[int] | None = None) -> dict[str, float]:
        """`<measure>/<Attr>` per attribute and `<measure>` = their mean over the attributes with a value
        (NaN when none has one, e.g. when no flip can show); gain_semantic only with a parser. `attrs`: the
        ATTRIBUTES indices reported (None: all)."""
        ks = list(range(len(self.pixel))) if attrs is None else list(attrs)
        columns = {
            "gain_pixel": [gain(*np.array(self.pixel[k], np.float64).reshape(-1, 2).T) for k in ks],
            "preservation_db": [psnr_from_squared_error(*np.array(self.outside[k], np.float64)
                                                        .reshape(-1, 2).T) for k in ks],
            "detail": [detail_ratio(*np.array(self.energy[k], np.float64).reshape(-1, 2).T) for k in ks],
        }
        if any(self.semantic[k] for k in ks):
            columns["gain_semantic"] = [gain(*np.array(self.semantic[k], np.float64).reshape(-1, 2).T)
                                        for k in ks]
        out: dict[str, float] = {}
        for key in GROUND_TRUTH_MEASURES:
            if key not in columns:
                continue
            values = np.array(columns[key], np.float64)
            shown = values[~np.isnan(values)]
            out[key] = float(shown.mean()) if shown.size else float("nan")
            out.update({f"{key}/{ATTRIBUTES[k]}": float(v) for k, v in zip(ks, values, strict=True)})
        return out


def _unrelated_figures(ks: Sequence[int], kept_edit: np.ndarray, kept_input: np.ndarray,
                       kept_n: np.ndarray) -> dict[str, float]:
    """SG-GAN's off-diagonal Table 2 columns from the counts [k, j] (flip of k, attribute j): the share of
    the attributes the flip does not ask to change that the judge still reads as labelled, on the edits
    (`unrelated_acc`) and on the unedited inputs (`unrelated_acc_input`, the judge's own agreement with the
    labels: the ceiling). `<key>/<K>/<J>` per pair for J among the evaluated attributes; `<key>/<K>` the mean
    over all 13 attributes but K (those with a count: a pair whose every face is asked to change is left
    out); `<key>` the mean of those over the evaluated K."""
    out: dict[str, float] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        tables = {"unrelated_acc": kept_edit / kept_n, "unrelated_acc_input": kept_input / kept_n}
    for key, acc in tables.items():
        per_k = []
        for k in ks:
            row = np.delete(acc[k], k)
            row = row[~np.isnan(row)]
            per_k.append(float(row.mean()) if row.size else float("nan"))
            out[f"{key}/{ATTRIBUTES[k]}"] = per_k[-1]
            out.update({f"{key}/{ATTRIBUTES[k]}/{ATTRIBUTES[j]}": float(acc[k, j]) for j in ks if j != k})
        shown = [v for v in per_k if not np.isnan(v)]
        out[key] = float(np.mean(shown)) if shown else float("nan")
    return out


def evaluate_editor(editor: AttributeEditor, judge: Callable, loader: torch.utils.data.DataLoader, *,
                    resolution: int, segments: str = "secgan12", limit: int = 0,
                    parser: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    attributes: Sequence[str] | None = None) -> dict[str, float]:
    """The §4.4 figures of `editor` on `loader`'s data, judged by `judge`, flipping `attributes` (None: all
    13; see EditingEvaluation)."""
    return EditingEvaluation(editor, judge, loader, resolution=resolution, segments=segments, limit=limit,
                             parser=parser, attributes=attributes).run()
