"""preview_distill: a half-resolution student of a trained MagGAN learns to give, through the engine's
preview rule x + up(S(down x) - down x), what the teacher gives at full resolution; it exports as the
teacher's preview model."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
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
    """What the student is trained on is what the engine shows for a preview model: the image area-averaged
    to half size (processing.images_to_tensor), the parse likewise (Engine._resize_probs), the change
    upsampled onto the full-size input (processing.add_change) — equal up to the engine's uint8 roundings."""
    from faceeditor.engine import processing as P
    from faceeditor.engine.engine import _resize_probs

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    probs = rng.random((19, 32, 32)).astype(np.float32)
    weight = torch.from_numpy(rng.normal(0, 0.3, (3, 19, 1, 1)).astype(np.float32))

    def editor(im, y, m):             # a change that depends on the pixels, the condition and the parse
        return torch.tanh(im * 1.5 + y[:, :3, None, None] + F.conv2d(m, weight))

    y = torch.zeros(1, 13)
    y[0, :3] = torch.tensor([0.4, -0.7, 1.0])
    x = torch.from_numpy(P.images_to_tensor([image], 32, "minus1_1"))
    ours = preview_result(editor, x, y, torch.from_numpy(probs)[None], 2)
    small = P.images_to_tensor([image], 16, "minus1_1")
    assert np.abs(shrink(x, 2).numpy() - small).max() <= 1.01 / 127.5     # the engine rounds to uint8 first
    assert np.allclose(shrink(torch.from_numpy(probs)[None], 2)[0].numpy(), _resize_probs(probs, 16), atol=1e-5)
    change = editor(torch.from_numpy(small), y, torch.from_numpy(_resize_probs(probs, 16))[None]).numpy() - small
    shown = P.add_change([image], change, "minus1_1")[0]
    ours_u8 = P.tensor_to_images(ours.numpy(), [(32, 32)], "minus1_1")[0]
    diff = np.abs(shown.astype(int) - ours_u8.astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.5, (diff.max(), diff.mean())
    assert np.abs(shown.astype(int) - image.astype(int)).mean() > 5          # the change is not nothing


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
    # the file holds the student's weights, not the teacher's traced at the small size
    traced = tmp_path / "traced"
    export_run(teacher, traced, preview=True, log=lambda *_: None)
    rng = np.random.default_rng(1)
    feeds = {"image": rng.uniform(-1, 1, (2, 3, 16, 16)).astype(np.float32),
             "y_diff": np.eye(13, dtype=np.float32)[:2],
             "masks": rng.dirichlet(np.ones(19), (2, 16, 16)).transpose(0, 3, 1, 2).astype(np.float32)}
    outs = [ort.InferenceSession(str(p / "maggan_preview.onnx"), providers=["CPUExecutionProvider"])
            .run(["edited"], feeds)[0] for p in (pack, traced)]
    assert np.abs(outs[0] - outs[1]).max() > 1e-3
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
