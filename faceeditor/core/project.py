"""FaceEditor project files (`.fep`): one zip holding everything needed to reopen a piece of work.

Members (nothing else is read; unknown members written by a newer version are ignored):

    project.json     {"format": "faceeditor-project", "schema_version": 1, "saved_at", "source", ...}
    image.png        the original photo (RGB)
    mask.png         the edited 19-class mask of the aligned crop (8-bit grey, values = class indices)
    landmarks.json   {"landmarks": [[x, y] * 68] in photo pixels, or null}
    edits.json       attribute intensities, synthesis seed and attributes, ... (a JSON object)
    settings.json    crop mode and resolution, view settings (a JSON object)
    keyframes.json   the timeline's keyframes, in the keyframes file format (faceeditor.core.keyframes; its
                     mask and landmarks paths are relative to the project's folder, landmarks may be
                     inline); projects without it have no keyframes

Writes are atomic (a temporary file in the same folder, then os.replace). Reading treats the file as
hostile: members are read into memory by their exact names (never extracted), unsafe or duplicated names
and oversized or over-compressed members are refused before decompression, reads are bounded, and every
problem becomes one ProjectError naming the file, the member and what is wrong.
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from faceeditor.core.atomic_io import atomic_write
from faceeditor.core.image_io import ImageLoadError, load_image, load_index_mask
from faceeditor.core.keyframes import (
    KeyframeError,
    KeyframeFile,
    decode_keyframes,
    encode_keyframes,
)
from faceeditor.core.safe_read import ReadError, loads_json, open_regular_file

FORMAT = "faceeditor-project"
SCHEMA_VERSION = 1
EXTENSION = ".fep"

IMAGE_MEMBER = "image.png"
MASK_MEMBER = "mask.png"
PROJECT_MEMBER = "project.json"
LANDMARKS_MEMBER = "landmarks.json"
EDITS_MEMBER = "edits.json"
SETTINGS_MEMBER = "settings.json"
KEYFRAMES_MEMBER = "keyframes.json"

# Uncompressed size limits (bytes) per member, and for the whole archive.
MEMBER_LIMITS = {
    PROJECT_MEMBER: 1 << 20,
    IMAGE_MEMBER: 1 << 30,
    MASK_MEMBER: 256 << 20,
    LANDMARKS_MEMBER: 1 << 20,
    EDITS_MEMBER: 16 << 20,
    SETTINGS_MEMBER: 4 << 20,
    KEYFRAMES_MEMBER: 16 << 20,
}
TOTAL_LIMIT = 2 << 30
MAX_MEMBERS = 64
# A deflated member that expands more than this is a zip bomb, not a project (PNGs are stored as is).
MAX_RATIO = 200
MASK_MAX_PIXELS = 64 * 1024 * 1024


class ProjectError(ValueError):
    """A project file cannot be read or written; the message names the file and the reason."""


@dataclass
class Project:
    """The saved state of one document."""

    image: np.ndarray                                  # uint8 (H, W, 3) RGB, the original photo
    mask: np.ndarray | None = None                     # uint8 (S, S) class indices of the aligned crop
    landmarks: np.ndarray | None = None                # float64 (68, 2) photo pixels (x, y)
    edits: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = ""                                   # name of the photo it started from
    saved_at: float = 0.0                              # seconds since the epoch (set on save)
    keyframes: KeyframeFile = field(default_factory=KeyframeFile)   # the timeline (keyframes.json)


# --- writing ----------------------------------------------------------------------------------


def _png_bytes(arr: np.ndarray, mode: str, compress_level: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr), mode).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _json_bytes(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"cannot save the project: {what} is not JSON-serialisable ({exc})") from None


def project_bytes(project: Project, *, fast: bool = False, image_png: bytes | None = None) -> dict[str, bytes]:
    """The members of a project as bytes (fast: lighter PNG compression, for autosaves). `image_png`
    reuses an earlier encoding of the same photo (it never changes within a document)."""
    image = np.asarray(project.image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ProjectError(f"cannot save the project: image must be uint8 RGB (H, W, 3), got {image.shape} {image.dtype}")
    level = 1 if fast else 6
    members = {
        PROJECT_MEMBER: _json_bytes({"format": FORMAT, "schema_version": SCHEMA_VERSION,
                                     "saved_at": time.time(), "source": project.source,
                                     "image_size": [int(image.shape[1]), int(image.shape[0])]}, "project.json"),
        IMAGE_MEMBER: image_png if image_png is not None else _png_bytes(image, "RGB", level),
        LANDMARKS_MEMBER: _json_bytes({"landmarks": None if project.landmarks is None else
                                       np.asarray(project.landmarks, np.float64).tolist()}, "landmarks"),
        EDITS_MEMBER: _json_bytes(project.edits, "edits"),
        SETTINGS_MEMBER: _json_bytes(project.settings, "settings"),
    }
    try:
        timeline = project.keyframes
        if not isinstance(timeline, KeyframeFile):        # a plain list of keyframes
            timeline = KeyframeFile(list(timeline))
        members[KEYFRAMES_MEMBER] = encode_keyframes(timeline)
    except (KeyframeError, TypeError, ValueError) as exc:
        raise ProjectError(f"cannot save the project: its keyframes are not valid ({exc})") from None
    if project.mask is not None:
        mask = np.asarray(project.mask)
        if mask.dtype != np.uint8 or mask.ndim != 2:
            raise ProjectError(f"cannot save the project: mask must be uint8 (H, W), got {mask.shape} {mask.dtype}")
        members[MASK_MEMBER] = _png_bytes(mask, "L", level)
    return members


def write_members(path: str | os.PathLike, members: dict[str, bytes]) -> Path:
    """Write members as a zip, atomically. PNGs are stored (already compressed), JSON deflated."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ProjectError(f"cannot save {str(path)!r}: folder {str(path.parent)!r} does not exist")
    try:
        with atomic_write(path, mode=0o644) as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                # project.json first, so a truncated file still says what it is
                for name in sorted(members, key=lambda n: n != PROJECT_MEMBER):
                    kind = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
                    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                    info.compress_type = kind
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, members[name])
    except OSError as exc:
        raise ProjectError(f"cannot save {str(path)!r}: {exc.strerror or exc}") from None
    return path


def save_project(path: str | os.PathLike, project: Project, *, fast: bool = False) -> Path:
    """Save a project atomically (a crash mid-save leaves the previous file untouched)."""
    return write_members(path, project_bytes(project, fast=fast))


# --- reading ----------------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or ":" in name:
        return False
    parts = PurePosixPath(name).parts
    return ".." not in parts and not any(p in ("", ".") for p in parts)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    limit = MEMBER_LIMITS[info.filename]
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except zipfile.BadZipFile as exc:
        raise ProjectError(f"{where}: member {info.filename} is damaged ({exc})") from None
    except (NotImplementedError, RuntimeError) as exc:  # unknown compression, encryption
        raise ProjectError(f"{where}: member {info.filename} cannot be read ({exc})") from None
    except (OSError, EOFError, ValueError, zlib.error) as exc:   # corrupt deflate data, truncated data
        raise ProjectError(f"{where}: member {info.filename} is damaged ({type(exc).__name__}: {exc})") from None
    if len(data) > limit:
        raise ProjectError(f"{where}: member {info.filename} is larger than its limit of {limit:,} bytes")
    return data


def _json_member(raw: bytes, name: str, where: str) -> Any:
    return loads_json(raw, f"{where}: {name}", ProjectError, max_bytes=MEMBER_LIMITS.get(name, 1 << 20))


def _object_member(raw: bytes | None, name: str, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    obj = _json_member(raw, name, where)
    if not isinstance(obj, dict):
        raise ProjectError(f"{where}: {name} must hold a JSON object, found {type(obj).__name__}")
    return obj


def _check_infos(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ProjectError(f"{where}: {len(infos)} members; a project has at most {MAX_MEMBERS}")
    known: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if not _safe_name(name):
            raise ProjectError(f"{where}: member name {name!r} is not a safe relative path; refusing the file")
        if name in known:
            raise ProjectError(f"{where}: member {name} appears twice; refusing the file")
        if name not in MEMBER_LIMITS:
            continue  # written by a newer version: ignored, never read
        if info.flag_bits & 0x1:
            raise ProjectError(f"{where}: member {name} is encrypted")
        if info.file_size > MEMBER_LIMITS[name]:
            raise ProjectError(f"{where}: member {name} claims {info.file_size:,} bytes, more than its limit of "
                               f"{MEMBER_LIMITS[name]:,} bytes")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > (1 << 20) \
                and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ProjectError(f"{where}: member {name} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                               f"(possible zip bomb); refusing the file")
        total += info.file_size
        known[name] = info
    if total > TOTAL_LIMIT:
        raise ProjectError(f"{where}: members claim {total:,} bytes in all, more than {TOTAL_LIMIT:,}")
    return known


def load_project(path: str | os.PathLike) -> Project:
    """Read a project file; raises ProjectError (naming the file and the reason) for anything wrong."""
    where = f"project {os.fspath(path)!r}"
    try:
        # only a regular file is opened (never blocks on a named pipe), and never one above TOTAL_LIMIT
        fh = open_regular_file(path, TOTAL_LIMIT, "project")
    except ReadError as exc:
        raise ProjectError(f"{where}: {exc.reason}") from None
    try:
        size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        fh.close()
        raise ProjectError(f"{where}: {exc.strerror or exc}") from None
    if size == 0:
        fh.close()
        raise ProjectError(f"{where}: the file is empty (0 bytes)")
    with fh:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            raise ProjectError(f"{where}: not a FaceEditor project, or the file is truncated or damaged "
                               "(it is not a readable zip archive)") from None
        except (OSError, ValueError, EOFError) as exc:
            raise ProjectError(f"{where}: the file is damaged ({exc})") from None
        with zf:
            infos = _check_infos(zf, where)
            for required in (PROJECT_MEMBER, IMAGE_MEMBER):
                if required not in infos:
                    raise ProjectError(f"{where}: not a FaceEditor project or damaged (no {required} inside)")
            raw = {name: _read_member(zf, info, where) for name, info in infos.items()}
    return _project_from_members(raw, where)


def _project_from_members(raw: dict[str, bytes], where: str) -> Project:
    head = _object_member(raw[PROJECT_MEMBER], PROJECT_MEMBER, where)
    if head.get("format") != FORMAT:
        raise ProjectError(f"{where}: not a FaceEditor project (format {head.get('format')!r})")
    version = head.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{where}: schema_version must be a positive integer, found {version!r}")
    if version > SCHEMA_VERSION:
        raise ProjectError(f"{where}: made by a newer FaceEditor (project schema {version}; this version "
                           f"reads up to {SCHEMA_VERSION}); update FaceEditor to open it")
    try:
        image = load_image(raw[IMAGE_MEMBER])
    except ImageLoadError as exc:
        raise ProjectError(f"{where}: {IMAGE_MEMBER} is unreadable ({exc.reason})") from None
    mask = None
    if MASK_MEMBER in raw:
        try:
            mask = load_index_mask(raw[MASK_MEMBER], max_pixels=MASK_MAX_PIXELS)
        except ImageLoadError as exc:
            raise ProjectError(f"{where}: {MASK_MEMBER} is unreadable ({exc.reason})") from None
        from faceeditor.core.labels import NUM_CLASSES

        if mask.size and int(mask.max()) >= NUM_CLASSES:
            raise ProjectError(f"{where}: {MASK_MEMBER} holds class index {int(mask.max())}, outside "
                               f"0..{NUM_CLASSES - 1}")
        if mask.shape[0] != mask.shape[1]:
            raise ProjectError(f"{where}: {MASK_MEMBER} must be square (the aligned crop), got "
                               f"{mask.shape[1]}x{mask.shape[0]}")
    landmarks = None
    lm_obj = _object_member(raw.get(LANDMARKS_MEMBER), LANDMARKS_MEMBER, where)
    if lm_obj.get("landmarks") is not None:
        from faceeditor.core.face_geometry import LandmarkError, as_landmarks

        try:
            landmarks = as_landmarks(lm_obj["landmarks"], f"{where}: {LANDMARKS_MEMBER}")
        except LandmarkError as exc:
            raise ProjectError(str(exc)) from None
    keyframes = KeyframeFile()
    if KEYFRAMES_MEMBER in raw:
        try:
            keyframes = decode_keyframes(raw[KEYFRAMES_MEMBER], f"{where}: {KEYFRAMES_MEMBER}")
        except KeyframeError as exc:
            raise ProjectError(str(exc)) from None
    source = head.get("source", "")
    saved_at = head.get("saved_at", 0.0)
    return Project(
        image=image,
        mask=mask,
        landmarks=landmarks,
        edits=_object_member(raw.get(EDITS_MEMBER), EDITS_MEMBER, where),
        settings=_object_member(raw.get(SETTINGS_MEMBER), SETTINGS_MEMBER, where),
        source=source if isinstance(source, str) else "",
        saved_at=float(saved_at) if isinstance(saved_at, (int, float)) and not isinstance(saved_at, bool) else 0.0,
        keyframes=keyframes,
    )


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """project.json of a project without decoding its images (for listing autosaves); {} when unreadable."""
    try:
        with open_regular_file(path, TOTAL_LIMIT, "project") as fh, zipfile.ZipFile(fh) as zf:
            info = zf.getinfo(PROJECT_MEMBER)
            if info.file_size > MEMBER_LIMITS[PROJECT_MEMBER]:
                return {}
            head = _json_member(_read_member(zf, info, ""), PROJECT_MEMBER, "")
            return head if isinstance(head, dict) else {}
    except Exception:
        return {}
