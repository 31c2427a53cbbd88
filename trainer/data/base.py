"""What the real-dataset loaders share: the list of records, the uint8 cache, bad-sample handling, the
random flip and the conversion to the sample dict of trainer/data/registry.py.

A loader subclasses FaceFolderDataset and supplies three things: ``index(split)`` (parse the label files
into Records for one split, reporting bad lines through ``self.bad``), ``decode(record)`` (read the files
of one record into uint8 arrays at ``cfg.resolution`` plus its label arrays), and ``label_specs`` (shape
and dtype of each label array it yields). Everything else lives here and in trainer/data/cache.py.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from trainer.data import cache as cache_mod
from trainer.data.errors import DatasetError, SkipLog
from trainer.data.registry import SPLITS, DataConfig
from trainer.data.transforms import (
    LANDMARK5_FLIP_PERM,
    LANDMARK_FLIP_PERM,
    flip_image,
    flip_mask,
    flip_points,
    image_to_tensor,
)

log = logging.getLogger("trainer.data")

# dtype each sample key has in the sample dict (what the cache stores may be narrower).
_TENSOR_DTYPES = {
    "attrs": torch.float32,
    "attrs_known": torch.bool,
    "expression": torch.int64,
    "landmarks": torch.float32,
    "landmarks5": torch.float32,
    "identity": torch.int64,
}


@dataclass
class Record:
    """One sample before decoding: its files (relative to the dataset root; the image first) and its
    labels as parsed from the label files. ``source`` says where the labels came from
    ("list_attr_celeba.txt line 12") for error messages."""

    files: tuple[str, ...]
    source: str
    labels: dict[str, Any] = field(default_factory=dict)


class FaceFolderDataset(Dataset):
    """A dataset in a real dataset's on-disk layout, read through a uint8 memory-mapped cache."""

    name: ClassVar[str] = ""
    # Bump when decode() or index() change what a cache holds, so that old caches are rebuilt.
    version: ClassVar[int] = 1

    def __init__(self, cfg: DataConfig, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if cfg.resolution < 8:
            raise DatasetError(f"resolution {cfg.resolution} is too small (at least 8)")
        self.cfg = cfg
        self.split = split
        self.resolution = int(cfg.resolution)
        self.root = Path(cfg.root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder does not exist ({self.name})")
        self.skips = SkipLog()
        self.has_mask = False
        self.label_specs: dict[str, tuple[tuple[int, ...], Any]] = {}
        records = self.index(split)
        if cfg.limit:
            records = records[: cfg.limit]      # before the stat calls, so a quick try on a big set is quick
        self.records, self.file_stats = self._stat_files(records)
        self.cache: cache_mod.CacheArrays | None = None
        self.skips.report(f"{self.name} {split}")
        if cfg.cache:
            self.attach_cache(workers=None, progress=True)

    # -- what a loader supplies ------------------------------------------------------------------------
    def index(self, split: str) -> list[Record]:
        raise NotImplementedError

    def decode(self, record: Record) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def label_files(self) -> list[Path]:
        """Label/metadata files whose change must rebuild the cache."""
        return []

    def options(self) -> dict[str, Any]:
        """Settings (besides resolution, split, split_scheme, limit, skip_bad) that change the cache."""
        return {}

    # -- shared machinery ------------------------------------------------------------------------------
    def bad(self, reason: str) -> None:
        """A broken sample: raise DatasetError, or with ``skip_bad`` count it and go on."""
        if not self.cfg.skip_bad:
            raise DatasetError(reason + " (set skip_bad / --skip-bad to skip bad samples)")
        self.skips.add_bad(reason)

    def _stat_files(self, records: list[Record]) -> tuple[list[Record], list[tuple]]:
        kept, stats = [], []
        for rec in records:
            try:
                st = [os.stat(self.root / f) for f in rec.files]
            except FileNotFoundError as exc:
                self.bad(f"{exc.filename}: file listed in {rec.source} is missing")
                continue
            except OSError as exc:
                self.bad(f"{exc.filename}: file listed in {rec.source} cannot be read ({exc.strerror})")
                continue
            kept.append(rec)
            stats.append(tuple((f, s.st_size, s.st_mtime_ns) for f, s in zip(rec.files, st, strict=True)))
        if not kept:
            raise DatasetError(f"{self.root}: no usable samples for the {self.split!r} split of {self.name}")
        return kept, stats

    def attach_cache(self, workers: int | None = None, progress: bool = True,
                     rebuild: bool = False) -> Path:
        """Open this split's cache, building it first if it is missing or stale."""
        self.cache = cache_mod.load_or_build(self, workers=workers, progress=progress, rebuild=rebuild)
        return self.cache.path

    def decode_checked(self, i: int) -> dict[str, np.ndarray]:
        """decode() record i; a failure is a DatasetError naming the file and where it was listed."""
        rec = self.records[i]
        try:
            out = self.decode(rec)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (sample listed in {rec.source})") from None
        return out

    def __len__(self) -> int:
        return len(self.cache) if self.cache is not None else len(self.records)

    def raw(self, i: int) -> dict[str, np.ndarray]:
        """Sample i as uint8/label numpy arrays at cfg.resolution, unflipped (from the cache if any)."""
        if self.cache is not None:
            return self.cache.sample(i)
        if self.cfg.skip_bad:
            # No cache: a sample that fails to decode is replaced by the next one and counted.
            for k in range(len(self.records)):
                j = (i + k) % len(self.records)
                try:
                    return self.decode_checked(j)
                except DatasetError as exc:
                    self.skips.add_bad(str(exc))
                    log.warning("%s %s: skipped bad sample: %s", self.name, self.split, exc)
            raise DatasetError(f"{self.root}: no sample of the {self.split!r} split could be decoded")
        return self.decode_checked(i)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        arrays = self.raw(i)
        if self.split == "train" and self.cfg.flip and bool(torch.rand(()) < 0.5):
            arrays = flip_arrays(arrays)
        return to_sample(arrays, i)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, "
                f"resolution={self.resolution}, samples={len(self)})")


def flip_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mirror one decoded sample: the image, the mask with l_/r_ classes swapped, and the landmarks
    mirrored and re-indexed so each index keeps naming the same part of the face."""
    out = dict(arrays)
    width = arrays["image"].shape[1]
    out["image"] = flip_image(arrays["image"])
    if "mask" in arrays:
        out["mask"] = flip_mask(arrays["mask"])
    if "landmarks" in arrays:
        out["landmarks"] = flip_points(arrays["landmarks"], width, LANDMARK_FLIP_PERM)
    if "landmarks5" in arrays:
        out["landmarks5"] = flip_points(arrays["landmarks5"], width, LANDMARK5_FLIP_PERM)
    return out


def to_sample(arrays: dict[str, np.ndarray], index: int) -> dict[str, torch.Tensor]:
    """numpy arrays of one sample -> the tensor dict of the sample contract."""
    sample = {"image": image_to_tensor(arrays["image"])}
    if "mask" in arrays:
        sample["mask"] = torch.from_numpy(np.asarray(arrays["mask"], dtype=np.int64))
    for key, dtype in _TENSOR_DTYPES.items():
        if key in arrays:
            sample[key] = torch.as_tensor(np.array(arrays[key]), dtype=dtype)
    sample["index"] = torch.tensor(index, dtype=torch.int64)
    return sample
