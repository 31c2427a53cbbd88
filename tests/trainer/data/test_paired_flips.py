"""Paired flips (trainer/data/paired_flips.py): each SynthFaces face with its re-render with one attribute
flipped, mirrored together, and the attribute editors' paired L1 term that reads them."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.core.labels import ATTRIBUTES
from trainer.config import ConfigError
from trainer.data.paired_flips import PairedFlips, PairedFlipsError
from trainer.data.registry import DataConfig, build_dataset
from trainer.methods.base import method_class
from trainer.metrics.editing_accuracy import GroundTruthEdits, flip_target

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _attach(method):
    method.nets = method.build_networks()
    method.optimizers = method.build_optimizers()
    return method


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=24, size=32, seed=3, edited_fraction=0.5, workers=1, progress=False)
    return root


def _dataset(root, flip=False):
    return build_dataset(DataConfig(root=str(root), resolution=32, num_workers=0, flip=flip), "train")


def test_each_face_comes_with_the_re_render_of_one_flip(synth_root):
    plain = _dataset(synth_root)
    paired = PairedFlips(_dataset(synth_root), 32)
    truth = GroundTruthEdits(plain.meta, 32, "parse19")
    seen = set()
    for i in range(len(paired)):
        torch.manual_seed(i)
        s = paired[i]
        k = int(s["pair_attribute"])
        seen.add(k)
        y_src = plain[i]["attrs"][:len(ATTRIBUTES)].float()
        assert torch.equal(s["image"], plain[i]["image"])
        assert torch.equal(s["pair_target"], flip_target(y_src[None], k)[0])
        img, _ = truth.rendered(int(s["index"]), y_src.numpy(), s["pair_target"].numpy())
        expected = torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1.0
        assert torch.allclose(s["pair_image"], expected)
        assert s["pair_image"].shape == (3, 32, 32)
    assert len(seen) > 5                     # the attribute is drawn per sample


def test_input_and_re_render_are_mirrored_together(synth_root):
    unflipped = PairedFlips(_dataset(synth_root), 32)
    flipping = PairedFlips(_dataset(synth_root, flip=True), 32)
    assert flipping.flip and not flipping.dataset.flip      # the wrapper mirrors, the dataset does not
    mirrored = 0
    for seed in range(12):
        torch.manual_seed(seed)
        a = unflipped[0]
        torch.manual_seed(seed)
        b = flipping[0]
        assert int(a["pair_attribute"]) == int(b["pair_attribute"])
        if torch.equal(b["image"], a["image"].flip(-1)):
            mirrored += 1
            assert torch.equal(b["pair_image"], a["pair_image"].flip(-1))
            assert torch.allclose(b["landmarks"][:, 0].sort().values,
                                  (31 - a["landmarks"][:, 0]).sort().values)
        else:
            assert torch.equal(b["image"], a["image"]) and torch.equal(b["pair_image"], a["pair_image"])
    assert 0 < mirrored < 12


def test_only_native_synthfaces_can_pair(synth_root):
    class NotSynthFaces(torch.utils.data.Dataset):
        root = "photos/"

    with pytest.raises(PairedFlipsError, match="native format"):
        PairedFlips(NotSynthFaces(), 32)


def _editor_cfg(root, run_dir, **kw):
    cls = method_class("stgan").config_class
    base = dict(run_dir=str(run_dir), data=DataConfig(root=str(root), resolution=32, num_workers=0,
                                                      paired_flips=True),
                g_width=8, d_width=8, d_layers=3, g_layers=3, g_max_width=32, fc_width=16, shortcut_layers=2,
                inject_layers=1, batch_size=8, n_critic=1, lr=2e-3, refined_residual=True, lambda_paired=100.0)
    base.update(kw)
    cfg = cls(**base)
    cfg.check()
    return cfg


def _paired_losses(root, run_dir, lambda_paired, key="G/paired", **kw):
    torch.manual_seed(0)
    cfg = _editor_cfg(root, run_dir, lambda_paired=lambda_paired, **kw)
    m = _attach(method_class("stgan")(cfg, torch.device("cpu")))
    data = m.train_data(build_dataset(cfg.data, "train"))
    assert isinstance(data, PairedFlips)
    torch.manual_seed(0)
    batch = next(iter(DataLoader(data, batch_size=8, shuffle=False)))
    logs = [m.train_step(batch, step) for step in range(60)]
    assert all(np.isfinite(v) for entry in logs for v in entry.values())
    return [entry[key] for entry in logs]


def test_the_paired_term_pulls_edits_to_the_re_render(synth_root, tmp_path):
    with_term = _paired_losses(synth_root, tmp_path / "a", 100.0)
    without = _paired_losses(synth_root, tmp_path / "b", 0.0)      # the same batches, the term only logged
    assert np.mean(with_term[-3:]) < 0.5 * np.mean(with_term[:3])
    assert np.isclose(with_term[0], without[0])
    assert np.mean(with_term[-3:]) < 0.85 * np.mean(without[-3:])     # 0.76 measured


def test_the_region_term_pulls_the_changed_pixels_harder(synth_root, tmp_path):
    """lambda_paired_region: the L1 averaged over each face's true change region (trainer/losses/
    change_region.py) brings the edits inside those regions closer to the re-render than the whole-image
    term alone does, on the same batches."""
    both = _paired_losses(synth_root, tmp_path / "a", 100.0, "G/paired_region", lambda_paired_region=20.0)
    whole = _paired_losses(synth_root, tmp_path / "b", 100.0, "G/paired_region")
    assert np.isclose(both[0], whole[0])
    assert np.mean(both[-3:]) < 0.9 * np.mean(whole[-3:])        # 0.117 against 0.151 measured


def test_paired_options_are_checked(synth_root, tmp_path):
    with pytest.raises(ConfigError, match="paired-flips true"):
        _editor_cfg(synth_root, tmp_path, data=DataConfig(root=str(synth_root), resolution=32))
    with pytest.raises(ConfigError, match="lambda_paired"):
        _editor_cfg(synth_root, tmp_path, lambda_paired=-1.0)
    with pytest.raises(ConfigError, match="lambda_paired_region: expected a value >= 0"):
        _editor_cfg(synth_root, tmp_path, lambda_paired_region=-1.0)
    with pytest.raises(ConfigError, match="lambda_paired_region: the paired term needs the re-renders"):
        _editor_cfg(synth_root, tmp_path, lambda_paired=0.0, lambda_paired_region=5.0,
                    data=DataConfig(root=str(synth_root), resolution=32))
    with pytest.raises(ConfigError, match="labeled_only"):
        _editor_cfg(synth_root, tmp_path, data=DataConfig(root=str(synth_root), resolution=32, paired_flips=True,
                                                          labeled_only=True, labeled_attributes="Male"))
    # a method that does not read them refuses them instead of ignoring them
    from trainer.methods.classifier import ClassifierConfig

    ccfg = ClassifierConfig(run_dir=str(tmp_path / "c"), data=DataConfig(root=str(synth_root), resolution=32,
                                                                         paired_flips=True))
    classifier = method_class("classifier")(ccfg, torch.device("cpu"))
    with pytest.raises(ConfigError, match="does not read paired flips"):
        classifier.check_data_options()
    # ... and the training loop asks before it reads any data, whatever the method's train_data does
    from trainer.loop import TrainingError, train

    with pytest.raises(TrainingError, match="data.paired_flips: method 'classifier' does not read paired flips"):
        train(ccfg)
