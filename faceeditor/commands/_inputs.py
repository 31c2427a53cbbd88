"""The inputs every model command opens first, with their failures turned into one-line CLI errors."""
from __future__ import annotations

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
