"""The one training loop every method runs in (the Method contract is trainer/methods/base.py).

build networks -> device (channels_last on CUDA) -> resume weights -> DDP for the trainable ones under
torchrun -> optional torch.compile -> optimisers and LR schedules -> an endless, resumable batch stream ->
method.train_step, with progress, a JSONL log, sample grids, atomic checkpoints (periodic and on
SIGTERM/SIGINT), a NaN/Inf guard and evaluation. Rank 0 alone writes files.

Steps are counted from 1: "step N" is the state after N iterations; train_step(batch, i) receives the
0-based index i of the iteration it performs (= the number of iterations done before it).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from faceeditor.core.atomic_io import write_text_atomic
from faceeditor.core.safe_read import load_json_file
from trainer import distributed
from trainer.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_net_weights,
    newest_intact_checkpoint,
    rng_state,
    save_checkpoint,
    set_aside,
    set_rng_state,
)
from trainer.config import TrainConfig, save_config, to_dict
from trainer.data.registry import build_dataset
from trainer.data.stream import SeededSamples, batch_stream, sample_seed
from trainer.methods.base import Method, method_class
from trainer.sample_grid import save_grid

LOG_NAME = "log.jsonl"
METRICS_NAME = "metrics.json"
SAMPLES_DIR = "samples"
SAMPLE_COUNT = 8


class TrainingError(RuntimeError):
    """Training cannot start or go on (unreadable data, mismatched checkpoint, ...); a one-line message."""


class NonFiniteError(TrainingError):
    """A loss or a gradient became NaN/Inf; training stopped without writing anything after it."""

    def __init__(self, message: str, step: int, last_checkpoint: Path | None):
        super().__init__(message)
        self.step = step
        self.last_checkpoint = last_checkpoint


@dataclass
class TrainResult:
    step: int
    status: str                            # "finished" | "interrupted"
    checkpoint: Path | None
    signal_name: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


# --- helpers --------------------------------------------------------------------------------------------

def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """cfg.device -> a torch device; "auto" is CUDA when available. Under torchrun each process takes
    the GPU of its LOCAL_RANK."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingError(f"device {spec!r} asked for but CUDA is not available on this machine")
        index = int(spec[5:]) if ":" in spec else local_rank
        if index >= torch.cuda.device_count():
            raise TrainingError(f"device cuda:{index} does not exist ({torch.cuda.device_count()} GPUs)")
        return torch.device("cuda", index)
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)


def set_determinism(cfg: TrainConfig, device: torch.device) -> None:
    if cfg.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if cfg.compile or device.type == "cuda":
            torch.use_deterministic_algorithms(True, warn_only=True)
        else:
            # The same flag without the public function's import of torch._inductor (seconds on a
            # small CPU), whose only extra effect is on torch.compile, which is off here.
            torch._C._set_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of the base LR after `step` iterations: constant until lr_decay_start, then linear to 0
    at cfg.iters, or exponential by lr_decay_gamma per 1000 iterations."""
    if cfg.lr_decay == "none" or step < cfg.lr_decay_start:
        return 1.0
    done = step - cfg.lr_decay_start
    if cfg.lr_decay == "linear":
        span = max(1, cfg.iters - cfg.lr_decay_start)
        return max(0.0, 1.0 - done / span)
    return cfg.lr_decay_gamma ** (done / 1000.0)


def batch_to_device(batch: dict[str, Any], device: torch.device, channels_last: bool) -> dict[str, Any]:
    out = {}
    for k, v in batch.items():
        if torch.is_tensor(v):
            v = v.to(device, non_blocking=True)
            if channels_last and v.dim() == 4 and v.is_floating_point():
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def place_networks(method: Method, nets: dict[str, nn.Module], cfg: TrainConfig, device: torch.device) -> None:
    """The loop's network set-up, shared with the benchmarks: move to the device (channels_last on CUDA),
    DDP-wrap the trainable networks under torchrun, torch.compile those the method allows when
    cfg.compile, then build the method's optimisers. Fills method.nets and method.optimizers."""
    for net in nets.values():
        net.to(device)
        if device.type == "cuda" and cfg.channels_last:
            net.to(memory_format=torch.channels_last)
    method.nets = dict(nets)
    trainable = method.trainable()
    compilable = method.compilable() if cfg.compile else []
    wrapped: dict[str, nn.Module] = {}
    for name, net in nets.items():
        w = distributed.wrap(net, device) if name in trainable else net
        if name in compilable:
            w = torch.compile(w)
        wrapped[name] = w
    method.nets = wrapped
    method.optimizers = method.build_optimizers()


def _grad_norm_finite(nets: list[nn.Module]) -> tuple[bool, str, float]:
    """Whether every gradient is finite (one fused norm per network, one host sync in all)."""
    norms = []
    names = []
    for i, net in enumerate(nets):
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if grads:
            norms.append(torch.stack(torch._foreach_norm(grads)).float().norm())
            names.append(i)
    if not norms:
        return True, "", 0.0
    values = torch.stack(norms)
    if bool(torch.isfinite(values).all()):
        return True, "", 0.0
    bad = int((~torch.isfinite(values)).nonzero()[0])
    return False, str(names[bad]), float(values[bad])


@contextmanager
def rng_preserved(device: torch.device) -> Iterator[None]:
    """Run a block (samples, evaluation) without touching the training RNG streams, so that sample and
    eval settings never change the training trajectory."""
    py, npy = random.getstate(), np.random.get_state()
    devices = [device.index] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda" if devices else None):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


@contextmanager
def plain_eval_nets(method: Method) -> Iterator[None]:
    """method.nets unwrapped (no DDP, no compile) and in eval mode for the duration of the block."""
    wrapped = method.nets
    plain = {k: distributed.unwrap(v) for k, v in wrapped.items()}
    modes = {k: m.training for k, m in plain.items()}
    for m in plain.values():
        m.eval()
    method.nets = plain
    try:
        with torch.no_grad():
            yield
    finally:
        method.nets = wrapped
        for k, m in plain.items():
            m.train(modes[k])


def write_metrics(run_dir: str | os.PathLike, split: str, step: int, metrics: dict[str, Any]) -> Path:
    """Merge one split's metrics into <run_dir>/metrics.json ({split: {"step": N, name: value}})."""
    path = Path(run_dir) / METRICS_NAME
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = load_json_file(path, what="metrics file")
            if not isinstance(data, dict):
                data = {}
        except ValueError:      # a damaged metrics file is rewritten, not a reason to stop training
            data = {}
    data[split] = {"step": step, **{k: _plain_number(v) for k, v in metrics.items()}}
    return write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def _plain_number(v: Any) -> Any:
    if torch.is_tensor(v):
        v = v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def evaluate_split(method: Method, cfg: TrainConfig, split: str, device: torch.device,
                   batch_size: int | None = None) -> dict[str, float]:
    """method.evaluate on one split of the config's dataset (nets unwrapped, eval mode, RNG preserved).
    Without the training-time random flip: evaluation sees every image as stored, so figures repeat
    exactly and ground-truth comparisons (e.g. SynthFaces re-renders) line up with the inputs."""
    dataset = build_dataset(dataclasses.replace(cfg.data, flip=False), split)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size or cfg.batch_size, shuffle=False, drop_last=False,
        num_workers=cfg.data.num_workers, pin_memory=device.type == "cuda")
    with rng_preserved(device), plain_eval_nets(method):
        metrics = method.evaluate(loader)
    return {k: _plain_number(v) for k, v in metrics.items()}


# --- the loop --------------------------------------------------------------------------------------------

class _StopSignals:
    """SIGTERM/SIGINT set a flag that the loop checks after each step (then it checkpoints and stops);
    a second signal gets the previous handler (Ctrl-C twice = immediate KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGTERM, signal.SIGINT):
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)


class _Run:
    def __init__(self, cfg: TrainConfig, info: distributed.DistInfo, device: torch.device, progress: bool):
        self.cfg = cfg
        self.info = info
        self.device = device
        self.progress = progress
        self.run_dir = Path(cfg.run_dir)
        self.main = info.is_main
        self.channels_last = device.type == "cuda" and cfg.channels_last

    # -- output (rank 0) --
    def log(self, record: dict[str, Any]) -> None:
        if not self.main:
            return
        record = {"time": round(time.time(), 3), **record}
        with open(self.run_dir / LOG_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def say(self, text: str) -> None:
        if self.main:
            tqdm.write(text, file=sys.stderr)

    # -- set-up --
    def setup(self, resume: bool | None) -> None:
        cfg = self.cfg
        found = list_checkpoints(self.run_dir)
        if resume is True and not found:
            raise TrainingError(f"cannot resume: {self.run_dir} has no checkpoint")
        if resume is False and found:
            raise TrainingError(f"{self.run_dir} already holds checkpoints; resume it or choose another run_dir")
        ckpt_path, state = self._newest_intact() if found else (None, None)
        if state is not None:
            saved_method = state.get("config", {}).get("method")
            if saved_method != cfg.method:
                raise TrainingError(f"{ckpt_path} was trained with method {saved_method!r}, not {cfg.method!r}")
        self.state = state
        self.ckpt_path = ckpt_path

        set_determinism(cfg, self.device)
        seed_everything(cfg.seed)          # same initial weights on every rank (DDP also broadcasts them)
        method = method_class(cfg.method)(cfg, self.device)
        nets = method.build_networks()
        if state is not None:
            try:
                load_net_weights(nets, state, ckpt_path)
            except CheckpointError as exc:
                raise TrainingError(str(exc)) from None
        place_networks(method, nets, cfg, self.device)
        self.schedulers = {
            n: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s))
            for n, opt in method.optimizers.items()
        }
        # the LRs this config asks for; a checkpoint's optimiser and scheduler states would bring back the
        # LRs it was started with, so that `--resume RUN --lr X` changed nothing
        base_lrs = {n: list(sch.base_lrs) for n, sch in self.schedulers.items()}
        self.step = 0
        self.batches = 0
        if state is not None:
            for name, opt in method.optimizers.items():
                if name in state.get("optimizers", {}):
                    opt.load_state_dict(state["optimizers"][name])
            for name, sch in self.schedulers.items():
                if name in state.get("schedulers", {}):
                    sch.load_state_dict(state["schedulers"][name])
            self._apply_config_lrs(base_lrs)
            if state.get("method_state"):
                method.load_state_dict(state["method_state"])
            self.step = int(state["step"])
            self.batches = int(state["data"]["batches"])
        self.method = method
        self.trainable_nets = [distributed.unwrap(method.nets[n]) for n in method.trainable()]

        try:
            self.train_set = build_dataset(cfg.data, "train")
        except Exception as exc:  # noqa: BLE001 - any dataset failure is reported in one line
            raise TrainingError(f"cannot read the training data ({cfg.data.name} at {cfg.data.root}): "
                                f"{exc}") from None
        try:
            # the method's view of the split (e.g. sparse labels) and its batch order, if it has one
            method.check_data_options()
            self.train_set = method.train_data(self.train_set, write=self.main)
            sampler = method.batch_sampler(self.train_set, cfg.batch_size, seed=cfg.seed, rank=self.info.rank,
                                           world_size=self.info.world_size, start=self.batches)
            self.loader, self.batches_per_epoch = batch_stream(
                self.train_set, cfg.batch_size, seed=cfg.seed, rank=self.info.rank,
                world_size=self.info.world_size, start=self.batches, num_workers=cfg.data.num_workers,
                pin_memory=self.device.type == "cuda", sampler=sampler)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None
        if state is not None:
            saved = state["data"]
            if (saved.get("length"), saved.get("batches_per_epoch")) != (len(self.train_set),
                                                                        self.batches_per_epoch):
                self.say(f"warning: the training data changed since the checkpoint "
                         f"({saved.get('length')} -> {len(self.train_set)} samples, batches per epoch "
                         f"{saved.get('batches_per_epoch')} -> {self.batches_per_epoch}); "
                         f"the data order will differ from an uninterrupted run")

        self.sample_batch = self._sample_batch() if self.main and cfg.sample_every else None

        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir)

        # RNG streams last, so nothing above (weights, data set-up) shifts them.
        if state is not None:
            rngs = state.get("rng", [])
            if len(rngs) == self.info.world_size:
                set_rng_state(rngs[self.info.rank])
            else:
                self.say(f"warning: the checkpoint holds RNG states of {len(rngs)} process(es), this run has "
                         f"{self.info.world_size}; random streams are re-seeded")
                seed_everything(cfg.seed + 1000003 * self.step + self.info.rank)
        elif self.info.rank:
            seed_everything(cfg.seed + self.info.rank)

    def _newest_intact(self) -> tuple[Path, dict[str, Any]]:
        """The checkpoint to resume from: the newest that passes its checksum. Newer, damaged ones are
        reported by name and moved aside (rank 0), so the run continues from an intact state instead of
        trusting damaged weights; with none intact the run stops and names them all."""
        path, state, damaged = newest_intact_checkpoint(self.run_dir)
        if state is None:
            reasons = "; ".join(reason for _, reason in damaged)
            raise TrainingError(f"cannot resume {self.run_dir}: no intact checkpoint ({reasons})")
        for bad, reason in damaged:
            aside = set_aside(bad) if self.main else None
            where = f"moved aside to {aside.name}" if aside else "left in place"
            self.say(f"warning: {reason}; {where}")
            self.log({"event": "damaged_checkpoint", "path": bad.name, "reason": reason,
                      "moved_to": aside.name if aside else None})
        if damaged:
            self.say(f"resuming from {path} (step {int(state['step'])}), the newest intact checkpoint")
        return path, state

    def _apply_config_lrs(self, base_lrs: dict[str, list[float]]) -> None:
        """After a resume: the schedulers' base LRs are the config's, the current LR follows the schedule."""
        for name, sch in self.schedulers.items():
            sch.base_lrs = base_lrs[name]
            for group, base in zip(sch.optimizer.param_groups, base_lrs[name], strict=True):
                group["initial_lr"] = base
                group["lr"] = base * lr_factor(self.cfg, sch.last_epoch)

    def _sample_batch(self) -> dict[str, Any] | None:
        """A fixed batch for the sample grids: the first samples of val (or train when val is absent)."""
        try:
            ds = build_dataset(self.cfg.data, "val")
        except Exception:  # noqa: BLE001 - no val split: use train
            ds = self.train_set
        n = min(SAMPLE_COUNT, len(ds), self.cfg.batch_size)
        if n == 0:
            return None
        seeded = SeededSamples(ds)
        items = [seeded[(i, sample_seed(self.cfg.seed, 1 << 40, i))] for i in range(n)]
        batch = torch.utils.data.default_collate(items)
        return batch_to_device(batch, self.device, self.channels_last)

    # -- saving --
    def checkpoint(self) -> Path | None:
        """All ranks call this (the RNG states are gathered); rank 0 writes."""
        rngs = distributed.gather_objects(rng_state())
        path = None
        failure = ""
        if self.main:
            m = self.method
            state = {
                "step": self.step,
                "nets": {n: distributed.unwrap(net).state_dict() for n, net in m.nets.items()},
                "optimizers": {n: o.state_dict() for n, o in m.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "method_state": m.state_dict(),
                "rng": rngs,
                "data": {"batches": self.batches, "batches_per_epoch": self.batches_per_epoch,
                         "length": len(self.train_set)},
                "config": to_dict(self.cfg),
                "world_size": self.info.world_size,
            }
            try:
                path = save_checkpoint(state, self.run_dir, self.step, self.cfg.keep_checkpoints)
            except CheckpointError as exc:
                failure = str(exc)
            else:
                self.ckpt_path = path
                self.log({"event": "checkpoint", "step": self.step, "path": path.name})
        if distributed.any_flags([bool(failure)], self.device)[0]:
            last = self.ckpt_path
            kept = (f"the newest checkpoint is {last} (step {_ckpt_step(last)})" if last
                    else "no checkpoint was written before it")
            self.log({"event": "checkpoint_failed", "step": self.step, "problem": failure})
            raise TrainingError(f"training stopped at step {self.step}: "
                                f"{failure or 'rank 0 could not write the checkpoint'}; {kept}")
        distributed.barrier()
        return path

    def samples(self) -> None:
        if not self.main or self.sample_batch is None:
            return
        with rng_preserved(self.device), plain_eval_nets(self.method):
            images = self.method.sample_images(self.sample_batch)
        columns = next(iter(self.sample_batch.values())).shape[0]
        save_grid(images, self.run_dir / SAMPLES_DIR / f"step-{self.step:09d}.png", columns)

    def evaluate(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.main:
            try:
                metrics = evaluate_split(self.method, self.cfg, "val", self.device)
            except NotImplementedError:
                self.say(f"note: method {self.cfg.method!r} has no evaluate(); no metrics written")
            except Exception as exc:  # noqa: BLE001 - a missing val split must not lose the trained run
                self.say(f"warning: evaluation on the val split skipped ({type(exc).__name__}: {exc})")
                self.log({"event": "eval_skipped", "step": self.step, "reason": str(exc)})
            else:
                write_metrics(self.run_dir, "val", self.step, metrics)
                self.log({"event": "eval", "step": self.step, "split": "val", **metrics})
                self.say(f"step {self.step} val: " + ", ".join(f"{k}={_fmt(v)}" for k, v in metrics.items()))
        distributed.barrier()
        return metrics

    # -- the iterations --
    def run(self) -> TrainResult:
        cfg, m = self.cfg, self.method
        start = self.step
        self.log({"event": "resume" if self.state is not None else "start", "step": start,
                  **({"from": self.ckpt_path.name} if self.state is not None else {}),
                  "world_size": self.info.world_size, "device": str(self.device), "method": cfg.method})
        if start >= cfg.iters:
            self.say(f"the run is already at step {start} of {cfg.iters}; nothing to train")
        bar = tqdm(total=cfg.iters, initial=start, unit="it", dynamic_ncols=True,
                   disable=not (self.main and self.progress), file=sys.stderr)
        sums: dict[str, float] = {}
        window_start, window_steps = time.perf_counter(), 0
        status, sig_name = "finished", ""
        data = iter(self.loader)
        with _StopSignals() as stop:
            while self.step < cfg.iters:
                batch = batch_to_device(next(data), self.device, self.channels_last)
                losses = m.train_step(batch, self.step)
                self.batches += 1
                problem = ""
                for k, v in losses.items():
                    if not math.isfinite(float(v)):
                        problem = f"loss {k!r} is {float(v)}"
                        break
                if not problem:
                    ok, which, norm = _grad_norm_finite(self.trainable_nets)
                    if not ok:
                        problem = f"the gradient norm of network {m.trainable()[int(which)]!r} is {norm}"
                nan_any, stop_any = distributed.any_flags([bool(problem), stop.received is not None],
                                                          self.device)
                if nan_any:
                    bar.close()
                    where = f"step {self.step + 1}"
                    if not problem:
                        problem = "a non-finite loss or gradient on another process"
                    last = self.ckpt_path
                    kept = (f"the last good checkpoint is {last} (step {_ckpt_step(last)}), left untouched"
                            if last else "no checkpoint was written before it")
                    message = f"training stopped at {where}: {problem}; {kept}"
                    self.log({"event": "non_finite", "step": self.step + 1, "problem": problem})
                    raise NonFiniteError(message, self.step + 1, last)
                self.step += 1
                with warnings.catch_warnings():
                    # schedules follow iterations, not each optimiser's own steps: a generator updated every
                    # n_critic iterations has not stepped yet after the first one, which is intended
                    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
                    for s in self.schedulers.values():
                        s.step()
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                window_steps += 1
                bar.update(1)
                if self.main and self.progress:
                    bar.set_postfix({k: _fmt(float(v)) for k, v in losses.items()}, refresh=False)
                if self.step % cfg.log_every == 0 or self.step == cfg.iters:
                    now = time.perf_counter()
                    record = {"step": self.step, "it_s": round(window_steps / max(now - window_start, 1e-9), 3),
                              **{k: v / window_steps for k, v in sums.items()},
                              "lr": {n: o.param_groups[0]["lr"] for n, o in m.optimizers.items()}}
                    self.log(record)
                    if not self.progress:
                        self.say(f"step {self.step}/{cfg.iters} {record['it_s']} it/s " +
                                 " ".join(f"{k}={_fmt(v / window_steps)}" for k, v in sums.items()))
                    sums, window_start, window_steps = {}, now, 0
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.samples()
                if stop_any:
                    signum = stop.received or signal.SIGTERM
                    sig_name = signal.Signals(signum).name
                    status = "interrupted"
                    break
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < cfg.iters:
                    self.checkpoint()
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.iters:
                    self.evaluate()
            bar.close()
            if status == "interrupted":
                path = self.checkpoint()
                self.log({"event": "interrupted", "signal": sig_name, "step": self.step})
                return TrainResult(self.step, status, path, signal_name=sig_name)
            path = self.checkpoint() if (self.step > start or self.ckpt_path is None) else self.ckpt_path
        metrics = self.evaluate()
        self.log({"event": "finished", "step": self.step})
        return TrainResult(self.step, status, path, metrics=metrics)


def _ckpt_step(path: Path | None) -> int | None:
    if path is None:
        return None
    for step, p in list_checkpoints(path.parent):
        if p == path:
            return step
    return None


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def train(cfg: TrainConfig, *, resume: bool | None = None, progress: bool = True) -> TrainResult:
    """Train cfg.method as configured. resume=None continues the run in cfg.run_dir when it holds a
    checkpoint, True requires one, False refuses one. Works alone or under torchrun."""
    cfg.check()
    info = distributed.env_info()
    device = resolve_device(cfg.device, info.local_rank)
    created = distributed.init(info, device)
    try:
        run = _Run(cfg, info, device, progress)
        run.setup(resume)
        return run.run()
    finally:
        distributed.shutdown(created)
