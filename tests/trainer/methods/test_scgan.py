"""SCGAN method: Algorithm 1 on a small SynthFaces set at 32², §5.7 segmentor options, Table 1's evaluation,
and the exported `synthesize` model run by the engine."""
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.core.labels import ATTRIBUTES, PARSE_CLASSES
from faceeditor.core.landmark_mask import LANDMARK_REGIONS, to_landmark_regions
from faceeditor.engine import Engine
from faceeditor.engine.manifest import Manifest
from faceeditor.engine.requests import SynthesizeRequest
from trainer.checkpoint import load_trained_method
from trainer.cli import main as train_cli
from trainer.config import ConfigError
from trainer.data.registry import DataConfig, build_dataset
from trainer.data.synthfaces.native import write_native
from trainer.loop import train
from trainer.methods.base import method_class
from trainer.methods.classifier import ClassifierConfig
from trainer.methods.scgan import SCGANConfig, SCGANMethod, class_grouping, part_l1, texture_energy


@pytest.fixture(scope="module")
def sf_root(tmp_path_factory):
    return str(write_native(tmp_path_factory.mktemp("sf") / "sf", count=24, size=32, seed=3, workers=1,
                            progress=False))


@pytest.fixture(scope="module")
def real_batch(sf_root):
    ds = build_dataset(DataConfig(root=sf_root, resolution=32, num_workers=0), "train")
    return torch.utils.data.default_collate([ds[i] for i in range(8)])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_cfg(sf_root, run_dir="unused", **kw):
    base = dict(data=DataConfig(root=sf_root, resolution=32, num_workers=0), run_dir=str(run_dir), nz=16,
                width=0.125, batch_size=8, lr=2e-3, device="cpu", sample_every=0, ckpt_every=0, log_every=5,
                eval_z_samples=2)
    base.update(kw)
    return SCGANConfig(**base)


def params(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()]).clone()


def test_registered_and_config_checks(sf_root):
    assert method_class("scgan") is SCGANMethod
    tiny_cfg(sf_root).check()
    bad = [dict(classes="parts"), dict(n_repeat=0), dict(lambda_seg=-1.0), dict(lambda_rec=-0.5),
           dict(lambda_texture=-1.0),
           dict(segmentor_pretrain_iters=5, segmentor_from="x"), dict(segmentor_pretrain_iters=10, iters=10),
           dict(data=DataConfig(root=sf_root, resolution=48))]
    for kw in bad:
        with pytest.raises(ConfigError):
            tiny_cfg(sf_root, **kw).check()


def test_class_groupings_reuse_the_project_luts(real_batch, cpu):
    mask = real_batch["mask"]
    for name, n in (("parse19", 19), ("secgan12", 12), ("landmark6", 7)):
        names, members, lut = class_grouping(name)
        assert len(names) == n and sorted(sum(members, [])) == sorted(PARSE_CLASSES)
    m = SCGANMethod(SCGANConfig(classes="landmark6"), cpu)
    assert m.class_names == [g for g, _ in LANDMARK_REGIONS]
    expected = np.stack([to_landmark_regions(x.numpy().astype(np.uint8)) for x in mask])
    assert np.array_equal(m.group(mask).numpy(), expected)
    with pytest.raises(ValueError, match="outside"):
        m.group(torch.full((1, 4, 4), 19))


def test_short_training_lowers_the_losses(sf_root, real_batch, cpu, attach):
    torch.manual_seed(0)
    m = attach(SCGANMethod(tiny_cfg(sf_root, n_repeat=1), cpu))
    log = [m.train_step(real_batch, step) for step in range(40)]

    def drop(key):
        v = [x[key] for x in log]
        return np.mean(v[-3:]) / np.mean(v[:3])
    drops = {k: drop(k) for k in ("s_seg", "d_cls", "g_cls", "g_seg")}
    assert drops["s_seg"] < 0.75 and drops["d_cls"] < 0.5 and drops["g_cls"] < 0.9 and drops["g_seg"] < 0.9, drops
    assert log[-1]["d_wdist"] > log[0]["d_wdist"]


def test_paired_reconstruction_term_pulls_g_to_the_real_faces(sf_root, real_batch, cpu, attach):
    """lambda_rec (not in the paper, 0 by default): L1 between G(z, c, s) and the real face of s."""
    distance = {}
    for lam in (0.0, 100.0):
        torch.manual_seed(0)
        m = attach(SCGANMethod(tiny_cfg(sf_root, n_repeat=1, lambda_rec=lam), cpu))
        log = [m.train_step(real_batch, step) for step in range(25)]
        assert ("g_rec" in log[-1]) == (lam > 0)
        image, labels, c = m._real(real_batch)
        distance[lam] = float((m.generate(m.latents(8, 5), c, labels) - image).abs().mean())
    assert distance[100.0] < 0.9 * distance[0.0], distance


def test_texture_energy_counts_fine_structure_where_it_is_and_which_way_it_runs():
    flat = torch.full((1, 3, 16, 16), 0.3)
    striped = flat.clone()
    striped[..., :8, ::2] = -0.7                                    # vertical strands in the top half only
    assert texture_energy(flat, 4).abs().max() == 0
    across_columns, across_rows = texture_energy(striped, 4)[0]
    assert across_columns.shape == (4, 4)
    assert torch.allclose(across_columns[0, :3], torch.ones(3))   # a step of 1.0 between every two columns
    assert across_columns[:2].min() > 0.7 and across_columns[2:].abs().max() == 0   # (edges differ), none below
    assert across_rows[0].abs().max() == 0                          # the strands run down: no step along them
    lying = texture_energy(striped.transpose(-1, -2), 4)[0]          # the same strands turned to lie across
    assert torch.allclose(lying[1], across_columns.T) and lying[0][:, 0].abs().max() == 0


def test_texture_term_pulls_g_to_the_fine_structure_of_the_real_faces(sf_root, real_batch, cpu, attach):
    """lambda_texture (not in the paper, 0 by default): the windowed texture energy of G(z, c, s) against
    that of the real face of s."""
    gap = {}
    for lam in (0.0, 300.0):
        torch.manual_seed(0)
        m = attach(SCGANMethod(tiny_cfg(sf_root, n_repeat=1, lambda_rec=1.0, lambda_texture=lam), cpu))
        log = [m.train_step(real_batch, step) for step in range(40)]
        assert ("g_tex" in log[-1]) == (lam > 0)
        image, labels, c = m._real(real_batch)
        fake = m.generate(m.latents(8, 5), c, labels)
        gap[lam] = float((texture_energy(fake, 2) - texture_energy(image, 2)).abs().sum(1).mean())
    assert gap[300.0] < 0.7 * gap[0.0], gap


def test_part_l1_counts_only_the_small_parts_whatever_their_area():
    real = torch.zeros(2, 3, 8, 8)
    fake = real.clone()
    fake[:, :, :4] = 1.0                                            # wrong everywhere in the top half
    parts = torch.zeros(2, 8, 8, dtype=torch.bool)
    parts[0, 5, 5] = True                                           # one part pixel, right
    assert part_l1(fake, real, parts) == 0
    parts[1, 1, 1] = True                                           # and one wrong: half the part pixels
    assert torch.isclose(part_l1(fake, real, parts), torch.tensor(0.5))
    assert part_l1(fake, real, torch.zeros_like(parts)) == 0        # no part pixels: no term, no NaN


def test_parts_term_pulls_g_to_the_real_eyes_brows_nose_and_lips(sf_root, real_batch, cpu, attach):
    """lambda_parts (not in the paper, 0 by default): the paired L1 again over the small parts alone, which
    are a few percent of the pixels; texture_jitter moves the texture windows every step."""
    gap = {}
    for lam in (0.0, 100.0):
        torch.manual_seed(0)
        m = attach(SCGANMethod(tiny_cfg(sf_root, n_repeat=1, lambda_rec=1.0, lambda_texture=10.0,
                                        texture_jitter=True, lambda_parts=lam), cpu))
        log = [m.train_step(real_batch, step) for step in range(25)]
        assert ("g_parts" in log[-1]) == (lam > 0) and "g_tex" in log[-1]
        image, labels, c = m._real(real_batch)
        parts = m.part_mask(labels)
        assert 0 < float(parts.float().mean()) < 0.2
        gap[lam] = float(part_l1(m.generate(m.latents(8, 5), c, labels), image, parts))
    assert gap[100.0] < 0.9 * gap[0.0], gap


def test_g_is_updated_every_n_repeat_iterations(sf_root, real_batch, cpu, attach):
    m = attach(SCGANMethod(tiny_cfg(sf_root, n_repeat=3), cpu))
    g = m.nets["generator"]
    before = params(g)
    m.train_step(real_batch, 0)
    m.train_step(real_batch, 1)
    assert torch.equal(params(g), before)
    out = m.train_step(real_batch, 2)
    assert not torch.equal(params(g), before) and "g_seg" in out


def test_pretrained_segmentor_is_frozen(sf_root, real_batch, cpu, attach, tmp_path):
    m = attach(SCGANMethod(tiny_cfg(sf_root, segmentor_pretrain_iters=2, n_repeat=1), cpu))
    g, d, s = (m.nets[k] for k in ("generator", "discriminator", "segmentor"))
    g0, d0, s0 = params(g), params(d), params(s)
    out = m.train_step(real_batch, 0)
    assert set(out) == {"s_seg"} and torch.equal(params(g), g0) and torch.equal(params(d), d0)
    m.train_step(real_batch, 1)
    s1 = params(s)
    assert not torch.equal(s1, s0)
    m.train_step(real_batch, 2)
    m.train_step(real_batch, 3)
    assert torch.equal(params(s), s1) and not torch.equal(params(g), g0) and not torch.equal(params(d), d0)

    # segmentor_from: another run's S, loaded at the first step and never changed
    run = tmp_path / "pre"
    train(tiny_cfg(sf_root, run, iters=3, segmentor_pretrain_iters=2), progress=False)
    m2 = attach(SCGANMethod(tiny_cfg(sf_root, segmentor_from=str(run), n_repeat=1), cpu))
    assert "segmentor" not in m2.optimizers
    m2.train_step(real_batch, 0)
    m2.train_step(real_batch, 1)
    src = torch.load(next(run.glob("ckpt-*.pt")), weights_only=True)["nets"]["segmentor"]
    for k, v in m2.nets["segmentor"].state_dict().items():
        assert torch.equal(v, src[k]), k
    with pytest.raises(ConfigError, match="segmentor_from"):
        attach(SCGANMethod(tiny_cfg(sf_root, segmentor_from=str(tmp_path / "none")), cpu)).train_step(real_batch, 0)


def test_evaluate_sample_and_export_through_the_engine(sf_root, real_batch, tmp_path, capsys):
    clf_run, run = tmp_path / "clf", tmp_path / "scgan"
    train(ClassifierConfig(data=DataConfig(root=sf_root, resolution=32, num_workers=0), run_dir=str(clf_run),
                           width=8, feature_dim=32, stages=3, iters=2, batch_size=8, device="cpu",
                           sample_every=0, ckpt_every=0), progress=False)
    torch.manual_seed(0)
    cfg = tiny_cfg(sf_root, run, iters=40, segmentor_pretrain_iters=30, n_repeat=2, evaluator=str(clf_run))
    result = train(cfg, progress=False)
    assert {"spatial_acc", "spatial_floor", "spatial_ceiling", "attr_acc", "diversity_l1"} <= set(result.metrics)

    m, _ = load_trained_method(run)
    ds = build_dataset(cfg.data, "train")
    out = m.evaluate(DataLoader(ds, batch_size=8))
    assert out["spatial_floor"] < out["spatial_ceiling"] - 0.05          # S tells masks apart
    for key in ("spatial_acc", "spatial_acc_attrs_flipped", "attr_acc", "attr_flip_acc", "attr_acc_real"):
        assert 0.0 <= out[key] <= 1.0, key
    # per-class recall of the judge, on the faces and on the real images; background dominates the pixels
    assert "spatial_recall/background" in out and "spatial_ceiling_recall/skin" in out
    assert all(0.0 <= v <= 1.0 for k, v in out.items() if "recall/" in k)
    assert {f"attr_flip_acc/{a}" for a in ATTRIBUTES} <= set(out)
    assert out["diversity_l1"] > 0 and out["diversity_feat"] > 0 and out["real_pairs_l1"] > 0
    assert out["real_same_mask_l1"] > 0                 # two real renders of one mask (restyle.py)
    grid = m.sample_images({k: v[:4] for k, v in real_batch.items()})
    assert grid.shape == (20, 3, 32, 32) and grid.min() >= -1 and grid.max() <= 1
    assert m.attr_count == 40 * 8 and set(m.attribute_defaults()) <= {0.0, 1.0}   # kept in the checkpoint

    pack = tmp_path / "pack"
    assert train_cli(["export", str(run), "--out", str(pack)]) == 0
    entry = Manifest.load(pack).models[0]
    assert (entry.task, entry.resolution, entry.classes, entry.attributes) == \
        ("synthesize", 32, list(PARSE_CLASSES), list(ATTRIBUTES))
    assert entry.extra["nz"] == 16 and set(entry.extra["attribute_defaults"]) == set(ATTRIBUTES)
    assert entry.metrics["val"]["spatial_ceiling"] == pytest.approx(result.metrics["spatial_ceiling"])
    engine = Engine([pack], provider="cpu", intra_op_threads=1)
    mask = real_batch["mask"][0].numpy().astype(np.uint8)
    a = engine.run(SynthesizeRequest(masks=[mask], attrs={"Male": 1.0}, seeds=7)).images[0]
    b = engine.run(SynthesizeRequest(masks=[mask], attrs={"Male": 1.0}, seeds=8)).images[0]
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8 and not np.array_equal(a, b)
    # the engine computes what PyTorch computes
    z = np.random.default_rng(7).standard_normal(16).astype(np.float32)
    attrs = torch.zeros(1, 13)
    attrs[0, ATTRIBUTES.index("Male")] = 1
    ref = m.generate(torch.from_numpy(z)[None], attrs, m.group(real_batch["mask"][:1]))[0]
    ref = np.clip(np.rint((ref.permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255)
    assert np.abs(ref - a.astype(float)).max() <= 1


def test_landmark_regions_pack_runs_on_19_class_masks(sf_root, real_batch, tmp_path):
    run, pack = tmp_path / "lm", tmp_path / "lm_pack"
    train(tiny_cfg(sf_root, run, iters=2, n_repeat=1, classes="landmark6", eval_flip=False, mask_skips=True),
          progress=False)
    assert train_cli(["export", str(run), "--out", str(pack)]) == 0
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["models"][0]["classes"] == [g for g, _ in LANDMARK_REGIONS]
    engine = Engine([pack], provider="cpu", intra_op_threads=1)
    res = engine.run(SynthesizeRequest(masks=[real_batch["mask"][1].numpy().astype(np.uint8)], attrs={}, seeds=1))
    assert res.images[0].shape == (32, 32, 3)
    # mask skips (pooled-mask adds) export to ONNX exactly, also with weights far from their zero start
    from trainer.export import _export_onnx, check_parity, random_inputs

    m, _ = load_trained_method(run)
    gen = m.nets["generator"]
    assert m.cfg.mask_skips and gen.mask_pool == [16, 8, 4, 2, 1]
    with torch.no_grad():
        for conv in gen.mask_in:
            conv.weight.normal_()
    spec = m.export_specs()[0]
    _export_onnx(spec, tmp_path / "skips.onnx")
    (parity,) = check_parity(spec, tmp_path / "skips.onnx", {"random": random_inputs(spec, 2)})
    assert not parity.problems and parity.diffs["random"] < 1e-4


def test_clear_error_without_masks_or_attributes(sf_root, real_batch, cpu, attach):
    m = attach(SCGANMethod(tiny_cfg(sf_root), cpu))
    with pytest.raises(KeyError, match="mask"):
        m.train_step({k: v for k, v in real_batch.items() if k != "mask"}, 0)
    with pytest.raises(KeyError, match="attrs"):
        m.train_step({k: v for k, v in real_batch.items() if k != "attrs"}, 0)


def test_parser_run_as_spatial_judge(sf_root, real_batch, tmp_path, cpu, attach):
    from trainer.methods.parser import ParserConfig

    parser_run = tmp_path / "parser"
    train(ParserConfig(data=DataConfig(root=sf_root, resolution=32, num_workers=0), run_dir=str(parser_run),
                       width=8, context_channels=16, iters=2, batch_size=8, device="cpu", sample_every=0,
                       ckpt_every=0), progress=False)
    samples = [{k: v[i] for k, v in real_batch.items()} for i in range(8)]
    m = attach(SCGANMethod(tiny_cfg(sf_root, classes="secgan12", spatial_judge=str(parser_run), eval_flip=False,
                                    eval_z_samples=0), cpu))
    out = m.evaluate(DataLoader(samples, batch_size=3))
    assert all(0.0 <= out[k] <= 1.0 for k in ("spatial_acc", "spatial_floor", "spatial_ceiling"))
    assert "attr_acc" not in out and "diversity_l1" not in out
    # the same judge for a trained run from the command line; its figures are kept under their own key
    run = tmp_path / "scgan"
    train(tiny_cfg(sf_root, run, iters=2, n_repeat=1, classes="secgan12", eval_flip=False, eval_z_samples=0),
          progress=False)
    assert train_cli(["evaluate", str(run), "--device", "cpu", "--spatial-judge", str(parser_run)]) == 0
    assert train_cli(["evaluate", str(run), "--device", "cpu"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"val", "val#judge:parser"}
    assert metrics["val#judge:parser"]["spatial_ceiling"] != metrics["val"]["spatial_ceiling"]
    assert train_cli(["evaluate", str(run), "--device", "cpu", "--spatial-judge", str(tmp_path)]) == 2
    m.cfg.spatial_judge = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match="spatial_judge"):
        m.evaluate(DataLoader(samples, batch_size=3))
    m.cfg.spatial_judge, m.cfg.evaluator = "", str(parser_run)
    with pytest.raises(ConfigError, match="'parser' run, expected 'classifier'"):
        m.evaluate(DataLoader(samples, batch_size=3))


def test_init_from_copies_the_tensors_that_fit(sf_root, real_batch, cpu, attach, tmp_path):
    run = tmp_path / "src"
    train(tiny_cfg(sf_root, run, iters=2, n_repeat=1), progress=False)
    src = torch.load(next(run.glob("ckpt-*.pt")), weights_only=True)["nets"]
    # a generator with another bottleneck: the encoder's first layers and the last blocks keep their shapes
    m = attach(SCGANMethod(tiny_cfg(sf_root, init_from=str(run), bottleneck=4, n_repeat=2), cpu))
    g, d = m.nets["generator"], m.nets["discriminator"]
    g_init = {k: v.clone() for k, v in g.state_dict().items()}
    m.train_step(real_batch, 0)              # the copy happens at the first step; G takes no step yet (n_repeat 2)
    g_now = g.state_dict()
    same = [k for k in g_now if k in src["generator"] and g_now[k].shape == src["generator"][k].shape]
    assert "to_rgb.weight" in same and "fc.weight" not in same
    for k in same:
        assert torch.equal(g_now[k], src["generator"][k]), k
    for k in set(g_now) - set(same):                               # the rest keeps its fresh initialisation
        assert torch.equal(g_now[k], g_init[k]), k
    # the critic has the same layout, so all of it is copied (checked before it takes a step)
    m2 = attach(SCGANMethod(tiny_cfg(sf_root, init_from=str(run), bottleneck=4), cpu))
    m2._init_from()
    for k, v in m2.nets["discriminator"].state_dict().items():
        assert torch.equal(v, src["discriminator"][k]), k
    total = len(g_now) + len(d.state_dict())
    assert m.init_report.endswith(f"{len(same) + len(d.state_dict())} of {total} G/D tensors copied")
    with pytest.raises(ConfigError, match="init_from"):
        attach(SCGANMethod(tiny_cfg(sf_root, init_from=str(tmp_path / "none")), cpu)).train_step(real_batch, 0)


def test_spade_options_are_checked(sf_root):
    tiny_cfg(sf_root, generator="spade", style_encoder=True, lambda_rec=10.0).check()
    for kw in (dict(generator="spade", style_encoder=True),              # E is trained through the paired terms
               dict(generator="spade", mask_skips=True), dict(generator="unet"), dict(lambda_div=-1.0),
               dict(lambda_kl=-0.1), dict(generator="spade", spade_channels=4)):
        with pytest.raises(ConfigError):
            tiny_cfg(sf_root, **kw).check()


def test_style_encoder_trains_g_and_e_on_the_real_triple(sf_root, real_batch, cpu, attach):
    """style_encoder (a conditional VAE, not in the paper): the fakes are G(E(x), c, s) of the real triple, so
    one G pass serves the critic, S and the paired L1; E is updated with G and its KL term is logged."""
    torch.manual_seed(0)
    m = attach(SCGANMethod(tiny_cfg(sf_root, generator="spade", spade_channels=16, style_dim=8, n_repeat=1,
                                    style_encoder=True, lambda_rec=100.0), cpu))
    assert "encoder" in m.nets and "encoder" in m.optimizers
    e_before = params(m.nets["encoder"])
    log = [m.train_step(real_batch, step) for step in range(25)]
    assert not torch.equal(params(m.nets["encoder"]), e_before)
    assert {"g_kl", "g_rec"} <= set(log[-1]) and log[-1]["g_kl"] >= 0
    assert np.mean([x["g_rec"] for x in log[-3:]]) < 0.8 * np.mean([x["g_rec"] for x in log[:3]])
    # the encoded z carries the face: decoding a face's own z is closer to it than another face's z
    image, labels, c = m._real(real_batch)
    with torch.no_grad():
        mu, _ = m.nets["encoder"](image)
        own = (m.generate(mu, c, labels) - image).abs().mean()
        other = (m.generate(mu.roll(1, 0), c, labels) - image).abs().mean()
    assert own < other, (float(own), float(other))


def test_mode_seeking_term_makes_z_change_the_face(sf_root, real_batch, cpu, attach):
    """lambda_div (MSGAN's mode-seeking term, not in the paper): with the paired L1 alone G learns to ignore
    z; the term keeps two latents on one mask apart."""
    spread = {}
    for lam in (0.0, 1.0):
        torch.manual_seed(0)
        m = attach(SCGANMethod(tiny_cfg(sf_root, generator="spade", spade_channels=16, style_dim=8, n_repeat=1,
                                        lambda_rec=100.0, lambda_div=lam), cpu))
        log = [m.train_step(real_batch, step) for step in range(25)]
        assert ("g_div" in log[-1]) == (lam > 0)
        image, labels, c = m._real(real_batch)
        a, b = m.generate(m.latents(8, 1), c, labels), m.generate(m.latents(8, 2), c, labels)
        spread[lam] = float((a - b).abs().mean())
    assert spread[1.0] > 2 * spread[0.0], spread


def test_pack_parser_and_classifier_as_judges_and_spade_export(sf_root, real_batch, tmp_path, cpu, attach):
    """The bundled pack's parser and attribute classifier judge a run (resized to their 128² / 64²), and a
    SPADE run exports a `synthesize` model the engine runs as PyTorch does."""
    from faceeditor.resources import demo_pack_dir

    pack_dir = demo_pack_dir()
    run = tmp_path / "spade"
    cfg = tiny_cfg(sf_root, run, iters=4, n_repeat=1, generator="spade", spade_channels=16, style_dim=8,
                   style_encoder=True, lambda_rec=10.0, spatial_judge=str(pack_dir), evaluator=str(pack_dir),
                   eval_flip=False)
    train(cfg, progress=False)
    m, _ = load_trained_method(run)
    samples = [{k: v[i] for k, v in real_batch.items()} for i in range(8)]
    out = m.evaluate(DataLoader(samples, batch_size=4))
    assert out["spatial_ceiling"] > 0.8 > out["spatial_floor"]      # the bundled parser reads real renders
    assert 0.0 <= out["spatial_iou/skin"] <= 1.0 and "spatial_ceiling_iou/l_eye" in out
    assert out["attr_acc_real"] > 0.7 and out["diversity_feat"] >= 0 and out["real_pairs_feat"] > 0
    m.cfg.evaluator = str(tmp_path)
    with pytest.raises(ConfigError, match="evaluator"):
        m.evaluate(DataLoader(samples, batch_size=4))
    # from the command line too, the figures kept under both judges' names
    assert train_cli(["evaluate", str(run), "--device", "cpu", "--spatial-judge", str(pack_dir),
                      "--evaluator", str(pack_dir)]) == 0
    assert "val#synthfaces-demo#judge:synthfaces-demo" in json.loads((run / "metrics.json").read_text())

    pack = tmp_path / "pack"
    assert train_cli(["export", str(run), "--out", str(pack)]) == 0
    entry = Manifest.load(pack).models[0]
    assert entry.extra["generator"] == "spade" and entry.extra["nz"] == 16
    engine = Engine([pack], provider="cpu", intra_op_threads=1)
    mask = real_batch["mask"][0].numpy().astype(np.uint8)
    a = engine.run(SynthesizeRequest(masks=[mask], attrs={}, seeds=7)).images[0]
    z = np.random.default_rng(7).standard_normal(16).astype(np.float32)
    ref = m.generate(torch.from_numpy(z)[None], torch.zeros(1, 13), m.group(real_batch["mask"][:1]))[0]
    ref = np.clip(np.rint((ref.permute(1, 2, 0).numpy() + 1) * 127.5), 0, 255)
    assert np.abs(ref - a.astype(float)).max() <= 1

    # the exported pack (or its .onnx file) is a starting point: every G parameter comes back from the ONNX
    # initializers; D, S and E start fresh
    for source in (pack, pack / entry.file):
        warm = attach(SCGANMethod(tiny_cfg(sf_root, generator="spade", spade_channels=16, style_dim=8,
                                           style_encoder=True, lambda_rec=10.0, init_from=str(source)), cpu))
        warm._init_from()
        trained = m.nets["generator"].state_dict()
        for name, value in warm.nets["generator"].named_parameters():
            assert torch.equal(value.detach(), trained[name]), name
        n = len(m.nets["generator"].state_dict())
        assert warm.init_report.endswith(f"{n} of {n} G tensors copied"), warm.init_report   # D starts fresh
    with pytest.raises(ConfigError, match="no model of method 'scgan'"):
        other = tmp_path / "other"
        other.mkdir()
        (other / "manifest.json").write_text(json.dumps({"models": [{"method": "parser", "file": "p.onnx"}]}))
        attach(SCGANMethod(tiny_cfg(sf_root, init_from=str(other)), cpu))._init_from()
