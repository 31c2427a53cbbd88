"""What faceeditor-cli synth and interpolate share: the synthesis model of a pack, masks and landmark files
read and fitted to the model's resolution, attribute settings, and the bundled SCGAN samples.

Sizes: a synthesis model draws square faces at its resolution R. A square mask of another size is
resized to R x R (nearest neighbour, so classes never blend); a non-square mask, or one smaller than
MIN_MASK_SIZE, is refused rather than stretched or guessed. Landmark files hold pixel coordinates of a
picture; they are scaled to R with that picture's size (the file's "size", else the accompanying mask's).
Attributes: what ``--set`` gives, else what the mask decides (faceeditor.core.mask_attributes: Bald, Bangs,
Eyeglasses, Mouth_Slightly_Open, read from the mask the model is given), else the model's default
(ModelEntry.attribute_defaults: manifest ``extra["attribute_defaults"]``, else 0 = absent). ``interpolate``
resolves each frame against that frame's mask (its masks change along the way): defaults < the mask's
decision < the keyframes' interpolated values < ``--set``.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import pack_for_task
from faceeditor.commands._settings import check_attribute_names
from faceeditor.commands._settings import parse_settings as parse_option_settings

if TYPE_CHECKING:
    from faceeditor.core.mask_attributes import ResolvedAttributes
    from faceeditor.engine.engine import Engine, LoadedModel

MIN_MASK_SIZE = 16


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", metavar="NAME", help="use this pack (default: the first with a synthesize "
                                                       "model)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


def add_attribute_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="attribute intensity, e.g. Male=1 (0 = absent, 1 = present; between and "
                             "beyond are allowed); repeatable. Unset attributes: what the mask shows (Bald, "
                             "Bangs, Eyeglasses, Mouth_Slightly_Open), else the model's default, else 0")


@dataclass
class SynthModel:
    """The engine with one pack loaded and the synthesize model that answers."""

    engine: Engine
    model: LoadedModel
    pack_name: str

    @property
    def resolution(self) -> int:
        return int(self.model.resolution)

    @property
    def nz(self) -> int:
        return int(self.model.input("z").shape[1])

    @property
    def attributes(self) -> list[str]:
        return list(self.model.entry.attributes)

    def defaults(self) -> dict[str, float]:
        """Value of every attribute the caller leaves unset (engine.manifest.ModelEntry.attribute_defaults)."""
        return self.model.entry.attribute_defaults()

    def attribute_values(self, settings: Mapping[str, float]) -> dict[str, float]:
        """Defaults overridden by ``settings`` (names already checked), in the model's order."""
        out = self.defaults()
        out.update({k: float(v) for k, v in settings.items()})
        return out

    def resolve(self, settings: Mapping[str, float], mask: np.ndarray) -> ResolvedAttributes:
        """Every attribute's value and where it came from: ``settings`` (names already checked), else what
        ``mask`` decides, else the model's default (faceeditor.core.mask_attributes.resolve_attributes)."""
        from faceeditor.core.mask_attributes import attributes_from_mask, resolve_attributes

        return resolve_attributes(self.attributes, self.defaults(), user=settings, mask=attributes_from_mask(mask))


def open_synth_model(pack: str | None, dirs: Iterable[str], provider: str = "auto") -> SynthModel:
    from faceeditor.engine import processing as P
    from faceeditor.engine.engine import Engine
    from faceeditor.engine.validate import PackError

    info = pack_for_task("synthesize", pack, dirs)
    try:
        engine = Engine([info.path], provider=provider)
    except PackError as exc:
        raise CLIError(f"pack {info.name!r}: {exc}") from None
    model = engine.models("synthesize")[0]
    try:
        P.class_lut(model.entry.classes)
    except P.RequestError as exc:
        raise CLIError(f"pack {info.name!r}: its synthesize model cannot read the project's masks: {exc}") from None
    if model.input("z") is None or len(model.input("z").shape) != 2 or not isinstance(model.input("z").shape[1], int):
        raise CLIError(f"pack {info.name!r}: its synthesize model has no fixed latent size (input z)")
    return SynthModel(engine, model, info.name)


def parse_settings(items: Iterable[str], known: list[str]) -> dict[str, float]:
    """``["Male=1", "Young=-0.5"]`` -> {name: value}; names must be among ``known``."""
    out = parse_option_settings(items)
    check_attribute_names(out, known, "--set")
    return out


def read_mask(path: str | os.PathLike, size: int, notes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """A 19-class mask file as (mask at size x size, its original side length).

    Index PNGs (grey or palette) hold class indices; a colour PNG is read through the project's class
    palette (faceeditor.core.mask_io.load_any_mask, as the app imports masks).
    """
    from faceeditor.core.mask_io import MaskError, load_any_mask
    from faceeditor.engine.processing import resize_mask

    try:
        mask = load_any_mask(path)
    except MaskError as exc:
        raise CLIError(str(exc)) from None
    h, w = mask.shape
    name = os.fspath(path)
    if h != w:
        raise CLIError(f"mask {name!r}: size {w}x{h} is not square; the synthesis model draws square faces "
                       f"({size}x{size}): crop or pad the mask to a square first")
    if h < MIN_MASK_SIZE:
        raise CLIError(f"mask {name!r}: size {w}x{h} is too small to describe a face (at least "
                       f"{MIN_MASK_SIZE}x{MIN_MASK_SIZE})")
    if h != size:
        if notes is not None:
            notes.append(f"mask {name!r} is {w}x{h}; resized (nearest) to the model's {size}x{size}")
        mask = resize_mask(mask, size, size)
    return mask, h


def read_landmarks(path: str | os.PathLike, size: int, frame: int | None = None) -> np.ndarray:
    """68 landmarks from a JSON file, in pixels of a size x size picture
    (faceeditor.core.face_geometry.load_landmarks_scaled: the file's "size", else ``frame``, else ``size``)."""
    from faceeditor.core.face_geometry import LandmarkError, load_landmarks_scaled

    try:
        return load_landmarks_scaled(path, size, frame)
    except LandmarkError as exc:
        raise CLIError(str(exc)) from None


# --- the bundled samples (found by faceeditor.core.samples) --------------------------------------

def sample_names(folder: str | os.PathLike | None = None) -> list[str]:
    """Names of the bundled SCGAN samples (a mask PNG and a landmarks JSON each)."""
    from faceeditor.core.samples import synthesis_sample_names

    return synthesis_sample_names(folder)


def sample_files(name: str | None, folder: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """(mask PNG, landmarks JSON) of a bundled sample; the first one when ``name`` is None."""
    from faceeditor.core.samples import samples_dir, synthesis_sample_files

    names = sample_names(folder)
    if not names:
        where = folder if folder is not None else samples_dir()
        raise CLIError(f"no bundled samples in {str(where)!r} (the installation is incomplete); give "
                       "--mask and --landmarks")
    chosen = names[0] if name is None else name
    try:
        return synthesis_sample_files(chosen, folder)
    except LookupError as exc:
        raise CLIError(f"--sample: {exc}") from None
