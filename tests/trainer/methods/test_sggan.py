"""Method sggan: a short sparsely labelled run lowers its losses; hidden labels cannot change training (the
poison test) while known ones do; the evaluation adapter picks the asked head; the export is a valid
flip_attributes pack."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from faceeditor.core.labels import ATTRIBUTES, EVALUATOR_ATTRIBUTES
from trainer.config import ConfigError, set_value
from trainer.data.registry import DataConfig, build_dataset
from trainer.data.sparse_labels import LABELED_FILE, LabeledSet
from trainer.data.stream import batch_stream
from trainer.methods.sggan import SGGANConfig, SGGANEditor, SGGANMethod

ATTRS = ("Male", "Eyeglasses")


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=40, size=32, seed=3, workers=1, progress=False)
    return root


def _cfg(root, run_dir, **kw):
    data = {k[5:]: kw.pop(k) for k in list(kw) if k.startswith("data_")}
    base = dict(run_dir=str(run_dir), attributes=ATTRS, g_width=4, n_res=1, d_width=4, batch_size=8, n_critic=2,
                lr=1e-3, device="cpu", deterministic=True, sample_every=0, ckpt_every=0, log_every=1,
                data=DataConfig(root=str(root), resolution=32, num_workers=0, **data))
    base.update(kw)
    cfg = SGGANConfig(**base)
    cfg.check()
    return cfg


def test_config_attributes_from_the_command_line(tmp_path):
    cfg = SGGANConfig()
    assert cfg.attribute_names() == ["Male", "Blond_Hair", "Mouth_Slightly_Open", "Eyeglasses"]
    assert (cfg.iters, cfg.lr_decay_start, cfg.batch_size, cfg.n_critic, cfg.lambda_rec) == (20000, 10000, 8, 5, 10.0)
    set_value(cfg, "attributes", "Bangs,Young")
    assert cfg.attributes == ("Bangs", "Young") and cfg.net_config().n_attrs == 2
    set_value(cfg, "attributes", "Bangs,Smiling")
    with pytest.raises(ConfigError, match=r"^attributes: unknown attribute 'Smiling'; expected names of Bald"):
        cfg.check()
    with pytest.raises(ConfigError, match="power of two"):
        SGGANConfig(data=DataConfig(resolution=96)).check()
    with pytest.raises(ConfigError, match="labeled_only is for the fully supervised editors"):
        SGGANConfig(data=DataConfig(resolution=64, labeled_only=True)).check()


def test_short_sparse_run_lowers_the_losses(synth_root, tmp_path):
    """labeled_fraction 0.05 of a 32-image split = 1 labelled image per value (the paper's 0.005 keeps
    none on a set this small)."""
    torch.manual_seed(0)
    cfg = _cfg(synth_root, tmp_path, data_labeled_fraction=0.05)
    m = SGGANMethod(cfg, torch.device("cpu"))
    m.nets = m.build_networks()
    m.optimizers = m.build_optimizers()
    view = m.train_data(build_dataset(cfg.data, "train"))
    assert all(len(v) == 2 for v in m.labeled.known.values())
    loader, _ = batch_stream(view, 8, seed=0, sampler=m.batch_sampler(view, 8, seed=0, rank=0, world_size=1,
                                                                      start=0))
    batch = next(iter(loader))
    assert batch["attrs_known"][:4].any(dim=1).all()                 # half of the batch is labelled
    logs = [m.train_step(batch, step) for step in range(30)]
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    rec = [e["G/rec"] for e in logs if "G/rec" in e]
    d_cls = [e["D/cls"] for e in logs]
    g_cls = [e["G/cls"] for e in logs if "G/cls" in e]
    assert len(rec) == 15
    assert np.mean(rec[-3:]) < 0.8 * np.mean(rec[:3])
    assert np.mean(d_cls[-3:]) < 0.8 * np.mean(d_cls[:3])
    assert np.mean(g_cls[-3:]) < np.mean(g_cls[:3])
    grid = m.sample_images(batch)
    assert grid.shape == (8 * (1 + 2 * len(ATTRS)), 3, 32, 32)


class Poisoned(Dataset):
    """The training split with the attribute labels at `flip` (N, 15) inverted."""

    def __init__(self, dataset, flip: np.ndarray):
        self.dataset, self.flip = dataset, torch.from_numpy(flip)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        s = dict(self.dataset[i])
        s["attrs"] = torch.where(self.flip[i], 1 - s["attrs"], s["attrs"])
        return s


def _train(cfg, monkeypatch, flip=None):
    import trainer.loop as loop
    from trainer.checkpoint import load_checkpoint

    real = loop.build_dataset
    if flip is not None:
        monkeypatch.setattr(loop, "build_dataset",
                            lambda c, split: Poisoned(real(c, split), flip) if split == "train" else real(c, split))
    try:
        result = loop.train(cfg, resume=False, progress=False)
    finally:
        monkeypatch.setattr(loop, "build_dataset", real)
    return load_checkpoint(result.checkpoint)["nets"]


@pytest.fixture(scope="module")
def sparse_run(synth_root, tmp_path_factory):
    """A finished 4-step run at labeled_fraction 0.1 (its run folder holds labeled.txt and a checkpoint)."""
    import trainer.loop as loop
    from trainer.checkpoint import load_checkpoint

    run = tmp_path_factory.mktemp("sparse_run")
    cfg = _cfg(synth_root, run, data_labeled_fraction=0.1, iters=4)
    result = loop.train(cfg, resume=False, progress=False)
    return run, load_checkpoint(result.checkpoint)["nets"]


def test_hidden_labels_cannot_change_training(synth_root, sparse_run, tmp_path, monkeypatch):
    """Same seed, the run's labelled set: every hidden label inverted -> the same weights bit for bit;
    the known labels of one attribute inverted -> different weights."""
    run, weights = sparse_run
    ids = run / LABELED_FILE
    n = len(build_dataset(_cfg(synth_root, tmp_path).data, "train"))
    known = LabeledSet.from_text(ids.read_text(), list(ATTRS), n, str(ids)).mask()
    assert 0 < known.sum() < n * len(ATTRS)

    same = _train(_cfg(synth_root, tmp_path / "a", data_labeled_ids=str(ids), iters=4), monkeypatch)
    hidden = _train(_cfg(synth_root, tmp_path / "b", data_labeled_ids=str(ids), iters=4), monkeypatch, ~known)
    flip_known = np.zeros_like(known)
    col = EVALUATOR_ATTRIBUTES.index("Male")
    flip_known[:, col] = known[:, col]
    shown = _train(_cfg(synth_root, tmp_path / "c", data_labeled_ids=str(ids), iters=4), monkeypatch, flip_known)
    for net in ("G", "D"):
        assert all(torch.equal(same[net][k], weights[net][k]) for k in same[net]), net   # ids = the fraction's draw
        assert all(torch.equal(same[net][k], hidden[net][k]) for k in same[net]), net
    assert any(not torch.equal(same["D"][k], shown["D"][k]) for k in same["D"])


def test_editor_picks_the_asked_head(synth_root, tmp_path):
    torch.manual_seed(0)
    cfg = _cfg(synth_root, tmp_path)
    m = SGGANMethod(cfg, torch.device("cpu"))
    m.nets = {k: v.eval() for k, v in m.build_networks().items()}
    ed = SGGANEditor(m)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    y = torch.zeros(5, 13)
    male, glasses, bangs = (ATTRIBUTES.index(a) for a in ("Male", "Eyeglasses", "Bangs"))
    y[0, male] = 1
    y[1, male] = -1
    y[2, glasses] = 1
    y[3, bangs] = 1                                                   # not manipulated: unchanged
    head = ed.head_index(x, y)
    reads = (m.nets["D"].attribute_probs(x[4:])[:, 0] > 0.5).long()
    assert head.tolist() == [1, 0, 3, -1, int(reads[0])]             # y_diff = 0: the value D reads
    with torch.no_grad():
        out = ed.edit(x, y)
        full = m.nets["G"](x)
    assert torch.allclose(out[0], full[0, 0, 1], atol=1e-6) and torch.allclose(out[2], full[2, 1, 1], atol=1e-6)
    assert torch.equal(out[3], x[3])


def test_export_is_a_valid_flip_attributes_pack(sparse_run, tmp_path):
    from faceeditor.engine.manifest import Manifest
    from faceeditor.engine.validate import validate_pack
    from trainer.export import export_run

    run, _ = sparse_run
    pack = tmp_path / "pack"
    export_run(run, pack, log=lambda *_: None)               # parity-checked against PyTorch
    import onnxruntime as ort

    sess = ort.InferenceSession(str(pack / "sggan.onnx"), providers=["CPUExecutionProvider"])
    flips, probs = sess.run(None, {"image": np.zeros((3, 3, 32, 32), np.float32)})
    assert flips.shape == (3, 2, 2, 3, 32, 32) and probs.shape == (3, 2) and ((probs >= 0) & (probs <= 1)).all()
    assert Manifest.load(pack).models[0].task == "flip_attributes"
    manifest = validate_pack(pack)
    (entry,) = manifest.models
    assert entry.task == "flip_attributes" and entry.attributes == list(ATTRS)
    assert [o.name for o in entry.outputs] == ["flips", "attr_probs"]
    assert list(entry.outputs[0].shape[1:]) == [2, 2, 3, 32, 32] and entry.outputs[1].shape[1] == 2


def test_evaluate_runs_the_editing_protocol(synth_root, tmp_path):
    from torch.utils.data import DataLoader

    from trainer.checkpoint import save_checkpoint
    from trainer.config import save_config
    from trainer.methods.classifier import ClassifierConfig, ClassifierMethod

    ev_run = tmp_path / "evaluator"
    ev_cfg = ClassifierConfig(run_dir=str(ev_run), width=4, feature_dim=16, stages=3, data=DataConfig(resolution=32))
    ev = ClassifierMethod(ev_cfg, torch.device("cpu"))
    ev.nets = ev.build_networks()
    save_config(ev_cfg, ev_run / "config.json")
    save_checkpoint({"step": 1, "nets": {"classifier": ev.nets["classifier"].state_dict()}}, ev_run, 1, keep=1)
    cfg = dataclasses.replace(_cfg(synth_root, tmp_path / "run"), evaluator=str(ev_run), eval_limit=3)
    m = SGGANMethod(cfg, torch.device("cpu"))
    m.nets = {k: v.eval() for k, v in m.build_networks().items()}
    out = m.evaluate(DataLoader(build_dataset(cfg.data, "test"), batch_size=3))
    assert out["images"] == 3.0
    for a in ATTRS:
        assert 0 <= out[f"edit_acc/{a}"] <= 1
    assert np.isfinite(out["rec_psnr"])
