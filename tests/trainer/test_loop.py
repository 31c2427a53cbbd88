"""The training loop on the toy method: learning, outputs, LR schedules, the NaN/Inf guard."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.trainer.toy_method import toy_config
from trainer.checkpoint import list_checkpoints, load_checkpoint
from trainer.loop import NonFiniteError, TrainingError, lr_factor, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_loss_decreases_and_run_folder_is_complete(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = toy_config(run, iters=40, log_every=5, sample_every=20, ckpt_every=10, keep_checkpoints=2,
                     eval_every=20, lr=3e-2)
    result = train(cfg, progress=False)
    assert result.status == "finished" and result.step == 40
    losses = [r["loss"] for r in _log(run) if "loss" in r]
    assert len(losses) == 8
    assert losses[-1] < 0.7 * losses[0], losses
    # checkpoints: only the newest two kept, the last one is the final step
    assert [s for s, _ in list_checkpoints(run)] == [30, 40]
    assert result.checkpoint == run / "ckpt-000000040.pt"
    assert json.loads((run / "config.json").read_text())["method"] == "toy"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val"]["step"] == 40 and metrics["val"]["pixel_accuracy"] > 0.7
    assert result.metrics == {"pixel_accuracy": metrics["val"]["pixel_accuracy"]}
    grids = sorted((run / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step-000000020.png", "step-000000040.png"]
    with Image.open(grids[0]) as im:
        # 4 samples per row (batch 4), two rows (inputs, predictions), 8 px tiles with 2 px padding
        assert im.size == (4 * 10 + 2, 2 * 10 + 2)
    events = [r.get("event") for r in _log(run)]
    assert events[0] == "start" and events[-1] == "finished" and events.count("eval") == 2


def test_lr_schedules() -> None:
    cfg = toy_config("unused", iters=100, lr_decay="linear", lr_decay_start=50)
    assert [lr_factor(cfg, s) for s in (0, 50, 75, 100)] == [1.0, 1.0, 0.5, 0.0]
    cfg = toy_config("unused", iters=5000, lr_decay="exp", lr_decay_start=1000, lr_decay_gamma=0.5)
    assert lr_factor(cfg, 999) == 1.0 and lr_factor(cfg, 3000) == pytest.approx(0.25)


def test_linear_decay_reaches_the_optimiser(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(toy_config(run, iters=8, log_every=4, lr=0.01, lr_decay="linear", lr_decay_start=4,
                     ckpt_every=0), progress=False)
    lrs = [r["lr"]["net"] for r in _log(run) if "lr" in r]
    assert lrs == [pytest.approx(0.01), pytest.approx(0.0)]


@pytest.mark.parametrize("knob, problem", [("nan_at", "loss 'loss' is nan"),
                                           ("nan_grad_at", "the gradient norm of network 'net' is nan")])
def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path, knob: str, problem: str) -> None:
    run = tmp_path / "run"
    cfg = toy_config(run, iters=20, ckpt_every=5, **{knob: 8})
    with pytest.raises(NonFiniteError) as err:
        train(cfg, progress=False)
    message = str(err.value)
    assert message.startswith(f"training stopped at step 8: {problem}")
    assert "ckpt-000000005.pt (step 5), left untouched" in message
    assert err.value.step == 8
    assert [s for s, _ in list_checkpoints(run)] == [5]
    state = load_checkpoint(run / "ckpt-000000005.pt")
    assert state["step"] == 5
    assert all(torch.isfinite(t).all() for t in state["nets"]["net"].values())
    assert _log(run)[-1]["event"] == "non_finite"


def test_nan_before_any_checkpoint_says_so(tmp_path: Path) -> None:
    with pytest.raises(NonFiniteError, match="no checkpoint was written before it"):
        train(toy_config(tmp_path / "run", iters=20, ckpt_every=5, nan_at=2), progress=False)
    assert list_checkpoints(tmp_path / "run") == []


def test_resume_flags(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(TrainingError, match="has no checkpoint"):
        train(toy_config(run), resume=True, progress=False)
    train(toy_config(run, iters=4, ckpt_every=0), progress=False)
    with pytest.raises(TrainingError, match="already holds checkpoints"):
        train(toy_config(run, iters=4), resume=False, progress=False)
    # already at the end: nothing to train, the checkpoint stays
    result = train(toy_config(run, iters=4), progress=False)
    assert result.step == 4 and [s for s, _ in list_checkpoints(run)] == [4]


def test_resume_with_a_new_lr_and_schedule_uses_them(tmp_path: Path) -> None:
    """The checkpoint's optimiser and scheduler states must not bring back the LR the run started with."""
    run = tmp_path / "run"
    train(toy_config(run, iters=4, ckpt_every=0, lr=0.02, log_every=4), progress=False)
    train(toy_config(run, iters=12, ckpt_every=0, lr=0.01, log_every=4, lr_decay="linear",
                     lr_decay_start=4), progress=False)
    lrs = [r["lr"]["net"] for r in _log(run) if "lr" in r]
    # step 4 at 0.02, then the new base 0.01 decaying linearly from step 4 to 0 at step 12
    assert lrs == [pytest.approx(0.02), pytest.approx(0.005), pytest.approx(0.0)]


def test_unreadable_data_is_one_clear_error(tmp_path: Path) -> None:
    cfg = toy_config(tmp_path / "run")
    cfg.data.name = "synthfaces"
    cfg.data.root = str(tmp_path / "missing")
    with pytest.raises(TrainingError, match="cannot read the training data"):
        train(cfg, progress=False)


def test_too_little_data_for_a_batch(tmp_path: Path) -> None:
    cfg = toy_config(tmp_path / "run", batch_size=64)
    with pytest.raises(TrainingError, match="fewer than one batch of 64"):
        train(cfg, progress=False)


def test_evaluation_reads_the_data_without_the_random_flip(tmp_path: Path, monkeypatch) -> None:
    """Training may flip at random; evaluation must see the images as stored (repeatable figures, and
    ground-truth re-renders line up with the inputs)."""
    import trainer.loop as loop

    seen = []

    def fake_build(cfg, split):
        seen.append((cfg.flip, split))
        return [{"image": torch.zeros(3, 4, 4)}]

    class Probe:
        def evaluate(self, loader):
            return {"n": float(sum(len(b["image"]) for b in loader))}

    cfg = toy_config(tmp_path)
    cfg.data.flip = True
    monkeypatch.setattr(loop, "build_dataset", fake_build)
    monkeypatch.setattr(loop, "plain_eval_nets", lambda method: contextlib.nullcontext())
    assert loop.evaluate_split(Probe(), cfg, "val", torch.device("cpu")) == {"n": 1.0}
    assert seen == [(False, "val")] and cfg.data.flip is True       # the run's config is left alone


def test_nan_guard_names_the_checkpoint_it_really_resumed_from(tmp_path: Path) -> None:
    """Random bytes over the newest checkpoint's weights: the resume skips it, and a later NaN names the
    intact checkpoint the run really continued from, not the damaged file."""
    from tests.trainer.test_checkpoint import damage
    from trainer.checkpoint import checkpoint_path

    run = tmp_path / "run"
    train(toy_config(run, iters=10, ckpt_every=5), progress=False)
    damage(checkpoint_path(run, 10), "random")
    with pytest.raises(NonFiniteError) as err:
        train(toy_config(run, iters=20, ckpt_every=5, nan_at=8), progress=False)
    message = str(err.value)
    assert message.startswith("training stopped at step 8: loss 'loss' is nan")
    assert f"the last good checkpoint is {checkpoint_path(run, 5)} (step 5), left untouched" in message
    assert err.value.last_checkpoint == checkpoint_path(run, 5)
