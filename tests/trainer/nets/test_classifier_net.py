import pytest
import torch

from trainer.methods.classifier import ClassifierConfig
from trainer.nets.classifier import ClassifierExport, ClassifierNetConfig, EvaluatorClassifier


def test_tiny_shapes_and_non_negative_features():
    net = EvaluatorClassifier(ClassifierNetConfig(num_outputs=15, width=4, feature_dim=16, stages=3)).eval()
    logits, features = net(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert logits.shape == (2, 15) and features.shape == (2, 16)
    assert (features >= 0).all()


@pytest.mark.parametrize("task,n", [("attributes", 15), ("expression", 8)])
def test_real_configs(task, n):
    cfg = ClassifierConfig(task=task)
    net = EvaluatorClassifier(cfg.net_config()).eval()
    with torch.no_grad():
        logits, features = ClassifierExport(net)(torch.zeros(1, 3, 128, 128))
    assert logits.shape == (1, n) and features.shape == (1, 256)
    assert sum(p.numel() for p in net.parameters()) * 4 <= 10 * 1024 * 1024


def test_bad_config():
    with pytest.raises(ValueError, match="task"):
        ClassifierConfig(task="age").net_config()
    with pytest.raises(ValueError, match="dropout"):
        ClassifierNetConfig(dropout=1.0)
