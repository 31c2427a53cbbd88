"""SG-GAN's networks (Tables 4–5): shapes of a tiny config and of the paper's 128² config layer by layer,
heads that share nothing, the refined output reading the input image."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.nets.sggan import SGGANDiscriminator, SGGANGenerator, SGGANNetConfig, build_sggan_nets, d_widths
from trainer.registry import NETWORKS


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def conv_params(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def norm_params(c: int) -> int:
    return 2 * c


@pytest.mark.parametrize("output", ["refined", "residual", "none"])
def test_tiny_shapes(output):
    torch.manual_seed(0)
    nets = NETWORKS.get("sggan")(SGGANNetConfig(n_attrs=3, resolution=32, g_width=4, n_res=1, output=output,
                                                d_width=4))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    out = nets["G"](x)
    assert out.shape == (2, 3, 2, 3, 32, 32)
    assert out.abs().max() <= 1.0
    adv, cls = nets["D"](x)
    assert adv.shape == (2, 1, 2, 2) and cls.shape == (2, 3, 2)
    # the selected heads and the per-row heads are the full forward's
    sel = nets["G"].heads(x, [(2, 1), (0, 0)])
    assert torch.allclose(sel[:, 0], out[:, 2, 1], atol=1e-6) and torch.allclose(sel[:, 1], out[:, 0, 0], atol=1e-6)
    rows = nets["G"].per_row(x, torch.tensor([5, -1]))
    assert torch.allclose(rows[0], out[0, 2, 1], atol=1e-6) and torch.equal(rows[1], x[1])


def test_papers_config_at_128_layer_by_layer():
    """w = 64, 6 residual blocks, D widths 64…1024: every layer's shape and the parameter count of Tables 4–5."""
    g = SGGANGenerator(n_attrs=4, g_width=64, n_res=6, output="refined")
    convs = [m for m in g.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == \
        [(3, 64, 7, 1), (64, 128, 4, 2), (128, 256, 4, 2)] + [(256, 256, 3, 1)] * 6
    head = g.decoders[0]
    deconvs = [m for m in head.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in deconvs] == \
        [(256, 128, 4, 2), (128, 64, 4, 2)]
    assert (head.out.in_channels, head.out.out_channels, head.out.kernel_size[0]) == (64 + 3, 3, 7)
    assert len(g.decoders) == 8
    enc = (conv_params(3, 64, 7) + norm_params(64) + conv_params(64, 128, 4) + norm_params(128)
           + conv_params(128, 256, 4) + norm_params(256) + 6 * (conv_params(256, 256, 3) + norm_params(256)))
    one_head = (conv_params(256, 128, 4) + norm_params(128) + conv_params(128, 64, 4) + norm_params(64)
                + conv_params(67, 3, 7))
    assert n_params(g.encoder) == enc and n_params(head) == one_head
    assert n_params(g) == enc + 8 * one_head

    d = SGGANDiscriminator(n_attrs=4, resolution=128, d_width=64)
    dconvs = [m for m in d.main if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in dconvs] == [64, 128, 256, 512, 512, 1024]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in dconvs)
    widths = [3, 64, 128, 256, 512, 512, 1024]
    trunk = sum(conv_params(a, b, 5) for a, b in zip(widths, widths[1:], strict=False))
    assert n_params(d) == trunk + conv_params(1024, 1, 3) + 4 * conv_params(1024, 2, 2)
    with torch.no_grad():
        x = torch.rand(1, 3, 128, 128) * 2 - 1
        out = g(x)
        adv, cls = d(x)
    assert out.shape == (1, 4, 2, 3, 128, 128) and adv.shape == (1, 1, 2, 2) and cls.shape == (1, 4, 2)
    assert torch.allclose(d.attribute_probs(x), torch.softmax(cls, 2)[:, :, 1])


def test_discriminator_depth_follows_the_resolution():
    assert d_widths(64) == [64, 128, 256, 512, 512]
    assert d_widths(64, d_width=32) == [32, 64, 128, 256, 256]
    assert d_widths(128, d_width=128, d_max_width=1024) == [128, 256, 512, 1024, 1024, 1024]
    for bad in (48, 96, 4):
        with pytest.raises(ValueError, match="power of two"):
            SGGANDiscriminator(resolution=bad)
    with pytest.raises(ValueError, match="output"):
        build_sggan_nets(SGGANNetConfig(output="sum"))


def test_heads_share_no_parameters():
    g = SGGANGenerator(n_attrs=3, g_width=4, n_res=1)
    ids = [{id(p) for p in h.parameters()} for h in g.decoders]
    enc = {id(p) for p in g.encoder.parameters()}
    for i, a in enumerate(ids):
        assert not a & enc
        for b in ids[i + 1:]:
            assert not a & b
    # a loss on one head's output moves only that head (and the shared encoder)
    x = torch.rand(2, 3, 16, 16)
    g(x)[:, 1, 0].sum().backward()
    for i, h in enumerate(g.decoders):
        has = any(p.grad is not None and p.grad.abs().sum() > 0 for p in h.parameters())
        assert has == (i == 2), i


def test_refined_output_reads_the_input_through_the_concat():
    torch.manual_seed(0)
    g = SGGANGenerator(n_attrs=1, g_width=4, n_res=1, output="refined")
    x = (torch.rand(1, 3, 16, 16) * 2 - 1).requires_grad_(True)
    feat = g.encode(x).detach()
    # with the encoder's features held fixed, the output still depends on x: through concat(F, x) only
    y = g.decoders[1](feat, x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert grad.abs().sum() > 0
    # the weights of the last conv that read x are the 3 extra input channels
    assert g.decoders[1].out.weight.shape[1] == 4 + 3
    plain = SGGANGenerator(n_attrs=1, g_width=4, n_res=1, output="none")
    (grad,) = torch.autograd.grad(plain.decoders[1](plain.encode(x).detach(), x).sum(), x, allow_unused=True)
    assert grad is None or grad.abs().sum() == 0
    # the plain residual is the identity when its last conv is zero
    res = SGGANGenerator(n_attrs=1, g_width=4, n_res=1, output="residual")
    nn.init.zeros_(res.decoders[0].out.weight)
    nn.init.zeros_(res.decoders[0].out.bias)
    with torch.no_grad():
        assert torch.equal(res(x)[:, 0, 0], x.detach())


def test_identity_start_copies_the_input_before_training():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    refined = SGGANGenerator(n_attrs=2, g_width=4, n_res=1, output="refined", identity_start=True)
    with torch.no_grad():
        out = refined(x)
    # every head is tanh(x): the input, compressed only by the paper's output tanh
    assert torch.allclose(out, torch.tanh(x)[:, None, None].expand_as(out), atol=1e-6)
    residual = SGGANGenerator(n_attrs=2, g_width=4, n_res=1, output="residual", identity_start=True)
    with torch.no_grad():
        assert torch.equal(residual(x), x[:, None, None].expand(2, 2, 2, 3, 16, 16))
    # without it the untrained heads are far from the input
    with torch.no_grad():
        plain = SGGANGenerator(n_attrs=2, g_width=4, n_res=1, output="refined")(x)
    assert (plain - x[:, None, None]).abs().mean() > 5 * (out - x[:, None, None]).abs().mean()
    with pytest.raises(ValueError, match="identity_start"):
        SGGANGenerator(n_attrs=1, g_width=4, n_res=1, output="none", identity_start=True)
