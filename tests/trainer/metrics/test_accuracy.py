import numpy as np
import pytest
import torch

from trainer.metrics.accuracy import (
    MultiClassAccuracy,
    MultiLabelAccuracy,
    multiclass_accuracy,
    multilabel_accuracy,
)


def test_multilabel_per_attribute_and_mean_with_known_mask():
    pred = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0], [1, 0, 0]])
    target = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [1, 1, 0]])
    known = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0]], bool)   # attribute 2 never labelled
    per, mean = multilabel_accuracy(pred, target, known)
    # attribute 0: right on samples 0, 2, 3 -> 3/4; attribute 1: right on 0, 1, 2 -> 3/4
    assert per[0] == pytest.approx(0.75) and per[1] == pytest.approx(0.75) and np.isnan(per[2])
    assert mean == pytest.approx(0.75)
    per_all, mean_all = multilabel_accuracy(pred, target)
    assert per_all[2] == pytest.approx(0.5) and mean_all == pytest.approx((0.75 + 0.75 + 0.5) / 3)


def test_multilabel_accumulates_over_batches_and_takes_torch():
    acc = MultiLabelAccuracy(2)
    acc.update(torch.tensor([[True, False]]), torch.tensor([[1.0, 1.0]]))
    acc.update(np.array([[0, 0], [1, 1]]), np.array([[0, 0], [0, 1]]))
    # attribute 0: right, right, wrong -> 2/3; attribute 1: wrong, right, right -> 2/3
    assert acc.per_label() == pytest.approx([2 / 3, 2 / 3])
    assert acc.mean() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shape"):
        acc.update(np.zeros((1, 3)), np.zeros((1, 3)))


def test_multiclass_overall_and_per_class():
    overall, per = multiclass_accuracy([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], num_classes=4)
    assert overall == pytest.approx(4 / 6)
    # class 0: 1 of 2 right; class 1: 1 of 1; class 2: 2 of 3; class 3 absent
    assert per[:3] == pytest.approx([0.5, 1.0, 2 / 3]) and np.isnan(per[3])
    acc = MultiClassAccuracy(4)
    acc.update(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]))
    acc.update([2, 2, 2], [2, 2, 0])
    assert acc.overall() == pytest.approx(overall) and acc.mean_per_class() == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    with pytest.raises(ValueError, match="outside"):
        acc.update([0], [7])
