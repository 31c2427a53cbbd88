"""CelebA (aligned-and-cropped release): img_align_celeba/*.jpg at 178x218 with its text label files.

Files under ``cfg.root``:
    img_align_celeba/000001.jpg ...
    list_attr_celeba.txt              line 1 count, line 2 the 40 names, then "000001.jpg -1  1 ..." (±1)
    list_eval_partition.txt           "000001.jpg 0" (0 train, 1 val, 2 test); needed by split_scheme "default"
    list_landmarks_align_celeba.txt   optional: count, 10 column names, "000001.jpg x y x y ..." (5 points)
    identity_CelebA.txt               optional: "000001.jpg 2880"
The original distribution's sub-folders are found too: Img/img_align_celeba, Anno/*.txt, Eval/*.txt
(torchvision's flat layout is the one above).

Preprocessing: centre crop 178x178 (rows 20..197), resize to cfg.resolution (area). Samples carry the
15 EVALUATOR_ATTRIBUTES (all known), ``landmarks5`` at output resolution when the landmark file exists and
``identity`` when the identity file exists.

Splits: "default" = list_eval_partition.txt. "attgan" = the AttGAN/STGAN split: file names sorted, the first
182000 train, the next 637 val, the rest (19962) test; for a set smaller than CelebA's 202599 images each
part is scaled by n / 202599 (val at least 1 image, test at least 1), see layouts.proportional_split.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES
from trainer.data.base import FaceFolderDataset, Record
from trainer.data.errors import DatasetError, log
from trainer.data.image_files import read_rgb
from trainer.data.layouts import CELEBA_ATTGAN_SPLIT, CELEBA_COUNT, proportional_split, split_of_position
from trainer.data.registry import DataConfig
from trainer.data.transforms import center_square, crop, crop_resize_points, resize_image
from trainer.registry import DATASETS

OFFICIAL_PARTITION = {"0": "train", "1": "val", "2": "test"}
ATTGAN_SPLIT = CELEBA_ATTGAN_SPLIT


def read_lines(path: Path) -> list[str]:
    """A label file's lines (latin-1, so odd bytes show up as unparsable tokens with a line number)."""
    try:
        return path.read_text(encoding="latin-1").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: label file is missing") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read label file ({exc})") from None


def read_attribute_table(ds: FaceFolderDataset, path: Path, wanted: tuple[str, ...] = EVALUATOR_ATTRIBUTES,
                         ) -> tuple[list[str], list[tuple[int, str, np.ndarray | None]]]:
    """Parse a CelebA-style attribute file (count line, names line, "file v1 v2 ..." rows of ±1).

    Returns the column names and one (line number, file name, `wanted` attributes as uint8 0/1) per row;
    a malformed row goes through ``ds.bad`` (raise, or count with skip_bad) and is returned with None so
    that positional splits do not shift.
    """
    lines = read_lines(path)
    if len(lines) < 2:
        raise DatasetError(f"{path}: expected a count line and a header line, found {len(lines)} line(s)")
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise DatasetError(f"{path}:1: expected the number of images, found {lines[0].strip()[:60]!r}") from None
    names = lines[1].split()
    missing = [w for w in wanted if w not in names]
    if missing:
        raise DatasetError(f"{path}:2: attribute column(s) {', '.join(missing)} missing from the header")
    cols = [names.index(w) for w in wanted]
    rows: list[tuple[int, str, np.ndarray | None]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        fname = parts[0]
        if len(parts) != len(names) + 1:
            ds.bad(f"{path}:{lineno}: expected {len(names) + 1} columns (file name and {len(names)} "
                   f"values), found {len(parts)}")
            rows.append((lineno, fname, None))
            continue
        if fname in seen:
            ds.bad(f"{path}:{lineno}: {fname} is listed twice")
            continue
        seen.add(fname)
        values = parts[1:]
        bad_col = next((j for j, v in enumerate(values) if v not in ("1", "-1")), None)
        if bad_col is not None:
            ds.bad(f"{path}:{lineno}: value {values[bad_col]!r} of {names[bad_col]} is not 1 or -1")
            rows.append((lineno, fname, None))
            continue
        rows.append((lineno, fname, np.asarray([values[c] == "1" for c in cols], dtype=np.uint8)))
    if declared != len(rows):
        log.warning("%s: line 1 declares %d images but %d rows follow", path, declared, len(rows))
    return names, rows


def read_keyed_rows(ds: FaceFolderDataset, path: Path, ncols: int, skip_header: int, what: str,
                    parse: Any) -> dict[str, tuple[int, Any]]:
    """Parse "file v1 ... v{ncols-1}" rows into {file: (line number, parse(values))}; bad rows go
    through ds.bad. `parse` raises ValueError for values it does not accept."""
    out: dict[str, tuple[int, Any]] = {}
    for lineno, line in enumerate(read_lines(path)[skip_header:], start=skip_header + 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != ncols:
            ds.bad(f"{path}:{lineno}: expected {ncols} columns ({what}), found {len(parts)}")
            continue
        try:
            out[parts[0]] = (lineno, parse(parts[1:]))
        except ValueError as exc:
            ds.bad(f"{path}:{lineno}: {exc}")
    return out


def _partition(values: list[str]) -> str:
    if values[0] not in OFFICIAL_PARTITION:
        raise ValueError(f"partition {values[0]!r} is not 0, 1 or 2")
    return OFFICIAL_PARTITION[values[0]]


def _landmarks5(values: list[str]) -> np.ndarray:
    try:
        return np.asarray([float(v) for v in values], dtype=np.float32).reshape(5, 2)
    except ValueError:
        raise ValueError(f"landmark coordinates {' '.join(values)!r} are not numbers") from None


def _identity(values: list[str]) -> int:
    try:
        return int(values[0])
    except ValueError:
        raise ValueError(f"identity {values[0]!r} is not an integer") from None


@DATASETS.register("celeba")
class CelebADataset(FaceFolderDataset):
    """CelebA aligned images with the 15 evaluator attributes, 5 landmarks and identities."""

    name = "celeba"
    version = 1
    image_dir = "img_align_celeba"
    attr_file = "list_attr_celeba.txt"
    partition_file = "list_eval_partition.txt"
    landmark_file = "list_landmarks_align_celeba.txt"
    identity_file = "identity_CelebA.txt"

    def __init__(self, cfg: DataConfig, split: str) -> None:
        if cfg.split_scheme not in ("default", "attgan"):
            raise DatasetError(f"unknown split_scheme {cfg.split_scheme!r} for CelebA; use 'default' or 'attgan'")
        super().__init__(cfg, split)

    def _find(self, name: str, folders: tuple[str, ...]) -> Path:
        """root/name, or root/<folder>/name for the original distribution's Anno/, Eval/ and Img/."""
        for folder in ("", *folders):
            path = self.root / folder / name
            if path.exists():
                return path
        return self.root / name

    def label_files(self) -> list[Path]:
        return [self._find(f, ("Anno", "Eval")) for f in (self.attr_file, self.partition_file,
                                                          self.landmark_file, self.identity_file)]

    def index(self, split: str) -> list[Record]:
        attr_path = self._find(self.attr_file, ("Anno",))
        image_dir = self._find(self.image_dir, ("Img",)).relative_to(self.root).as_posix()
        _, rows = read_attribute_table(self, attr_path)
        if self.cfg.split_scheme == "attgan":
            order = sorted(range(len(rows)), key=lambda k: rows[k][1])
            sizes = proportional_split(len(rows), CELEBA_COUNT, *ATTGAN_SPLIT)
            part = {rows[k][1]: split_of_position(pos, sizes) for pos, k in enumerate(order)}
        else:
            ppath = self._find(self.partition_file, ("Eval",))
            if not ppath.exists():
                raise DatasetError(f"{ppath}: missing; it defines the official split "
                                   "(or use split_scheme 'attgan')")
            partitions = read_keyed_rows(self, ppath, 2, 0, "file name and partition", _partition)
            part = {f: p for f, (_, p) in partitions.items()}
        lpath = self._find(self.landmark_file, ("Anno",))
        landmarks = (read_keyed_rows(self, lpath, 11, 2, "file name and 5 x,y points", _landmarks5)
                     if lpath.exists() else None)
        ipath = self._find(self.identity_file, ("Anno",))
        identities = (read_keyed_rows(self, ipath, 2, 0, "file name and identity", _identity)
                      if ipath.exists() else None)

        records = []
        for lineno, fname, attrs in sorted(rows, key=lambda r: r[1]):
            if attrs is None:
                continue
            where = f"{attr_path.name} line {lineno}"
            if fname not in part:
                self.bad(f"{self._find(self.partition_file, ('Eval',))}: no partition line for {fname} ({where})")
                continue
            if part[fname] != split:
                continue
            labels: dict[str, Any] = {"attrs": attrs}
            for key, table, path in (("landmarks5", landmarks, lpath), ("identity", identities, ipath)):
                if table is None:
                    continue
                if fname not in table:
                    self.bad(f"{path}: no line for {fname} ({where})")
                    break
                labels[key] = table[fname][1]
            else:
                records.append(Record((f"{image_dir}/{fname}",), where, labels))
        n_attr = len(EVALUATOR_ATTRIBUTES)
        self.label_specs = {"attrs": ((n_attr,), np.uint8), "attrs_known": ((n_attr,), np.bool_)}
        if landmarks is not None:
            self.label_specs["landmarks5"] = ((5, 2), np.float32)
        if identities is not None:
            self.label_specs["identity"] = ((), np.int64)
        return records

    def decode(self, record: Record) -> dict[str, np.ndarray]:
        res = self.resolution
        path = self.root / record.files[0]
        pixels = read_rgb(path)
        box = center_square(pixels.shape[1], pixels.shape[0])
        image = resize_image(crop(pixels, box), res)
        out = {"image": image, "attrs": record.labels["attrs"],
               "attrs_known": np.ones(len(EVALUATOR_ATTRIBUTES), dtype=np.bool_)}
        if "landmarks5" in self.label_specs:
            out["landmarks5"] = crop_resize_points(record.labels["landmarks5"], box, res)
        if "identity" in self.label_specs:
            out["identity"] = np.int64(record.labels["identity"])
        return out
