"""Method `hiergan` on SynthFaces written in RaFD's layout at 32² with tiny widths: a short run lowers the
losses, the ablation options build the networks they name, the evaluation reports the paper's measures
(and the gain toward the same identity's face in the target expression), and the export of the whole
pipeline runs in ONNX Runtime as in PyTorch."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from torch.utils.data import DataLoader

from faceeditor.core.labels import EXPRESSIONS
from trainer.config import ConfigError
from trainer.data.registry import DataConfig, build_dataset
from trainer.export import export_run
from trainer.loop import train
from trainer.methods.base import method_class

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def rafd_root(tmp_path_factory):
    from trainer.data.synthfaces.formats import write_rafd

    root = tmp_path_factory.mktemp("rafd") / "rafd"
    write_rafd(root, identities=6, seed=5, size=32, workers=1, progress=False)
    return root


def hiergan_config(root, parser_run, run_dir, **kw):
    cls = method_class("hiergan").config_class
    base = dict(run_dir=str(run_dir), data=DataConfig(name="rafd", root=str(root), resolution=32, num_workers=0),
                segmenter=str(parser_run), g_width=4, n_res=1, local_width=4, local_n_res=1, fusion_width=4,
                crop=16, d_width=8, d_layers=3, local_d_layers=2, batch_size=8, lr=2e-3, lr_segmenter=1e-4)
    base.update(kw)
    cfg = cls(**base)
    cfg.check()
    return cfg


def test_short_training_lowers_the_losses_and_moves_the_segmenter(rafd_root, parser_run, tmp_path, attach, cpu):
    cfg = hiergan_config(rafd_root, parser_run, tmp_path)
    m = attach(method_class("hiergan")(cfg, cpu))
    assert set(m.optimizers) == {"G", "D", "S"}
    seg_before = [p.detach().clone() for p in m.nets["G"].segmenter.parameters()]
    batch = next(iter(DataLoader(build_dataset(cfg.data, "train"), batch_size=8, shuffle=False)))
    logs = [m.train_step(batch, step) for step in range(16)]
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    for key in ("G/loss", "G_global/rec", "G_fusion/rec", "G_mouth/rec", "G_left_eye/rec", "D_global/adv"):
        series = [entry[key] for entry in logs]
        assert np.mean(series[-3:]) < 0.85 * np.mean(series[:3]), key
    moved = sum(float((p - q).abs().sum()) for p, q in zip(m.nets["G"].segmenter.parameters(), seg_before))
    assert moved > 0


def test_ablation_options(rafd_root, parser_run, tmp_path, attach, cpu):
    m = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path / "a", parts="",
                                                      end_to_end=False), cpu))
    assert len(m.nets["G"].g_local) == 0 and set(m.nets["D"]) == {"global", "fusion"} and "S" not in m.optimizers
    m = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path / "b", parts="mouth,nose"), cpu))
    assert list(m.nets["G"].g_local) == ["nose", "mouth"]
    with pytest.raises(ConfigError, match="parts"):
        hiergan_config(rafd_root, parser_run, tmp_path / "c", parts="ears")
    with pytest.raises(ConfigError, match="segmenter"):
        hiergan_config(rafd_root, parser_run, tmp_path / "c", segmenter="")


@pytest.fixture(scope="module")
def trained_run(rafd_root, parser_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("hiergan") / "run"
    native = tmp_path_factory.mktemp("native") / "sf"
    from trainer.data.synthfaces.native import write_native

    write_native(native, count=12, size=32, seed=1, workers=1, progress=False)
    cfg = hiergan_config(rafd_root, parser_run, run, iters=4, ckpt_every=0, eval_every=0, sample_every=0,
                         log_every=2, eval_limit=8, miou_data=str(native))
    train(cfg, progress=False)
    return run


def test_evaluation_reports_the_papers_measures(trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    m = metrics[max(metrics, key=lambda k: metrics[k].get("step", 0))] if "eea" not in metrics else metrics
    flat = m.get("test", m) if isinstance(m, dict) else m
    for key in ("eea", "fd_evaluator", "gain_pixel", "gain_semantic", "miou_before", "miou_after"):
        assert key in json.dumps(metrics), key
    assert any(f"eea/{e}" in json.dumps(metrics) for e in EXPRESSIONS)
    assert flat is not None


def test_export_runs_in_onnxruntime_as_in_pytorch(trained_run, tmp_path):
    pack = tmp_path / "pack"
    manifest = export_run(trained_run, pack, log=lambda *_: None)
    (entry,) = manifest.models
    assert entry.task == "edit_expression" and list(entry.expressions) == list(EXPRESSIONS)
    sess = ort.InferenceSession(str(pack / entry.file), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image", "expression"]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32)
    y = np.zeros((2, 8), np.float32)
    (same,) = sess.run(["edited"], {"image": x, "expression": y})
    assert np.abs(same - x).max() < 1e-5                  # intensity 0: the input
    y[:, EXPRESSIONS.index("happy")] = 0.7
    (edited,) = sess.run(["edited"], {"image": x, "expression": y})
    assert np.abs(edited - x).max() > 1e-3
