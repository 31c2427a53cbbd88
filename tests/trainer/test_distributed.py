"""DDP under torchrun with 2 gloo processes on CPU: gradients are averaged and only rank 0 writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.trainer.toy_method import ToyMethod, toy_config
from trainer import distributed
from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.loop import seed_everything, train

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "trainer" / "run_toy_cli.py"


def test_single_process_helpers_are_no_ops() -> None:
    info = distributed.env_info()
    assert (info.rank, info.world_size, info.is_main, info.enabled) == (0, 1, True, False)
    net = nn.Linear(2, 2)
    assert distributed.wrap(net, torch.device("cpu")) is net
    assert distributed.any_flags([True, False], torch.device("cpu")) == [True, False]
    assert distributed.gather_objects({"a": 1}) == [{"a": 1}]


def test_unwrap_strips_compile_and_ddp_wrappers() -> None:
    net = nn.Linear(2, 2)

    class Compiled(nn.Module):          # what torch.compile's OptimizedModule looks like to unwrap
        def __init__(self, m):
            super().__init__()
            self._orig_mod = m

    assert distributed.unwrap(Compiled(net)) is net


@pytest.mark.slow
def test_two_gloo_processes_average_gradients_and_only_rank0_writes(tmp_path: Path) -> None:
    iters = 3
    fields = {"data.name": "toy", "data.root": "", "data.resolution": 8, "data.num-workers": 0,
              "device": "cpu", "batch-size": 2, "lr": 0.5, "optimizer": "sgd", "noise": 0.0,
              "iters": iters, "log-every": 1, "sample-every": 0, "ckpt-every": 0, "deterministic": "true"}
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            str(RUNNER), "train", "--method", "toy", "--run-dir", "run"]
    for k, v in fields.items():
        args += [f"--{k}", str(v)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "FACEEDITOR_TEST_RANK_DIRS": str(tmp_path)}
    done = subprocess.run(args, env=env, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr.decode()[-3000:]

    # every rank ran in its own folder: rank 1 wrote nothing at all
    assert list((tmp_path / "rank1").rglob("*")) == []
    run0 = tmp_path / "rank0" / "run"
    assert (run0 / "config.json").is_file() and (run0 / "metrics.json").is_file()
    log = [json.loads(line) for line in (run0 / "log.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "start" and log[0]["world_size"] == 2
    assert len([r for r in log if "loss" in r]) == iters                 # one line per step, not two
    ddp = load_checkpoint(list_checkpoints(run0)[-1][1])
    assert ddp["world_size"] == 2 and len(ddp["rng"]) == 2 and ddp["step"] == iters

    # one process on the concatenated batches (2 x 2 -> 4): the same SGD steps if DDP averaged gradients
    # (summed gradients would double every update)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = tmp_path / "single"
        train(toy_config(single, iters=iters, batch_size=4, lr=0.5, optimizer="sgd", noise=0.0,
                         ckpt_every=0), progress=False)
    finally:
        torch.set_num_threads(torch_threads)
    ref = load_checkpoint(list_checkpoints(single)[-1][1])
    seed_everything(0)                       # the loop's initial weights, to see that training moved them
    initial = ToyMethod(toy_config(single), torch.device("cpu")).build_networks()["net"].state_dict()
    for name, t in ref["nets"]["net"].items():
        torch.testing.assert_close(ddp["nets"]["net"][name], t, rtol=0, atol=1e-6, msg=name)
    moved = max(float((t - initial[k]).abs().max()) for k, t in ref["nets"]["net"].items())
    assert moved > 1e-3                       # updates far larger than the tolerance
