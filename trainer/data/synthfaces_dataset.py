"""SynthFaces (native format) as a torch Dataset yielding the registry's sample dict."""
from __future__ import annotations

import bisect

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from faceeditor.core.face_geometry import IBUG_MIRROR
from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, flip_class_lut
from trainer.data.registry import SPLITS, DataConfig
from trainer.data.synthfaces.native import NativeReadError, open_shard, read_meta
from trainer.registry import DATASETS

# iBUG 68: index of each point's mirror image (the one mirror order, faceeditor.core.face_geometry).
LANDMARK_FLIP = np.array(IBUG_MIRROR)


@DATASETS.register("synthfaces")
class SynthFacesDataset(Dataset):
    """Reads a folder written by ``write_native`` (``cfg.root``); resizes to ``cfg.resolution`` when the
    shards were rendered at another size (area for images, nearest for masks, scaled landmarks)."""

    def __init__(self, cfg: DataConfig, split: str):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        try:
            self.meta = read_meta(cfg.root)
        except NativeReadError as exc:
            raise ValueError(str(exc)) from None
        if list(self.meta.get("attributes", [])) != list(EVALUATOR_ATTRIBUTES):
            raise ValueError(f"{cfg.root}: attribute list differs from EVALUATOR_ATTRIBUTES")
        self.root = cfg.root
        self.size = int(self.meta["size"])
        self.resolution = int(cfg.resolution)
        if self.resolution <= 0:
            raise ValueError(f"resolution must be positive, got {self.resolution}")
        self.flip = bool(cfg.flip)
        start, stop = self.meta["splits"][split]
        if cfg.limit and cfg.limit > 0:
            stop = min(stop, start + int(cfg.limit))
        self.start, self.stop = int(start), int(stop)
        self.shards = self.meta["shards"]
        self.shard_starts = [int(s["start"]) for s in self.shards]
        self._open: dict[int, dict[str, np.ndarray]] = {}
        self._class_flip = np.array(flip_class_lut(), np.uint8)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def _arrays(self, shard_no: int) -> dict[str, np.ndarray]:
        arr = self._open.get(shard_no)
        if arr is None:
            arr = open_shard(self.root, self.shards[shard_no])
            self._open[shard_no] = arr
        return arr

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        index = self.start + i
        shard_no = bisect.bisect_right(self.shard_starts, index) - 1
        arr = self._arrays(shard_no)
        j = index - self.shard_starts[shard_no]
        image = np.array(arr["images"][j])          # copies out of the memory map
        mask = np.array(arr["masks"][j])
        lm = np.array(arr["landmarks"][j], np.float32)
        if self.resolution != self.size:
            r = self.resolution / self.size
            interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
            image = cv2.resize(image, (self.resolution, self.resolution), interpolation=interp)
            mask = cv2.resize(mask, (self.resolution, self.resolution), interpolation=cv2.INTER_NEAREST)
            lm = (lm + 0.5) * r - 0.5
        if self.flip and torch.rand(()) < 0.5:
            image = image[:, ::-1]
            mask = self._class_flip[mask[:, ::-1]]
            lm = lm[LANDMARK_FLIP]
            lm[:, 0] = (self.resolution - 1) - lm[:, 0]
        img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        return {
            "image": img,
            "mask": torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64)),
            "attrs": torch.from_numpy(np.asarray(arr["attrs"][j], np.float32).copy()),
            "attrs_known": torch.ones(len(EVALUATOR_ATTRIBUTES), dtype=torch.bool),
            "expression": torch.tensor(int(arr["expression"][j]), dtype=torch.int64),
            "landmarks": torch.from_numpy(np.ascontiguousarray(lm, np.float32)),
            "identity": torch.tensor(int(arr["identity"][j]), dtype=torch.int64),
            "index": torch.tensor(index, dtype=torch.int64),
        }
