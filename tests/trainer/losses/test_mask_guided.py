"""MagGAN's mask guidance (trainer/losses/mask_guided.py) on hand-computed cases: eq. 3 (mask-guided
reconstruction), eqs. 4-5 (preserve mask), eq. 12 (mask-guided condition), eq. 13 (blending), and the
torch AttributeRegions equal to the app's numpy influence_map."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from faceeditor.core.attribute_parts import influence_map, load_attribute_parts
from faceeditor.core.labels import ATTRIBUTES, NUM_CLASSES
from trainer.losses.mask_guided import (
    AttributeRegions,
    blend,
    mask_guided_condition,
    mask_guided_reconstruction,
    preserve_mask,
    signed_regions,
    square_max,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
K = {a: i for i, a in enumerate(ATTRIBUTES)}


def test_mask_guided_reconstruction_eq3():
    x = torch.zeros(1, 3, 2, 2)
    x_fake = torch.full((1, 3, 2, 2), 2.0)
    keep = torch.tensor([[1.0, 0.0], [0.5, 0.0]]).view(1, 1, 2, 2)
    # |M (x - G)| = 2 M on each channel: mean = 2 (1 + 0 + 0.5 + 0) / 4
    assert mask_guided_reconstruction(x, x_fake, keep).item() == pytest.approx(0.75)
    assert mask_guided_reconstruction(x, x_fake, torch.zeros_like(keep)).item() == 0.0


def test_preserve_mask_on_one_hot_masks_is_eqs_4_and_5():
    """For rows that are class sets, 1 - max over the changed attributes' regions equals
    M = 1 - sum_c M_c AR*_c with AR* = min(1, (att+)^T AR+ + (att-)^T AR-), overlapping rows included."""
    t = load_attribute_parts()
    gen = torch.Generator().manual_seed(0)
    classes = torch.randint(0, NUM_CLASSES, (2, 16, 16), generator=gen)
    probs = torch.nn.functional.one_hot(classes, NUM_CLASSES).permute(0, 3, 1, 2).float()
    y = torch.zeros(2, 13)
    y[0, K["Bald"]], y[0, K["Young"]], y[0, K["Pale_Skin"]] = 1, 1, -1     # hair in two rows: min(1, 2)
    y[1, K["Black_Hair"]], y[1, K["Blond_Hair"]] = -1, 1
    ar_p, ar_m = torch.from_numpy(t.parts[0]), torch.from_numpy(t.parts[1])
    ar_star = torch.clamp((y > 0).float() @ ar_p + (y < 0).float() @ ar_m, max=1.0)       # (N, 19)
    expected = 1 - torch.einsum("nc,nchw->nhw", ar_star, probs)[:, None]
    got = preserve_mask(y, AttributeRegions(t)(probs))
    assert torch.allclose(got, expected, atol=1e-6)
    assert got.min() == 0 and got.max() == 1
    # no edit: everything is preserved
    assert torch.equal(preserve_mask(torch.zeros(2, 13), AttributeRegions(t)(probs)), torch.ones(2, 1, 16, 16))


def test_mask_guided_condition_eq12():
    gen = torch.Generator().manual_seed(1)
    maps = torch.rand(1, 2, 13, 4, 4, generator=gen)
    y = torch.zeros(1, 13)
    y[0, 0], y[0, 1], y[0, 4] = 1.0, -1.0, 0.5
    cond = mask_guided_condition(y, maps)
    assert cond.shape == (1, 13, 4, 4)
    assert torch.equal(cond[0, 0], maps[0, 0, 0])              # +1 x M_0^+
    assert torch.equal(cond[0, 1], -maps[0, 1, 1])             # -1 x M_1^-
    assert torch.allclose(cond[0, 4], 0.5 * maps[0, 0, 4])     # a slider between: 0.5 x M_4^+
    others = [k for k in range(13) if k not in (0, 1, 4)]
    assert cond[0, others].abs().sum() == 0
    assert torch.equal(signed_regions(y, maps)[0, 1], maps[0, 1, 1])


def test_blend_eq13():
    x = torch.full((1, 3, 1, 2), 1.0)
    g = torch.full((1, 3, 1, 2), -1.0)
    keep = torch.tensor([1.0, 0.25]).view(1, 1, 1, 2)
    out = blend(x, g, keep)
    assert torch.allclose(out[0, :, 0, 0], torch.ones(3)) and torch.allclose(out[0, :, 0, 1], torch.full((3,), -0.5))


def test_square_max_is_a_grey_dilation():
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 1.0
    x[0, 0, 0, 6] = 0.5
    y = square_max(x, 3)
    assert y[0, 0, 2:5, 2:5].eq(1).all() and y.sum() == 9 + 0.5 * 4


@pytest.mark.parametrize("size", [16, 40])
def test_regions_match_the_numpy_influence_map(size):
    """Same values as the app's numpy reading on random soft parses, for every row, including the ones
    with a `near` restriction (dilation windows of several sizes)."""
    t = load_attribute_parts()
    assert (t.radius > 0).sum() >= 10                         # the restricted rows are covered
    gen = torch.Generator().manual_seed(size)
    probs = torch.softmax(torch.randn(2, NUM_CLASSES, size, size, generator=gen) * 3, dim=1)
    maps = AttributeRegions(t)(probs)
    assert maps.shape == (2, 2, 13, size, size)
    for n in range(2):
        for s in range(2):
            for k, name in enumerate(ATTRIBUTES):
                ref = influence_map(probs[n].numpy(), name, strengthen=s == 0, tables=t)
                np.testing.assert_allclose(maps[n, s, k].numpy(), ref, atol=1e-5, err_msg=f"{name} {s}")
