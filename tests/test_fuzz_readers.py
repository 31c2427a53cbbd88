"""Fuzzing the readers of files that come from outside: manifests, trainer configs, keyframes, landmarks,
project files and masks. Whatever the bytes, each reader returns a value or raises its own error type,
never anything else (no KeyError, TypeError, RecursionError, ...).

Inputs are random bytes, random JSON, and valid documents with one value replaced, one key dropped or the
bytes cut short, which reaches far deeper into the checks than random text. Kept to about 30 s in all
(modest max_examples, no deadline: the machines are shared).
"""
from __future__ import annotations

import copy
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from faceeditor.core.face_geometry import LandmarkError, load_landmarks, load_landmarks_scaled
from faceeditor.core.keyframes import KeyframeError, decode_keyframes, parse_keyframes, read_keyframes
from faceeditor.core.mask_io import MaskError, load_any_mask, load_mask
from faceeditor.core.project import Project, ProjectError, load_project, project_bytes, write_members
from faceeditor.core.safe_read import JSONReadError, loads_json
from faceeditor.engine.manifest import Manifest, ManifestError
from faceeditor.resources import demo_pack_dir

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def paths_of(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) into a JSON document, the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, (*prefix, i))
    return out


@st.composite
def mutated(draw, valid: Any) -> Any:
    """``valid`` with one value replaced by random JSON, or one key/item removed."""
    doc = copy.deepcopy(valid)
    path = draw(st.sampled_from(paths_of(doc)))
    if not path:
        return draw(json_values)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        parent[path[-1]] = draw(json_values)
    else:
        del parent[path[-1]]
    return doc


@st.composite
def damaged_bytes(draw, valid: bytes) -> bytes:
    """Random bytes, ``valid`` cut short, or ``valid`` with a few bytes overwritten."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return valid[: draw(st.integers(0, max(len(valid) - 1, 0)))]
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def as_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


# --- the shared loader ---------------------------------------------------------------------------------

@FUZZ
@given(raw=st.binary(max_size=300) | json_values.map(as_bytes) | st.text(alphabet="[]{}\"\\,:1 ", max_size=300))
def test_loads_json_raises_only_its_error_type(raw):
    try:
        loads_json(raw, "x", max_depth=8)
    except JSONReadError as exc:
        assert str(exc).startswith("x: ") and "\n" not in str(exc)


# --- manifests -----------------------------------------------------------------------------------------

VALID_MANIFEST = json.loads((demo_pack_dir() / "manifest.json").read_text())


@FUZZ
@given(doc=mutated(VALID_MANIFEST))
def test_manifest_fields(doc):
    try:
        Manifest.from_dict(doc)
    except ManifestError:
        pass


@FUZZ
@given(raw=damaged_bytes(as_bytes(VALID_MANIFEST)) | mutated(VALID_MANIFEST).map(as_bytes))
def test_manifest_files(scratch, raw):
    (scratch / "manifest.json").write_bytes(raw)
    try:
        Manifest.load(scratch)
    except ManifestError:
        pass


# --- trainer configs -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_config() -> dict:
    from trainer.config import config_class_for, to_dict

    return to_dict(config_class_for("stargan")())


@FUZZ
@given(data=st.data())
def test_config_files(scratch, valid_config, data):
    from trainer.config import ConfigError, load_config

    raw = data.draw(damaged_bytes(as_bytes(valid_config)) | mutated(valid_config).map(as_bytes))
    (scratch / "config.json").write_bytes(raw)
    try:
        load_config(scratch / "config.json")
    except ConfigError:
        pass


# --- keyframes -----------------------------------------------------------------------------------------

VALID_KEYFRAMES = {"fps": 25, "curve": "catmull_rom", "keyframes": [
    {"time": 0.0, "mask": "a_mask.png", "landmarks": "a.json", "seed": 7, "attributes": {"Male": 1, "Young": 0}},
    {"time": 2.0, "landmarks": [[float(i), float(i % 7)] for i in range(68)], "seed": 9}]}


@FUZZ
@given(doc=mutated(VALID_KEYFRAMES))
def test_keyframe_fields(doc):
    try:
        parse_keyframes(doc)
    except KeyframeError:
        pass


@FUZZ
@given(raw=damaged_bytes(as_bytes(VALID_KEYFRAMES)) | mutated(VALID_KEYFRAMES).map(as_bytes))
def test_keyframe_files(scratch, raw):
    try:
        decode_keyframes(raw)
    except KeyframeError:
        pass
    (scratch / "clip.json").write_bytes(raw)
    try:
        read_keyframes(scratch / "clip.json")
    except KeyframeError:
        pass


# --- landmarks -----------------------------------------------------------------------------------------

VALID_LANDMARKS = {"landmarks": [[20.0 + i % 17, 30.0 + i // 17] for i in range(68)], "size": [64, 64]}


@FUZZ
@given(raw=damaged_bytes(as_bytes(VALID_LANDMARKS)) | mutated(VALID_LANDMARKS).map(as_bytes))
def test_landmark_files(scratch, raw):
    path = scratch / "lm.json"
    path.write_bytes(raw)
    for read in (load_landmarks, lambda p: load_landmarks_scaled(p, 64)):
        try:
            read(path)
        except LandmarkError:
            pass


# --- project files -------------------------------------------------------------------------------------

def _valid_members() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    project = Project(image=rng.integers(0, 255, (24, 20, 3), dtype=np.uint8),
                      mask=rng.integers(0, 19, (16, 16), dtype=np.uint8),
                      landmarks=np.asarray(VALID_LANDMARKS["landmarks"]), edits={"attributes": {"Bangs": 1.0}},
                      settings={"crop": {"mode": "face"}})
    return project_bytes(project, fast=True)


VALID_MEMBERS = _valid_members()
JSON_MEMBERS = sorted(name for name in VALID_MEMBERS if name.endswith(".json"))


@st.composite
def damaged_members(draw) -> dict[str, bytes]:
    members = dict(VALID_MEMBERS)
    name = draw(st.sampled_from(sorted(members)))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        del members[name]
    elif kind == 1 or name not in JSON_MEMBERS:
        members[name] = draw(damaged_bytes(members[name]))
    else:
        members[name] = as_bytes(draw(mutated(json.loads(members[name]))))
    return members


@FUZZ
@given(members=damaged_members())
def test_project_members(scratch, members):
    path = scratch / "p.fep"
    write_members(path, members)
    try:
        load_project(path)
    except ProjectError:
        pass


def _valid_project_file() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "valid.fep"
        write_members(path, VALID_MEMBERS)
        return path.read_bytes()


VALID_PROJECT_FILE = _valid_project_file()


@FUZZ
@given(raw=damaged_bytes(VALID_PROJECT_FILE))
def test_project_files(scratch, raw):
    """Corrupt deflate data once escaped as zlib.error (neither OSError nor ValueError)."""
    path = scratch / "damaged.fep"
    path.write_bytes(raw)
    try:
        load_project(path)
    except ProjectError:
        pass


# --- masks ---------------------------------------------------------------------------------------------

def _png(arr: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(arr) if mode == "I;16" else Image.fromarray(arr, mode)   # uint16 becomes I;16
    img.save(buf, format="PNG")
    return buf.getvalue()


VALID_MASK_PNG = _png(np.arange(64, dtype=np.uint8).reshape(8, 8) % 19, "L")


@st.composite
def mask_files(draw) -> bytes:
    if draw(st.booleans()):
        return draw(damaged_bytes(VALID_MASK_PNG))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "I;16"]))
    channels = {"L": 0, "RGB": 3, "RGBA": 4, "LA": 2, "I;16": 0}[mode]
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    dtype = np.uint16 if mode == "I;16" else np.uint8
    top = 300 if mode == "I;16" else 255
    values = draw(st.lists(st.integers(0, top), min_size=h * w * max(channels, 1),
                           max_size=h * w * max(channels, 1)))
    shape = (h, w, channels) if channels else (h, w)
    return _png(np.asarray(values, dtype=dtype).reshape(shape), mode)


@FUZZ
@given(raw=mask_files())
def test_mask_files(scratch, raw):
    path = scratch / "mask.png"
    path.write_bytes(raw)
    for read in (load_mask, load_any_mask, lambda p: load_mask(p, 8)):
        try:
            read(path)
        except MaskError:
            pass


def test_the_mutation_strategy_reaches_deep_fields():
    """The fuzz inputs are not all rejected at the top: a mutated manifest still parses sometimes."""
    assert len(paths_of(VALID_MANIFEST)) > 50
    Manifest.from_dict(copy.deepcopy(VALID_MANIFEST))
    parse_keyframes(copy.deepcopy(VALID_KEYFRAMES))
    path = Path(tempfile.mkdtemp()) / "p.fep"
    write_members(path, VALID_MEMBERS)
    assert load_project(path).mask.shape == (16, 16)
