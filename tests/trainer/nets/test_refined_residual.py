"""The refined-residual option of every editor backbone (SG-GAN): the input is concatenated before G's last
convolution, so G can represent the identity; off, the parameter names are the original ones (checkpoints
and the demo pack load), and the `_generator` builders pass EditorConfig.refined_residual through."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.data.registry import DataConfig
from trainer.methods.base import method_class
from trainer.nets.attgan import AttGANGenerator
from trainer.nets.stargan import StarGANGenerator
from trainer.nets.stgan import STGANGenerator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BUILD = {
    "stargan": lambda rr, act="tanh": StarGANGenerator(13, 3, 3, 4, 2, 1, act, rr),
    "attgan": lambda rr, act="tanh": AttGANGenerator(13, 3, 3, 4, 16, 3, 1, 1, act, rr),
    "stgan": lambda rr, act="tanh": STGANGenerator(13, 3, 3, 4, 16, 3, 2, 1, refined_residual=rr,
                                                   out_activation=act),
}


@pytest.mark.parametrize("name", sorted(BUILD))
def test_default_keeps_the_original_layers(name):
    plain, refined = BUILD[name](False), BUILD[name](True)
    assert plain.out is None and not any(k.startswith("out.") for k in plain.state_dict())
    assert refined.out.in_channels == 4 + 3 and refined.out.out_channels == 3
    # every original parameter name but the old last layer's survives the option
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert plain(x, torch.zeros(2, 13)).shape == refined(x, torch.zeros(2, 13)).shape == x.shape


@pytest.mark.parametrize("name", sorted(BUILD))
def test_refined_residual_can_copy_the_input(name):
    g = BUILD[name](True, "none").eval()
    k = g.out.kernel_size[0] // 2
    with torch.no_grad():
        g.out.weight.zero_()
        if g.out.bias is not None:
            g.out.bias.zero_()
        for ch in range(3):
            g.out.weight[ch, 4 + ch, k, k] = 1.0
        x = torch.randn(2, 3, 32, 32)
        assert torch.allclose(g(x, torch.randn(2, 13)), x, atol=1e-6)


def test_demo_pack_names_unchanged():
    """The StarGAN G of the original layout keeps 'main.<i>' names up to its last conv (what packs load)."""
    g = StarGANGenerator(13, 3, 3, 4, 2, 1)
    last = [n for n, m in g.named_modules() if isinstance(m, nn.Conv2d)][-1]
    assert last == f"main.{len(g.main) - 1}"


@pytest.mark.parametrize("name", ["stargan", "attgan", "stgan"])
def test_builders_honour_the_config(name):
    for rr in (False, True):
        cfg = method_class(name).config_class(data=DataConfig(resolution=32), g_width=4, d_width=4, n_res=1,
                                              g_layers=3, d_layers=3, g_max_width=16, fc_width=8,
                                              shortcut_layers=2, inject_layers=1, refined_residual=rr)
        cfg.check()
        g = method_class(name)(cfg, torch.device("cpu"))._generator(3, 3, "tanh")
        assert g.refined_residual is rr and (g.out is not None) is rr
