"""Checkpoints: atomic writes, the safe loader, RNG states, and exact resume after SIGKILL / on SIGTERM."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.trainer.toy_method import toy_config
from trainer.checkpoint import (
    CheckpointError,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    rng_state,
    save_atomic,
    save_checkpoint,
    saved_nets,
    set_rng_state,
)
from trainer.loop import train

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "trainer" / "run_toy_cli.py"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _toy_cli_args(run: Path, **fields) -> list[str]:
    base = {"data.name": "toy", "data.root": "", "data.resolution": 8, "device": "cpu", "batch-size": 4,
            "lr": 0.01, "deterministic": "true", "log-every": 2, "sample-every": 0}
    base.update(fields)
    args = [sys.executable, str(RUNNER), "train", "--method", "toy", "--run-dir", str(run)]
    for k, v in base.items():
        args += [f"--{k}", str(v)]
    return args


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_save_is_atomic_when_writing_fails(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "ckpt-000000001.pt"
    save_atomic({"format": 1, "nets": {}, "value": torch.ones(3)}, path)

    def broken_save(obj, fh, *a, **k):
        fh.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"format": 1, "nets": {}, "value": torch.zeros(3)}, path)
    assert torch.equal(load_checkpoint(path)["value"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]       # no temp file left


def test_keeps_only_the_newest(tmp_path: Path) -> None:
    for step in (10, 20, 30, 40):
        save_checkpoint({"nets": {}, "step": step}, tmp_path, step, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [30, 40]
    (tmp_path / ".ckpt-000000050.pt-x.tmp").write_bytes(b"torn")   # a leftover temp file is ignored
    assert [s for s, _ in list_checkpoints(tmp_path)] == [30, 40]


def test_loader_refuses_pickled_objects_and_garbage(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "nets": {}, "obj": Path("/etc/passwd")}, evil)   # needs a non-allowed global
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(evil)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a readable checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, other)
    with pytest.raises(CheckpointError, match="not a FaceEditor trainer checkpoint"):
        load_checkpoint(other)


def test_rng_states_survive_the_safe_loader(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.standard_normal()          # leaves a cached gaussian in numpy's state
    save_atomic({"format": 1, "nets": {}, "rng": rng_state()}, tmp_path / "r.pt")
    expected = (random.random(), np.random.standard_normal(3).tolist(), torch.rand(3))
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    set_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    got = (random.random(), np.random.standard_normal(3).tolist(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])


def _final_state(run: Path) -> dict:
    return load_checkpoint(list_checkpoints(run)[-1][1])


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """Killed with -9 after the step-10 checkpoint (mid-epoch: 6 batches per epoch), the run resumes from
    it and ends with bitwise the same weights and optimiser state as a run that was never interrupted.
    Flip augmentation, input noise and Adam make every RNG stream and the data position matter; the
    killed run reads its data through 2 worker processes, the reference without workers."""
    iters = 24
    ref = tmp_path / "ref"
    train(toy_config(ref, iters=iters, ckpt_every=5, noise=0.1,
                     data=toy_config(ref).data.__class__(name="toy", root="", resolution=8, flip=True,
                                                         num_workers=0)),
          progress=False)

    run = tmp_path / "run"
    args = _toy_cli_args(run, iters=iters, **{"ckpt-every": 5, "noise": 0.1, "data.flip": "true",
                                              "data.num-workers": 2})
    proc = subprocess.Popen(args + ["--step-sleep", "0.1"], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not checkpoint_path(run, 10).exists():
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    steps = [s for s, _ in list_checkpoints(run)]
    assert 10 in steps and max(steps) < iters            # really killed mid-run

    done = subprocess.run(args, env=_env(), capture_output=True, timeout=120)   # same command resumes
    assert done.returncode == 0, done.stderr.decode()
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r.get("event") == "resume"] == [max(steps)]

    a, b = _final_state(ref), _final_state(run)
    assert a["step"] == b["step"] == iters
    for name, t in a["nets"]["net"].items():
        assert torch.equal(t, b["nets"]["net"][name]), name
    for k, v in a["optimizers"]["net"]["state"].items():
        for field, t in v.items():
            assert torch.equal(t, b["optimizers"]["net"]["state"][k][field]), (k, field)
    assert a["data"] == b["data"]


def test_sigterm_writes_a_checkpoint_and_exits(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = subprocess.Popen(_toy_cli_args(run, iters=100000, **{"ckpt-every": 0, "step-sleep": 0.02}),
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        log = run / "log.jsonl"
        while not (log.exists() and '"step": 4,' in log.read_text()):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "training did not start within 60 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    steps = [s for s, _ in list_checkpoints(run)]
    assert len(steps) == 1 and 4 <= steps[0] < 100000
    assert f"stopped by SIGTERM at step {steps[0]}" in err.decode()
    state = load_checkpoint(list_checkpoints(run)[0][1])
    assert state["step"] == steps[0] == state["data"]["batches"]
    events = [json.loads(line).get("event") for line in (run / "log.jsonl").read_text().splitlines()]
    assert events[-1] == "interrupted"


def test_saved_nets_from_a_run_folder_or_a_checkpoint_file(tmp_path: Path) -> None:
    weights = {"w": torch.arange(3.0)}
    save_checkpoint({"nets": {"g": weights, "d": {}}, "step": 1}, tmp_path, 1, keep=2)
    newest = save_checkpoint({"nets": {"g": {"w": torch.ones(3)}}, "step": 2}, tmp_path, 2, keep=2)
    ckpt, nets = saved_nets(tmp_path, ("g",))                       # a folder: its latest checkpoint
    assert ckpt == newest and torch.equal(nets["g"]["w"], torch.ones(3)) and set(nets) == {"g"}
    ckpt, nets = saved_nets(tmp_path / "ckpt-000000001.pt", ("g", "d"))
    assert torch.equal(nets["g"]["w"], weights["w"]) and nets["d"] == {}
    with pytest.raises(CheckpointError, match=r"holds no weights for network\(s\) \['d'\]"):
        saved_nets(tmp_path, ("g", "d"))
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        saved_nets(tmp_path / "empty", ("g",))
