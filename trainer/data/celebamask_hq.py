"""CelebAMask-HQ (and CelebA-HQ): 1024² face images, 19-class masks as per-class PNGs, 40 attributes.

Files under ``cfg.root``:
    CelebA-HQ-img/0.jpg ... 29999.jpg
    CelebAMask-HQ-mask-anno/{k // 2000}/{k:05d}_{name}.png   binary 512² PNG per class present (optional:
                                                            without the folder the samples have no mask)
    CelebAMask-HQ-attribute-anno.txt     optional: count, 40 names, "0.jpg  1 -1 ..." (±1); without it the
                                         images folder is listed and samples carry no attributes
    CelebA-HQ-to-CelebA-mapping.txt      optional: "idx orig_idx orig_file" header, then one row per image

Masks are composed in the official overwrite order (labels.CELEBAMASK_HQ_ORDER, later names win) into the
19 indices of labels.PARSE_CLASSES at the masks' own size, then resized to cfg.resolution with nearest
neighbour; images are resized with area averaging (both are square; a non-square file is centre-cropped).

Splits: "default" with the mapping file = CelebA's official partition of each image's original CelebA
index (orig_idx < 162770 train, < 182637 val, else test; about 24183 / 2993 / 2824 of 30000). "default"
without the mapping file, and "attgan", = the SeCGAN/AttGAN split by image number: first 28000 train, next
500 val, last 1500 test, scaled by n / 30000 for smaller sets (see layouts.proportional_split).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from faceeditor.core.labels import CELEBAMASK_HQ_ORDER, CLASS_INDEX, EVALUATOR_ATTRIBUTES
from trainer.data.base import FaceFolderDataset, Record
from trainer.data.celeba import read_attribute_table, read_lines
from trainer.data.errors import DatasetError, log
from trainer.data.image_files import read_binary_mask, read_rgb
from trainer.data.layouts import (
    HQ_ATTGAN_SPLIT,
    HQ_COUNT,
    celeba_partition_of_index,
    proportional_split,
    split_of_position,
)
from trainer.data.registry import DataConfig
from trainer.data.transforms import center_square, crop, resize_image, resize_mask
from trainer.registry import DATASETS

_MASK_NAME = re.compile(r"^(\d+)_([a-z_]+)\.png$")


def _folder_of(k: int) -> str:
    return str(k // 2000)


@DATASETS.register("celebamask_hq")
class CelebAMaskHQDataset(FaceFolderDataset):
    """CelebA-HQ images with CelebAMask-HQ masks and attributes."""

    name = "celebamask_hq"
    version = 1
    image_dir = "CelebA-HQ-img"
    mask_dir = "CelebAMask-HQ-mask-anno"
    attr_file = "CelebAMask-HQ-attribute-anno.txt"
    mapping_file = "CelebA-HQ-to-CelebA-mapping.txt"

    def __init__(self, cfg: DataConfig, split: str) -> None:
        if cfg.split_scheme not in ("default", "attgan"):
            raise DatasetError(f"unknown split_scheme {cfg.split_scheme!r} for CelebAMask-HQ; "
                               "use 'default' or 'attgan'")
        super().__init__(cfg, split)

    def label_files(self) -> list[Path]:
        return [self.root / self.attr_file, self.root / self.mapping_file]

    def options(self) -> dict[str, Any]:
        return {"masks": self.has_mask, "attrs": "attrs" in self.label_specs}

    # -- index -------------------------------------------------------------------------------------------
    def _samples(self) -> list[tuple[int, str, np.ndarray | None, bool]]:
        """(image number, where listed, attrs or None, row ok) for every listed image."""
        attr_path = self.root / self.attr_file
        if attr_path.exists():
            _, rows = read_attribute_table(self, attr_path)
            out = []
            for lineno, fname, attrs in rows:
                stem = fname[:-4] if fname.lower().endswith(".jpg") else ""
                if not stem.isdigit():
                    self.bad(f"{attr_path}:{lineno}: {fname!r} is not a CelebA-HQ image name (N.jpg)")
                    continue
                out.append((int(stem), f"{attr_path.name} line {lineno}", attrs, attrs is not None))
            return out
        img_dir = self.root / self.image_dir
        if not img_dir.is_dir():
            raise DatasetError(f"{img_dir}: images folder is missing")
        nums = sorted(int(p.stem) for p in img_dir.glob("*.jpg") if p.stem.isdigit())
        return [(k, f"{self.image_dir}/{k}.jpg", None, True) for k in nums]

    def _mask_files(self) -> dict[int, dict[str, str]]:
        """{image number: {class name: relative path}} from one listing of the mask folders."""
        found: dict[int, dict[str, str]] = {}
        base = self.root / self.mask_dir
        known = set(CELEBAMASK_HQ_ORDER)
        for folder in sorted(os.scandir(base), key=lambda e: e.name):
            if not (folder.is_dir() and folder.name.isdigit()):
                continue
            for entry in os.scandir(folder.path):
                m = _MASK_NAME.match(entry.name)
                if m and m.group(2) in known:
                    k = int(m.group(1))
                    if folder.name == _folder_of(k):
                        found.setdefault(k, {})[m.group(2)] = f"{self.mask_dir}/{folder.name}/{entry.name}"
        return found

    def _mapping_split(self, path: Path) -> dict[int, str]:
        lines = read_lines(path)
        out: dict[int, str] = {}
        for lineno, line in enumerate(lines, start=1):
            parts = line.split()
            if not parts or (lineno == 1 and parts[0] == "idx"):
                continue
            if len(parts) != 3:
                self.bad(f"{path}:{lineno}: expected 3 columns (idx orig_idx orig_file), found {len(parts)}")
                continue
            try:
                idx, orig = int(parts[0]), int(parts[1])
            except ValueError:
                self.bad(f"{path}:{lineno}: idx {parts[0]!r} / orig_idx {parts[1]!r} are not integers")
                continue
            out[idx] = celeba_partition_of_index(orig)
        return out

    def index(self, split: str) -> list[Record]:
        samples = sorted(self._samples(), key=lambda s: s[0])
        self.has_mask = (self.root / self.mask_dir).is_dir()
        masks = self._mask_files() if self.has_mask else {}
        map_path = self.root / self.mapping_file
        if self.cfg.split_scheme == "default" and map_path.exists():
            mapping = self._mapping_split(map_path)
        else:
            if self.cfg.split_scheme == "default":
                log.info("%s: not found; using the 28000/500/rest split by image number", map_path)
            sizes = proportional_split(len(samples), HQ_COUNT, *HQ_ATTGAN_SPLIT)
            mapping = {s[0]: split_of_position(pos, sizes) for pos, s in enumerate(samples)}
        has_attrs = any(s[2] is not None for s in samples) or (self.root / self.attr_file).exists()
        records = []
        for k, where, attrs, ok in samples:
            if not ok:
                continue
            if k not in mapping:
                self.bad(f"{map_path}: no line for image {k} ({where})")
                continue
            if mapping[k] != split:
                continue
            files = [f"{self.image_dir}/{k}.jpg"]
            classes: list[str] = []
            if self.has_mask:
                present = masks.get(k, {})
                if not present:
                    self.bad(f"{self.root / self.mask_dir / _folder_of(k)}: no mask PNG for image {k} "
                             f"({k:05d}_<class>.png; {where})")
                    continue
                classes = [c for c in CELEBAMASK_HQ_ORDER if c in present]
                files += [present[c] for c in classes]
            labels: dict[str, Any] = {"classes": tuple(classes)}
            if attrs is not None:
                labels["attrs"] = attrs
            records.append(Record(tuple(files), where, labels))
        if has_attrs:
            n = len(EVALUATOR_ATTRIBUTES)
            self.label_specs = {"attrs": ((n,), np.uint8), "attrs_known": ((n,), np.bool_)}
        return records

    # -- decode ------------------------------------------------------------------------------------------
    def compose_mask(self, record: Record) -> np.ndarray:
        """The 19-class mask of one record at the PNGs' own size (later classes overwrite earlier)."""
        mask = None
        for cls, rel in zip(record.labels["classes"], record.files[1:], strict=True):
            layer = read_binary_mask(self.root / rel)
            if mask is None:
                mask = np.zeros(layer.shape, dtype=np.uint8)
            elif layer.shape != mask.shape:
                raise DatasetError(f"{self.root / rel}: mask is {layer.shape[1]}x{layer.shape[0]}, the other "
                                   f"masks of this image are {mask.shape[1]}x{mask.shape[0]}")
            mask[layer] = CLASS_INDEX[cls]
        assert mask is not None
        return mask

    def decode(self, record: Record) -> dict[str, np.ndarray]:
        res = self.resolution
        pixels = read_rgb(self.root / record.files[0])
        out = {"image": resize_image(crop(pixels, center_square(pixels.shape[1], pixels.shape[0])), res)}
        if self.has_mask:
            mask = self.compose_mask(record)
            h, w = mask.shape
            x0, y0, x1, y1 = center_square(w, h)
            out["mask"] = resize_mask(mask[y0:y1, x0:x1], res)
        if "attrs" in self.label_specs:
            out["attrs"] = record.labels["attrs"]
            out["attrs_known"] = np.ones(len(EVALUATOR_ATTRIBUTES), dtype=np.bool_)
        return out
