"""The resumable batch stream: epoch order, sharding, resume position, per-sample augmentation seeds."""
from __future__ import annotations

import itertools

import pytest
import torch

from tests.trainer.toy_method import ToyDataset
from trainer.data.registry import DataConfig
from trainer.data.stream import EpochBatches, batch_stream


def _keys(sampler: EpochBatches, n: int) -> list[list[tuple[int, int]]]:
    return list(itertools.islice(iter(sampler), n))


def test_epochs_are_permutations_with_their_own_order() -> None:
    s = EpochBatches(10, batch_size=3, seed=5)
    assert s.batches_per_epoch == 3
    batches = _keys(s, 6)
    epoch0 = [i for b in batches[:3] for i, _ in b]
    epoch1 = [i for b in batches[3:] for i, _ in b]
    assert len(set(epoch0)) == 9 and len(set(epoch1)) == 9 and epoch0 != epoch1
    assert _keys(EpochBatches(10, 3, seed=5), 6) == batches          # seeded
    assert _keys(EpochBatches(10, 3, seed=6), 3) != batches[:3]


def test_resume_position_continues_exactly() -> None:
    whole = _keys(EpochBatches(24, 4, seed=1), 17)
    assert _keys(EpochBatches(24, 4, seed=1, start=11), 6) == whole[11:]


def test_ranks_shard_the_single_process_batches() -> None:
    single = _keys(EpochBatches(24, 4, seed=3), 12)
    ranks = [_keys(EpochBatches(24, 2, seed=3, rank=r, world_size=2), 12) for r in range(2)]
    for i in range(12):
        assert sorted(ranks[0][i] + ranks[1][i]) == sorted(single[i])
        assert not set(ranks[0][i]) & set(ranks[1][i])


def test_too_small_dataset_is_refused() -> None:
    with pytest.raises(ValueError, match="fewer than one batch of 8 per process"):
        EpochBatches(10, 8, world_size=2)


def test_augmentation_is_the_same_with_workers_and_after_resume() -> None:
    ds = ToyDataset(DataConfig(name="toy", resolution=8, flip=True), "train")

    def batches(start: int, n: int, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
        loader, _ = batch_stream(ds, 4, seed=2, start=start, num_workers=workers)
        it = iter(loader)
        got = [next(it) for _ in range(n)]
        return torch.stack([b["image"] for b in got]), torch.stack([b["index"] for b in got])

    torch.manual_seed(0)
    before = torch.get_rng_state()
    plain, index = batches(0, 8, workers=0)
    assert torch.equal(torch.get_rng_state(), before)     # the training RNG is not consumed
    assert torch.equal(batches(5, 3, workers=0)[0], plain[5:])
    assert torch.equal(batches(0, 8, workers=2)[0], plain)
    # the flips really happen (and differ between epochs): some samples are mirrored, not all
    mirrored = sum(not torch.equal(img, ds.images[int(i)]) for img, i in zip(plain.flatten(0, 1), index.flatten(), strict=True))
    assert 0 < mirrored < 32
