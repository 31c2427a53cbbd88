"""Method `hiergan` on SynthFaces written in RaFD's layout at 32² with tiny widths: a short run lowers the
losses, the ablation options build the networks they name, paired expressions (not in the paper) pull the
translation to the same identity's true face, the evaluation reports the paper's measures
(and the gain toward the same identity's face in the target expression), and the export of the whole
pipeline runs in ONNX Runtime as in PyTorch."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.cli import main as cli_main
from faceeditor.core.image_io import load_image, save_image
from faceeditor.core.labels import EXPRESSIONS
from faceeditor.engine.manifest import Manifest
from trainer.checkpoint import load_trained_method
from trainer.config import ConfigError
from trainer.data.paired_expressions import PairedExpressions
from trainer.data.registry import DataConfig, build_dataset
from trainer.export import export_run
from trainer.loop import train
from trainer.methods.base import method_class

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    moved = sum(float((p.detach() - q).abs().sum()) for p, q in zip(m.nets["G"].segmenter.parameters(), seg_before, strict=True))
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


def _paired_losses(root, parser_run, run_dir, attach, lambda_paired, steps=60, key="G/paired", **kw):
    torch.manual_seed(0)
    cfg = hiergan_config(root, parser_run, run_dir, lambda_paired=lambda_paired, lr=1e-3, **kw,
                         data=DataConfig(name="rafd", root=str(root), resolution=32, num_workers=0,
                                         paired_expressions=True))
    m = attach(method_class("hiergan")(cfg, torch.device("cpu")))
    data = m.train_data(build_dataset(cfg.data, "train"))
    assert isinstance(data, PairedExpressions)
    torch.manual_seed(0)
    batch = next(iter(DataLoader(data, batch_size=8, shuffle=False)))
    logs = [m.train_step(batch, step) for step in range(steps)]
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    return [entry[key] for entry in logs]


def test_the_paired_term_pulls_the_translation_to_the_true_face(rafd_root, parser_run, tmp_path, attach):
    """60 steps on one batch, lr 1e-3, λ 10 (the recipe's): G/paired (mean of the last 5 steps) falls
    0.572 -> 0.130 with the term and -> 0.194 without it (the same batch and targets; the term only logged):
    ratio 0.67 measured. At 32² a face and its pair differ by only ~0.006 (mean L1, the expression's few
    pixels), so this shows the pull toward the truth, mostly as a better rendering of the face, not that the
    expression change itself is learnt."""
    with_term = _paired_losses(rafd_root, parser_run, tmp_path / "a", attach, 10.0)
    without = _paired_losses(rafd_root, parser_run, tmp_path / "b", attach, 0.0)
    assert np.isclose(with_term[0], without[0])                     # the same start, logged before the update
    assert np.mean(with_term[-5:]) < 0.5 * np.mean(with_term[:3])
    assert np.mean(with_term[-5:]) < 0.8 * np.mean(without[-5:])     # 0.67 measured


def test_the_region_term_and_the_refined_residual(rafd_root, parser_run, tmp_path, attach):
    """--lambda-paired-region pulls the pixels the expression changes toward the truth harder than the
    whole-image term alone (same batch, same targets); --refined-residual gives G_global and every G_p a
    last convolution that reads their input again."""
    both = _paired_losses(rafd_root, parser_run, tmp_path / "a", attach, 10.0, steps=30, key="G/paired_region",
                          lambda_paired_region=30.0)
    whole = _paired_losses(rafd_root, parser_run, tmp_path / "b", attach, 10.0, steps=30, key="G/paired_region")
    assert np.isclose(both[0], whole[0])
    assert np.mean(both[-5:]) < 0.85 * np.mean(whole[-5:])          # 0.161 against 0.258 measured
    cfg = hiergan_config(rafd_root, parser_run, tmp_path / "c", refined_residual=True)
    G = attach(method_class("hiergan")(cfg, torch.device("cpu"))).nets["G"]
    for g in [G.g_global, *G.g_local.values()]:
        assert g.refined_residual and g.out.in_channels == g.main[-3].out_channels + 3
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert G(x, torch.eye(8)[:2]).shape == x.shape


def test_paired_expressions_options_are_checked(rafd_root, parser_run, tmp_path, cpu):
    from trainer.config import set_value
    from trainer.data.synthfaces.native import write_native

    paired = DataConfig(name="rafd", root=str(rafd_root), resolution=32, num_workers=0, paired_expressions=True)
    with pytest.raises(ConfigError, match="paired-expressions true"):
        hiergan_config(rafd_root, parser_run, tmp_path, lambda_paired=10.0)
    with pytest.raises(ConfigError, match="lambda_paired"):
        hiergan_config(rafd_root, parser_run, tmp_path, lambda_paired=-1.0, data=paired)
    with pytest.raises(ConfigError, match="lambda_paired_region: the paired term needs the pairs"):
        hiergan_config(rafd_root, parser_run, tmp_path, lambda_paired_region=5.0)
    cfg = hiergan_config(rafd_root, parser_run, tmp_path)
    set_value(cfg, "data.paired_expressions", "true")
    set_value(cfg, "lambda_paired", "10")
    cfg.check()
    assert cfg.data.paired_expressions and cfg.lambda_paired == 10.0
    # without the option the split is not wrapped; with paired flips it is refused (hiergan does not read them)
    m = method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path), cpu)
    assert not isinstance(m.train_data(build_dataset(m.cfg.data, "train")), PairedExpressions)
    flips = DataConfig(name="rafd", root=str(rafd_root), resolution=32, num_workers=0, paired_flips=True)
    m = method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path, data=flips), cpu)
    with pytest.raises(ConfigError, match="does not read paired flips"):
        m.check_data_options()
    # a set without identities is one line
    native = tmp_path / "sf"
    write_native(native, count=4, size=32, seed=1, workers=1, progress=False)
    sf = DataConfig(name="synthfaces", root=str(native), resolution=32, num_workers=0, paired_expressions=True)
    m = method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path, data=sf), cpu)
    with pytest.raises(ConfigError, match="no identity shown in several expressions") as info:
        m.train_data(build_dataset(sf, "train"))
    assert "\n" not in str(info.value)
    # methods that do not read paired expressions refuse them instead of ignoring them
    from trainer.methods.classifier import ClassifierConfig
    from trainer.methods.sggan import SGGANConfig

    others = {"classifier": ClassifierConfig(run_dir=str(tmp_path / "c"), data=paired),
              "stgan": method_class("stgan").config_class(run_dir=str(tmp_path / "e"), data=paired),
              "sggan": SGGANConfig(run_dir=str(tmp_path / "s"), data=paired)}
    for name, ocfg in others.items():
        other = method_class(name)(ocfg, cpu)
        with pytest.raises(ConfigError, match="does not read paired expressions") as info:
            other.check_data_options()
        assert "\n" not in str(info.value), name


@pytest.fixture(scope="module")
def trained_run(rafd_root, parser_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("hiergan") / "run"
    native = tmp_path_factory.mktemp("native") / "sf"
    from trainer.data.synthfaces.native import write_native

    write_native(native, count=12, size=32, seed=1, workers=1, progress=False)
    cfg = hiergan_config(rafd_root, parser_run, run, iters=4, ckpt_every=0, eval_every=0, sample_every=0,
                         log_every=2, eval_limit=4, miou_data=str(native))
    train(cfg, progress=False)
    return run


def test_evaluation_reports_the_papers_measures(trained_run):
    text = (trained_run / "metrics.json").read_text()
    found = {}

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, (int, float)):
                    found.setdefault(k, v)
                walk(v)

    walk(json.loads(text))
    assert 0.0 <= found["eea"] <= 1.0 and 0.0 <= found["eea_real"] <= 1.0 and found["fd_evaluator"] >= 0
    assert any(f"eea/{e}" in found for e in EXPRESSIONS)
    assert "gain_pixel" in found and "gain_semantic" in found        # the set shows every identity in all 8
    assert 0.0 <= found["miou_before"] <= 1.0 and 0.0 <= found["miou_after"] <= 1.0     # an untrained parser


@pytest.fixture(scope="module")
def tiny_pack(trained_run, tmp_path_factory):
    pack = tmp_path_factory.mktemp("packs") / "hiergan-tiny"
    export_run(trained_run, pack, log=lambda *_: None)
    return pack


def test_export_runs_in_onnxruntime_as_in_pytorch(trained_run, tiny_pack):
    (entry,) = Manifest.load(tiny_pack).models
    parity = entry.metrics["export_parity_max_abs_diff"]["edited"]     # checked by the export itself
    assert set(parity) == {"random", "real"} and max(parity.values()) < 1e-3
    assert entry.task == "edit_expression" and list(entry.expressions) == list(EXPRESSIONS)
    # trained on SynthFaces written in RaFD's layout: renders, so the app does not call them photographs
    assert entry.data_domain == "synthfaces" and entry.config["data"]["name"] == "rafd"
    sess = ort.InferenceSession(str(tiny_pack / entry.file), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["image", "expression"]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32)
    y = np.zeros((2, 8), np.float32)
    (same,) = sess.run(["edited"], {"image": x, "expression": y})
    assert np.abs(same - x).max() < 1e-5                  # intensity 0: the input
    y[:, EXPRESSIONS.index("happy")] = 0.7
    (edited,) = sess.run(["edited"], {"image": x, "expression": y})
    assert np.abs(edited - x).max() > 1e-3
    # the same graph in PyTorch
    method, _ = load_trained_method(trained_run)
    with torch.no_grad():
        ref = method.export_module()(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    assert np.abs(ref - edited).max() < 1e-4


def test_cli_expression_on_the_tiny_pack(tiny_pack, rafd_root, tmp_path, capsys):
    face = build_dataset(DataConfig(name="rafd", root=str(rafd_root), resolution=32, num_workers=0), "test")[0]
    img = ((face["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    src, out = tmp_path / "face.png", tmp_path / "out.png"
    save_image(src, img)
    args = [str(src), "--dir", str(tiny_pack.parent), "--pack", tiny_pack.name, "--whole", "-o"]
    assert cli_main(["expression", *args, str(out), "--to", "Happy", "--intensity", "0.7", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["to"] == "happy" and summary["intensity"] == 0.7 and summary["mode"] == "whole"
    edited = load_image(out)
    assert edited.shape == img.shape and np.abs(edited.astype(int) - img).max() > 0
    assert cli_main(["expression", *args, str(tmp_path / "zero.png"), "--to", "sad", "--intensity", "0"]) == 0
    assert np.abs(load_image(tmp_path / "zero.png").astype(int) - img).max() <= 1       # 0 = unchanged
    capsys.readouterr()
    for bad, message in ((["--to", "bored"], "unknown expression"), (["--to", "sad", "--intensity", "3"], "between 0")):
        assert cli_main(["expression", *args, str(tmp_path / "x.png"), *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_the_local_paired_term(rafd_root, parser_run, tmp_path, attach):
    """--lambda-paired-local (not in the paper): zero for local outputs that paste back as the true picture,
    the mean |true change| in the boxes for outputs that change nothing (hand-computed from crop_box, over
    the whole crop and over its change region), and training with it lowers the region error further than
    the fused terms alone (same batch, same targets)."""
    from trainer.losses.change_region import true_change_mask
    from trainer.nets.hiergan import crop_box

    paired = DataConfig(name="rafd", root=str(rafd_root), resolution=32, num_workers=0, paired_expressions=True)
    cfg = hiergan_config(rafd_root, parser_run, tmp_path / "h", local_input="box", local_residual=True, data=paired)
    m = attach(method_class("hiergan")(cfg, torch.device("cpu")))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    x_pair = x.clone()
    x_pair[:, :, 20:26, 10:22] = 0.9                                   # a "mouth" that changes
    with torch.no_grad():
        f = m.generator().run(x, one_hot_expression_of([1, 4]))
        whole, region = m.local_paired_l1(f, x, x_pair)
        changes = [crop_box(x_pair - x, f.boxes[:, j], 16) for j in range(4)]
        assert float(whole) == pytest.approx(float(np.mean([d.abs().mean() for d in changes])), rel=1e-5)
        per_part = []
        for j, d in enumerate(changes):
            mask = true_change_mask(f.crops[m.parts[j]], f.crops[m.parts[j]] + d)
            err = d.abs().mean(dim=1, keepdim=True)
            area = mask.sum(dim=(1, 2, 3))
            faces = [(err[i] * mask[i]).sum() / area[i] for i in range(2) if area[i] > 0]
            per_part.append(float(torch.stack(faces).mean()) if faces else 0.0)
        assert float(region) == pytest.approx(float(np.mean(per_part)), rel=1e-5)
        assert float(region) > float(whole) > 0
        for j, p in enumerate(m.parts):
            f.local_out[p] = f.crops[p] + changes[j]
        assert [float(v) for v in m.local_paired_l1(f, x, x_pair)] == pytest.approx([0.0, 0.0], abs=1e-7)
    # (redrawing G_p: at 32² the true change in a crop is a few pixels and JPEG noise, which an untrained
    # residual G_p already matches about as well as it can)
    kw = dict(local_input="box", steps=30, key="G_local/paired_region")
    with_term = _paired_losses(rafd_root, parser_run, tmp_path / "a", attach, 10.0, lambda_paired_local=30.0, **kw)
    without = _paired_losses(rafd_root, parser_run, tmp_path / "b", attach, 10.0, **kw)
    assert np.isclose(with_term[0], without[0])
    assert np.mean(with_term[-5:]) < 0.85 * np.mean(without[-5:])  # 0.092 against 0.208 measured
    with pytest.raises(ConfigError, match="lambda_paired_local: the paired term needs the pairs"):
        hiergan_config(rafd_root, parser_run, tmp_path, lambda_paired_local=5.0)
    with pytest.raises(ConfigError, match="local_input"):
        hiergan_config(rafd_root, parser_run, tmp_path, local_input="ring")


def one_hot_expression_of(indices):
    from trainer.nets.hiergan import one_hot_expression

    return one_hot_expression(torch.tensor(indices))


def test_init_from_an_export_or_a_run(trained_run, tiny_pack, rafd_root, parser_run, tmp_path, attach, cpu):
    """A bundled model trains on once its run folder is gone: G comes back from the graph (the parser's batch
    norms folded into its convolutions by the exporter included) and computes what the graph computes."""
    trained, _ = load_trained_method(trained_run)
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
    y = torch.zeros(2, 8)
    y[:, EXPRESSIONS.index("surprised")] = 1.0
    with torch.no_grad():
        ref = trained.export_module()(x, y)
    torch.manual_seed(123)
    warm = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path / "w",
                                                         init_from=str(tiny_pack)), cpu))
    d_before = {k: v.clone() for k, v in warm.nets["D"].state_dict().items()}
    with torch.no_grad():
        assert float((warm.export_module()(x, y) - ref).abs().max()) > 1e-2       # a fresh G differs
    warm._init_from()
    assert "tensors copied" in warm.init_report
    with torch.no_grad():
        assert float((warm.export_module()(x, y) - ref).abs().max()) < 1e-4
    assert all(torch.equal(v, d_before[k]) for k, v in warm.nets["D"].state_dict().items())   # an export has no D
    log = warm.train_step(next(iter(DataLoader(build_dataset(warm.cfg.data, "train"), batch_size=8))), 1)
    assert np.isfinite(log["G/loss"])
    # from the run folder: G and D
    run_warm = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path / "r",
                                                             init_from=str(trained_run)), cpu))
    run_warm._init_from()
    for name in ("G", "D"):
        mine, theirs = run_warm.nets[name].state_dict(), trained.nets[name].state_dict()
        assert all(torch.equal(mine[k].cpu(), theirs[k].cpu()) for k in mine), name
    # a config that did not train the graph, and a path that holds nothing: one-line errors
    for bad in (dict(local_width=6), dict(init_from=str(tmp_path / "none"))):
        kw = {"init_from": str(tiny_pack), **bad}
        m = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path / "b", **kw), cpu))
        with pytest.raises(ConfigError, match="init_from") as info:
            m._init_from()
        assert "\n" not in str(info.value)


def test_g_start_updates_only_d_first(rafd_root, parser_run, tmp_path, attach, cpu):
    m = attach(method_class("hiergan")(hiergan_config(rafd_root, parser_run, tmp_path, g_start=2), cpu))
    batch = next(iter(DataLoader(build_dataset(m.cfg.data, "train"), batch_size=8)))
    g0 = {k: v.clone() for k, v in m.nets["G"].state_dict().items()}
    d0 = {k: v.clone() for k, v in m.nets["D"].state_dict().items()}
    logs = [m.train_step(batch, step) for step in range(2)]
    assert all("G/loss" not in entry and "D/loss" in entry for entry in logs)
    assert all(torch.equal(v, g0[k]) for k, v in m.nets["G"].state_dict().items())
    assert any(not torch.equal(v, d0[k]) for k, v in m.nets["D"].state_dict().items())
    assert "G/loss" in m.train_step(batch, 2)
    assert any(not torch.equal(v, g0[k]) for k, v in m.nets["G"].state_dict().items())
    with pytest.raises(ConfigError, match="g_start"):
        hiergan_config(rafd_root, parser_run, tmp_path, g_start=-1)
