"""Training configs: one dataclass per method, all deriving from TrainConfig.

The full config is saved as JSON in the run folder, next to every checkpoint and next to every exported
model, so that any artefact says exactly how it was made.

This module also turns configs into JSON and back (with type checks that name the offending key) and
applies overrides given as strings (``--lr 2e-4``, ``--data.root DIR``, ``--set lambda_rec=10``); the
command-line options themselves are generated from the dataclass fields in trainer/commands/train.py.
"""
from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from faceeditor.core.atomic_io import write_text_atomic
from faceeditor.core.safe_read import JSON_FILE_LIMIT, ReadError, loads_json, read_regular_file
from trainer.data.registry import DataConfig
from trainer.registry import METHODS

CONFIG_NAME = "config.json"


class ConfigError(ValueError):
    """A config that cannot be used: unknown key, ill-typed or out-of-range value. The message names
    the key (dotted, e.g. ``data.resolution``) and what was expected."""


@dataclass
class TrainConfig:
    """Settings every method shares. Methods subclass this and add their own fields (with the
    defaults of their paper)."""

    method: str = ""
    run_dir: str = "runs/default"
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    iters: int = 10000
    batch_size: int = 16            # per process; the global batch under torchrun is N times this
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: Literal["none", "linear", "exp"] = "none"
    lr_decay_start: int = 0         # iteration at which decay starts
    lr_decay_gamma: float = 0.99    # per-1000-iteration factor for "exp"
    device: str = "auto"            # "auto" | "cpu" | "cuda" | "cuda:N"
    amp: bool = True                # bf16 autocast on CUDA (ignored on CPU)
    channels_last: bool = True      # on CUDA
    compile: bool = False           # torch.compile the networks
    deterministic: bool = False     # deterministic algorithms (exact resume tests)
    log_every: int = 50
    sample_every: int = 1000        # 0 = never
    ckpt_every: int = 1000          # 0 = only at the end and on SIGTERM/SIGINT
    eval_every: int = 0             # 0 = only at the end
    keep_checkpoints: int = 2

    def check(self) -> None:
        """Cross-field and range checks beyond the types; methods extend it (call super().check())."""
        positive = ("iters", "batch_size", "keep_checkpoints", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        for name in ("sample_every", "ckpt_every", "eval_every", "lr_decay_start", "seed"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: expected an integer >= 0, got {getattr(self, name)!r}")
        if self.keep_checkpoints < 2:
            raise ConfigError(f"keep_checkpoints: at least 2 (the newest and an older one to fall back to "
                              f"when the newest is damaged), got {self.keep_checkpoints}")
        if not self.lr > 0:
            raise ConfigError(f"lr: expected a positive float, got {self.lr!r}")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas: expected two floats in [0, 1), got {list(self.betas)!r}")
        if not 0.0 < self.lr_decay_gamma <= 1.0:
            raise ConfigError(f"lr_decay_gamma: expected a float in (0, 1], got {self.lr_decay_gamma!r}")
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ConfigError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {dev!r}")
        if not self.run_dir:
            raise ConfigError("run_dir: expected a folder path, got an empty string")
        if self.data.resolution < 1:
            raise ConfigError(f"data.resolution: expected a positive integer, got {self.data.resolution!r}")
        if self.data.num_workers < 0 or self.data.limit < 0:
            raise ConfigError("data.num_workers and data.limit: expected integers >= 0")
        if not 0.0 < self.data.labeled_fraction <= 1.0:
            raise ConfigError(f"data.labeled_fraction: expected a float in (0, 1] (1 = every label), "
                              f"got {self.data.labeled_fraction!r}")
        if self.data.labeled_seed < 0:
            raise ConfigError(f"data.labeled_seed: expected an integer >= 0, got {self.data.labeled_seed!r}")


def check_net_config(cfg: TrainConfig) -> None:
    """Build the config's network config (methods that have net_config()) and turn its ValueError into a
    ConfigError, so that a bad width or size is reported like any other bad key."""
    try:
        cfg.net_config()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# --- type handling ---------------------------------------------------------------------------------

def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def config_fields(cls: type) -> list[tuple[str, Any, dataclasses.Field]]:
    """(name, resolved type, field) of a config dataclass, in declaration order."""
    hints = _hints(cls)
    return [(f.name, hints[f.name], f) for f in dataclasses.fields(cls) if f.init]


def type_name(tp: Any) -> str:
    """A short human name for a field type, used in error messages and --help."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_name(args[0])}"
        return f"{len(args)} x {type_name(args[0])}" if len(set(args)) == 1 else \
            "(" + ", ".join(type_name(a) for a in args) + ")"
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"object of {type_name(args[1])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "object"
    return getattr(tp, "__name__", str(tp))


def _bad(key: str, tp: Any, value: Any) -> ConfigError:
    return ConfigError(f"{key}: expected {type_name(tp)}, got {value!r}")


def coerce(key: str, tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) checked against the field type `tp` and converted (lists to tuples, ints to
    floats, objects to nested dataclasses); raises ConfigError naming `key`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _bad(key, tp, value)
        return from_dict(tp, value, prefix=f"{key}.")
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _bad(key, tp, value)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(key, a, value)
            except ConfigError:
                pass
        raise _bad(key, tp, value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _bad(key, tp, value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(f"{key}[{i}]", args[0], v) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{key}: expected {type_name(tp)} ({len(args)} values), got {list(value)!r}")
        return tuple(coerce(f"{key}[{i}]", a, v) for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _bad(key, tp, value)
        return [coerce(f"{key}[{i}]", args[0], v) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise _bad(key, tp, value)
        return {k: coerce(f"{key}.{k}", args[1], v) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _bad(key, tp, value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _bad(key, tp, value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _bad(key, tp, value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _bad(key, tp, value)
    raise ConfigError(f"{key}: fields of type {type_name(tp)} are not supported in configs")


def parse_text(key: str, tp: Any, text: str) -> Any:
    """A command-line string for a field of type `tp`: numbers and booleans as written (true/false,
    yes/no, 1/0), lists as JSON (``[0.5, 0.999]``) or comma-separated (``0.5,0.999``), objects as JSON,
    ``null``/``none`` for optional fields; strings verbatim."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    stripped = text.strip()
    if tp is str:
        return text
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and stripped.lower() in ("null", "none"):
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_text(key, a, text)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {type_name(tp)}, got {text!r}")
    if origin is Literal:
        for a in args:
            if str(a) == text or (isinstance(a, bool) and stripped.lower() == str(a).lower()):
                return a
        raise ConfigError(f"{key}: expected {type_name(tp)}, got {text!r}")
    if tp is bool:
        low = stripped.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"{key}: expected bool (true/false), got {text!r}")
    if tp is int:
        try:
            return int(stripped)
        except ValueError:
            raise ConfigError(f"{key}: expected int, got {text!r}") from None
    if tp is float:
        try:
            return float(stripped)
        except ValueError:
            raise ConfigError(f"{key}: expected float, got {text!r}") from None
    if origin in (tuple, list):
        if stripped.startswith("["):
            value = _json_text(key, text, f"{type_name(tp)} as JSON or a,b,...")
            return coerce(key, tp, value)
        parts = [p for p in stripped.split(",")] if stripped else []
        elem = args[0]
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(parts) != len(args):
                raise ConfigError(f"{key}: expected {type_name(tp)} ({len(args)} values), got {text!r}")
            return tuple(parse_text(f"{key}[{i}]", a, p) for i, (a, p) in enumerate(zip(args, parts, strict=True)))
        values = [parse_text(f"{key}[{i}]", elem, p) for i, p in enumerate(parts)]
        return tuple(values) if origin is tuple else values
    if origin is dict or dataclasses.is_dataclass(tp):
        value = _json_text(key, text, f"{type_name(tp)} as JSON")
        return coerce(key, tp, value)
    raise ConfigError(f"{key}: fields of type {type_name(tp)} are not supported in configs")


# --- dict / JSON ------------------------------------------------------------------------------------

def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain JSON types (tuples become lists)."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v
    return plain(cfg)


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """An instance of the config dataclass `cls` from `data`; missing keys keep their defaults, unknown
    keys and ill-typed values raise ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a JSON object, got {data!r}")
    known = {name: tp for name, tp, _ in config_fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(_unknown_message([prefix + k for k in unknown], [prefix + k for k in known]))
    kwargs = {k: coerce(prefix + k, known[k], v) for k, v in data.items()}
    return cls(**kwargs)


def _unknown_message(keys: list[str], known: list[str]) -> str:
    import difflib

    parts = []
    for k in keys:
        close = difflib.get_close_matches(k, known, n=1)
        parts.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown config key{'s' if len(keys) > 1 else ''} {', '.join(parts)}"


def leaf_keys(cls: type, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> field type for every leaf field (nested dataclasses flattened: ``data.root``)."""
    out: dict[str, Any] = {}
    for name, tp, _ in config_fields(cls):
        if dataclasses.is_dataclass(tp):
            out.update(leaf_keys(tp, prefix=f"{prefix}{name}."))
        else:
            out[prefix + name] = tp
    return out


def set_value(cfg: Any, dotted: str, text: str) -> None:
    """Apply one override given as text (``data.resolution``, ``"256"``) to cfg, in place."""
    keys = leaf_keys(type(cfg))
    if dotted not in keys:
        # a whole nested object given as JSON, e.g. --set data='{"name": "celeba"}'
        hints = {name: tp for name, tp, _ in config_fields(type(cfg))}
        if dotted in hints:
            setattr(cfg, dotted, parse_text(dotted, hints[dotted], text))
            return
        raise ConfigError(_unknown_message([dotted], list(keys)))
    target = cfg
    *parents, last = dotted.split(".")
    for p in parents:
        target = getattr(target, p)
    setattr(target, last, parse_text(dotted, keys[dotted], text))


def _json_text(key: str, text: str, expected: str) -> Any:
    """A JSON value given on the command line, decoded by the shared loader (its depth and size limits);
    ConfigError saying what was expected otherwise."""
    try:
        return loads_json(text.strip(), key, ConfigError)
    except ConfigError as exc:
        shown = text if len(text) <= 80 else f"{text[:77]}..."
        reason = str(exc).removeprefix(f"{key}: ")
        raise ConfigError(f"{key}: expected {expected}, got {shown!r} ({reason})") from None


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from a file, with errors that name the file. Only a regular file is opened (a named
    pipe would hang the trainer), within the shared size and nesting limits (faceeditor.core.safe_read)."""
    p = Path(path)
    try:
        raw = read_regular_file(p, JSON_FILE_LIMIT, "config file")
    except ReadError as exc:
        if exc.reason == "no such file":
            raise ConfigError(f"{p}: no such config file") from None
        raise ConfigError(f"{p}: cannot read ({exc.reason})") from None
    data = loads_json(raw, str(p), ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a JSON object at the top level")
    return data


def config_class_for(method: str) -> type[TrainConfig]:
    """The config dataclass of a method name (imports the method's module)."""
    try:
        return METHODS.get(method).config_class
    except ValueError as exc:
        raise ConfigError(f"method: {exc}") from None
    except ImportError as exc:
        raise ConfigError(f"method: {method!r} cannot be loaded ({exc})") from None


def config_from_data(data: dict[str, Any], method: str = "", where: str = "") -> TrainConfig:
    """The full config of `method` (or of data["method"]) built from a JSON object."""
    name = method or data.get("method", "")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where + ': ' if where else ''}method: no method given (use --method NAME "
                          f"or a \"method\" key in the JSON)")
    if data.get("method") not in (None, "", name):
        raise ConfigError(f"{where + ': ' if where else ''}method: the JSON says {data['method']!r} "
                          f"but {name!r} was asked for")
    cls = config_class_for(name)
    try:
        cfg = from_dict(cls, {**data, "method": name})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None
    return cfg


def load_config(path: str | os.PathLike, method: str = "") -> TrainConfig:
    """A config from a JSON file (a run's config.json or a hand-written one)."""
    return config_from_data(load_json(path), method=method, where=str(path))


def dumps(cfg: TrainConfig) -> str:
    return json.dumps(to_dict(cfg), indent=2) + "\n"


def save_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    """Write cfg as JSON (atomically); `path` may be a folder, then config.json inside it."""
    p = Path(path)
    if p.is_dir() or not p.suffix:
        p = p / CONFIG_NAME
    return write_text_atomic(p, dumps(cfg))
