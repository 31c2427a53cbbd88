"""The SPADE generator and the style encoder (trainer/nets/scgan_spade.py): shapes at every size up to the
256² configuration, the mask reaching the pixels it covers, z and c reaching every block, ONNX export."""
import pytest
import torch
import torch.nn.functional as F

from trainer.export import OPSET
from trainer.nets.scgan import SCGANNetConfig, build_scgan_nets
from trainer.nets.scgan_spade import SCGANSpadeGenerator, StyleEncoder, spade_channels


def onehot(labels, n=19):
    return F.one_hot(labels, n).permute(0, 3, 1, 2).float()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("res", [32, 128, 256])
def test_shapes_up_to_the_256_configuration(res):
    cfg = SCGANNetConfig(resolution=res, nz=16, width=0.125, generator="spade", spade_channels=32, style_dim=16,
                         style_encoder=True)
    nets = build_scgan_nets(cfg)
    assert set(nets) == {"generator", "discriminator", "segmentor", "encoder"}
    g, e = nets["generator"], nets["encoder"]
    assert isinstance(g, SCGANSpadeGenerator) and len(g.blocks) == (res // 4).bit_length() - 1
    s = onehot(torch.randint(0, 19, (2, res, res)))
    with torch.no_grad():
        y = g(torch.randn(2, 16), torch.rand(2, 13), s)
        mu, logvar = e(y)
    assert y.shape == (2, 3, res, res) and y.abs().max() <= 1
    assert mu.shape == logvar.shape == (2, 16)


def test_channel_plan_and_config_checks():
    assert [spade_channels(64, s) for s in (4, 32, 64, 128, 256)] == [64, 64, 32, 16, 16]
    for bad in (dict(generator="unet"), dict(spade_channels=8), dict(generator="spade", mask_skips=True)):
        with pytest.raises(ValueError):
            SCGANNetConfig(resolution=64, **bad)
    assert "encoder" not in build_scgan_nets(SCGANNetConfig(resolution=32, width=0.125))


def test_a_small_part_of_the_mask_changes_the_pixels_it_covers():
    """The mask enters every block at its own size: a 2x2 'eye' changes the face there, far away only a
    little (instance normalisation shares its statistics over the whole map)."""
    torch.manual_seed(0)
    g = SCGANSpadeGenerator(64, 19, 13, 8, top_channels=32, style_dim=16).eval()
    labels = torch.ones(1, 64, 64, dtype=torch.long)                  # all skin
    eye = labels.clone()
    eye[:, 20:22, 30:32] = 4                                          # l_eye
    z, c = torch.randn(1, 8), torch.zeros(1, 13)
    with torch.no_grad():
        diff = (g(z, c, onehot(eye)) - g(z, c, onehot(labels))).abs().sum(1)[0]
    near, far = diff[16:26, 26:36].mean(), diff[45:, :].mean()
    assert near > 1e-3 and far < 0.25 * near, (float(near), float(far))


def test_z_and_attributes_reach_the_output_at_every_pixel():
    torch.manual_seed(0)
    g = SCGANSpadeGenerator(32, 19, 13, 8, top_channels=32, style_dim=16).eval()
    s = onehot(torch.randint(0, 19, (1, 32, 32)))
    c = torch.zeros(1, 13)
    with torch.no_grad():
        base = g(torch.zeros(1, 8), c, s)
        by_z = (g(torch.ones(1, 8), c, s) - base).abs().sum(1)[0]
        c2 = c.clone()
        c2[0, 3] = 1
        by_c = (g(torch.zeros(1, 8), c2, s) - base).abs().sum(1)[0]
    assert (by_z > 0).float().mean() > 0.99 and (by_c > 0).float().mean() > 0.99


def test_encoder_pools_to_one_vector_whatever_the_size():
    e = StyleEncoder(64, 12, base=8, max_channels=32)
    mu, logvar = e(torch.randn(3, 3, 64, 64))
    assert mu.shape == (3, 12) and logvar.abs().max() <= 10


def test_onnx_export_matches_pytorch(tmp_path):
    onnx = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    g = SCGANSpadeGenerator(32, 19, 13, 8, top_channels=32, style_dim=16).eval()
    s, z, c = onehot(torch.randint(0, 19, (2, 32, 32))), torch.randn(2, 8), torch.rand(2, 13)
    path = tmp_path / "g.onnx"
    torch.onnx.export(g, (z, c, s), str(path), input_names=["z", "c", "s"], output_names=["image"],
                      dynamic_axes={"z": {0: "n"}, "c": {0: "n"}, "s": {0: "n"}, "image": {0: "n"}}, opset_version=OPSET,
                      dynamo=False)
    sess = onnx.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"z": z.numpy(), "c": c.numpy(), "s": s.numpy()})[0]
    with torch.no_grad():
        ref = g(z, c, s).numpy()
    assert abs(out - ref).max() < 1e-4
