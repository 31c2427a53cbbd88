"""Reading files the user hands us without trusting them: one regular-file reader and one JSON loader.

Every file the app, the CLI and the trainer read (manifests, configs, keyframes, landmarks, projects,
masks, photos, preferences) goes through here, so the same three promises hold everywhere:

- a named pipe, a device or a socket is refused from its ``stat`` before it is opened, and the open itself
  is non-blocking, so swapping in a FIFO between the check and the open cannot hang the caller either;
- a file larger than its kind's limit is refused before it is read (and a file that grows while read is
  refused at the limit);
- JSON nested deeper than ``max_depth`` is refused by a linear scan before it is decoded, so no reader
  ever depends on catching RecursionError deep inside the decoder or in the code that walks the result.

Errors are raised as the caller's own error type with one line naming the file and the reason.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
from typing import IO, Any

import numpy as np

# Limits by kind of file (bytes). Readers pass their own where a format has one (projects, keyframes).
JSON_FILE_LIMIT = 16 << 20          # manifests, configs, landmarks, keyframes, preferences
MAX_JSON_DEPTH = 64                  # no file of ours nests deeper than ~6; far below the recursion limit

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# A JSON string: quotes around anything but quotes and backslashes, or backslash escapes (unrolled loop,
# no backtracking). Brackets inside strings must not count as nesting.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class ReadError(ValueError):
    """A file that cannot be read safely; ``reason`` is the part after the file's name."""

    def __init__(self, path: str | os.PathLike, reason: str, what: str = "file"):
        super().__init__(f"cannot read {what} {os.fspath(path)!r}: {reason}")
        self.path = os.fspath(path)
        self.reason = reason


class JSONReadError(ValueError):
    """Default error type of :func:`loads_json` when the caller gives none."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe, not a regular file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a regular file"
    return "it is not a regular file"


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if exc.errno == errno.ENXIO:        # a FIFO without a writer, opened non-blocking for writing
        return "it is not a regular file"
    return exc.strerror or str(exc)


def open_regular_file(path: str | os.PathLike, limit: int, what: str = "file") -> IO[bytes]:
    """An open binary file object for ``path``, only if it is a regular file of at most ``limit`` bytes.

    Checked with ``stat`` before opening, opened with O_NONBLOCK (a FIFO can never block the open) and
    checked again on the open descriptor (the name may have been swapped). Raises :class:`ReadError`.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:          # ValueError: a NUL byte in the name
        raise ReadError(path, _reason(exc) if isinstance(exc, OSError) else str(exc), what) from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(path, _kind(st.st_mode), what)
    if st.st_size > limit:
        raise ReadError(path, f"the file is {st.st_size:,} bytes, larger than the limit of {limit:,} bytes for a {what}",
                        what)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ReadError(path, _reason(exc), what) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError(path, _kind(st.st_mode), what)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes (see open_regular_file);
    a file that grows past the limit while being read is refused too. Raises :class:`ReadError`."""
    with open_regular_file(path, limit, what) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise ReadError(path, _reason(exc), what) from None
    if len(data) > limit:
        raise ReadError(path, f"the file grew larger than the limit of {limit:,} bytes for a {what} while being read", what)
    return data


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped), without recursion.

    For invalid JSON the figure is an upper bound of what a decoder would descend into, which is what the
    depth check needs."""
    skeleton = _STRING.sub(b"", raw)
    if b"[" not in skeleton and b"{" not in skeleton:
        return 0
    arr = np.frombuffer(skeleton, dtype=np.uint8)
    step = ((arr == ord("[")) | (arr == ord("{"))).astype(np.int64) \
        - ((arr == ord("]")) | (arr == ord("}"))).astype(np.int64)
    return int(np.cumsum(step).max(initial=0))


def loads_json(raw: bytes | str, where: str, error_type: type[Exception] = JSONReadError, *,
               max_depth: int = MAX_JSON_DEPTH, max_bytes: int = JSON_FILE_LIMIT) -> Any:
    """Decode JSON that came from outside, or raise ``error_type`` with one line starting with ``where``.

    Refused, each with its reason: more than ``max_bytes``, not UTF-8, nested deeper than ``max_depth``
    (checked before decoding), anything the decoder rejects (including integers too long to convert).
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > max_bytes:
        raise error_type(f"{where}: larger than the limit of {max_bytes:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error_type(f"{where}: not UTF-8 text") from None
    if json_depth(data) > max_depth:
        raise error_type(f"{where}: nested too deeply (more than {max_depth} levels of arrays and objects)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error_type(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:   # int too long, lone surrogates; RecursionError never by depth
        raise error_type(f"{where}: not valid JSON ({exc})") from None


def load_json_file(path: str | os.PathLike, where: str | None = None, error_type: type[Exception] = JSONReadError,
                   *, what: str = "JSON file", limit: int = JSON_FILE_LIMIT, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and decode a JSON file with both guards (regular file, size, depth); every failure is one
    ``error_type`` line starting with ``where`` (default: the file's name)."""
    where = where if where is not None else f"{what} {os.fspath(path)!r}"
    try:
        raw = read_regular_file(path, limit, what)
    except ReadError as exc:
        raise error_type(f"{where}: {exc.reason}") from None
    return loads_json(raw, where, error_type, max_depth=max_depth, max_bytes=limit)


def file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as a file (missing, a folder, a pipe or device, no read permission), from
    its stat and access rights without opening it; None when it is worth trying."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        return _reason(exc) if isinstance(exc, OSError) else str(exc)
    if not stat.S_ISREG(st.st_mode):
        return _kind(st.st_mode)
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


__all__ = ["JSON_FILE_LIMIT", "MAX_JSON_DEPTH", "JSONReadError", "ReadError", "file_problem", "json_depth",
           "load_json_file", "loads_json", "open_regular_file", "read_regular_file"]
