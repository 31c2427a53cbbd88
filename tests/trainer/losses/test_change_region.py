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


def test_mask_is_the_evaluations_region():
    x, t = _faces()
    mask = true_change_mask(x, t)
    assert mask.shape == (2, 1, 16, 16)
    # at 16 px the growth is the 3x3 cross: the 2x2 patch becomes 4x4 less its 4 corners, the 8x8 one 10x10
    assert mask[0].sum() == 12 and mask[1].sum() == 96
    assert mask[0, 0, 3:7, 4:6].all() and mask[0, 0, 3, 3] == 0
    for i in range(2):
        assert np.array_equal(mask[i, 0].numpy().astype(bool), true_change_region(x[i].numpy(), t[i].numpy()))
    # at 128 px the metric grows by a 5x5 ellipse; the batched mask is the same pixels for a random shape
    rng = np.random.default_rng(0)
    a = torch.zeros(1, 3, 128, 128)
    b = a.clone()
    b[0, :, torch.from_numpy(rng.random((128, 128)) > 0.995)] = 0.3
    assert np.array_equal(true_change_mask(a, b)[0, 0].numpy().astype(bool), true_change_region(a[0], b[0]))


def test_hand_computed_values():
    x, t = _faces()
    assert change_region_l1(t, t, x) == 0.0                            # the perfect edit
    # doing nothing: face 1 errs by 1 on 4 of its 12 region pixels, face 2 by 0.5 on 64 of 96
    expected = (4 / 12 + 0.5 * 64 / 96) / 2
    assert change_region_l1(x, t, x).item() == pytest.approx(expected)
    # per face, not per pixel: the whole-image L1 weighs the large change 8x more, this term equally
    half = x.clone()
    half[0] = t[0]                                                    # only the small edit right
    assert change_region_l1(half, t, x).item() == pytest.approx(0.5 * 0.5 * 64 / 96)


def test_faces_without_a_change_are_left_out_and_the_value_stays_differentiable():
    x, t = _faces()
    t[1] = x[1]                                                       # the second flip cannot show
    assert change_region_l1(x, t, x).item() == pytest.approx(4 / 12)
    out = torch.zeros(2, 3, 16, 16, requires_grad=True)
    none = change_region_l1(out, x, x)
    assert none.item() == 0.0
    none.backward()
    assert out.grad is not None and torch.all(out.grad == 0)
    out.grad = None
    change_region_l1(out, t, x).backward()
    assert out.grad[0].abs().sum() > 0 and out.grad[1].abs().sum() == 0   # only face 1's region is pulled
