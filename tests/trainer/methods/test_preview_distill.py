"""preview_distill: a half-resolution student of a trained MagGAN learns to give, through the engine's
preview rule x + up(S(down x) - down x), what the teacher gives at full resolution; it exports as the
teacher's preview model."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.engine.manifest import Manifest
from trainer.config import ConfigError
from trainer.data.registry import DataConfig, build_dataset
from trainer.export import export_run
from trainer.loop import train
from trainer.methods.base import method_class
from trainer.methods.preview_distill import PreviewDistillConfig, preview_result, shrink

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def teacher(synth_root, parser_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("teacher") / "maggan"
    cfg = method_class("maggan").config_class(
        run_dir=str(run), data=DataConfig(root=str(synth_root), resolution=32, num_workers=0),
        parser=str(parser_run), g_width=8, d_width=8, d_layers=3, g_layers=3, g_max_width=32, fc_width=16,
        shortcut_layers=2, inject_layers=1, batch_size=8, n_critic=1, lr=1e-3, iters=6, ckpt_every=0,
        eval_every=0, sample_every=0, log_every=2)
    cfg.check()
    train(cfg, progress=False)
    return run


def _cfg(synth_root, teacher, run_dir, **kw):
    cfg = PreviewDistillConfig(run_dir=str(run_dir), teacher=str(teacher), lr=2e-3, batch_size=8,
                               data=DataConfig(root=str(synth_root), resolution=32, num_workers=0),
                               **{"iters": 40, "ckpt_every": 0, "sample_every": 0, "eval_every": 0,
                                  "log_every": 10, "eval_limit": 8, **kw})
    cfg.check()
    return cfg


def test_preview_rule_is_the_engines(cpu):
    """An identity 'editor' previews to the input exactly; a constant change comes back at full size."""
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    masks = torch.softmax(torch.randn(2, 19, 8, 8), 1)
    same = preview_result(lambda im, y, m: im, x, torch.zeros(2, 13), masks, 2)
    assert torch.allclose(same, x)
    shifted = preview_result(lambda im, y, m: im + 0.25, x, torch.zeros(2, 13), masks, 2)
    assert torch.allclose(shifted, (x + 0.25).clamp(-1, 1), atol=1e-6)
    assert torch.allclose(shrink(x, 2)[0, 0, 0, 0], x[0, 0, :2, :2].mean())


def test_training_brings_the_preview_to_the_full_result(synth_root, teacher, tmp_path, attach, cpu):
    cfg = _cfg(synth_root, teacher, tmp_path)
    m = attach(method_class("preview_distill")(cfg, cpu))
    data = build_dataset(cfg.data, "train")
    batch = next(iter(DataLoader(data, batch_size=8, shuffle=False)))
    val = DataLoader(build_dataset(cfg.data, "val"), batch_size=8)
    before = m.evaluate(val)
    assert before["gain_to_full/student"] == pytest.approx(before["gain_to_full/traced"])   # starts as the traced one
    # y_diff: one attribute per face; the first half at full strength, the rest within the slider range
    y = batch["attrs"].float()[:, :13]
    y_diff = m.draw_y_diff(y, torch.Generator().manual_seed(0))
    assert ((y_diff != 0).sum(1) >= 1).all()
    assert set(y_diff[:4].abs().unique().tolist()) <= {0.0, 1.0}
    assert 0 < y_diff[4:].abs().max() <= cfg.flip_strength_max
    logs = [m.train_step(batch, step)["S/l1_to_full"] for step in range(40)]
    assert np.mean(logs[-5:]) < 0.9 * np.mean(logs[:5])
    after = m.evaluate(val)
    assert after["gain_to_full/student"] > before["gain_to_full/student"] + 0.02
    assert after["l1_to_full/student"] < after["l1_to_full/traced"]
    assert after["gain_to_full/traced"] == pytest.approx(before["gain_to_full/traced"])       # the teacher is frozen


def test_exports_as_the_teachers_preview_and_refuses_a_changed_teacher(synth_root, teacher, tmp_path):
    run = tmp_path / "distill"
    train(_cfg(synth_root, teacher, run, iters=4), progress=False)
    pack = tmp_path / "pack"
    export_run(teacher, pack, log=lambda *_: None)                              # the full editor
    export_run(run, pack, append=True, log=lambda *_: None)                     # its distilled preview
    full, preview = Manifest.load(pack).models
    assert (preview.name, preview.preview_of, preview.resolution) == ("maggan_preview", "maggan", 16)
    assert "distilled from maggan step 6" in preview.extra["preview"]
    assert max(preview.metrics["export_parity_max_abs_diff"]["edited"].values()) < 1e-3
    assert json.loads((run / "config.json").read_text())["teacher"] == str(teacher)
    # a teacher that moved on since the distillation began: resuming would distil another network
    cfg = _cfg(synth_root, teacher, run, iters=8)
    cfg.teacher_checkpoint = str(_fake_later_checkpoint(teacher, tmp_path))
    with pytest.raises(ConfigError, match="distilled from step 6"):
        train(cfg, progress=False)


def _fake_later_checkpoint(teacher, tmp_path):
    from trainer.checkpoint import latest_checkpoint, load_checkpoint

    state = load_checkpoint(latest_checkpoint(teacher))
    state["step"] = 9
    path = tmp_path / "ckpt-000000009.pt"
    torch.save(state, path)
    return path


def test_bad_teachers_are_one_line(synth_root, teacher, parser_run, tmp_path, cpu):
    with pytest.raises(ConfigError, match="teacher: give the run folder"):
        PreviewDistillConfig(run_dir=str(tmp_path)).check()
    for bad, match in ((tmp_path / "none", "teacher:"), (parser_run, "no preview path")):
        cfg = _cfg(synth_root, bad, tmp_path / "x")
        with pytest.raises(ConfigError, match=match) as info:
            method_class("preview_distill")(cfg, cpu)
        assert "\n" not in str(info.value)
    cfg = _cfg(synth_root, teacher, tmp_path / "y")
    cfg.data.resolution = 64
    with pytest.raises(ConfigError, match="trained at 32"):
        method_class("preview_distill")(cfg, cpu)
