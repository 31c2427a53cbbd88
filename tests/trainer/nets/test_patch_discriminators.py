"""MagGAN's multi-level patch critics (§3.4): levels, views (downsampled whole image, then crops of the base
size), identical architectures without shared weights, the finer levels' classifier on pooled features,
and crops shared between real and fake through the offsets."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainer.nets.patch_discriminators import MultiLevelPatchDiscriminator, PatchCritic
from trainer.nets.stgan import STGANDiscriminator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_papers_1024_configuration():
    torch.manual_seed(0)
    d = MultiLevelPatchDiscriminator(1024, 256, 13, base_width=4, max_width=16, n_layers=5, fc_width=8)
    assert d.n_levels == 3 and d.level_sizes() == [256, 512, 1024]
    assert type(d.critics[0]) is STGANDiscriminator and all(type(c) is PatchCritic for c in d.critics[1:])
    shapes = [[p.shape for p in c.main.parameters()] for c in d.critics]
    assert shapes[0] == shapes[1] == shapes[2]                          # one architecture ...
    assert d.critics[1].main[0].weight.data_ptr() != d.critics[2].main[0].weight.data_ptr()  # ... no sharing
    assert not torch.equal(d.critics[1].main[0].weight, d.critics[2].main[0].weight)
    assert isinstance(d.critics[1].cls[0], nn.AdaptiveAvgPool2d) and d.critics[1].cls[2].in_features == 16
    x = torch.rand(1, 3, 1024, 1024) * 2 - 1
    off = d.random_offsets(1, torch.Generator().manual_seed(0))
    assert off.shape == (3, 1, 2) and off[0].eq(0).all() and off[1].le(256).all() and off[2].le(768).all()
    views = d.level_views(x, off)
    assert [tuple(v.shape) for v in views] == [(1, 3, 256, 256)] * 3
    with torch.no_grad():
        outs = d(views)
    assert [(a.shape, c.shape) for a, c in outs] == [((1, 1), (1, 13))] * 3


def test_views_are_downsampled_crops_at_the_offsets():
    d = MultiLevelPatchDiscriminator(64, 16, 13, base_width=4, max_width=8, n_layers=2, fc_width=8)
    assert d.n_levels == 3
    x = torch.randn(2, 3, 64, 64)
    off = torch.tensor([[[0, 0], [0, 0]], [[3, 5], [16, 0]], [[48, 7], [1, 2]]])
    v = d.level_views(x, off)
    assert torch.allclose(v[0], F.avg_pool2d(x, 4))
    half = F.avg_pool2d(x, 2)
    assert torch.equal(v[1][0], half[0, :, 3:19, 5:21]) and torch.equal(v[1][1], half[1, :, 16:32, 0:16])
    assert torch.equal(v[2][0], x[0, :, 48:64, 7:23]) and torch.equal(v[2][1], x[1, :, 1:17, 2:18])


def test_same_offsets_same_patches_for_real_and_fake():
    """Given offsets (or the same generator seed), two calls cut the same places: a critic loss compares
    like with like, and interpolates of the views are the views of the interpolate."""
    torch.manual_seed(0)
    d = MultiLevelPatchDiscriminator(32, 8, 13, base_width=4, max_width=8, n_layers=2, fc_width=8)
    real, fake = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    off = d.random_offsets(3)
    eps = 0.3
    mixed = d.level_views(eps * real + (1 - eps) * fake, off)
    for m, r, f in zip(mixed, d.level_views(real, off), d.level_views(fake, off), strict=True):
        assert torch.allclose(m, eps * r + (1 - eps) * f, atol=1e-6)
    a = d.random_offsets(3, torch.Generator().manual_seed(5))
    b = d.random_offsets(3, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    with torch.no_grad():
        o1, o2 = d(real, off), d(real, off)
    assert all(torch.equal(p[0], q[0]) for p, q in zip(o1, o2, strict=True))


def test_gradient_penalty_through_the_views():
    torch.manual_seed(0)
    d = MultiLevelPatchDiscriminator(32, 8, 13, base_width=4, max_width=8, n_layers=2, fc_width=8)
    views = [v.requires_grad_(True) for v in d.level_views(torch.randn(2, 3, 32, 32), d.random_offsets(2))]
    outs = d(views)
    for (adv, _), v in zip(outs, views, strict=True):
        (g,) = torch.autograd.grad(adv.sum(), v, create_graph=True)
        assert g.shape == v.shape and g.abs().sum() > 0


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="power of two"):
        MultiLevelPatchDiscriminator(96, 32, 13)
    with pytest.raises(ValueError, match="power of two"):
        MultiLevelPatchDiscriminator(64, 128, 13)
    d = MultiLevelPatchDiscriminator(32, 16, 13, base_width=4, max_width=8, n_layers=2, fc_width=8)
    assert d.n_levels == 2
    with pytest.raises(ValueError, match="32²"):
        d(torch.zeros(1, 3, 64, 64))
    single = MultiLevelPatchDiscriminator(32, 32, 13, base_width=4, max_width=8, n_layers=2, fc_width=8)
    assert single.n_levels == 1
