"""Checkpoints: written atomically, read with torch.load(weights_only=True), never unpickled.

A checkpoint is ``<run_dir>/ckpt-<step>.pt`` beside the run's ``config.json``; it holds the unwrapped
state_dicts of the networks, the optimisers and LR schedulers, the method's extra state, the RNG states
of every rank (python, numpy, torch CPU, CUDA), the step, the data position and the config. Everything is
tensors or plain Python types, so the safe loader reads it back.

Each file carries the SHA-256 of its content, written with it in the same atomic rename: torch.save's
zip archive gets the checksum as its zip comment (the standard place for trailing text in a zip, so
``torch.load`` and any zip tool still read the file as it is). The comment is
``faceeditor-sha256:<64 hex digits>``, the hash of every byte before it. ``load_checkpoint`` verifies it
before the bytes reach ``torch.load``; a file written before checksums (a plain zip without the comment)
still loads, unverified, with a log line.
"""
from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import random
import re
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from faceeditor.core.atomic_io import atomic_write
from trainer.config import CONFIG_NAME, ConfigError, TrainConfig, load_config

CKPT_PATTERN = re.compile(r"^ckpt-(\d+)\.pt$")
FORMAT_VERSION = 1
CHECKSUM_MAGIC = b"faceeditor-sha256:"
CHECKSUM_LEN = len(CHECKSUM_MAGIC) + 64
DAMAGED_SUFFIX = ".damaged"
_EOCD = b"PK\x05\x06"          # the zip's end-of-central-directory record: 22 bytes + its comment
_EOCD_LEN = 22

log = logging.getLogger(__name__)


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


class _ChecksumWriter:
    """The file object torch.save writes to: passes the bytes on to `fh` while hashing them, holding back
    the last 22 (the zip's end record) so that finish() can declare the checksum as the zip comment."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.tail = b""

    def _emit(self, data: bytes | memoryview) -> None:
        self.sha.update(data)
        self.fh.write(data)

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        if len(view) >= _EOCD_LEN:
            self._emit(self.tail)
            self._emit(view[:-_EOCD_LEN])
            self.tail = bytes(view[-_EOCD_LEN:])
        else:
            joined = self.tail + bytes(view)
            self._emit(joined[:-_EOCD_LEN])
            self.tail = joined[-_EOCD_LEN:]
        return len(view)

    def flush(self) -> None:
        self.fh.flush()

    def finish(self, path: Path) -> None:
        """Write the end record with the comment's length, then the comment: the checksum of all before."""
        end = self.tail
        if len(end) != _EOCD_LEN or not end.startswith(_EOCD) or end[-2:] != b"\0\0":
            raise CheckpointError(f"{path}: torch.save wrote no plain zip ending; cannot add the checksum")
        self._emit(end[:-2] + struct.pack("<H", CHECKSUM_LEN))
        self.fh.write(CHECKSUM_MAGIC + self.sha.hexdigest().encode("ascii"))


def copy_fitting_tensors(nets: dict[str, torch.nn.Module], sources: dict[str, dict[str, torch.Tensor]]) -> tuple[int, int]:
    """Warm start: copy into each net every tensor of `sources[name]` whose name and shape it has; the
    others keep their values. Returns (tensors copied, tensors the receiving nets hold)."""
    from trainer.distributed import unwrap

    copied = total = 0
    for name, weights in sources.items():
        net = unwrap(nets[name])
        own = net.state_dict()
        fitting = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
        net.load_state_dict(fitting, strict=False)
        copied, total = copied + len(fitting), total + len(own)
    return copied, total


def describe_os_error(exc: OSError) -> str:
    """A file-system failure in a few words for a one-line message ("No space left on device")."""
    if exc.errno == errno.ENOSPC:
        return os.strerror(errno.ENOSPC)
    return exc.strerror or str(exc) or type(exc).__name__


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save with its checksum to a temporary file in the same folder, fsync, then rename over
    `path`: a crash or a full disk at any moment leaves either the previous file or the complete new one.
    A failed write is a one-line CheckpointError."""
    path = Path(path)
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as fh:
            writer = _ChecksumWriter(fh)
            torch.save(obj, writer)
            writer.finish(path)
    except OSError as exc:
        kept = "the previous file is left as it was" if existed else "nothing was written"
        raise CheckpointError(f"{path} could not be written ({describe_os_error(exc)}); {kept}") from None
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
    """Write the checkpoint of `step`, then delete the older ones beyond the newest `keep` (counting the
    new one). Only once the new file is complete are older ones deleted, and files of later steps (left
    by an abandoned trajectory) never push out the older ones a damaged newest checkpoint falls back to."""
    path = save_atomic({"format": FORMAT_VERSION, **state}, checkpoint_path(run_dir, step))
    older = [p for s, p in list_checkpoints(run_dir) if s < step]
    for old in older[:max(0, len(older) - max(0, keep - 1))]:
        old.unlink(missing_ok=True)
    return path


def newest_intact_checkpoint(run_dir: str | os.PathLike
                             ) -> tuple[Path | None, dict[str, Any] | None, list[tuple[Path, str]]]:
    """(path, state, skipped) of the newest checkpoint that passes its checksum and loads; `skipped` lists
    the newer ones that did not, with the one-line reason, so that a resume can report them by name."""
    skipped: list[tuple[Path, str]] = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path), skipped
        except CheckpointError as exc:
            skipped.append((path, str(exc)))
    return None, None, skipped


def set_aside(path: str | os.PathLike) -> Path | None:
    """Rename a damaged checkpoint to ``<name>.damaged``: kept for inspection, but no longer listed, so
    later resumes do not trip over it again and pruning does not count it. None when it cannot be moved."""
    path = Path(path)
    target = path.with_name(path.name + DAMAGED_SUFFIX)
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target


def verified_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a checkpoint file after checking them against the checksum written with them, so
    that damage is found before torch.load (which reads damaged tensor data without noticing). A file
    written before checksums is returned unverified, with a log line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({describe_os_error(exc)})") from None
    if not data:
        raise CheckpointError(f"{path}: not a readable checkpoint (an empty file)")
    trailer = data[-CHECKSUM_LEN:]
    if trailer.startswith(CHECKSUM_MAGIC):
        expected = trailer[len(CHECKSUM_MAGIC):].decode("ascii", errors="replace")
        if hashlib.sha256(memoryview(data)[:-CHECKSUM_LEN]).hexdigest() != expected:
            raise CheckpointError(f"{path}: damaged: its content does not match the SHA-256 written with it")
        return data
    end = data[-_EOCD_LEN:]
    if end.startswith(_EOCD) and end[-2:] == b"\0\0":
        log.info("%s has no checksum (written before checksums); loaded unverified", path)
        return data
    raise CheckpointError(f"{path}: not a readable checkpoint (truncated or damaged: it does not end with "
                          f"the checksum a checkpoint is written with)")


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint verified against its checksum, then read with the safe (weights-only) unpickler onto
    the CPU."""
    path = Path(path)
    data = verified_bytes(path)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the safe unpickler means "unusable file"
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {first})") from None
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
                         device: torch.device | str = "cpu") -> Any:
    """The attribute classifier of an evaluator run (eval mode), the judge of the editing evaluation;
    ConfigError when the run is no attribute classifier. A judge of another resolution than the editor's
    reads the edits resized to its own (bilinear, antialiased), as MagGAN judges its 256² edits with a
    128² classifier (metrics keys of another judge than the config's name its run folder).

    ``run_dir`` may also be a model pack (a folder with manifest.json): its first classify_attributes model,
    run by ONNX Runtime on the CPU (trainer/pack_classifier.py; it resizes what it reads to its own
    resolution and returns its outputs on the input's device), the same interface: images (N, 3, H, W) in
    [-1, 1] -> (logits (N, 13) in ATTRIBUTES order, features (N, F)). It is no nn.Module; ConfigError when
    the pack has no usable attribute classifier."""
    from trainer.distributed import unwrap
    from trainer.pack_parser import PackParserError, is_pack

    if is_pack(run_dir):
        from trainer.pack_classifier import PackAttributeClassifier

        try:
            return PackAttributeClassifier(run_dir, threads=torch.get_num_threads())
        except PackParserError as exc:
            raise ConfigError(f"evaluator: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own errors (a missing or damaged graph)
            raise ConfigError(f"evaluator: {run_dir}: its attribute classifier cannot be loaded "
                              f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    method, _ = load_trained_method(run_dir, device)
    if getattr(method.cfg, "task", None) != "attributes":
        raise ConfigError(f"evaluator: {run_dir} is not an attribute classifier run")
    net = unwrap(method.nets["classifier"]).eval()
    own = int(method.cfg.data.resolution)
    return net if own == resolution else _ResizedJudge(net, own).eval()


class _ResizedJudge(torch.nn.Module):
    """A judge that reads images of any size resized to the resolution it was trained at."""

    def __init__(self, net: torch.nn.Module, resolution: int):
        super().__init__()
        self.net, self.resolution = net, resolution

    def forward(self, x: torch.Tensor):
        x = torch.nn.functional.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear",
                                            align_corners=False, antialias=True)
        return self.net(x)
