"""StarGAN networks: the official layer list (SeCGAN Table 2), shapes for tiny and real configs."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.nets.stargan import ResidualBlock, StarGANDiscriminator, StarGANGenerator


def _count(module: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in module.modules())


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_official_layer_list():
    g = StarGANGenerator(n_attrs=13)
    convs = [m for m in g.modules() if type(m) is nn.Conv2d]
    # Conv7x7, 2 down convs, 6 res blocks x 2 convs, final Conv7x7.
    assert len(convs) == 1 + 2 + 12 + 1
    assert _count(g, ResidualBlock) == 6
    assert _count(g, nn.ConvTranspose2d) == 2
    assert _count(g, nn.InstanceNorm2d) == 1 + 2 + 12 + 2
    assert all(m.affine and not m.track_running_stats for m in g.modules() if isinstance(m, nn.InstanceNorm2d))
    assert (convs[0].in_channels, convs[0].out_channels, convs[0].kernel_size) == (16, 64, (7, 7))
    assert [c.out_channels for c in convs[1:3]] == [128, 256]
    assert all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs[1:3])
    assert (convs[-1].out_channels, convs[-1].kernel_size) == (3, (7, 7))
    ups = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(u.in_channels, u.out_channels) for u in ups] == [(256, 128), (128, 64)]
    # The official StarGAN G (5 CelebA attributes) prints 8,430,528 parameters.
    assert _n_params(StarGANGenerator(n_attrs=5)) == 8_430_528


def test_discriminator_official_layer_list():
    d = StarGANDiscriminator(image_size=128, n_attrs=13)
    convs = [m for m in d.main if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1024, 2048]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    relus = [m for m in d.main if isinstance(m, nn.LeakyReLU)]
    assert len(relus) == 6 and all(r.negative_slope == 0.01 for r in relus)
    assert d.adv.kernel_size == (3, 3) and d.adv.out_channels == 1
    assert d.cls.kernel_size == (2, 2) and d.cls.out_channels == 13


def test_generator_shapes_real_128():
    g = StarGANGenerator(n_attrs=13).eval()
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        y = g(x, torch.randn(2, 13))
    assert y.shape == (2, 3, 128, 128)
    assert y.abs().max() <= 1.0


def test_discriminator_shapes_real_128():
    d = StarGANDiscriminator(image_size=128, n_attrs=13)
    with torch.no_grad():
        adv, cls = d(torch.randn(2, 3, 128, 128))
    assert adv.shape == (2, 1, 2, 2)
    assert cls.shape == (2, 13)


def test_tiny_configs_and_semantic_branch():
    g = StarGANGenerator(n_attrs=4, in_channels=12, out_channels=12, base_width=8, n_res=1,
                         out_activation="softmax")
    assert _count(g, ResidualBlock) == 1
    x = torch.softmax(torch.randn(3, 12, 16, 16), dim=1)
    y = g(x, torch.randn(3, 4))
    assert y.shape == (3, 12, 16, 16)
    torch.testing.assert_close(y.sum(dim=1), torch.ones(3, 16, 16))
    d = StarGANDiscriminator(image_size=16, n_attrs=4, in_channels=12, base_width=8, n_layers=3)
    adv, cls = d(y)
    assert adv.shape == (3, 1, 2, 2) and cls.shape == (3, 4)


def test_condition_changes_output_and_is_tiled():
    torch.manual_seed(0)
    g = StarGANGenerator(n_attrs=3, base_width=8, n_res=1).eval()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        a = g(x, torch.zeros(1, 3))
        b = g(x, torch.tensor([[1.0, -1.0, 0.5]]))
    assert not torch.allclose(a, b)


def test_instance_norm_uses_own_statistics_in_eval():
    """Without running stats, an image's output does not depend on the rest of the batch or on mode."""
    torch.manual_seed(0)
    g = StarGANGenerator(n_attrs=2, base_width=8, n_res=1)
    x = torch.randn(2, 3, 16, 16)
    c = torch.randn(2, 2)
    with torch.no_grad():
        train_out = g.train()(x, c)
        eval_out = g.eval()(x, c)
        single = g(x[:1], c[:1])
    torch.testing.assert_close(train_out, eval_out)
    torch.testing.assert_close(single, eval_out[:1])


def test_no_condition_and_bad_arguments():
    g = StarGANGenerator(n_attrs=0, base_width=4, n_res=0, out_activation="none")
    assert g(torch.randn(1, 3, 8, 8), torch.zeros(1, 0)).shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="out_activation"):
        StarGANGenerator(out_activation="sigmoid")
    with pytest.raises(ValueError, match="divisible"):
        StarGANDiscriminator(image_size=100, n_layers=6)
