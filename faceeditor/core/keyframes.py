"""The keyframes file format: a timeline of synthesis keyframes as JSON, its reader and its writer.

``faceeditor-cli interpolate clip.json`` reads it, and projects store their timeline in it (the
``keyframes.json`` member of a ``.fep`` file, faceeditor.core.project). Every field of a keyframe but
``time`` is optional:

    {"fps": 25, "curve": "catmull_rom",
     "keyframes": [
       {"time": 0.0, "mask": "a_mask.png", "landmarks": "a_landmarks.json", "seed": 7,
        "attributes": {"Male": 1, "Young": 0}},
       {"time": 2.0, "landmarks": [[x, y], ... 68 points], "seed": 9}]}

- ``time``: seconds, a non-negative number (frame = round(time * fps), counted from the first keyframe);
- ``mask``: a 19-class mask PNG, ``landmarks``: a landmarks JSON file (both paths relative to the file
  holding the keyframes; for a project, its folder), or ``landmarks`` given inline as 68 [x, y] points;
- ``seed``: the latent seed, a non-negative integer; ``attributes``: name -> finite number;
- ``expression``: a name from faceeditor.core.labels.EXPRESSIONS, ``intensity``: its strength (default 1);
- ``fps`` (0 < fps <= 240, default 25) and ``curve`` (one of CURVES, default catmull_rom);
- ``interpolation``: track -> mode (TRACKS, MODES: linear, smooth, hold) for the app's timeline tracks;
  a track left out is linear (landmarks: smooth, along ``curve``);
- ``target``: what the clip shows (TARGETS): a synthesised face (default), the photo with the attribute
  sliders over time, or the photo with the expression over time.

Reading treats the file as hostile: the size is bounded (MAX_FILE_BYTES), so is the number of keyframes
(MAX_KEYFRAMES) and attributes; nesting too deep, unknown fields and wrong types are refused, each with one
:class:`KeyframeError` line that names the file, the keyframe and the field.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceeditor.core.safe_read import ReadError, loads_json, read_regular_file

CURVES: tuple[str, ...] = ("linear", "catmull_rom", "monotone", "hold")
TRACKS: tuple[str, ...] = ("seed", "landmarks", "attributes", "expression")
MODES: tuple[str, ...] = ("linear", "smooth", "hold")
TARGETS: tuple[str, ...] = ("synthesis", "attributes", "expression")
DEFAULT_FPS = 25.0
MAX_FPS = 240.0
DEFAULT_CURVE = "catmull_rom"
KEYFRAME_FIELDS = ("time", "mask", "landmarks", "seed", "attributes", "expression", "intensity")
FILE_FIELDS = ("fps", "curve", "keyframes", "interpolation", "target")
MAX_FILE_BYTES = 16 << 20
MAX_KEYFRAMES = 10_000
MAX_ATTRIBUTES = 256
MAX_PATH_CHARS = 4096
MAX_FRAMES = 100_000


class KeyframeError(ValueError):
    """Keyframes that cannot be read or interpolated; the message names the keyframe and the problem."""


@dataclass(frozen=True)
class KeyframeSpec:
    """One keyframe as stored: ``landmarks`` is a file path (str) or the 68 points as a tuple of (x, y)."""

    time: float
    mask: str | None = None
    landmarks: str | tuple[tuple[float, float], ...] | None = None
    seed: int | None = None
    attributes: dict[str, float] = field(default_factory=dict)
    expression: str | None = None
    intensity: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The keyframe as the file stores it (unset fields left out)."""
        out: dict[str, Any] = {"time": self.time}
        if self.mask is not None:
            out["mask"] = self.mask
        if self.landmarks is not None:
            out["landmarks"] = self.landmarks if isinstance(self.landmarks, str) else [list(p) for p in self.landmarks]
        if self.seed is not None:
            out["seed"] = self.seed
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        if self.expression is not None:
            out["expression"] = self.expression
        if self.intensity is not None:
            out["intensity"] = self.intensity
        return out


@dataclass
class KeyframeFile:
    """A keyframes file: its keyframes (in the file's order), frames per second and landmark curve."""

    keyframes: list[KeyframeSpec] = field(default_factory=list)
    fps: float = DEFAULT_FPS
    curve: str = DEFAULT_CURVE
    interpolation: dict[str, str] = field(default_factory=dict)   # track -> mode; absent: the default
    target: str = TARGETS[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fps": self.fps, "curve": self.curve,
                               "keyframes": [k.to_json() for k in self.keyframes]}
        if self.interpolation:
            out["interpolation"] = dict(self.interpolation)
        if self.target != TARGETS[0]:
            out["target"] = self.target
        return out


# --- reading -----------------------------------------------------------------------------------------------

def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _path_field(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_PATH_CHARS or "\x00" in value:
        raise KeyframeError(f"{where}: \"{key}\" must be a file path, got {_short(value)}")
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _landmarks_field(value: object, where: str) -> str | tuple[tuple[float, float], ...]:
    if isinstance(value, str):
        return _path_field(value, "landmarks", where)
    if (isinstance(value, list) and len(value) == 68
            and all(isinstance(p, list) and len(p) == 2 and all(_number(v) for v in p) for p in value)):
        return tuple((float(x), float(y)) for x, y in value)
    raise KeyframeError(f"{where}: \"landmarks\" must be a file path or 68 [x, y] points, got {_short(value)}")


def _keyframe(item: object, where: str) -> KeyframeSpec:
    if not isinstance(item, dict):
        raise KeyframeError(f"{where}: expected an object, got {type(item).__name__}")
    unknown = sorted(set(item) - set(KEYFRAME_FIELDS))
    if unknown:
        raise KeyframeError(f"{where}: unknown field {_short(unknown[0])} (known: {', '.join(sorted(KEYFRAME_FIELDS))})")
    t = item.get("time")
    if not _number(t) or t < 0:
        raise KeyframeError(f"{where}: \"time\" (seconds) must be a non-negative number, got {_short(t)}")
    mask = _path_field(item["mask"], "mask", where) if "mask" in item else None
    landmarks = _landmarks_field(item["landmarks"], where) if "landmarks" in item else None
    seed = item.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63):
        raise KeyframeError(f"{where}: seed must be a non-negative integer, got {_short(seed)}")
    attrs = item.get("attributes", {})
    if (not isinstance(attrs, dict) or len(attrs) > MAX_ATTRIBUTES
            or not all(isinstance(k, str) and _number(v) for k, v in attrs.items())):
        raise KeyframeError(f"{where}: \"attributes\" must map names to finite numbers, got {_short(attrs)}")
    expression = item.get("expression")
    if expression is not None:
        from faceeditor.core.labels import EXPRESSIONS

        if expression not in EXPRESSIONS:
            raise KeyframeError(f"{where}: unknown \"expression\" {_short(expression)}; use one of "
                                f"{', '.join(EXPRESSIONS)}")
    intensity = item.get("intensity")
    if intensity is not None and not _number(intensity):
        raise KeyframeError(f"{where}: \"intensity\" must be a finite number, got {_short(intensity)}")
    return KeyframeSpec(time=float(t), mask=mask, landmarks=landmarks, seed=seed,
                        attributes={k: float(v) for k, v in attrs.items()}, expression=expression,
                        intensity=None if intensity is None else float(intensity))


def parse_keyframes(data: object, where: str = "keyframes") -> KeyframeFile:
    """A KeyframeFile from decoded JSON (the module docstring's format); KeyframeError for anything else.
    ``where`` starts every message (e.g. "keyframes file 'clip.json'")."""
    if not isinstance(data, dict) or not isinstance(data.get("keyframes"), list):
        raise KeyframeError(f"{where}: expected an object with a \"keyframes\" list")
    extra = sorted(set(data) - set(FILE_FIELDS))
    if extra:
        raise KeyframeError(f"{where}: unknown field {_short(extra[0])} (known: {', '.join(sorted(FILE_FIELDS))})")
    fps = data.get("fps", DEFAULT_FPS)
    if not _number(fps) or not 0 < fps <= MAX_FPS:
        raise KeyframeError(f"{where}: \"fps\" must be a number in (0, {MAX_FPS:g}], got {_short(fps)}")
    curve = data.get("curve", DEFAULT_CURVE)
    if curve not in CURVES:
        raise KeyframeError(f"{where}: unknown \"curve\" {_short(curve)}; use one of {', '.join(CURVES)}")
    modes = data.get("interpolation", {})
    if (not isinstance(modes, dict) or not all(k in TRACKS and v in MODES for k, v in modes.items())):
        raise KeyframeError(f"{where}: \"interpolation\" must map tracks ({', '.join(TRACKS)}) to modes "
                            f"({', '.join(MODES)}), got {_short(modes)}")
    target = data.get("target", TARGETS[0])
    if target not in TARGETS:
        raise KeyframeError(f"{where}: unknown \"target\" {_short(target)}; use one of {', '.join(TARGETS)}")
    items = data["keyframes"]
    if len(items) > MAX_KEYFRAMES:
        raise KeyframeError(f"{where}: {len(items)} keyframes; at most {MAX_KEYFRAMES} are read")
    keys = [_keyframe(item, f"{where}, keyframe {i}") for i, item in enumerate(items)]
    return KeyframeFile(keys, float(fps), str(curve), dict(modes), str(target))


def decode_keyframes(raw: bytes, where: str = "keyframes") -> KeyframeFile:
    """A KeyframeFile from the bytes of a keyframes file (bounded, UTF-8 JSON)."""
    if len(raw) > MAX_FILE_BYTES:
        raise KeyframeError(f"{where}: larger than {MAX_FILE_BYTES:,} bytes; not a keyframes file")
    return parse_keyframes(loads_json(raw, where, KeyframeError, max_bytes=MAX_FILE_BYTES), where)


def read_keyframes(path: str | os.PathLike) -> KeyframeFile:
    """Read a keyframes file; KeyframeError (one line naming the file) for anything wrong. Only a regular
    file is opened, so a named pipe given by mistake is refused instead of hanging."""
    where = f"keyframes file {os.fspath(path)!r}"
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES, "keyframes file")
    except ReadError as exc:
        raise KeyframeError(f"{where}: {exc.reason}") from None
    return decode_keyframes(raw, where)


# --- writing -----------------------------------------------------------------------------------------------

def encode_keyframes(keyframes: KeyframeFile) -> bytes:
    """The bytes of a keyframes file; KeyframeError when a value could not be read back."""
    data = keyframes.to_json()
    parse_keyframes(data, "keyframes to write")        # what is written must read back
    return json.dumps(data, indent=1, allow_nan=False).encode("utf-8")


def write_keyframes(path: str | os.PathLike, keyframes: KeyframeFile) -> Path:
    """Write a keyframes file atomically (a crash leaves any earlier file of that name whole)."""
    from faceeditor.core.atomic_io import write_bytes_atomic

    data = encode_keyframes(keyframes)
    try:
        return write_bytes_atomic(path, data)
    except OSError as exc:
        raise KeyframeError(f"cannot write keyframes file {os.fspath(path)!r}: {exc.strerror or exc}") from None


# --- timing ------------------------------------------------------------------------------------------------

def keyframe_frame_numbers(keyframes: KeyframeFile, where: str = "keyframes", *, fps: float | None = None,
                           frames: int | None = None) -> tuple[list[int], list[int]]:
    """(order, frame numbers): the keyframes' indices sorted by time and the frame each falls on.

    Frame = round((time - first time) * fps); with ``frames`` the times are stretched to frames 0..frames-1
    instead. Needs two keyframes at different times; two on one frame, or more than MAX_FRAMES frames, are
    a KeyframeError.
    """
    keys = keyframes.keyframes
    if len(keys) < 2:
        raise KeyframeError(f"{where}: need at least 2 keyframes, found {len(keys)}")
    order = sorted(range(len(keys)), key=lambda i: keys[i].time)
    t0, t1 = keys[order[0]].time, keys[order[-1]].time
    if t1 <= t0:
        raise KeyframeError(f"{where}: the keyframes' times must not all be equal")
    rate = keyframes.fps if fps is None else fps
    if frames is not None:
        numbers = [round((keys[i].time - t0) / (t1 - t0) * (frames - 1)) for i in order]
    else:
        numbers = [round((keys[i].time - t0) * rate) for i in order]
        if numbers[-1] + 1 > MAX_FRAMES:
            raise KeyframeError(f"{where}: the clip would have {numbers[-1] + 1} frames (more than {MAX_FRAMES})")
    for (a, ia), (b, ib) in zip(zip(numbers, order, strict=True), zip(numbers[1:], order[1:], strict=True),
                                strict=False):
        if a == b:
            raise KeyframeError(f"{where}, keyframe {ia} and keyframe {ib} fall on the same frame ({a}); "
                                "space their times further apart, or raise the fps or the number of frames")
    return order, numbers
