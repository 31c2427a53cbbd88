"""Process-group set-up for DistributedDataParallel under torchrun, and small collective helpers.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT) in every worker; without them the
trainer runs as a single process and every helper here is a no-op.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_info() -> DistInfo:
    """Rank, world size and local rank from torchrun's environment (single process without it)."""
    def env_int(name: str, default: int) -> int:
        value = os.environ.get(name, "")
        try:
            return int(value) if value else default
        except ValueError:
            raise RuntimeError(f"environment variable {name} must be an integer, got {value!r}") from None

    return DistInfo(env_int("RANK", 0), env_int("WORLD_SIZE", 1), env_int("LOCAL_RANK", 0))


def init(info: DistInfo, device: torch.device) -> bool:
    """Join the process group (NCCL on GPUs, gloo on CPUs). Returns True when this call created it (and
    so should destroy it at the end)."""
    if not info.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    # a generous timeout: rank 0 alone evaluates and writes samples while the others wait at a barrier
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=60))
    return True


def shutdown(created: bool) -> None:
    if created and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    if active():
        dist.barrier()


def any_flags(flags: list[bool], device: torch.device) -> list[bool]:
    """Element-wise OR of small boolean flags over all ranks (one tiny all-reduce), so that every rank
    takes the same decision (stop on a signal, stop on a NaN) at the same step."""
    if not active():
        return flags
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def gather_objects(obj: Any) -> list[Any]:
    """obj from every rank, in rank order (a one-element list without a process group)."""
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP-wrap a trainable network (gradients are averaged over ranks in backward)."""
    if not active():
        return module
    if device.type == "cuda":
        return nn.parallel.DistributedDataParallel(module, device_ids=[device.index])
    return nn.parallel.DistributedDataParallel(module)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain network under torch.compile and DDP wrappers."""
    while True:
        if hasattr(module, "_orig_mod"):            # torch.compile's OptimizedModule
            module = module._orig_mod
        elif isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        else:
            return module
