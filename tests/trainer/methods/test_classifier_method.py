import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS
from trainer.data.registry import DataConfig
from trainer.methods.base import method_class
from trainer.methods.classifier import ClassifierConfig, ClassifierMethod


def tiny_cfg(task):
    return ClassifierConfig(task=task, width=8, feature_dim=32, stages=3, dropout=0.0, lr=3e-3,
                            data=DataConfig(resolution=32))


def random_batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    known = torch.ones(n, 15, dtype=torch.bool)
    known[:, 13:] = False                                  # like CelebA-less data: Smiling/Lipstick unlabelled
    return {"image": torch.rand(n, 3, 32, 32, generator=g) * 2 - 1,
            "attrs": (torch.rand(n, 15, generator=g) > 0.5).float(), "attrs_known": known,
            "expression": torch.randint(0, 8, (n,), generator=g)}


def test_registered_under_its_name():
    assert method_class("classifier") is ClassifierMethod


@pytest.mark.parametrize("task", ["attributes", "expression"])
def test_train_step_lowers_the_loss(task, cpu, attach):
    m = attach(ClassifierMethod(tiny_cfg(task), cpu))
    batch = random_batch()
    losses = [m.train_step(batch, step)["loss"] for step in range(20)]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])


def test_unlabelled_attributes_do_not_count(cpu, attach):
    m = ClassifierMethod(tiny_cfg("attributes"), cpu)
    batch = random_batch()
    logits = torch.randn(8, 15)
    target, known = m._targets(batch)
    flipped = target.clone()
    flipped[:, 13:] = 1 - flipped[:, 13:]
    assert m.loss(logits, target, known).item() == pytest.approx(m.loss(logits, flipped, known).item())
    all_known = torch.ones_like(known)
    assert m.loss(logits, target, all_known).item() != pytest.approx(m.loss(logits, flipped, all_known).item())


def test_attribute_evaluate_sample_export(cpu, attach):
    m = attach(ClassifierMethod(tiny_cfg("attributes"), cpu))
    batch = random_batch()
    for step in range(60):
        m.train_step(batch, step)
    samples = [{k: v[i] for k, v in batch.items()} for i in range(8)]
    out = m.evaluate(DataLoader(samples, batch_size=3))
    assert out["mean_acc"] > 0.9                          # memorised its batch
    assert set(k[4:] for k in out if k.startswith("acc/")) == set(EVALUATOR_ATTRIBUTES[:13])
    grid = m.sample_images(batch)
    assert grid.shape == (16, 3, 32, 32) and grid.min() >= -1 and grid.max() <= 1
    assert (grid[8:] != -1).any()                          # the bar charts are drawn
    (spec,) = m.export_specs()
    assert (spec.name, spec.task) == ("attr_classifier", "classify_attributes")
    assert spec.attributes == list(EVALUATOR_ATTRIBUTES) and spec.output_names == ["logits", "features"]
    logits, features = spec.module(**spec.example_inputs)
    assert logits.shape == (1, 15) and features.shape == (1, 32)


def test_expression_evaluate_and_export(cpu, attach):
    m = attach(ClassifierMethod(tiny_cfg("expression"), cpu))
    batch = random_batch()
    for step in range(60):
        m.train_step(batch, step)
    samples = [{k: v[i] for k, v in batch.items()} for i in range(8)]
    out = m.evaluate(DataLoader(samples, batch_size=4))
    assert out["acc"] > 0.9 and 0 <= out["mean_class_acc"] <= 1
    assert m.sample_images(batch).shape == (16, 3, 32, 32)
    (spec,) = m.export_specs()
    assert (spec.name, spec.task) == ("expr_classifier", "classify_expression")
    assert spec.expressions == list(EXPRESSIONS)


def test_clear_errors(cpu, attach):
    m = attach(ClassifierMethod(tiny_cfg("expression"), cpu))
    with pytest.raises(KeyError, match="expression"):
        m.train_step({"image": torch.zeros(2, 3, 32, 32)}, 0)
    with pytest.raises(ValueError, match="task"):
        ClassifierMethod(ClassifierConfig(task="pose"), cpu)


def test_config_checks():
    from trainer.config import ConfigError, config_from_data

    assert config_from_data({"task": "expression"}, method="classifier").task == "expression"
    with pytest.raises(ConfigError, match="task"):
        config_from_data({"task": "pose"}, method="classifier")
    with pytest.raises(ConfigError, match="dropout"):
        ClassifierConfig(dropout=2.0).check()


def test_init_from_copies_the_trunk_of_another_run(cpu, attach, tmp_path):
    from trainer.checkpoint import save_checkpoint
    from trainer.config import ConfigError

    source = attach(ClassifierMethod(tiny_cfg("attributes"), cpu))
    source.train_step(random_batch(), 0)
    save_checkpoint({"step": 1, "nets": {"classifier": source.nets["classifier"].state_dict()}}, tmp_path, 1, 2)
    cfg = tiny_cfg("expression")
    cfg.init_from = str(tmp_path)
    m = ClassifierMethod(cfg, cpu)
    fresh = m.build_networks()["classifier"]                # building (as export does) reads nothing
    assert not torch.equal(fresh.trunk[0][0].weight, source.nets["classifier"].trunk[0][0].weight)
    m = attach(m)
    m.train_step(random_batch(), 0)                           # the first step copies the trunk, then trains
    target = m.nets["classifier"]
    assert target.fc.out_features == 8                        # the head is fresh, sized for the expressions
    diff = (target.trunk[0][0].weight - source.nets["classifier"].trunk[0][0].weight).abs().max()
    assert diff < 0.01                                        # one Adam step (lr 3e-3) away from the source
    cfg.init_from = str(tmp_path / "nothing-here")
    with pytest.raises(ConfigError, match="init_from"):
        attach(ClassifierMethod(cfg, cpu)).train_step(random_batch(), 0)
    resumed = attach(ClassifierMethod(cfg, cpu))
    resumed.train_step(random_batch(), 50)                    # a resumed run never looks for the source
