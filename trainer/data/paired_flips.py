"""Paired flips: each SynthFaces training face with the re-render of one attribute flipped.

SynthFaces can draw any face again with one attribute changed (what the editing evaluation judges edits
against, trainer/metrics/editing_accuracy.py GroundTruthEdits). `--data.paired-flips true` gives the
attribute editors that re-render during training: every sample gets a random attribute k, the target
labels of "flip k" (`flip_target`: a hair colour turned on turns the others off) and the face rendered
with those labels, at the training resolution, mirrored together with the input. An editor trained with
`--lambda-paired` > 0 then learns the edit from the truth (an L1 term, trainer/methods/editing.py) as well
as from its paper's unpaired losses.

This is not in any of the papers and exists only for synthetic data: CelebA and the other photo sets have
no second picture of a face with one attribute changed, so on them the editors train as their papers say.
Rendering happens in the DataLoader worker (about 7 ms per 128² face on one core), so nothing is stored.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from faceeditor.core.labels import ATTRIBUTES, flip_class_lut

N_ATTRS = len(ATTRIBUTES)


class PairedFlipsError(ValueError):
    """The dataset cannot give paired flips (not SynthFaces' native format, or another renderer version)."""


class PairedFlips(Dataset):
    """Wraps a native SynthFaces dataset; each sample gains `pair_image` (3, R, R) in [-1, 1], the face
    re-rendered with attribute `pair_attribute` flipped, and `pair_target` (13,), the labels asked for.

    The wrapped dataset's own random mirroring is turned off and done here, so that the input and its
    re-render are mirrored together (with the same mask class swap and landmark order as the dataset's)."""

    def __init__(self, dataset: Any, resolution: int):
        from trainer.metrics.editing_accuracy import GroundTruthEdits, _synthfaces_meta

        meta = _synthfaces_meta(dataset)
        if meta is None:
            raise PairedFlipsError("data.paired_flips: only SynthFaces in its native format, rendered by this "
                                   "renderer version, can draw a face again with an attribute flipped "
                                   f"({getattr(dataset, 'root', 'this dataset')} cannot)")
        self.dataset = dataset
        self.flip = bool(getattr(dataset, "flip", False))
        dataset.flip = False
        self.truth = GroundTruthEdits(meta, resolution, "parse19")
        self._class_flip = torch.from_numpy(np.array(flip_class_lut(), np.int64))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        from trainer.data.synthfaces_dataset import LANDMARK_FLIP
        from trainer.metrics.editing_accuracy import flip_target

        sample = dict(self.dataset[i])
        k = int(torch.randint(N_ATTRS, ()))
        y_src = sample["attrs"][:N_ATTRS].float()
        y_trg = flip_target(y_src[None], k)[0]
        img, _ = self.truth.rendered(int(sample["index"]), y_src.numpy(), y_trg.numpy())
        truth = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        if self.flip and bool(torch.rand(()) < 0.5):
            res = sample["image"].shape[-1]
            sample["image"] = sample["image"].flip(-1)
            truth = truth.flip(-1)
            if "mask" in sample:
                sample["mask"] = self._class_flip[sample["mask"].flip(-1)]
            if "landmarks" in sample:
                lm = sample["landmarks"][torch.from_numpy(LANDMARK_FLIP)].clone()
                lm[:, 0] = (res - 1) - lm[:, 0]
                sample["landmarks"] = lm
        sample["pair_image"] = truth.contiguous()
        sample["pair_target"] = y_trg
        sample["pair_attribute"] = torch.tensor(k, dtype=torch.int64)
        return sample
