"""The inputs every model command opens first, with their failures turned into one-line CLI errors."""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from faceeditor.cli import CLIError

if TYPE_CHECKING:
    from faceeditor.engine.registry import PackInfo


def pack_for_task(task: str, name: str | None, dirs: Iterable[str]) -> PackInfo:
    """The named pack (or the first valid one) that has a model for ``task``."""
    from faceeditor.engine.registry import NoPackError, find_pack

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


def add_mode_argument(parser: argparse.ArgumentParser, verb: str) -> None:
    """--mode auto|face|whole, as the commands that work on an aligned face crop or the whole image take it."""
    parser.add_argument("--mode", choices=("auto", "face", "whole"), default="auto",
                        help=f"{verb} the aligned face crop or the whole image (auto: whole for square "
                             f"pictures up to 1024 px, else the face)")


def face_and_mode(photo: np.ndarray, image: str, mode: str, verb: str) -> tuple[np.ndarray | None, str]:
    """The main face's landmarks (None when not looked for or not found) and the crop mode --mode resolves
    to; --mode face on a picture without a face is an error."""
    from faceeditor.core.document import choose_mode, detect_landmarks

    landmarks, note = (None, None) if mode == "whole" else detect_landmarks(photo)
    chosen = choose_mode(photo, landmarks, mode)
    if mode == "face" and chosen != "face":
        raise CLIError(f"{image}: no face found ({note}); use --mode whole to {verb} the whole image")
    return landmarks, chosen
