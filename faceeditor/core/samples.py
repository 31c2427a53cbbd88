"""The bundled sample files in ``faceeditor/resources/samples``: pictures to open, and the SCGAN sample inputs.

One place finds them (``samples_dir``, from ``faceeditor.resources``), for the app (File ▸ Open sample, the
first start), ``faceeditor-cli synth`` and ``interpolate`` (``--sample``) and the tests.

The folder holds SynthFaces pictures (``synthface_NNNN.png``) and, for synthesis, masks
(``NAME_mask.png``, a 19-class index PNG) with their landmarks (``NAME_landmarks.json``). A picture's mask,
when there is one, is ``PICTURE_mask.png`` next to it.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from faceeditor.core.safe_read import JSONReadError, load_json_file
from faceeditor.resources import samples_dir

MASK_SUFFIX = "_mask.png"
LANDMARKS_SUFFIX = "_landmarks.json"
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

__all__ = ["bundled_samples", "sample_attributes", "sample_mask", "samples_dir", "synthesis_sample_files",
           "synthesis_sample_names"]


def _folder(folder: str | os.PathLike | None) -> Path | None:
    return samples_dir() if folder is None else Path(folder)


def bundled_samples(folder: str | os.PathLike | None = None) -> list[Path]:
    """The sample pictures, sorted by name: not the masks beside them, which are synthesis inputs."""
    where = _folder(folder)
    if where is None or not where.is_dir():
        return []
    return sorted(p for p in where.iterdir()
                  if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES and not p.name.endswith(MASK_SUFFIX))


def sample_mask(picture: str | os.PathLike) -> Path | None:
    """The 19-class mask stored for a sample picture (``NAME_mask.png`` beside it), or None."""
    picture = Path(picture)
    mask = picture.with_name(picture.stem + MASK_SUFFIX)
    return mask if mask.is_file() else None


def synthesis_sample_names(folder: str | os.PathLike | None = None) -> list[str]:
    """Names of the SCGAN samples: those with both a mask PNG and a landmarks JSON."""
    where = _folder(folder)
    if where is None or not where.is_dir():
        return []
    names = (p.name[: -len(MASK_SUFFIX)] for p in where.glob(f"*{MASK_SUFFIX}"))
    return sorted(n for n in names if (where / f"{n}{LANDMARKS_SUFFIX}").is_file())


def synthesis_sample_files(name: str, folder: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """(mask PNG, landmarks JSON) of the SCGAN sample ``name``; LookupError naming the known ones."""
    where = _folder(folder)
    names = synthesis_sample_names(where)
    if where is None or name not in names:
        known = ", ".join(names) if names else f"none in {str(where)!r}"
        raise LookupError(f"no sample {name!r}; the bundled ones are {known}")
    return where / f"{name}{MASK_SUFFIX}", where / f"{name}{LANDMARKS_SUFFIX}"


def sample_attributes(landmarks_file: str | os.PathLike) -> dict[str, float]:
    """The attributes a sample's landmarks file records for its face (``"attributes"``); {} when it
    records none or cannot be read (they are a default, never required)."""
    from faceeditor.core.face_geometry import LANDMARKS_FILE_LIMIT

    try:
        data = load_json_file(landmarks_file, what="landmarks file", limit=LANDMARKS_FILE_LIMIT)
    except JSONReadError:
        return {}
    attrs = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attrs, dict):
        return {}
    return {str(k): float(v) for k, v in attrs.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
