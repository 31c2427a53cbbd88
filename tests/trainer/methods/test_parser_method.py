import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.core.labels import PARSE_CLASSES
from faceeditor.core.palette import PALETTE
from faceeditor.engine.manifest import TASKS
from trainer.data.registry import DataConfig
from trainer.methods.base import method_class
from trainer.methods.parser import ParserConfig, ParserMethod, colorize_batch


def structured_batch(n=4, size=32, seed=0):
    """Masks of random class rectangles; images = the class colours plus noise (learnable from pixels)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        for _ in range(6):
            c = int(torch.randint(1, 19, (1,), generator=g))
            y, x = torch.randint(0, size - 8, (2,), generator=g).tolist()
            mask[i, y:y + 8, x:x + 10] = c
    image = torch.tensor(PALETTE.tolist(), dtype=torch.float32)[mask].permute(0, 3, 1, 2) / 127.5 - 1
    image = (image + 0.1 * torch.randn(image.shape, generator=g)).clamp(-1, 1)
    return {"image": image, "mask": mask}


def tiny_cfg(arch="bisenet"):
    return ParserConfig(arch=arch, width=8, context_channels=16, unet_depth=3, lr=3e-3,
                        data=DataConfig(resolution=32))


def test_registered_under_its_name():
    assert method_class("parser") is ParserMethod
    assert ParserConfig().data.flip is True


@pytest.mark.parametrize("arch", ["bisenet", "unet"])
def test_train_step_lowers_the_loss(arch, cpu, attach):
    m = attach(ParserMethod(tiny_cfg(arch), cpu))
    batch = structured_batch()
    losses = [m.train_step(batch, step)["loss"] for step in range(20)]
    assert all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.85 * np.mean(losses[:3])


def test_evaluate_sample_and_export(cpu, attach):
    m = attach(ParserMethod(tiny_cfg(), cpu))
    samples = [{k: v[i] for k, v in structured_batch(6).items()} for i in range(6)]
    loader = DataLoader(samples, batch_size=4)
    before = m.evaluate(loader)
    for step in range(40):
        m.train_step(structured_batch(seed=step % 4), step)
    after = m.evaluate(loader)
    assert 0.0 <= before["miou"] <= 1.0 and after["miou"] > before["miou"]
    assert "iou/background" in after and all(k[4:] in PARSE_CLASSES for k in after if k.startswith("iou/"))
    assert m.nets["parser"].training                                  # evaluate restores train mode

    grid = m.sample_images(structured_batch(2))
    assert grid.shape == (6, 3, 32, 32) and grid.min() >= -1.0 and grid.max() <= 1.0   # rows stacked along N
    gt = structured_batch(2)["mask"]
    assert torch.allclose(grid[2:4], colorize_batch(gt))

    (spec,) = m.export_specs()
    assert spec.name == "parser" and spec.task == "parse" and spec.task in TASKS
    assert spec.classes == list(PARSE_CLASSES) and spec.backbone == "bisenet" and spec.resolution == 32
    assert spec.output_names == ["probs", "labels"] and not spec.module.training
    with torch.no_grad():
        probs, labels = spec.module(**spec.example_inputs)
    assert probs.shape == (1, 19, 32, 32) and torch.equal(probs.argmax(1), labels)
    assert m.nets["parser"].training                                  # export copies, does not switch modes


def test_clear_error_without_masks(cpu, attach):
    m = attach(ParserMethod(tiny_cfg(), cpu))
    with pytest.raises(KeyError, match="mask"):
        m.train_step({"image": torch.zeros(1, 3, 32, 32)}, 0)
    with pytest.raises(ValueError, match="arch"):
        ParserMethod(ParserConfig(arch="deeplab"), cpu)


def test_config_checks_and_command_line():
    from trainer.config import ConfigError, config_from_data

    cfg = config_from_data({"arch": "unet", "width": 12, "blocks": [2, 2, 2, 2]}, method="parser")
    assert cfg.arch == "unet" and cfg.blocks == (2, 2, 2, 2)
    cfg.check()
    with pytest.raises(ConfigError, match="arch"):
        config_from_data({"arch": "deeplab"}, method="parser")
    with pytest.raises(ConfigError, match="spatial_stride"):
        ParserConfig(spatial_stride=3).check()
    with pytest.raises(ConfigError, match="ohem_thresh"):
        ParserConfig(ohem_thresh=1.5).check()


def test_class_balance_weights_rare_classes_and_is_checkpointed(cpu, attach):
    cfg = tiny_cfg()
    cfg.class_balance = 0.5
    m = attach(ParserMethod(cfg, cpu))
    batch = structured_batch()
    for step in range(3):
        m.train_step(batch, step)
    w = m.class_weight(batch["mask"])
    counts = torch.bincount(batch["mask"].flatten(), minlength=19)
    present = counts.clone().float()
    present[counts == 0] = float("inf")
    rare, common = int(present.argmin()), int(counts.argmax())
    assert w[rare] > w[common] and w.min() == pytest.approx(1.0) and w.max() <= cfg.max_class_weight
    state = m.state_dict()
    fresh = ParserMethod(cfg, cpu)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.class_freq, m.class_freq)
    off = tiny_cfg()
    off.class_balance = 0.0
    assert ParserMethod(off, cpu).class_weight(batch["mask"]) is None
