"""STGAN networks (trainer/nets/stgan.py): the selective transfer unit follows STGAN's eqs. 3-6, G and D have
the right shapes at 64²-256² with vector and map conditions, and the SPADE / refined-residual options."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from trainer.nets.stgan import (
    DecoderLayer,
    SelectiveTransferUnit,
    SPADENorm,
    STGANDiscriminator,
    STGANGenerator,
    condition_at,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _stu(seed: int = 0) -> SelectiveTransferUnit:
    torch.manual_seed(seed)
    stu = SelectiveTransferUnit(enc_channels=3, state_channels=5, cond_channels=2)
    for m in stu.modules():                      # non-trivial affine parameters of the instance norms
        if isinstance(m, nn.InstanceNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
    return stu


def test_stu_shapes():
    stu = _stu()
    f, s, c = torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4), torch.randn(2, 2, 4, 4)
    f_t, s_new = stu(f, s, c)
    assert f_t.shape == s_new.shape == (2, 3, 8, 8)
    assert stu.up.in_channels == 7 and stu.reset[0].in_channels == 6


def test_stu_follows_eqs_3_to_6():
    """Recomputed from the submodules: ŝ = ConvT([s, att]); r = σ(W_r[f, ŝ]); z = σ(W_z[f, ŝ]); s' = r∘ŝ;
    f̂ = tanh(W_h[f, s']); f_t = (1 − z)∘ŝ + z∘f̂."""
    stu = _stu(1)
    f, s, att = torch.randn(2, 3, 8, 8), torch.randn(2, 5, 4, 4), torch.randn(2, 2, 4, 4)
    with torch.no_grad():
        f_t, s_new = stu(f, s, att)
        s_hat = stu.up(torch.cat([s, att], 1))
        r = torch.sigmoid(stu.reset(torch.cat([f, s_hat], 1)))
        z = torch.sigmoid(stu.update(torch.cat([f, s_hat], 1)))
        s_ref = r * s_hat
        f_hat = torch.tanh(stu.hidden(torch.cat([f, s_ref], 1)))
        f_ref = (1 - z) * s_hat + z * f_hat
    assert torch.allclose(s_new, s_ref, atol=1e-6) and torch.allclose(f_t, f_ref, atol=1e-6)
    # the gates matter: swapping f and ŝ in the gates' input gives something else
    assert not torch.allclose(torch.sigmoid(stu.update(torch.cat([s_hat, f], 1))), z)


def test_stu_hand_built_case():
    """Norm scales 0 make the gates constants (r = σ(β_r), z = σ(β_z), f̂ = tanh(β_h)); with ConvT weights
    of zero, ŝ = 0, so s' = 0 and f_t = z tanh(β_h); with ConvT weights of one, ŝ is the sum of the
    overlapping taps of [s, att] and f_t = (1 − z) ŝ + z tanh(β_h)."""
    stu = SelectiveTransferUnit(1, 1, 1)
    b_r, b_z, b_h = 0.3, -0.7, 0.9
    with torch.no_grad():
        for seq, b in ((stu.reset, b_r), (stu.update, b_z), (stu.hidden, b_h)):
            seq[1].weight.zero_()
            seq[1].bias.fill_(b)
        stu.up.weight.zero_()
    f, s, att = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    z = torch.sigmoid(torch.tensor(b_z))
    with torch.no_grad():
        f_t, s_new = stu(f, s, att)
    assert torch.equal(s_new, torch.zeros_like(s_new))
    assert torch.allclose(f_t, torch.full_like(f_t, float(z * torch.tanh(torch.tensor(b_h)))), atol=1e-6)
    with torch.no_grad():
        stu.up.weight.fill_(1.0)
        f_t, s_new = stu(f, torch.full((1, 1, 2, 2), 2.0), att)
    # ConvT 4x4 s2 p1 of a constant 2x2 input (2 + 1 = 3 summed over both channels): an output pixel gets
    # 1, 2 or 2 x 2 taps along each axis (border rows and columns 1, inner ones 2) -> ŝ = 3 x taps_y x taps_x
    taps = torch.tensor([1.0, 2.0, 2.0, 1.0])
    s_hat = (3 * taps[:, None] * taps[None, :]).view(1, 1, 4, 4)
    r = torch.sigmoid(torch.tensor(b_r))
    assert torch.allclose(s_new, r * s_hat, atol=1e-5)
    assert torch.allclose(f_t, (1 - z) * s_hat + z * torch.tanh(torch.tensor(b_h)), atol=1e-5)


@pytest.mark.parametrize("size,n_layers", [(64, 4), (128, 5), (256, 5)])
@pytest.mark.parametrize("spatial", [False, True])
def test_generator_and_critic_shapes(size, n_layers, spatial):
    torch.manual_seed(0)
    g = STGANGenerator(13, base_width=4, max_width=16, n_layers=n_layers, shortcut_layers=3, inject_layers=2)
    d = STGANDiscriminator(size, 13, base_width=4, max_width=16, n_layers=n_layers, fc_width=8)
    x = torch.rand(2, 3, size, size) * 2 - 1
    c = torch.randn(2, 13, size, size) if spatial else torch.randn(2, 13)
    with torch.no_grad():
        y = g(x, c)
        adv, cls = d(y)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert adv.shape == (2, 1) and cls.shape == (2, 13)
    assert len(g.stus) == 3 and g.widths == [min(4 * 2 ** i, 16) for i in range(n_layers)]


def test_a_map_of_a_constant_condition_is_the_tiled_vector():
    """A spatial map that is constant over the image conditions G exactly like the vector."""
    torch.manual_seed(0)
    g = STGANGenerator(13, base_width=4, max_width=16, n_layers=3, shortcut_layers=2, inject_layers=2).eval()
    x, c = torch.rand(1, 3, 32, 32), torch.randn(1, 13)
    with torch.no_grad():
        assert torch.allclose(g(x, c), g(x, c[:, :, None, None].expand(-1, -1, 32, 32)), atol=1e-6)
    assert condition_at(torch.ones(1, 2, 32, 32), torch.zeros(1, 1, 8, 8)).shape == (1, 2, 8, 8)


def test_spade_option_uses_the_condition_map():
    torch.manual_seed(0)
    g = STGANGenerator(13, base_width=4, max_width=16, n_layers=3, shortcut_layers=2, inject_layers=1, spade=True)
    assert sum(isinstance(m, SPADENorm) for m in g.modules()) == 2
    assert all(layer.norm is None for layer in g.decoder if isinstance(layer, DecoderLayer))
    x = torch.rand(1, 3, 32, 32)
    c = torch.zeros(1, 13, 32, 32)
    c2 = c.clone()
    c2[:, 0, :16] = 1.0                          # the condition acts in the top half only
    with torch.no_grad():
        y, y2 = g(x, c), g(x, c2)
    assert y.shape == x.shape and not torch.allclose(y, y2)
    no_cond = STGANGenerator(0, base_width=4, max_width=16, n_layers=3, shortcut_layers=1, inject_layers=1,
                             spade=True)
    assert not any(isinstance(m, SPADENorm) for m in no_cond.modules())     # nothing to de-normalise from


def test_refined_residual_reads_the_input_before_the_last_convolution():
    torch.manual_seed(0)
    g = STGANGenerator(13, base_width=4, max_width=16, n_layers=3, shortcut_layers=2, inject_layers=1,
                       refined_residual=True, out_activation="none")
    assert g.out.in_channels == 4 + 3 and g.out.out_channels == 3
    assert isinstance(g.last, DecoderLayer)
    # the final conv can copy the input: G = identity whatever the features
    with torch.no_grad():
        g.out.weight.zero_()
        g.out.bias.zero_()
        for ch in range(3):
            g.out.weight[ch, 4 + ch, 1, 1] = 1.0
        x = torch.randn(2, 3, 32, 32)
        assert torch.allclose(g(x, torch.randn(2, 13)), x, atol=1e-6)
    plain = STGANGenerator(13, base_width=4, max_width=16, n_layers=3, shortcut_layers=2, inject_layers=1)
    assert plain.out is None and isinstance(plain.last, nn.ConvTranspose2d)
    assert not any(k.startswith("out.") for k in plain.state_dict())


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="shortcut"):
        STGANGenerator(13, n_layers=3, shortcut_layers=3)
    with pytest.raises(ValueError, match="out_activation"):
        STGANGenerator(13, out_activation="relu")
    with pytest.raises(ValueError, match="divisible"):
        STGANDiscriminator(48, 13, n_layers=5)
