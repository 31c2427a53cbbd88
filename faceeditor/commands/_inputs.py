"""The inputs every model command opens first, with their failures turned into one-line CLI errors."""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from faceeditor.cli import CLIError

if TYPE_CHECKING:
    from faceeditor.core.crop_policy import CropDecision
    from faceeditor.engine.registry import PackInfo


def pack_for_task(task: str, name: str | None, dirs: Iterable[str]) -> PackInfo:
    """The named pack (or the first valid one) that has a model for ``task``. ``name`` may also be a pack
    folder (one holding a manifest.json): that pack, searched before any other."""
    from pathlib import Path

    from faceeditor.engine.manifest import MANIFEST_NAME
    from faceeditor.engine.registry import NoPackError, find_pack, inspect_pack

    dirs = list(dirs)
    if name is not None and (Path(name) / MANIFEST_NAME).exists():
        info = inspect_pack(Path(name))
        if not info.valid:
            raise CLIError(f"--pack {name}: not a valid model pack ({info.reason})")
        dirs, name = [name, *dirs], info.name
    try:
        return find_pack(task, name, dirs)
    except NoPackError as exc:
        raise CLIError(str(exc)) from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An RGB uint8 image from disk (any format image_io reads)."""
    from faceeditor.core.image_io import ImageLoadError, load_image

    try:
        return load_image(path)
    except ImageLoadError as exc:
        raise CLIError(str(exc)) from None


def add_mode_argument(parser: argparse.ArgumentParser, verb: str, *, needs_face: bool = False) -> None:
    """--mode auto|face|whole (and --whole), as the commands that work on an aligned face crop or the whole
    image take it."""
    auto = ("whole when the picture already frames its face like an aligned crop, the face otherwise; a "
            "picture without a usable face is refused" if needs_face else
            "whole when the picture already frames its face like an aligned crop or has no usable face, else the "
            "face")
    parser.add_argument("--mode", choices=("auto", "face", "whole"), default="auto",
                        help=f"{verb} the aligned face crop or the whole image (auto: {auto}; "
                             "faceeditor.core.crop_policy)")
    parser.add_argument("--whole", dest="mode", action="store_const", const="whole",
                        help=f"{verb} the whole picture as a face crop (same as --mode whole)")


def crop_choice(photo: np.ndarray, image: str, mode: str, verb: str, *, needs_face: bool = False
                ) -> tuple[np.ndarray | None, CropDecision]:
    """The main face's landmarks (None when not looked for or not found) and the crop decision for --mode
    (crop_policy.choose_crop, as the app decides); --mode face on a picture without a face is an error, and
    so is --mode auto for a command that `needs_face` (a reading of attributes means nothing without one)."""
    from faceeditor.core.crop_policy import choose_crop

    search, decision = choose_crop(photo, mode)
    if (mode == "face" and decision.mode != "face") or (needs_face and mode == "auto" and decision.face_missing):
        what = search.missing if search.landmarks is None else decision.reason.split(";")[0]
        raise CLIError(f"{image}: {what}; use --whole to {verb} the whole picture as a face crop")
    return search.landmarks, decision
