"""AffectNet (manually annotated part): photos in the wild with a face box, 68 landmarks and an expression.

Files under ``cfg.root``, as distributed:
    Manually_Annotated_file_lists/training.csv, validation.csv   (or both at the root)
                                   header "subDirectory_filePath,face_x,face_y,face_width,face_height,
                                   facial_landmarks,expression,valence,arousal"; facial_landmarks is
                                   "x1;y1;x2;y2;..." (68 points)
    Manually_Annotated_Images/<subDirectory_filePath>

Expression codes 0 Neutral, 1 Happy, 2 Sad, 3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt map to
our 8 EXPRESSIONS; rows with 8 None, 9 Uncertain and 10 No-Face are left out and counted (logged).

Crop: a square of side (1 + 2 * 0.2) * max(face_width, face_height) centred on the face box, moved inside
the photo (and shrunk to its short side when it does not fit), then resized to cfg.resolution; the 68
landmarks are mapped into it (``landmarks``).

Split: test = validation.csv (AffectNet publishes no test labels); val = a seeded 1% of training.csv's
rows (``cfg.split_seed``; at least one), train = the other rows of training.csv.
"""
from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from faceeditor.core.labels import EXPRESSIONS
from trainer.data.base import FaceFolderDataset, Record
from trainer.data.errors import DatasetError
from trainer.data.image_files import read_rgb
from trainer.data.registry import DataConfig
from trainer.data.transforms import crop, crop_resize_points, resize_image, square_around
from trainer.registry import DATASETS

AFFECTNET_EXPRESSIONS = {0: "neutral", 1: "happy", 2: "sad", 3: "surprised", 4: "fearful", 5: "disgusted",
                         6: "angry", 7: "contemptuous"}
UNUSED_CODES = {8: "None", 9: "Uncertain", 10: "No-Face"}
REQUIRED_COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
                    "facial_landmarks", "expression")
LISTS_DIR = "Manually_Annotated_file_lists"      # where AffectNet ships its CSVs
LABEL_CSVS = ("training.csv", "validation.csv")
BOX_MARGIN = 0.2
VAL_FRACTION = 0.01


def face_crop(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The square crop (x0, y0, x1, y1) for face box (x, y, w, h) in a width x height photo."""
    x, y, w, h = box
    return square_around(x + w / 2, y + h / 2, max(w, h) * (1 + 2 * BOX_MARGIN), width, height)


@DATASETS.register("affectnet")
class AffectNetDataset(FaceFolderDataset):
    """AffectNet photos cropped around the annotated face, with expression and 68 landmarks."""

    name = "affectnet"
    version = 1
    image_dir = "Manually_Annotated_Images"

    def __init__(self, cfg: DataConfig, split: str) -> None:
        if cfg.split_scheme != "default":
            raise DatasetError(f"unknown split_scheme {cfg.split_scheme!r} for AffectNet; it has only 'default'")
        super().__init__(cfg, split)

    def _find_csv(self, name: str) -> Path | None:
        for folder in (self.root, self.root / LISTS_DIR):
            if (folder / name).is_file():
                return folder / name
        return None

    def csv_path(self, name: str) -> Path:
        """Where a label CSV is: at the root, else in Manually_Annotated_file_lists/ as AffectNet ships it
        (so the dataset works both as distributed and with the CSVs moved up). A missing file is a
        DatasetError naming both places."""
        found = self._find_csv(name)
        if found is None:
            raise DatasetError(f"{self.root}: AffectNet label file {name} is missing (looked for "
                               f"{self.root / LISTS_DIR / name} and {self.root / name})")
        return found

    def label_files(self) -> list[Path]:
        return [self._find_csv(name) or self.root / LISTS_DIR / name for name in LABEL_CSVS]

    def options(self) -> dict[str, Any]:
        return {"margin": BOX_MARGIN, "val_fraction": VAL_FRACTION, "split_seed": self.cfg.split_seed}

    def _parse_row(self, path: Path, lineno: int, row: dict[str, str]) -> dict[str, Any] | None:
        where = f"{path}:{lineno}"
        try:
            code = int(row["expression"])
        except ValueError:
            self.bad(f"{where}: expression {row['expression']!r} is not an integer")
            return None
        if code in UNUSED_CODES:
            self.skips.add_excluded(f"{where}: expression {code} ({UNUSED_CODES[code]})")
            return None
        if code not in AFFECTNET_EXPRESSIONS:
            self.bad(f"{where}: expression code {code} is not one of 0..10")
            return None
        try:
            box = tuple(float(row[k]) for k in ("face_x", "face_y", "face_width", "face_height"))
        except ValueError:
            self.bad(f"{where}: face box {[row[k] for k in REQUIRED_COLUMNS[1:5]]} is not numeric")
            return None
        if not all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            self.bad(f"{where}: face box {box} has no area")
            return None
        try:
            pts = np.asarray([float(v) for v in row["facial_landmarks"].split(";") if v.strip()], dtype=np.float32)
        except ValueError:
            self.bad(f"{where}: facial_landmarks is not a list of numbers")
            return None
        if pts.size != 136 or not np.isfinite(pts).all():
            self.bad(f"{where}: facial_landmarks has {pts.size} numbers, expected 136 (68 x;y points)")
            return None
        rel = PurePosixPath(row["subDirectory_filePath"].strip().replace("\\", "/"))
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            self.bad(f"{where}: image path {str(rel)!r} is not a relative path inside {self.image_dir}/")
            return None
        return {"file": f"{self.image_dir}/{rel}", "box": box, "landmarks": pts.reshape(68, 2),
                "expression": EXPRESSIONS.index(AFFECTNET_EXPRESSIONS[code])}

    def _read_csv(self, path: Path) -> list[tuple[int, str, dict[str, Any] | None]]:
        """(data row position, where, parsed row or None) for every row of one CSV."""
        out: list[tuple[int, str, dict[str, Any] | None]] = []
        try:
            with open(path, newline="", encoding="utf-8", errors="replace") as fh:
                reader = csv.reader(fh)
                header = [h.strip() for h in next(reader, [])]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise DatasetError(f"{path}:1: column(s) {', '.join(missing)} missing from the header")
                for row in reader:
                    lineno = reader.line_num
                    if not row or not any(cell.strip() for cell in row):
                        continue
                    where = f"{path.name} line {lineno}"
                    if len(row) != len(header):
                        self.bad(f"{path}:{lineno}: expected {len(header)} columns, found {len(row)}")
                        out.append((len(out), where, None))
                        continue
                    out.append((len(out), where, self._parse_row(path, lineno, dict(zip(header, row, strict=True)))))
        except csv.Error as exc:
            raise DatasetError(f"{path}: not a readable CSV ({exc})") from None
        return out

    def index(self, split: str) -> list[Record]:
        if split == "test":
            rows = self._read_csv(self.csv_path("validation.csv"))
        else:
            rows = self._read_csv(self.csv_path("training.csv"))
            n = len(rows)
            n_val = min(n, max(1, round(VAL_FRACTION * n)))
            val_pos = set(np.random.default_rng(self.cfg.split_seed).choice(n, n_val, replace=False).tolist())
            rows = [r for r in rows if (r[0] in val_pos) == (split == "val")]
        self.label_specs = {"expression": ((), np.int64), "landmarks": ((68, 2), np.float32)}
        return [Record((p["file"],), where, p) for _, where, p in rows if p is not None]

    def decode(self, record: Record) -> dict[str, np.ndarray]:
        res = self.resolution
        box_xywh = record.labels["box"]
        pixels = read_rgb(self.root / record.files[0])
        full = (pixels.shape[1], pixels.shape[0])
        x, y, w, h = box_xywh
        if not (0 <= x + w / 2 < full[0] and 0 <= y + h / 2 < full[1]):
            raise DatasetError(f"{self.root / record.files[0]}: face box {box_xywh} lies outside the "
                               f"{full[0]}x{full[1]} image")
        box = face_crop(box_xywh, *full)
        return {"image": resize_image(crop(pixels, box), res),
                "expression": np.int64(record.labels["expression"]),
                "landmarks": crop_resize_points(record.labels["landmarks"], box, res)}
