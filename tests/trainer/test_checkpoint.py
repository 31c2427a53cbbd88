"""Checkpoints: atomic writes, the safe loader, RNG states, and exact resume after SIGKILL / on SIGTERM."""
from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zipfile
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
from trainer.config import ConfigError
from trainer.loop import TrainingError, train

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


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_full_disk_leaves_the_previous_checkpoint_intact_with_one_clear_line(tmp_path: Path,
                                                                                monkeypatch) -> None:
    path = tmp_path / "ckpt-000000001.pt"
    save_atomic({"format": 1, "nets": {}, "value": torch.ones(3)}, path)

    def full_disk(obj, fh, *a, **k):
        fh.write(b"partial bytes")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError) as err:
        save_atomic({"format": 1, "nets": {}, "value": torch.zeros(3)}, path)
    message = str(err.value)
    assert "\n" not in message and "ckpt-000000001.pt" in message
    assert "No space left on device" in message and "left as it was" in message
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


def _stop_at_step(args: list[str], run: Path, step: int, group: bool = False) -> tuple[int, str]:
    """Start the toy CLI, wait until its log shows `step`, send SIGTERM (to its whole process group with
    `group`, as Ctrl-C, `pkill -f` or a scheduler do) and return (exit code, stderr)."""
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=group)
    try:
        deadline = time.monotonic() + 60
        log = run / "log.jsonl"
        while not (log.exists() and f'"step": {step},' in log.read_text()):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "training did not start within 60 s"
            time.sleep(0.02)
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err.decode()


def test_sigterm_writes_a_checkpoint_and_exits(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, err = _stop_at_step(_toy_cli_args(run, iters=100000, **{"ckpt-every": 0, "step-sleep": 0.02}), run, 4)
    assert code == 128 + signal.SIGTERM, err
    steps = [s for s, _ in list_checkpoints(run)]
    assert len(steps) == 1 and 4 <= steps[0] < 100000
    assert f"stopped by SIGTERM at step {steps[0]}" in err
    state = load_checkpoint(list_checkpoints(run)[0][1])
    assert state["step"] == steps[0] == state["data"]["batches"]
    events = [json.loads(line).get("event") for line in (run / "log.jsonl").read_text().splitlines()]
    assert events[-1] == "interrupted"


def test_sigterm_to_the_whole_process_group_still_writes_the_checkpoint(tmp_path: Path) -> None:
    """Ctrl-C, `pkill -f` and job schedulers signal the DataLoader workers too: they leave the signal to the
    main process, which checkpoints and stops as on a SIGTERM of its own (no 'worker killed' crash)."""
    run = tmp_path / "run"
    args = _toy_cli_args(run, iters=100000, **{"ckpt-every": 0, "step-sleep": 0.02, "data.num-workers": 2})
    code, err = _stop_at_step(args, run, 6, group=True)
    assert code == 128 + signal.SIGTERM, err
    assert "unexpected error" not in err and "stopped by SIGTERM at step" in err
    steps = [s for s, _ in list_checkpoints(run)]
    assert len(steps) == 1 and steps[0] >= 6


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


# --- checksums and damaged checkpoints -------------------------------------------------------------------

def _record_payload(data: bytes, name: str) -> tuple[int, int]:
    """(offset, size) of one stored zip record's bytes inside a checkpoint file."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(name))
    n_name, n_extra = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + n_name + n_extra, info.file_size


def damage(path: Path, kind: str) -> None:
    """Damage a checkpoint the ways disks and copies do. "floats" and "random" overwrite the stored
    bytes of the first network's first weight (the file still unpickles: before checksums it loaded);
    "middle" writes 4 KB of ordinary floats into the middle of the file."""
    data = bytearray(path.read_bytes())
    if kind == "middle":
        start = len(data) // 2 - 2048
        data[start:start + 4096] = np.linspace(-1, 1, 1024, dtype=np.float32).tobytes()
    elif kind in ("floats", "random"):
        offset, size = _record_payload(bytes(data), "/data/0")
        if kind == "floats":
            data[offset:offset + size] = np.full(size // 4, 0.25, np.float32).tobytes()
        else:
            data[offset:offset + size] = np.random.default_rng(0).bytes(size)
    elif kind == "truncated":
        data = data[:len(data) // 2]
    elif kind == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


def test_the_checksum_is_written_with_the_checkpoint_and_plain_torch_still_reads_it(tmp_path: Path) -> None:
    path = save_checkpoint({"nets": {"g": {"w": torch.arange(4.0)}}, "step": 3}, tmp_path, 3, keep=2)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:                       # a standard zip whose comment is the checksum
        comment = z.comment
    assert comment.startswith(b"faceeditor-sha256:") and data.endswith(comment)
    assert comment.split(b":")[1].decode() == hashlib.sha256(data[:-len(comment)]).hexdigest()
    assert torch.equal(torch.load(path, weights_only=True)["nets"]["g"]["w"], torch.arange(4.0))
    assert torch.equal(load_checkpoint(path)["nets"]["g"]["w"], torch.arange(4.0))


@pytest.mark.parametrize("kind, reason", [
    ("floats", "damaged: its content does not match the SHA-256 written with it"),
    ("random", "damaged: its content does not match the SHA-256 written with it"),
    ("middle", "damaged: its content does not match the SHA-256 written with it"),
    ("truncated", "truncated or damaged"),
    ("empty", "empty file"),
])
def test_a_damaged_checkpoint_is_refused_by_name(tmp_path: Path, kind: str, reason: str) -> None:
    path = save_checkpoint({"nets": {"g": {"w": torch.arange(4000.0)}}, "step": 3}, tmp_path, 3, keep=2)
    damage(path, kind)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"{path}: ") and reason in str(err.value)


def test_a_checkpoint_written_before_checksums_still_loads_and_says_so(tmp_path: Path, caplog) -> None:
    old = tmp_path / "ckpt-000000007.pt"
    torch.save({"format": 1, "nets": {"g": {"w": torch.ones(2)}}, "step": 7}, old)     # the old writer
    with caplog.at_level(logging.INFO, logger="trainer.checkpoint"):
        state = load_checkpoint(old)
    assert state["step"] == 7
    assert f"{old} has no checksum (written before checksums); loaded unverified" in caplog.text


def test_keep_checkpoints_leaves_one_to_fall_back_to() -> None:
    with pytest.raises(ConfigError, match=r"keep_checkpoints: at least 2 .* got 1"):
        toy_config("unused", keep_checkpoints=1).check()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    run = tmp_path_factory.mktemp("ref") / "run"
    train(toy_config(run, iters=20, ckpt_every=5), progress=False)
    return load_checkpoint(checkpoint_path(run, 20))


@pytest.mark.parametrize("kind", ["floats", "random", "middle", "truncated", "empty"])
def test_a_damaged_newest_checkpoint_resumes_from_the_newest_intact_one(tmp_path: Path, uninterrupted: dict,
                                                                        kind: str, capsys) -> None:
    """The run stopped at step 10 (checkpoints 5 and 10); then ckpt 10 was damaged. The next resume names
    it, moves it aside, continues from step 5 and ends exactly where the uninterrupted run ends."""
    run = tmp_path / "run"
    train(toy_config(run, iters=10, ckpt_every=5), progress=False)
    assert [s for s, _ in list_checkpoints(run)] == [5, 10]
    damage(checkpoint_path(run, 10), kind)
    capsys.readouterr()

    result = train(toy_config(run, iters=20, ckpt_every=5), progress=False)
    err = capsys.readouterr().err
    assert result.status == "finished" and result.step == 20
    assert f"warning: {checkpoint_path(run, 10)}: " in err
    assert f"moved aside to {checkpoint_path(run, 10).name}.damaged" in err
    assert f"resuming from {checkpoint_path(run, 5)} (step 5), the newest intact checkpoint" in err
    assert (run / "ckpt-000000010.pt.damaged").is_file()
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["path"] for r in log if r.get("event") == "damaged_checkpoint"] == ["ckpt-000000010.pt"]
    assert [r["step"] for r in log if r.get("event") == "resume"] == [5]

    final = load_checkpoint(checkpoint_path(run, 20))
    for name, t in uninterrupted["nets"]["net"].items():
        assert torch.equal(t, final["nets"]["net"][name]), name
    for k, v in uninterrupted["optimizers"]["net"]["state"].items():
        for field, t in v.items():
            assert torch.equal(t, final["optimizers"]["net"]["state"][k][field]), (k, field)
    assert uninterrupted["data"] == final["data"]


def test_no_intact_checkpoint_left_is_one_clear_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(toy_config(run, iters=10, ckpt_every=5), progress=False)
    damage(checkpoint_path(run, 5), "floats")
    damage(checkpoint_path(run, 10), "empty")
    with pytest.raises(TrainingError) as err:
        train(toy_config(run, iters=20, ckpt_every=5), progress=False)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"cannot resume {run}: no intact checkpoint")
    assert "ckpt-000000005.pt" in message and "ckpt-000000010.pt" in message
