"""AttGAN networks: SeCGAN Table 3's layer list, the paper's 43M-parameter G, tiny and real shapes."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.nets.attgan import AttGANDiscriminator, AttGANGenerator


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_table3_layer_list():
    g = AttGANGenerator(n_attrs=13)
    enc = [m for m in g.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in enc] == [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1024)]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in enc)
    dec = [m for m in g.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    # Table 3: (1024 + n_a) in, then (1536 + n_a) = 1024 + the 512-channel skip + the injected label
    assert [(c.in_channels, c.out_channels) for c in dec] == [(1037, 1024), (1549, 512), (512, 256), (256, 128),
                                                              (128, 3)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 9
    # "AttGAN's generator has significantly more at 43M" (SeCGAN §4.2)
    assert 42e6 < _n_params(g) < 44e6


def test_discriminator_table3_layer_list():
    d = AttGANDiscriminator(image_size=128, n_attrs=13)
    convs = [m for m in d.main if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1024]
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in d.modules())
    fcs = [m for m in d.adv if isinstance(m, nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(1024 * 4 * 4, 1024), (1024, 1)]
    assert [m.out_features for m in d.cls if isinstance(m, nn.Linear)] == [1024, 13]


def test_real_128_shapes():
    g = AttGANGenerator(n_attrs=13).eval()
    d = AttGANDiscriminator(128, 13)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        y = g(x, torch.randn(1, 13))
        adv, cls = d(y)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert adv.shape == (1, 1) and cls.shape == (1, 13)


@pytest.mark.parametrize("out_activation,channels", [("tanh", 3), ("softmax", 12)])
def test_tiny_semantic_and_rgb_branches(out_activation, channels):
    g = AttGANGenerator(n_attrs=4, in_channels=channels, out_channels=channels, base_width=4, max_width=16,
                        n_layers=3, out_activation=out_activation)
    x = torch.rand(2, channels, 32, 32)
    y = g(x, torch.randn(2, 4))
    assert y.shape == (2, channels, 32, 32)
    if out_activation == "softmax":
        assert torch.allclose(y.sum(1), torch.ones(2, 32, 32), atol=1e-5)
    d = AttGANDiscriminator(32, 4, in_channels=channels, base_width=4, max_width=16, n_layers=3, fc_width=8)
    adv, cls = d(y)
    assert adv.shape == (2, 1) and cls.shape == (2, 4)


def test_condition_changes_the_output_and_bad_sizes_are_refused():
    torch.manual_seed(0)
    g = AttGANGenerator(n_attrs=3, base_width=4, max_width=8, n_layers=2).eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(g(x, torch.zeros(1, 3)), g(x, torch.ones(1, 3)))
    with pytest.raises(ValueError, match="divisible"):
        AttGANDiscriminator(image_size=100, n_layers=5)
    with pytest.raises(ValueError):
        AttGANGenerator(n_layers=3, shortcut_layers=3)
