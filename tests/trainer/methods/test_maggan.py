"""Methods `stgan` and `maggan` on SynthFaces at 32² with tiny widths: short runs lower their losses (also
with MagGAN's multi-level patch critics, eq. 14), d_levels = 1 is the single STGAN critic, and MagGAN's
3-input export (image, y_diff, masks) runs in ONNX Runtime as in PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from trainer.config import ConfigError
from trainer.data.registry import DataConfig, build_dataset
from trainer.methods.base import method_class
from trainer.nets.patch_discriminators import MultiLevelPatchDiscriminator
from trainer.nets.stgan import STGANDiscriminator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(name, root, parser_run, run_dir, **kw):
    cls = method_class(name).config_class
    base = dict(run_dir=str(run_dir), data=DataConfig(root=str(root), resolution=32, num_workers=0),
                g_width=8, d_width=8, d_layers=3, g_layers=3, g_max_width=32, fc_width=16, shortcut_layers=2,
                inject_layers=1, batch_size=8, n_critic=2, lr=1e-3)
    if name == "maggan":
        base["parser"] = str(parser_run)
    base.update(kw)
    cfg = cls(**base)
    cfg.check()
    return cfg


def _batch(cfg):
    return next(iter(DataLoader(build_dataset(cfg.data, "train"), batch_size=8, shuffle=False)))


@pytest.mark.parametrize("name,kw", [("stgan", {}), ("maggan", {}), ("maggan", {"d_levels": 2})],
                         ids=["stgan", "maggan", "maggan-2-levels"])
def test_short_training_lowers_the_losses(name, kw, synth_root, parser_run, tmp_path, attach, cpu):
    cfg = _cfg(name, synth_root, parser_run, tmp_path, **kw)
    m = attach(method_class(name)(cfg, cpu))
    batch = _batch(cfg)
    logs = [m.train_step(batch, step) for step in range(24)]
    g_logs = [entry for entry in logs if "G/rec" in entry]
    assert len(g_logs) == 12
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    rec = [entry["G/rec"] for entry in g_logs]
    cls = [entry["D/cls"] for entry in logs]
    assert np.mean(rec[-3:]) < 0.9 * np.mean(rec[:3])
    assert np.mean(cls[-3:]) < np.mean(cls[:3])
    if name == "maggan":
        mre = [entry["G/mre"] for entry in g_logs]
        assert np.mean(mre[-3:]) < np.mean(mre[:3])
    if kw.get("d_levels") == 2:
        assert {"D1/wdist", "D2/wdist", "D1/cls", "D2/gp"} <= set(logs[0])
        assert np.isclose(logs[0]["D/cls"], (logs[0]["D1/cls"] + logs[0]["D2/cls"]) / 2)


def test_d_levels_selects_the_critics(synth_root, parser_run, tmp_path, attach, cpu):
    one = attach(method_class("maggan")(_cfg("maggan", synth_root, parser_run, tmp_path / "a"), cpu))
    assert type(one.nets["D"]) is STGANDiscriminator and one.cfg.d_levels == 1
    two = attach(method_class("maggan")(_cfg("maggan", synth_root, parser_run, tmp_path / "b", d_levels=2), cpu))
    d = two.nets["D"]
    assert isinstance(d, MultiLevelPatchDiscriminator) and d.n_levels == 2 and d.base_size == 16
    with pytest.raises(ConfigError, match="d_levels"):
        _cfg("maggan", synth_root, parser_run, tmp_path / "c", d_levels=4)     # base 4 < 2**d_layers = 8
    with pytest.raises(ConfigError, match="d_levels"):
        _cfg("maggan", synth_root, parser_run, tmp_path / "c", d_levels=0)


def test_one_level_is_the_stgan_critic_loss(synth_root, parser_run, tmp_path, attach, cpu):
    """d_levels = 1 trains exactly as before (the base class's critic and G terms): same seed, same logs."""
    from trainer.methods.editing import EditingMethod

    cfg = _cfg("maggan", synth_root, parser_run, tmp_path, n_critic=1)
    batch = _batch(cfg)
    logs = []
    for base in (False, True):
        torch.manual_seed(0)
        m = attach(method_class("maggan")(cfg, cpu))
        if base:                                 # the hooks as the base class has them
            m.d_loss = lambda b, out, m=m: EditingMethod.d_loss(m, b, out) + 0.0
            m.fool_critic = lambda D, x, y, m=m: EditingMethod.fool_critic(m, D, x, y)
        torch.manual_seed(1)
        logs.append(m.train_step(batch, 0))
    assert logs[0] == logs[1]


def test_export_parity_of_the_three_input_graph(synth_root, parser_run, tmp_path, attach, cpu):
    from trainer.export import _export_onnx, check_parity, random_inputs, real_inputs

    cfg = _cfg("maggan", synth_root, parser_run, tmp_path)
    m = attach(method_class("maggan")(cfg, cpu))
    batch = _batch(cfg)
    for step in range(4):                        # weights away from their start
        m.train_step(batch, step)
    (spec,) = m.export_specs()
    assert list(spec.example_inputs) == ["image", "y_diff", "masks"] and spec.output_names == ["edited"]
    path = tmp_path / "maggan.onnx"
    _export_onnx(spec, path)
    cases = {"random": random_inputs(spec, 2), "real": real_inputs(spec, {k: v[:3] for k, v in batch.items()})}
    cases["random"]["masks"] = torch.softmax(cases["random"]["masks"] * 4, dim=1)
    (parity,) = check_parity(spec, path, cases)
    assert not parity.problems, parity.problems
    assert max(parity.diffs.values()) < 1e-4
    # the masks input matters: another parse gives another edit where y_diff is non-zero
    x = cases["real"]
    with torch.no_grad():
        a = spec.module(x["image"], torch.ones_like(x["y_diff"]), x["masks"])
        b = spec.module(x["image"], torch.ones_like(x["y_diff"]), x["masks"].roll(1, dims=1))
    assert not torch.allclose(a, b)


def test_the_default_parser_is_the_bundled_demo_pack_from_any_folder(tmp_path, monkeypatch):
    """Configs name the demo pack by a repository-relative path; configs saved before the pack moved into
    the package (resources/models/...) still find it."""
    from types import SimpleNamespace

    from faceeditor.resources import demo_pack_dir
    from trainer.methods.maggan import DEMO_PACK, MagGANMethod

    monkeypatch.chdir(tmp_path)
    for parser in (DEMO_PACK, "resources/models/synthfaces-demo"):
        source = MagGANMethod._parser_source(SimpleNamespace(cfg=SimpleNamespace(parser=parser)))
        assert source.resolve() == demo_pack_dir().resolve()
