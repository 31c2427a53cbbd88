"""The endless, resumable stream of training batches the loop consumes.

Every epoch is a permutation seeded by (seed, epoch); under torchrun each rank takes every world_size-th
index of it (as torch's DistributedSampler does), so the union of the ranks' i-th batches is exactly the
single-process i-th batch of world_size times the size. The position in the stream is one integer, the
number of batches consumed, so a checkpoint can resume at the exact sample.

Random augmentation inside a dataset's __getitem__ (torch.rand, numpy.random, random) is made a function
of (seed, epoch, index) by seeding those generators per sample, which keeps it identical whether the data
comes from worker processes or not and whether the run was resumed or not.
"""
from __future__ import annotations

import random
import signal
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

_MASK64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The augmentation seed of one sample in one epoch (63 bits)."""
    return _mix64(_mix64(_mix64(seed) ^ epoch) ^ index) >> 1


class SeededSamples(Dataset):
    """Wraps a dataset so that item (index, seed) is dataset[index] drawn with the global RNGs seeded by
    `seed`; in the main process the RNG states are restored afterwards so the training step's own
    randomness is untouched."""

    def __init__(self, dataset: Any):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        in_worker = get_worker_info() is not None
        if not in_worker:
            saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())
        torch.default_generator.manual_seed(seed)
        np.random.seed(seed & 0xFFFFFFFF)
        random.seed(seed)
        try:
            return self.dataset[index]
        finally:
            if not in_worker:
                torch.set_rng_state(saved[0])
                np.random.set_state(saved[1])
                random.setstate(saved[2])


class EpochBatches:
    """Endless batches of (index, seed) keys for SeededSamples, starting at batch `start`.

    batches_per_epoch = (len // world_size) // batch_size: every rank sees the same number of full
    batches per epoch (the tail that does not fill a batch on every rank is dropped, as GAN training
    wants uniform batches).
    """

    def __init__(self, length: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1,
                 start: int = 0):
        self.length = length
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start = start
        self.batches_per_epoch = (length // world_size) // batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(
                f"the training split has {length} samples, fewer than one batch of {batch_size} "
                f"per process ({world_size} process{'es' if world_size > 1 else ''}); "
                f"lower batch_size or use more data")

    def epoch_order(self, epoch: int) -> list[int]:
        """This rank's indices for one epoch, in order."""
        g = torch.Generator()
        g.manual_seed(_mix64(self.seed) ^ epoch)
        perm = torch.randperm(self.length, generator=g).tolist()
        return perm[self.rank::self.world_size]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        position = self.start
        epoch, order = -1, []
        while True:
            e, b = divmod(position, self.batches_per_epoch)
            if e != epoch:
                epoch, order = e, self.epoch_order(e)
            chunk = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield [(i, sample_seed(self.seed, epoch, i)) for i in chunk]
            position += 1


def leave_stop_signals_to_the_main_process(worker_id: int) -> None:
    """DataLoader worker init: ignore SIGTERM and SIGINT. Ctrl-C, `kill -- -PGID`, `pkill -f` and job
    schedulers signal every process of the run; a worker that died of it made the next batch raise
    ("DataLoader worker ... is killed by signal: Terminated") before the loop could write its checkpoint.
    The main process alone handles them (trainer/loop.py _StopSignals) and shuts the workers down; a
    worker whose parent is gone still exits (PyTorch's watchdog)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def batch_stream(dataset: Any, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1,
                 start: int = 0, num_workers: int = 0, pin_memory: bool = False,
                 sampler: Any = None) -> tuple[DataLoader, int]:
    """A DataLoader yielding collated batches forever from batch `start` on; also the batches per epoch.
    `sampler` replaces the EpochBatches order (same contract: endless lists of (index, seed) from batch
    `start`, and `batches_per_epoch`), e.g. trainer/data/sparse_labels.py MixedBatches."""
    if sampler is None:
        sampler = EpochBatches(len(dataset), batch_size, seed=seed, rank=rank, world_size=world_size,
                               start=start)
    # Its own generator: creating the iterator draws the workers' base seed, which must not come from
    # (and shift) the global RNG that the training step uses.
    generator = torch.Generator().manual_seed(_mix64(seed) >> 1)
    loader = DataLoader(
        SeededSamples(dataset),
        batch_sampler=sampler,
        generator=generator,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        prefetch_factor=4 if num_workers > 0 else None,
        worker_init_fn=leave_stop_signals_to_the_main_process,
    )
    return loader, sampler.batches_per_epoch
