"""The model-pack manifest (shared/DESIGN.md §3) as dataclasses with JSON load/save.

A pack is a folder holding `manifest.json` and the ONNX files it names. This module only describes and
(de)serialises; checking a pack against its ONNX graphs lives in `faceeditor.engine.validate`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from faceeditor.core.atomic_io import atomic_write
from faceeditor.core.safe_read import ReadError, loads_json, read_regular_file

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
MANIFEST_LIMIT = 16 << 20          # bytes; a manifest is a few kB (its configs and metrics included)

TASKS = (
    "parse",
    "edit_attributes",
    "flip_attributes",
    "edit_expression",
    "synthesize",
    "classify_attributes",
    "classify_expression",
)
DTYPES = ("float32", "float16", "int64", "int32", "uint8", "bool")


class ManifestError(ValueError):
    """A manifest that cannot be read or is malformed; the message names the field."""


@dataclass
class TensorSpec:
    """One graph input or output. A dim given as a string (e.g. "batch") is dynamic."""

    name: str
    shape: list[int | str]
    dtype: str = "float32"


@dataclass
class ModelEntry:
    name: str                      # unique within the pack, e.g. "parser", "G_rgb"
    task: str                      # one of TASKS
    file: str                      # ONNX file name, relative to the pack folder
    sha256: str                    # of that file
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    method: str = ""               # trainer method, e.g. "secgan", "parser"
    backbone: str = ""             # e.g. "stargan", "attgan", "bisenet"
    resolution: int = 0
    # How uint8 RGB maps to the network's input: x / 255 * scale + offset ("minus1_1" = [-1, 1]).
    normalization: str = "minus1_1"
    classes: list[str] = field(default_factory=list)      # parse classes the model reads or writes
    attributes: list[str] = field(default_factory=list)   # attribute order of its condition / output
    expressions: list[str] = field(default_factory=list)
    data_domain: str = ""          # e.g. "synthfaces", "celeba"
    config: dict[str, Any] = field(default_factory=dict)  # the trainer config it came from
    metrics: dict[str, Any] = field(default_factory=dict)  # measured at export
    extra: dict[str, Any] = field(default_factory=dict)    # task-specific settings (e.g. slider range)
    # Probe record (faceeditor.engine.probes): probe file + sha256, key metric, outputs' fingerprint,
    # tolerances. Empty for packs exported before probes existed.
    probes: dict[str, Any] = field(default_factory=dict)
    # The name of the model of the same pack and task this one is a faster, rougher stand-in for (e.g. a
    # half-resolution trace run while a slider is dragged); empty for an ordinary model.
    preview_of: str = ""

    def attribute_defaults(self) -> dict[str, float]:
        """The value of every attribute a caller leaves unset, in the model's order: the manifest's
        ``extra["attribute_defaults"]`` (a synthesis model's mean training labels), else 0 = absent, the
        value the trainer's 0/1 labels give an attribute a face does not have. Malformed entries are
        ignored, so a default never stops a model from running."""
        out = dict.fromkeys(self.attributes, 0.0)
        given = self.extra.get("attribute_defaults") if isinstance(self.extra, dict) else None
        if isinstance(given, dict):
            for name, value in given.items():
                if (name in out and isinstance(value, int | float) and not isinstance(value, bool)
                        and math.isfinite(value)):
                    out[name] = float(value)
        return out


@dataclass
class Manifest:
    name: str
    models: list[ModelEntry]
    version: str = "0.1.0"
    description: str = ""
    schema_version: int = SCHEMA_VERSION

    def model(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"pack {self.name!r} has no model {name!r}")

    def models_for(self, task: str) -> list[ModelEntry]:
        return [m for m in self.models if m.task == task]

    # --- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        if not isinstance(data, dict):
            raise ManifestError("manifest: expected a JSON object at the top level")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ManifestError(f"schema_version: expected {SCHEMA_VERSION}, found {version!r}")
        _check_keys("manifest", data, cls)
        models_raw = data.get("models")
        if not isinstance(models_raw, list) or not models_raw:
            raise ManifestError("models: expected a non-empty list")
        models = [_model_from_dict(i, m) for i, m in enumerate(models_raw)]
        names = [m.name for m in models]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ManifestError(f"models: duplicate model names {sorted(dup)}")
        _check_previews(models)
        return cls(
            name=_typed("name", data.get("name"), str),
            models=models,
            version=_typed("version", data.get("version", "0.1.0"), str),
            description=_typed("description", data.get("description", ""), str),
            schema_version=version,
        )

    def save(self, pack_dir: str | os.PathLike) -> Path:
        """Write manifest.json atomically into pack_dir."""
        path = Path(pack_dir) / MANIFEST_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        # A pack is meant to be shared and copied: readable by everyone whatever the umask.
        with atomic_write(path, text=True, mode=0o644) as fh:
            fh.write(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def load(cls, pack_dir: str | os.PathLike) -> Manifest:
        """Read and parse pack_dir/manifest.json. Only a regular file is opened (a named pipe there must
        not hang the pack scan), with the shared size and nesting limits; ManifestError otherwise."""
        path = Path(pack_dir) / MANIFEST_NAME
        try:
            raw = read_regular_file(path, MANIFEST_LIMIT, "manifest")
        except ReadError as exc:
            if exc.reason == "no such file":
                raise ManifestError(f"{path}: no manifest.json in this folder") from None
            raise ManifestError(f"{path}: cannot read ({exc.reason})") from None
        return cls.from_dict(loads_json(raw, str(path), ManifestError, max_bytes=MANIFEST_LIMIT))


def _check_keys(where: str, data: dict, cls: type) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {unknown}")


def _typed(where: str, value: Any, typ: type | tuple[type, ...]) -> Any:
    if not isinstance(value, typ) or isinstance(value, bool) and typ is int:
        raise ManifestError(f"{where}: expected {getattr(typ, '__name__', typ)}, found {value!r}")
    return value


def _tensor_from_dict(where: str, data: Any) -> TensorSpec:
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected an object")
    _check_keys(where, data, TensorSpec)
    name = _typed(f"{where}.name", data.get("name"), str)
    shape = data.get("shape")
    if not isinstance(shape, list) or not all(
        (isinstance(d, int) and not isinstance(d, bool) and d > 0) or (isinstance(d, str) and d) for d in shape
    ):
        raise ManifestError(f"{where}.shape: expected a list of positive ints or dim names, found {shape!r}")
    dtype = data.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ManifestError(f"{where}.dtype: expected one of {DTYPES}, found {dtype!r}")
    return TensorSpec(name=name, shape=list(shape), dtype=dtype)


def _model_from_dict(i: int, data: Any) -> ModelEntry:
    where = f"models[{i}]"
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected an object")
    _check_keys(where, data, ModelEntry)
    name = _typed(f"{where}.name", data.get("name"), str)
    where = f"models[{name}]"
    task = data.get("task")
    if task not in TASKS:
        raise ManifestError(f"{where}.task: expected one of {TASKS}, found {task!r}")
    file = _typed(f"{where}.file", data.get("file"), str)
    if Path(file).is_absolute() or ".." in Path(file).parts or not file.endswith(".onnx"):
        raise ManifestError(f"{where}.file: must be a relative .onnx path inside the pack, found {file!r}")
    sha = _typed(f"{where}.sha256", data.get("sha256"), str)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"{where}.sha256: expected 64 lowercase hex digits")
    for key in ("inputs", "outputs"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise ManifestError(f"{where}.{key}: expected a non-empty list")
    inputs = [_tensor_from_dict(f"{where}.inputs[{j}]", t) for j, t in enumerate(data["inputs"])]
    outputs = [_tensor_from_dict(f"{where}.outputs[{j}]", t) for j, t in enumerate(data["outputs"])]
    kwargs: dict[str, Any] = {}
    for key, typ in (("method", str), ("backbone", str), ("resolution", int), ("normalization", str),
                     ("data_domain", str), ("config", dict), ("metrics", dict), ("extra", dict)):
        if key in data:
            kwargs[key] = _typed(f"{where}.{key}", data[key], typ)
    for key in ("classes", "attributes", "expressions"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ManifestError(f"{where}.{key}: expected a list of strings")
            kwargs[key] = list(value)
    if "preview_of" in data:
        kwargs["preview_of"] = _typed(f"{where}.preview_of", data["preview_of"], str)
    if data.get("probes"):
        kwargs["probes"] = _probes_from_dict(f"{where}.probes", data["probes"])
    return ModelEntry(name=name, task=task, file=file, sha256=sha, inputs=inputs, outputs=outputs, **kwargs)


def _check_previews(models: list[ModelEntry]) -> None:
    """A preview names another model of the pack with its task and inputs, itself no preview."""
    by_name = {m.name: m for m in models}
    for m in models:
        if not m.preview_of:
            continue
        where = f"models[{m.name}].preview_of"
        target = by_name.get(m.preview_of)
        if target is None or target is m:
            raise ManifestError(f"{where}: expected the name of another model of the pack, found {m.preview_of!r}")
        if target.task != m.task or target.preview_of:
            raise ManifestError(f"{where}: {target.name!r} must be an ordinary {m.task!r} model")
        if [t.name for t in target.inputs] != [t.name for t in m.inputs]:
            raise ManifestError(f"{where}: its inputs differ from those of {target.name!r}")


_PROBE_KEYS = ("version", "file", "sha256", "count", "metric", "value", "tolerance", "fingerprint",
               "fingerprint_atol", "fingerprint_rtol")


def _number(where: str, value: Any, minimum: float | None = None) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ManifestError(f"{where}: expected a finite number, found {value!r}")
    if minimum is not None and value < minimum:
        raise ManifestError(f"{where}: expected at least {minimum}, found {value!r}")
    return float(value)


def _probes_from_dict(where: str, data: Any) -> dict[str, Any]:
    """A model's probe record, checked field by field (what it means: faceeditor.engine.probes)."""
    if not isinstance(data, dict):
        raise ManifestError(f"{where}: expected an object")
    unknown = sorted(set(data) - set(_PROBE_KEYS))
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {unknown}")
    missing = [k for k in _PROBE_KEYS if k not in data]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {missing}")
    version = _typed(f"{where}.version", data["version"], int)
    file = _typed(f"{where}.file", data["file"], str)
    if Path(file).is_absolute() or ".." in Path(file).parts or not file.endswith(".npz"):
        raise ManifestError(f"{where}.file: must be a relative .npz path inside the pack, found {file!r}")
    sha = _typed(f"{where}.sha256", data["sha256"], str)
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ManifestError(f"{where}.sha256: expected 64 lowercase hex digits")
    count = _typed(f"{where}.count", data["count"], int)
    if count < 1:
        raise ManifestError(f"{where}.count: expected a positive number of probes, found {count}")
    fp = data["fingerprint"]
    if not isinstance(fp, dict) or not all(isinstance(k, str) for k in fp):
        raise ManifestError(f"{where}.fingerprint: expected an object of output name -> rows of numbers")
    for name, rows in fp.items():
        if not isinstance(rows, list) or len(rows) != count or not all(isinstance(r, list) and r for r in rows):
            raise ManifestError(f"{where}.fingerprint[{name}]: expected {count} non-empty rows of numbers")
        for row in rows:
            for v in row:
                _number(f"{where}.fingerprint[{name}]", v)
    return {
        "version": version, "file": file, "sha256": sha, "count": count,
        "metric": _typed(f"{where}.metric", data["metric"], str),
        "value": _number(f"{where}.value", data["value"]),
        "tolerance": _number(f"{where}.tolerance", data["tolerance"], 0.0),
        "fingerprint": {k: [[float(v) for v in r] for r in rows] for k, rows in fp.items()},
        "fingerprint_atol": _number(f"{where}.fingerprint_atol", data["fingerprint_atol"], 0.0),
        "fingerprint_rtol": _number(f"{where}.fingerprint_rtol", data["fingerprint_rtol"], 0.0),
    }
