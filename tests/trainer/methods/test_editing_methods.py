"""The attribute editors (stargan / attgan / concat / secgan): losses fall on SynthFaces at 32², the SeCGAN
terms are wired as eqs. 11–12, evaluation follows §4.4, export keeps P and G_seg inside the graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.core.labels import ATTRIBUTES
from trainer.config import ConfigError
from trainer.data.registry import DataConfig, build_dataset
from trainer.methods.base import method_class
from trainer.methods.editing import EditorExport, flip_target, one_hot_max, segment_matrix


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=40, size=64, seed=3, workers=1, progress=False)
    return root



def _cfg(name, root, parser_run, run_dir, **kw):
    cls = method_class(name).config_class
    base = dict(run_dir=str(run_dir), data=DataConfig(root=str(root), resolution=32, num_workers=0),
                g_width=8, d_width=8, n_res=1, d_layers=3, g_layers=3, g_max_width=32, fc_width=16,
                batch_size=8, n_critic=2, lr=1e-3, parser=str(parser_run))
    base.update(kw)
    cfg = cls(**base)
    cfg.check()
    return cfg


def _method(cfg, attach, cpu):
    return attach(method_class(cfg.method)(cfg, cpu))


@pytest.mark.parametrize("name", ["stargan", "attgan", "concat", "secgan"])
def test_short_training_lowers_the_losses(name, synth_root, parser_run, tmp_path, attach, cpu):
    m = _method(_cfg(name, synth_root, parser_run, tmp_path), attach, cpu)
    ds = build_dataset(m.cfg.data, "train")
    batch = next(iter(DataLoader(ds, batch_size=8, shuffle=False)))
    logs = [m.train_step(batch, step) for step in range(24)]
    g_logs = [entry for entry in logs if "G/rec" in entry]
    assert len(g_logs) == 12                                      # G every n_critic = 2 steps (Algorithm 1)
    rec = [entry["G/rec"] for entry in g_logs]
    cls = [entry["D/cls"] for entry in logs]
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    assert np.mean(rec[-3:]) < 0.8 * np.mean(rec[:3])
    assert np.mean(cls[-3:]) < np.mean(cls[:3])
    if name == "secgan":
        seg_rec = [entry["G_seg/rec"] for entry in g_logs]
        assert np.mean(seg_rec[-3:]) < 0.8 * np.mean(seg_rec[:3])
        assert {"sc/rgb", "sc/seg", "D_seg/wdist", "G_seg/cls"} <= set(g_logs[0])


def test_variants_differ_only_in_what_the_paper_varies(synth_root, parser_run, tmp_path):
    cfgs = {n: _cfg(n, synth_root, parser_run, tmp_path) for n in ("stargan", "concat", "secgan")}
    assert not cfgs["stargan"].input_mask and not cfgs["stargan"].semantic_branch
    assert cfgs["concat"].input_mask and not cfgs["concat"].semantic_branch
    assert cfgs["secgan"].semantic_branch and not cfgs["secgan"].input_mask
    att = method_class("attgan").config_class()
    assert att.weights() == {"lambda_cls": 1.0, "lambda_cls_g": 10.0, "lambda_rec": 100.0, "lambda_gp": 10.0,
                             "lambda_sc": 0.01}
    assert method_class("secgan").config_class().weights()["lambda_rec"] == 10.0
    with pytest.raises(ConfigError, match="parser"):
        method_class("secgan").config_class(data=DataConfig(resolution=32), d_layers=3).check()
    with pytest.raises(ConfigError, match="divisible"):
        method_class("stargan").config_class(data=DataConfig(resolution=48), d_layers=6).check()
    # the method, not a flag, decides what G reads and which branches exist; the backbone is a registered name
    with pytest.raises(ConfigError, match=r"^input_mask: fixed by the method \(False for 'stargan'\)"):
        method_class("stargan").config_class(input_mask=True).check()
    with pytest.raises(ConfigError, match=r"^backbone: unknown editor backbone 'stargn'; known: .*attgan, stargan"):
        method_class("secgan").config_class(backbone="stargn", parser="p").check()


def test_semantic_consistency_gradients_reach_both_generators(synth_root, parser_run, tmp_path, attach, cpu):
    """The same G update with λ_sc = 1 and λ_sc = 0 (same seed, same batch) moves G_rgb (through P) and
    G_seg differently: eqs. 11–12 reach both generators. P stays frozen."""
    batch = None
    after = {}
    for lam in (0.0, 1.0):
        cfg = _cfg("secgan", synth_root, parser_run, tmp_path / str(lam), lambda_sc=lam, n_critic=1)
        torch.manual_seed(0)
        m = _method(cfg, attach, cpu)
        if batch is None:
            batch = next(iter(DataLoader(build_dataset(cfg.data, "train"), batch_size=4)))
        p_before = [p.detach().clone() for p in m.nets["P"].parameters()]
        torch.manual_seed(1)
        out = m.train_step(batch, 0)
        assert out["sc/rgb"] > 0 and out["sc/seg"] > 0
        assert all(torch.equal(a, b) for a, b in zip(p_before, m.nets["P"].parameters(), strict=True))
        after[lam] = {n: [p.detach().clone() for p in m.nets[n].parameters()] for n in ("G", "G_seg", "D")}
    for n in ("G", "G_seg"):
        assert any(not torch.equal(a, b) for a, b in zip(after[0.0][n], after[1.0][n], strict=True)), n
    # the critics' update does not involve λ_sc
    assert all(torch.equal(a, b) for a, b in zip(after[0.0]["D"], after[1.0]["D"], strict=True))
    assert "P" not in m.trainable()


def test_ground_truth_edit_of_an_unchanged_label_is_the_stored_image(synth_root):
    """The evaluation's SynthFaces re-render lines up with the dataset's sample (same seed, same size) —
    otherwise every ground-truth distance would be meaningless."""
    from trainer.metrics.editing_accuracy import GroundTruthEdits

    ds = build_dataset(DataConfig(root=str(synth_root), resolution=32, num_workers=0), "test")
    gt = GroundTruthEdits(ds.meta, 32, "secgan12")
    for i in range(len(ds)):
        sample = ds[i]
        y = sample["attrs"][:13].numpy()
        image, mask = gt(int(sample["index"]), y, y)
        assert np.abs(image - sample["image"].numpy()).max() < 1e-6
        assert mask.max() < 12
    y_bangs = y.copy()
    y_bangs[ATTRIBUTES.index("Bangs")] = 1 - y_bangs[ATTRIBUTES.index("Bangs")]
    assert np.abs(gt(int(sample["index"]), y, y_bangs)[0] - image).max() > 0.1


def test_ground_truth_edits_only_for_data_of_this_renderer_version(synth_root):
    """A dataset drawn by another renderer version gets no ground-truth metrics (its re-renders would
    differ from the stored faces), with a warning that says why; one of this version gets them."""
    from types import SimpleNamespace

    from trainer.data.synthfaces.render import RENDERER_VERSION
    from trainer.metrics.editing_accuracy import EditingEvaluation

    ds = build_dataset(DataConfig(root=str(synth_root), resolution=32, num_workers=0), "test")
    assert ds.meta["renderer_version"] == RENDERER_VERSION
    editor = SimpleNamespace(edit=lambda x, y_diff: x)
    assert EditingEvaluation(editor, None, DataLoader(ds), resolution=32).gt is not None
    # another version, and no key at all (datasets written before it existed were drawn by version 1)
    for other, version in (({"renderer_version": RENDERER_VERSION + 1}, RENDERER_VERSION + 1), ({}, 1)):
        ds.meta = {k: v for k, v in ds.meta.items() if k != "renderer_version"} | other
        with pytest.warns(UserWarning, match=rf"renderer v{version}, this is v{RENDERER_VERSION}"):
            assert EditingEvaluation(editor, None, DataLoader(ds), resolution=32).gt is None


def test_flip_target_keeps_one_hair_colour():
    y = torch.zeros(2, len(ATTRIBUTES))
    y[0, ATTRIBUTES.index("Blond_Hair")] = 1
    t = flip_target(y, ATTRIBUTES.index("Black_Hair"))
    assert t[0, ATTRIBUTES.index("Black_Hair")] == 1 and t[0, ATTRIBUTES.index("Blond_Hair")] == 0
    t = flip_target(y, ATTRIBUTES.index("Blond_Hair"))
    assert t[0, ATTRIBUTES.index("Blond_Hair")] == 0 and t[1, ATTRIBUTES.index("Blond_Hair")] == 1
    assert torch.equal(flip_target(y, 0)[:, 1:], y[:, 1:])


def test_segments_group_the_19_classes():
    m = segment_matrix("secgan12")
    assert m.shape == (19, 12) and torch.equal(m.sum(1), torch.ones(19))
    probs = torch.softmax(torch.randn(2, 19, 4, 4), 1)
    grouped = torch.einsum("nchw,cs->nshw", probs, m)
    assert torch.allclose(grouped.sum(1), torch.ones(2, 4, 4), atol=1e-6)
    assert torch.equal(one_hot_max(grouped).sum(1), torch.ones(2, 4, 4))


def test_evaluate_follows_the_protocol(synth_root, parser_run, tmp_path, attach, cpu):
    """Editing accuracy per attribute, reconstruction, evaluator-space FD/IS, ground-truth renders and G_seg's
    mask accuracy, against an evaluator run."""
    from trainer.checkpoint import save_checkpoint
    from trainer.config import save_config
    from trainer.methods.classifier import ClassifierConfig, ClassifierMethod

    ev_run = tmp_path / "evaluator"
    ev_cfg = ClassifierConfig(run_dir=str(ev_run), width=4, feature_dim=16, stages=3,
                              data=DataConfig(resolution=32))
    ev = attach(ClassifierMethod(ev_cfg, cpu))
    save_config(ev_cfg, ev_run / "config.json")
    save_checkpoint({"step": 1, "nets": {"classifier": ev.nets["classifier"].state_dict()}}, ev_run, 1,
                    keep=1)
    cfg = _cfg("secgan", synth_root, parser_run, tmp_path / "run", evaluator=str(ev_run), eval_limit=5)
    m = _method(cfg, attach, cpu)
    loader = DataLoader(build_dataset(cfg.data, "test"), batch_size=3)
    out = m.evaluate(loader)
    assert out["images"] == 4.0                                   # the test split of 40 has 4 (limit 5)
    assert set(f"edit_acc/{a}" for a in ATTRIBUTES) <= set(out)
    assert 0 <= out["edit_acc"] <= 1 and np.isclose(out["edit_acc"],
                                                    np.mean([out[f"edit_acc/{a}"] for a in ATTRIBUTES]))
    for key in ("rec_psnr", "rec_ssim", "fd_evaluator", "is_evaluator", "gt_l1", "gt_l1_unedited", "gt_psnr",
                "gseg_mask_acc", "gseg_mask_acc_unedited", "edit_acc_gt_renders"):
        assert np.isfinite(out[key]), key
    assert out["is_evaluator"] >= 1.0


def test_export_module_holds_parser_and_gseg(synth_root, parser_run, tmp_path, attach, cpu):
    m = _method(_cfg("secgan", synth_root, parser_run, tmp_path), attach, cpu)
    (spec,) = m.export_specs()
    assert spec.task == "edit_attributes" and spec.output_names == ["edited", "mask_probs"]
    assert isinstance(spec.module, EditorExport) and spec.classes[0] == "skin" and len(spec.classes) == 12
    assert spec.attributes == list(ATTRIBUTES)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        edited, mask = spec.module(x, torch.zeros(2, 13))
    assert edited.shape == x.shape and mask.shape == (2, 12, 32, 32)
    assert torch.allclose(mask.sum(1), torch.ones(2, 32, 32), atol=1e-5)
    plain = _method(_cfg("stargan", synth_root, parser_run, tmp_path / "b"), attach, cpu)
    (spec,) = plain.export_specs()
    assert spec.output_names == ["edited"] and spec.classes == [] and spec.name == "stargan"


@pytest.mark.parametrize("backbone", ["stargan", "attgan"])
def test_semantic_branch_networks_at_the_papers_size(backbone, cpu):
    """G_seg / D_seg of Tables 2–3 at 128² with the originals' widths: 12 segments (+ n_a for StarGAN's tiled
    label) in, 12 out; the critic's trunk as the RGB one's."""
    from torch import nn

    cfg = method_class(backbone).config_class(data=DataConfig(resolution=128))
    m = method_class(backbone)(cfg, cpu)
    g_seg, d_seg = m._generator(12, 12, "none"), m._critic(12)
    first = next(x for x in g_seg.modules() if isinstance(x, nn.Conv2d))
    assert first.in_channels == (12 + 13 if backbone == "stargan" else 12) and first.out_channels == 64
    d_convs = [x for x in d_seg.main if isinstance(x, nn.Conv2d)]
    assert d_convs[0].in_channels == 12
    assert [c.out_channels for c in d_convs] == ([64, 128, 256, 512, 1024, 2048] if backbone == "stargan"
                                                 else [64, 128, 256, 512, 1024])
    with torch.no_grad():
        s = torch.softmax(g_seg(torch.rand(1, 12, 128, 128), torch.zeros(1, 13)), dim=1)
        adv, cls = d_seg(s)
    assert s.shape == (1, 12, 128, 128) and cls.shape == (1, 13)


def test_ground_truth_labels_say_which_flips_cannot_show():
    """The re-render's own labels follow an edit that can show and refuse one that cannot: a hair colour on
    a bald face stays invisible (so no judge can see it), Bangs appears on a face with hair."""
    from trainer.data.synthfaces.native import sample_face
    from trainer.data.synthfaces.params import attribute_labels
    from trainer.metrics.editing_accuracy import GroundTruthEdits

    gt = GroundTruthEdits({"seed": 3, "size": 32}, 32, "secgan12")
    labels = [attribute_labels(sample_face(3, i)) for i in range(300)]
    y_of = [np.array([float(lab[a]) for a in ATTRIBUTES], np.float32) for lab in labels]
    bald = next(i for i, lab in enumerate(labels) if lab["Bald"])
    hair = next(i for i, lab in enumerate(labels) if not lab["Bald"] and not lab["Bangs"])
    k_black, k_bangs = ATTRIBUTES.index("Black_Hair"), ATTRIBUTES.index("Bangs")
    for i in (bald, hair):
        assert np.array_equal(gt.source_labels(i), y_of[i])
        assert np.array_equal(gt.labels(i, y_of[i], y_of[i]), y_of[i])
    y = y_of[bald].copy()
    y[k_black] = 1.0
    assert gt.labels(bald, y_of[bald], y)[k_black] == 0.0
    y = y_of[hair].copy()
    y[k_bangs] = 1.0
    assert np.array_equal(gt.labels(hair, y_of[hair], y), y)


def test_a_model_pack_judges_a_run(synth_root, tmp_path, capsys):
    """The evaluator may be a model pack (its classify_attributes model, 64² for 32² edits), in the config
    and as `evaluate --evaluator PACK`; the figures are kept under the pack's name."""
    import json

    from faceeditor.resources import demo_pack_dir
    from trainer.cli import main as train_cli
    from trainer.loop import train

    pack = demo_pack_dir()
    run = tmp_path / "run"
    cfg = _cfg("stargan", synth_root, "", run, iters=2, ckpt_every=0, sample_every=0, eval_limit=2,
               evaluator=str(pack))
    train(cfg, progress=False)
    assert train_cli(["evaluate", str(run), "--device", "cpu", "--evaluator", str(pack)]) == 0
    figures = json.loads((run / "metrics.json").read_text())
    judged = figures[f"val#{pack.name}"]
    assert judged["images"] == 2 and 0.0 <= judged["unrelated_acc"] <= 1.0
    assert {"edit_acc/Male", "is_evaluator/Male", "background_msssim/Male"} <= set(judged)
    assert judged["edit_acc"] == figures["val"]["edit_acc"]          # the same judge, by the config
