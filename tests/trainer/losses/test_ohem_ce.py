import math

import pytest
import torch

from trainer.losses.ohem_ce import OhemCrossEntropy, ohem_cross_entropy


def _case():
    # Two classes, four pixels, true class 0 everywhere. With logits (d, 0) the pixel loss is log(1 + e^-d):
    # d = 0 -> ln 2, d = ln 3 -> ln 4/3, d = -ln 3 -> ln 4, d = ln 9 -> ln 10/9.
    d = torch.tensor([0.0, math.log(3), -math.log(3), math.log(9)])
    logits = torch.stack([d, torch.zeros(4)]).reshape(1, 2, 1, 4)
    target = torch.zeros(1, 1, 4, dtype=torch.long)
    return logits, target


def test_keeps_only_pixels_above_threshold():
    logits, target = _case()
    loss = ohem_cross_entropy(logits, target, thresh=-math.log(0.7), n_min=1)   # 0.357: ln 2 and ln 4 are hard
    assert loss.item() == pytest.approx((math.log(2) + math.log(4)) / 2, abs=1e-6)


def test_takes_at_least_n_min_hardest():
    logits, target = _case()
    loss = ohem_cross_entropy(logits, target, thresh=-math.log(0.7), n_min=3)
    assert loss.item() == pytest.approx((math.log(4) + math.log(2) + math.log(4 / 3)) / 3, abs=1e-6)


def test_ignored_pixels_never_count():
    logits, target = _case()
    target[0, 0, 2] = 255                                    # the ln 4 pixel
    loss = ohem_cross_entropy(logits, target, thresh=-math.log(0.7), n_min=2)
    assert loss.item() == pytest.approx((math.log(2) + math.log(4 / 3)) / 2, abs=1e-6)


def test_module_threshold_is_a_probability_and_gradients_flow():
    logits, target = _case()
    logits.requires_grad_(True)
    loss = OhemCrossEntropy(thresh_prob=0.7, n_min=1)(logits, target)
    assert loss.item() == pytest.approx(1.5 * math.log(2), abs=1e-6)
    loss.backward()
    g = logits.grad[0, 0, 0]
    assert g[0] != 0 and g[2] != 0 and g[1] == 0 and g[3] == 0      # easy pixels get no gradient


def test_all_easy_and_all_ignored_give_zero():
    logits, target = _case()
    assert ohem_cross_entropy(logits, target, thresh=10.0, n_min=0).item() == 0.0
    assert ohem_cross_entropy(logits, torch.full_like(target, 255), thresh=0.1, n_min=2).item() == 0.0
    with pytest.raises(ValueError):
        OhemCrossEntropy(thresh_prob=0.0)


def test_class_weights_average_the_hard_pixels_by_their_class():
    logits, target = _case()
    target[0, 0, 2] = 1              # pixel 2 (logits -ln 3, 0) as class 1: loss ln 4/3, no longer hard
    w = torch.tensor([1.0, 3.0])
    loss = ohem_cross_entropy(logits, target, thresh=-math.log(0.7), n_min=1, class_weight=w)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)       # one class-0 pixel: weight cancels
    target = torch.zeros_like(target)
    target[0, 0, 0] = 1                                  # pixel 0: logits (0, 0) -> ln 2 whatever the class
    loss = ohem_cross_entropy(logits, target, thresh=-math.log(0.7), n_min=1, class_weight=w)
    # hard: pixel 0 (class 1, ln 2, weight 3) and pixel 2 (class 0, ln 4, weight 1)
    assert loss.item() == pytest.approx((3 * math.log(2) + math.log(4)) / 4, abs=1e-6)
