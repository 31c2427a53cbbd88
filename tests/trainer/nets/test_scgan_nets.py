import pytest
import torch
from torch import nn

from trainer.nets.scgan import (
    ResBlockUp,
    SCGANDiscriminator,
    SCGANGenerator,
    SCGANNetConfig,
    SCGANSegmentor,
    SynthesizeExport,
    build_scgan_nets,
    count_parameters,
)
from trainer.nets.stargan import ResidualBlock


def convs(module, kind=nn.Conv2d, stride=None):
    return [m for m in module.modules() if type(m) is kind and (stride is None or m.stride == (stride, stride))]


def tiny(res=32, **kw):
    return SCGANNetConfig(resolution=res, n_classes=7, n_attrs=13, nz=16, width=0.125, **kw)


def test_resblockup_doubles_the_size():
    block = ResBlockUp(8, 4)
    assert block(torch.randn(2, 8, 5, 5)).shape == (2, 4, 10, 10)


def test_tiny_generator_layers_and_shapes():
    cfg = tiny()
    g = SCGANGenerator(cfg)
    assert cfg.n_down == 4 and cfg.bottleneck_side == 2
    assert len(convs(g.encoder, stride=2)) == 4                      # segmentation encoder, Table 2 rows 1-4
    assert len(g.up_before) == 2 and len(g.up_after) == 2            # RESBLKUP before/after the attributes
    # the attribute label is concatenated before the last two RESBLKUP blocks (at R/4)
    assert g.up_after[0].body[0].in_channels == g.enc_channels[2] + 13
    s = torch.nn.functional.one_hot(torch.randint(0, 7, (3, 32, 32)), 7).permute(0, 3, 1, 2).float()
    z, c = torch.randn(3, 16), torch.zeros(3, 13)
    y = g(z, c, s)
    assert y.shape == (3, 3, 32, 32) and y.abs().max() <= 1
    # each input steers the output
    assert not torch.allclose(y, g(torch.randn(3, 16), c, s))
    assert not torch.allclose(y, g(z, torch.ones(3, 13), s))
    assert not torch.allclose(y, g(z, c, s.flip(-1)))


def test_tiny_discriminator_and_segmentor():
    cfg = tiny()
    d, s = SCGANDiscriminator(cfg), SCGANSegmentor(cfg)
    assert len(convs(d.trunk, stride=2)) == cfg.d_layers == 4
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in d.modules())   # PatchGAN, no norm
    adv, cls = d(torch.randn(2, 3, 32, 32))
    assert adv.shape == (2, 1, 2, 2) and cls.shape == (2, 13)
    assert sum(isinstance(m, ResidualBlock) for m in s.modules()) == 4
    assert len(convs(s, nn.ConvTranspose2d)) == 2
    assert s(torch.randn(2, 3, 32, 32)).shape == (2, 7, 32, 32)


def test_paper_128_config_matches_table_2():
    cfg = SCGANNetConfig(resolution=128, n_classes=19)
    with torch.device("meta"):
        nets = build_scgan_nets(cfg)
        g, d, seg = nets["generator"], nets["discriminator"], nets["segmentor"]
        assert g.enc_channels == [64, 128, 256, 512]
        # row b1 reads FC-(N8192) but outputs 64 x 8 x 8 and row 5 concatenates to 576: 64 channels it is
        assert g.z_channels == 64 and g.fc.out_features == 64 * 8 * 8
        assert [b.body[0].out_channels for b in [*g.up_before, *g.up_after]] == [512, 256, 128, 64]
        assert g.up_before[0].body[0].in_channels == 576            # CONCAT 4 with b1
        assert [c.out_channels for c in convs(d.trunk, stride=2)] == [64, 128, 256, 512, 1024, 2048]
        assert [c.out_channels for c in convs(seg.net, stride=2)] == [64, 128]
        y = g(torch.zeros(1, 512), torch.zeros(1, 13), torch.zeros(1, 19, 128, 128))
        adv, cls = d(y)
        assert y.shape == (1, 3, 128, 128) and adv.shape == (1, 1, 2, 2) and cls.shape == (1, 13)
        assert seg(y).shape == (1, 19, 128, 128)


def test_256_config_shapes():
    cfg = SCGANNetConfig(resolution=256, n_classes=12)
    assert cfg.n_down == 5 and cfg.bottleneck_side == 8 and cfg.d_layers == 7
    with torch.device("meta"):
        nets = build_scgan_nets(cfg)
        y = nets["generator"](torch.zeros(1, 512), torch.zeros(1, 13), torch.zeros(1, 12, 256, 256))
        adv, cls = nets["discriminator"](y)
        assert y.shape == (1, 3, 256, 256) and adv.shape == (1, 1, 2, 2) and cls.shape == (1, 13)
        assert nets["segmentor"](y).shape == (1, 12, 256, 256)


def test_demo_generator_stays_a_few_megabytes():
    g = SCGANGenerator(SCGANNetConfig(resolution=64, width=0.25))
    assert 1e6 < count_parameters(g) * 4 < 8e6


def test_export_wrapper_follows_the_engine_convention():
    g = SCGANGenerator(tiny()).eval()
    mask, z, attrs = torch.zeros(1, 7, 32, 32), torch.randn(1, 16), torch.zeros(1, 13)
    assert torch.equal(SynthesizeExport(g)(mask, z, attrs), g(z, attrs, mask))


@pytest.mark.parametrize("kw, match", [(dict(resolution=48), "power of two"), (dict(resolution=16), "power of two"),
                                        (dict(width=0.0), "width"), (dict(n_classes=1), "n_classes")])
def test_config_errors(kw, match):
    base = dict(resolution=32)
    base.update(kw)
    with pytest.raises(ValueError, match=match):
        SCGANNetConfig(**base)


def test_bottleneck_option_keeps_a_larger_map_with_fewer_halvings():
    cfg = SCGANNetConfig(resolution=64, n_classes=7, nz=16, width=0.125, bottleneck=8)
    g = SCGANGenerator(cfg)
    assert cfg.n_down == 3 and cfg.bottleneck_side == 8
    assert len(convs(g.encoder, stride=2)) == 3 and len(g.up_before) == 1 and len(g.up_after) == 2
    assert g.fc.out_features == g.z_channels * 8 * 8
    s = torch.nn.functional.one_hot(torch.randint(0, 7, (2, 64, 64)), 7).permute(0, 3, 1, 2).float()
    assert g(torch.randn(2, 16), torch.zeros(2, 13), s).shape == (2, 3, 64, 64)
    for bad in (3, 16, 1):          # not a power of two; too few halvings for the attribute blocks; too small
        with pytest.raises(ValueError, match="bottleneck"):
            SCGANNetConfig(resolution=64, bottleneck=bad)


def test_mask_skips_start_as_the_plain_generator_and_feed_every_decoder_scale():
    """mask_skips (not in the paper): the pooled mask is added before each RESBLKUP and the last conv through
    zero-initialised 1x1 convs, so a plain generator's weights load and give the same faces."""
    plain = SCGANGenerator(SCGANNetConfig(resolution=64, n_classes=7, nz=16, width=0.125))
    skips = SCGANGenerator(SCGANNetConfig(resolution=64, n_classes=7, nz=16, width=0.125, mask_skips=True))
    missing, unexpected = skips.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and sorted(missing) == [f"mask_in.{i}.weight" for i in range(5)]
    assert skips.mask_pool == [16, 8, 4, 2, 1]                     # 4x4, 8x8, 16x16, 32x32 blocks, then 64x64
    s = torch.nn.functional.one_hot(torch.randint(0, 7, (2, 64, 64)), 7).permute(0, 3, 1, 2).float()
    z, c = torch.randn(2, 16), torch.zeros(2, 13)
    assert torch.equal(plain(z, c, s), skips(z, c, s))
    skips(z, c, s).square().mean().backward()
    assert all(conv.weight.grad.abs().sum() > 0 for conv in skips.mask_in)     # every skip learns
    with torch.no_grad():
        skips.mask_in[-1].weight.normal_()
    assert not torch.allclose(plain(z, c, s), skips(z, c, s))
    assert not SCGANGenerator(tiny()).mask_in                      # off by default: Table 2 as it is
