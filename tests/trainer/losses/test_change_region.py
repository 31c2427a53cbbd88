import numpy as np
import pytest
import torch

from trainer.losses.change_region import change_region_l1, true_change_mask
from trainer.metrics.ground_truth_gain import true_change_region


def _faces():
    """Two 16² faces: the first's truth changes a 2x2 patch, the second's a 8x8 one (by 0.5)."""
    x = torch.zeros(2, 3, 16, 16)
    t = x.clone()
    t[0, :, 4:6, 4:6] = 1.0
    t[1, :, 4:12, 4:12] = 0.5
    return x, t


def test_mask_is_the_evaluations_region_grown_to_a_square():
    x, t = _faces()
    mask = true_change_mask(x, t)
    assert mask.shape == (2, 1, 16, 16)
    # at 16 px the growth is 1 px: the 2x2 patch becomes 4x4, the 8x8 one 10x10
    assert mask[0].sum() == 16 and mask[1].sum() == 100
    assert mask[0, 0, 3:7, 3:7].all() and mask[1, 0, 3:13, 3:13].all()
    for i in range(2):
        ellipse = true_change_region(x[i].numpy(), t[i].numpy())
        assert np.all(mask[i, 0].numpy().astype(bool)[ellipse])       # holds the metric's region


def test_hand_computed_values():
    x, t = _faces()
    assert change_region_l1(t, t, x) == 0.0                            # the perfect edit
    # doing nothing: face 1 errs by 1 on 4 of its 16 region pixels, face 2 by 0.5 on 64 of 100
    expected = (4 / 16 + 0.5 * 64 / 100) / 2
    assert change_region_l1(x, t, x).item() == pytest.approx(expected)
    # per face, not per pixel: the whole-image L1 weighs the large change 8x more, this term equally
    half = x.clone()
    half[0] = t[0]                                                    # only the small edit right
    assert change_region_l1(half, t, x).item() == pytest.approx(0.5 * 0.5 * 64 / 100)


def test_faces_without_a_change_are_left_out_and_the_value_stays_differentiable():
    x, t = _faces()
    t[1] = x[1]                                                       # the second flip cannot show
    assert change_region_l1(x, t, x).item() == pytest.approx(4 / 16)
    out = torch.zeros(2, 3, 16, 16, requires_grad=True)
    none = change_region_l1(out, x, x)
    assert none.item() == 0.0
    none.backward()
    assert out.grad is not None and torch.all(out.grad == 0)
    out.grad = None
    change_region_l1(out, t, x).backward()
    assert out.grad[0].abs().sum() > 0 and out.grad[1].abs().sum() == 0   # only face 1's region is pulled
