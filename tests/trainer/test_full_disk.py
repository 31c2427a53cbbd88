"""A full disk (ENOSPC) while writing a checkpoint or exporting a pack: the previous files stay intact and
the user gets one clear line."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from faceeditor.engine.manifest import Manifest
from tests.trainer.toy_method import toy_config
from trainer.checkpoint import checkpoint_path, list_checkpoints, load_checkpoint
from trainer.cli import main as train_cli
from trainer.export import ExportError, export_run
from trainer.loop import train


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_full_disk_during_a_training_checkpoint(tmp_path: Path, monkeypatch, capsys) -> None:
    run = tmp_path / "run"
    real_save = torch.save
    calls = []

    def save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return real_save(obj, f, *args, **kwargs)
        f.write(b"the first bytes of a checkpoint")
        raise _enospc()

    monkeypatch.setattr(torch, "save", save)
    rc = train_cli(["train", "--method", "toy", "--run-dir", str(run), "--data.name", "toy", "--data.root", "",
                    "--data.resolution", "8", "--device", "cpu", "--batch-size", "4", "--iters", "12",
                    "--ckpt-every", "5", "--sample-every", "0", "--deterministic", "true"])
    err = capsys.readouterr().err
    assert rc == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    line = errors[0]
    assert line.startswith("faceeditor-train train: error: training stopped at step 10: ")
    assert f"{checkpoint_path(run, 10)} could not be written (No space left on device)" in line
    assert f"the newest checkpoint is {checkpoint_path(run, 5)} (step 5)" in line
    assert [s for s, _ in list_checkpoints(run)] == [5]
    assert load_checkpoint(checkpoint_path(run, 5))["step"] == 5
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "toy"
    train(toy_config(run, iters=4, ckpt_every=0, eval_every=0), progress=False)
    return run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_full_disk_while_exporting_onnx_leaves_the_pack_intact(toy_run: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    pack = tmp_path / "pack"
    export_run(toy_run, pack, log=lambda *_: None)
    before = _snapshot(pack)

    def onnx_export(module, args, f, *a, **k):
        Path(f).write_bytes(b"\x08\x07partial onnx")
        raise _enospc()

    monkeypatch.setattr(torch.onnx, "export", onnx_export)
    with pytest.raises(ExportError) as err:
        export_run(toy_run, pack, append=True, log=lambda *_: None)
    message = str(err.value)
    assert "\n" not in message and "No space left on device" in message
    assert f"the pack at {pack} is left as it was" in message
    assert _snapshot(pack) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]          # no temporary folder left


def test_full_disk_while_writing_the_manifest_leaves_the_pack_intact(toy_run: Path, tmp_path: Path,
                                                                    monkeypatch) -> None:
    pack = tmp_path / "pack"
    export_run(toy_run, pack, log=lambda *_: None)
    before = _snapshot(pack)

    def save(self, folder):
        (Path(folder) / "manifest.json").write_text('{"name": ')
        raise _enospc()

    monkeypatch.setattr(Manifest, "save", save)
    with pytest.raises(ExportError) as err:
        export_run(toy_run, pack, append=True, log=lambda *_: None)
    message = str(err.value)
    assert "\n" not in message and "No space left on device" in message
    assert f"the pack at {pack} is left as it was" in message
    assert _snapshot(pack) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]
    new = tmp_path / "new"
    with pytest.raises(ExportError, match=f"nothing was written to {new}"):
        export_run(toy_run, new, log=lambda *_: None)
    assert not new.exists()
