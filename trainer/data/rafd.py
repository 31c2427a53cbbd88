"""RaFD, the Radboud Faces Database: 67 models x 8 expressions x 3 gazes x 5 camera angles, 681x1024 JPEGs.

Files: any folder tree under ``cfg.root`` holding RaFD's own file names,
``Rafd{angle}_{id}_{ethnicity}_{gender}_{expression}_{gaze}.jpg`` (Rafd090_01_Caucasian_female_angry_frontal.jpg).
A .jpg whose name does not parse is left out with a warning (never fatal). ``cfg.rafd_angles`` and
``cfg.rafd_gazes`` choose the views (default the frontal camera, 090, looking frontal: 536 images;
``rafd_gazes="all"`` gives the 1608 of the hierarchical expression GAN paper).

Crop (SeCGAN's "600x600 crop around the centre of the head"): a square of 600/681 of the image width,
centred horizontally and at 0.43 of the height (rows 140..740 of a 1024-row image), then resized to
cfg.resolution. Portrait images of another size are cropped at the same fractions.

Split (SeCGAN): the identities, sorted by id and shuffled with ``cfg.split_seed``: the first 60 train, the
rest (7 of 67) test; a set with fewer or more identities keeps the same proportion (at least one test
identity; 358 of SynthFaces' 400 train).
val = all images of the first 3 train identities (scaled likewise, at least 1): a monitoring subset of
train, *not* held out — report figures on test.

Samples carry ``expression``, ``identity`` (the model number) and, from the gender field, the Male
attribute (``attrs_known`` is True only there).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS
from trainer.data.base import FaceFolderDataset, Record
from trainer.data.errors import DatasetError
from trainer.data.image_files import read_rgb
from trainer.data.layouts import rafd_face_box
from trainer.data.registry import DataConfig
from trainer.data.transforms import crop, resize_image
from trainer.registry import DATASETS

RAFD_IDENTITIES, RAFD_TRAIN_IDENTITIES, RAFD_VAL_IDENTITIES = 67, 60, 3
RAFD_ANGLES = ("000", "045", "090", "135", "180")
RAFD_GAZES = ("frontal", "left", "right")
_NAME = re.compile(r"^Rafd(\d{3})_(\d+)_([A-Za-z]+)_([A-Za-z]+)_([A-Za-z]+)_([A-Za-z]+)\.jpe?g$", re.IGNORECASE)
_MALE = EVALUATOR_ATTRIBUTES.index("Male")


def parse_rafd_name(name: str) -> dict[str, Any] | None:
    """The fields of a RaFD file name, or None when it is not one."""
    m = _NAME.match(name)
    if not m:
        return None
    angle, ident, ethnicity, gender, expression, gaze = m.groups()
    gender, expression, gaze = gender.lower(), expression.lower(), gaze.lower()
    if gender not in ("male", "female") or expression not in EXPRESSIONS or gaze not in RAFD_GAZES:
        return None
    return {"angle": angle, "identity": int(ident), "ethnicity": ethnicity, "gender": gender,
            "expression": expression, "gaze": gaze}


def identity_split(identities: list[int], seed: int) -> dict[str, set[int]]:
    """The seeded identity split: {"train", "val", "test"} -> identity ids (val is a subset of train)."""
    ids = sorted(set(identities))
    n = len(ids)
    order = [ids[i] for i in np.random.default_rng(seed).permutation(n)]
    # RaFD's 60 of 67 as a proportion, for smaller and larger sets alike (SynthFaces writes 400 identities
    # in this layout: a fixed 60 would train on 15 % of them)
    n_train = max(1, min(round(RAFD_TRAIN_IDENTITIES * n / RAFD_IDENTITIES), n - 1))
    n_val = max(1, round(RAFD_VAL_IDENTITIES * min(n, RAFD_IDENTITIES) / RAFD_IDENTITIES))
    train = order[:n_train]
    return {"train": set(train), "val": set(train[:n_val]), "test": set(order[n_train:])}


def _choice(value: str, allowed: tuple[str, ...], what: str) -> set[str]:
    items = {v.strip().lower() for v in value.split(",") if v.strip()}
    if items == {"all"}:
        return set(allowed)
    unknown = items - set(allowed)
    if unknown or not items:
        raise DatasetError(f"{what} {value!r}: expected a comma-separated subset of {', '.join(allowed)} or 'all'")
    return items


@DATASETS.register("rafd")
class RaFDDataset(FaceFolderDataset):
    """RaFD images with expression, identity and gender."""

    name = "rafd"
    version = 1

    def __init__(self, cfg: DataConfig, split: str) -> None:
        if cfg.split_scheme != "default":
            raise DatasetError(f"unknown split_scheme {cfg.split_scheme!r} for RaFD; it has only 'default'")
        self.angles = _choice(cfg.rafd_angles, RAFD_ANGLES, "rafd_angles")
        self.gazes = _choice(cfg.rafd_gazes, RAFD_GAZES, "rafd_gazes")
        super().__init__(cfg, split)

    def options(self) -> dict[str, Any]:
        return {"angles": sorted(self.angles), "gazes": sorted(self.gazes), "split_seed": self.cfg.split_seed}

    def _listing(self) -> list[str]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = os.path.relpath(dirpath, self.root)
            for f in filenames:
                if f.lower().endswith((".jpg", ".jpeg")):
                    found.append(f if rel == "." else f"{rel}/{f}")
        return sorted(found)

    def index(self, split: str) -> list[Record]:
        chosen = []
        for rel in self._listing():
            fields = parse_rafd_name(Path(rel).name)
            if fields is None:
                self.skips.add_excluded(f"{self.root / rel}: not a RaFD file name "
                                        "(Rafd{angle}_{id}_{ethnicity}_{gender}_{expression}_{gaze}.jpg)")
                continue
            if fields["angle"] in self.angles and fields["gaze"] in self.gazes:
                chosen.append((rel, fields))
        self.skips.warn_excluded = True     # a stray file in a RaFD folder is worth a warning
        if not chosen:
            raise DatasetError(f"{self.root}: no RaFD images with angle {sorted(self.angles)} and gaze "
                               f"{sorted(self.gazes)}")
        ids = identity_split([f["identity"] for _, f in chosen], self.cfg.split_seed)[split]
        n = len(EVALUATOR_ATTRIBUTES)
        self.label_specs = {"attrs": ((n,), np.uint8), "attrs_known": ((n,), np.bool_),
                            "expression": ((), np.int64), "identity": ((), np.int64)}
        return [Record((rel,), rel, f) for rel, f in chosen if f["identity"] in ids]

    def decode(self, record: Record) -> dict[str, np.ndarray]:
        res = self.resolution
        pixels = read_rgb(self.root / record.files[0])
        box = rafd_face_box(pixels.shape[1], pixels.shape[0])
        image = resize_image(crop(pixels, box), res)
        attrs = np.zeros(len(EVALUATOR_ATTRIBUTES), dtype=np.uint8)
        known = np.zeros(len(EVALUATOR_ATTRIBUTES), dtype=np.bool_)
        attrs[_MALE] = record.labels["gender"] == "male"
        known[_MALE] = True
        return {"image": image, "attrs": attrs, "attrs_known": known,
                "expression": np.int64(EXPRESSIONS.index(record.labels["expression"])),
                "identity": np.int64(record.labels["identity"])}
