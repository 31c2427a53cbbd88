"""Atomic file writes: readers see the old file or the complete new one, never a torn one.

One helper for every writer in the project (images, masks, projects, manifests, configs, checkpoints):
write to a hidden temporary file in the target's folder, fsync, give it the permissions a plainly created
file would get (mkstemp's are owner-only, which made exports private), then rename it over the target.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def default_file_mode() -> int:
    """The mode a plainly created file gets: 0o666 minus the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_write(path: str | os.PathLike, *, text: bool = False, mode: int | None = None) -> Iterator[IO]:
    """Open a temporary file next to `path`; on a clean exit it replaces `path`, on an error it vanishes.

    The target's folder must exist. `mode` defaults to default_file_mode().
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, default_file_mode() if mode is None else mode)
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a UTF-8 text file atomically (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, text=True) as fh:
        fh.write(text)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write a binary file atomically (creating its folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(data)
    return path
