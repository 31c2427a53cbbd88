"""Checkpoints: written atomically, read with torch.load(weights_only=True), never unpickled.

A checkpoint is ``<run_dir>/ckpt-<step>.pt`` beside the run's ``config.json``; it holds the unwrapped
state_dicts of the networks, the optimisers and LR schedulers, the method's extra state, the RNG states
of every rank (python, numpy, torch CPU, CUDA), the step, the data position and the config. Everything is
tensors or plain Python types, so the safe loader reads it back.
"""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceeditor.core.atomic_io import atomic_write
from trainer.config import CONFIG_NAME, ConfigError, TrainConfig, load_config

CKPT_PATTERN = re.compile(r"^ckpt-(\d+)\.pt$")
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint or run folder that cannot be used; the message names the file."""


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / f"ckpt-{step:09d}.pt"


def list_checkpoints(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoints, oldest first."""
    d = Path(run_dir)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        m = CKPT_PATTERN.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: str | os.PathLike) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file in the same folder, fsync, then rename over `path`: a crash at any
    moment leaves either the previous file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        torch.save(obj, fh)
    _fsync_dir(path.parent)
    return path


def load_net_weights(nets: dict[str, torch.nn.Module], state: dict[str, Any], path: str | os.PathLike) -> None:
    """Load a checkpoint's network weights into freshly built networks, naming what does not fit."""
    missing = sorted(set(nets) - set(state["nets"]))
    if missing:
        raise CheckpointError(f"{path}: no weights for network(s) {missing}")
    for name, net in nets.items():
        try:
            net.load_state_dict(state["nets"][name])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights of {name!r} do not fit the config's network: "
                                  f"{str(exc).splitlines()[0]}") from None


def saved_nets(source: str | os.PathLike, names: tuple[str, ...]) -> tuple[Path, dict[str, dict[str, Any]]]:
    """(checkpoint, {name: state_dict}) for networks `names` of a run folder's latest checkpoint or of a
    checkpoint file: the weights another run starts from (warm starts, frozen parts)."""
    path = Path(source)
    ckpt = latest_checkpoint(path) if path.is_dir() else path
    if ckpt is None or not ckpt.is_file():
        raise CheckpointError(f"no checkpoint found at {str(source)!r}")
    nets = load_checkpoint(ckpt)["nets"]
    missing = [n for n in names if n not in nets]
    if missing:
        raise CheckpointError(f"{ckpt} holds no weights for network(s) {missing}")
    return ckpt, {n: nets[n] for n in names}


def save_checkpoint(state: dict[str, Any], run_dir: str | os.PathLike, step: int, keep: int) -> Path:
    """Write the checkpoint of `step` and delete all but the newest `keep` checkpoints."""
    path = save_atomic({"format": FORMAT_VERSION, **state}, checkpoint_path(run_dir, step))
    for _, old in list_checkpoints(run_dir)[:-max(1, keep)]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint read with the safe (weights-only) unpickler onto the CPU."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # noqa: BLE001 - any failure of the safe unpickler means "unusable file"
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION or "nets" not in state:
        raise CheckpointError(f"{path}: not a FaceEditor trainer checkpoint (format {FORMAT_VERSION})")
    return state


# --- RNG states --------------------------------------------------------------------------------------

def rng_state() -> dict[str, Any]:
    """The RNG states of this process as tensors and plain types (weights_only-safe)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


# --- whole runs ----------------------------------------------------------------------------------------

def run_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The config a run folder was trained with (its config.json)."""
    d = Path(run_dir)
    if not d.is_dir():
        raise CheckpointError(f"{d}: no such run folder")
    if not (d / CONFIG_NAME).is_file():
        raise CheckpointError(f"{d}: not a run folder (no {CONFIG_NAME})")
    return load_config(d / CONFIG_NAME)


def load_trained_method(run_dir: str | os.PathLike, device: torch.device | str = "cpu",
                        checkpoint: str | os.PathLike | None = None):
    """Rebuild a run's method with the weights of its latest (or the given) checkpoint, networks in eval
    mode and unwrapped. Returns (method, checkpoint state)."""
    from trainer.methods.base import method_class

    cfg = run_config(run_dir)
    path = Path(checkpoint) if checkpoint else latest_checkpoint(run_dir)
    if path is None:
        raise CheckpointError(f"{run_dir}: the run has no checkpoint yet")
    state = load_checkpoint(path)
    device = torch.device(device)
    method = method_class(cfg.method)(cfg, device)
    nets = method.build_networks()
    load_net_weights(nets, state, path)
    for net in nets.values():
        net.to(device).eval()
    method.nets = nets
    if state.get("method_state"):
        method.load_state_dict(state["method_state"])
    return method, state


def load_attribute_judge(run_dir: str | os.PathLike, resolution: int,
                         device: torch.device | str = "cpu") -> torch.nn.Module:
    """The attribute classifier of an evaluator run (eval mode), the judge of the editing evaluation;
    ConfigError when the run is no attribute classifier or was trained at another resolution."""
    from trainer.distributed import unwrap

    method, _ = load_trained_method(run_dir, device)
    if getattr(method.cfg, "task", None) != "attributes":
        raise ConfigError(f"evaluator: {run_dir} is not an attribute classifier run")
    if method.cfg.data.resolution != resolution:
        raise ConfigError(f"evaluator: trained at {method.cfg.data.resolution}², the editor works at {resolution}²")
    return unwrap(method.nets["classifier"]).eval()
