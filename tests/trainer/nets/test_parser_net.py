import warnings

import numpy as np
import pytest
import torch

from trainer.methods.parser import ParserConfig
from trainer.nets.parser import (
    ParserExport,
    ParserNetConfig,
    build_parser_net,
    count_parameters,
    tempered_softmax,
)

TINY = [ParserNetConfig("bisenet", width=4, context_channels=8), ParserNetConfig("unet", width=4, depth=3),
        ParserNetConfig("bisenet", width=4, spatial_stride=8),
        ParserNetConfig("bisenet", width=4, context_channels=8, detail_channels=4)]


@pytest.mark.parametrize("cfg", TINY, ids=lambda c: f"{c.arch}-s{c.spatial_stride}-d{c.detail_channels}")
def test_tiny_shapes_and_aux_heads(cfg):
    torch.manual_seed(0)
    net = build_parser_net(cfg)
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    out = net(x)
    assert out.shape == (2, 19, 64, 48)
    logits, aux = net(x, with_aux=True)
    assert torch.allclose(logits, out, atol=1e-6)
    assert len(aux) == (2 if cfg.arch == "bisenet" else 0)
    assert all(a.shape == out.shape for a in aux)
    net.train()
    logits, aux = net(x[:1], with_aux=True)                     # a batch of one trains too
    (logits.mean() + sum(a.mean() for a in aux)).backward()


@pytest.mark.parametrize("arch", ["bisenet", "unet"])
def test_real_config_fits_the_size_budget(arch):
    cfg = ParserConfig(arch=arch, width=16 if arch == "bisenet" else 12)
    net = build_parser_net(cfg.net_config()).eval()
    assert count_parameters(net) * 4 <= 5 * 1024 * 1024        # ≤ 5 MB of fp32 weights
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 128, 128)).shape == (1, 19, 128, 128)


def test_tempered_softmax_limits():
    torch.manual_seed(0)
    # per pixel a random permutation of 0, 0.1, ..., 1.8: top-2 gap 0.1, so T = 1e-3 leaves e^-100
    logits = torch.argsort(torch.rand(2, 19, 5, 5), dim=1).float() * 0.1
    assert torch.allclose(tempered_softmax(logits, 1.0), torch.softmax(logits, 1))
    one_hot = torch.nn.functional.one_hot(logits.argmax(1), 19).permute(0, 3, 1, 2).float()
    gaps = [(tempered_softmax(logits, t) - one_hot).abs().max().item() for t in (1.0, 0.1, 0.01, 1e-3)]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0.5 and gaps[-1] < 1e-6
    hot = tempered_softmax(logits, 1e4)
    assert torch.allclose(hot, torch.full_like(hot, 1 / 19), atol=1e-4)
    assert torch.allclose(tempered_softmax(logits, 0.5).sum(1), torch.ones(2, 5, 5))
    x = logits.clone().requires_grad_(True)
    (tempered_softmax(x, 0.3)[:, 4] * torch.rand(2, 5, 5)).sum().backward()
    assert x.grad.abs().sum() > 0                               # differentiable, for the expression GAN
    with pytest.raises(ValueError):
        tempered_softmax(logits, 0.0)


@pytest.mark.parametrize("cfg", [TINY[0], TINY[1], TINY[3]], ids=lambda c: f"{c.arch}-d{c.detail_channels}")
def test_export_wrapper_outputs_agree_and_survive_onnx(cfg, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(1)
    wrapper = ParserExport(build_parser_net(cfg)).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        probs, labels = wrapper(x)
    assert probs.shape == (3, 19, 32, 32) and labels.shape == (3, 32, 32) and labels.dtype == torch.int64
    assert torch.equal(probs.argmax(1), labels)
    assert torch.allclose(probs.sum(1), torch.ones(3, 32, 32), atol=1e-5)
    path = tmp_path / "parser.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (x[:1],), str(path), input_names=["image"], output_names=["probs", "labels"],
                          dynamic_axes={k: {0: "batch"} for k in ("image", "probs", "labels")},
                          opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    p, lab = sess.run(None, {"image": x.numpy()})                 # batch 3 through a batch-1 trace
    assert np.abs(p - probs.numpy()).max() < 1e-4 and lab.dtype == np.int64
    assert (lab == labels.numpy()).mean() > 0.999


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="arch"):
        ParserNetConfig(arch="segformer")
    with pytest.raises(ValueError, match="spatial_stride"):
        ParserNetConfig(spatial_stride=2)
    with pytest.raises(ValueError, match="detail_channels"):
        ParserNetConfig(detail_channels=-1)
