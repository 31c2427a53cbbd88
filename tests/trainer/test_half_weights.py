"""Half-precision weight storage (trainer/half_weights.py, `export --half-weights`): the file shrinks, the
graph computes what the rounded PyTorch module computes, and constants the exporter made (a batch norm
folded into a convolution) stay float32."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from tests.trainer.toy_method import toy_config
from trainer.export import export_run
from trainer.half_weights import MIN_ELEMENTS, round_to_half, store_weights_as_half
from trainer.loop import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 32, 3, padding=1),
                        nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 3, 3, padding=1))
    with torch.no_grad():
        net[3].running_mean.uniform_(-0.5, 0.5)
        net[3].running_var.uniform_(0.5, 2.0)
    return net.eval()


def _export(net: nn.Module, path: Path) -> None:
    torch.onnx.export(net, (torch.zeros(2, 3, 8, 8),), str(path), input_names=["x"], output_names=["y"],
                      opset_version=17, do_constant_folding=True, dynamo=False)


def test_half_weights_halve_the_file_and_keep_the_rounded_modules_results(tmp_path: Path) -> None:
    net = _net()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        exact = net(x)
        assert round_to_half(net) == 2                      # the first two convolutions' weights (the last is small)
        rounded = net(x)
    assert 0 < float((rounded - exact).abs().max()) < 1e-2
    for p in net.parameters():
        if p.numel() >= MIN_ELEMENTS:
            assert torch.equal(p, p.half().float())
    path = tmp_path / "net.onnx"
    _export(net, path)
    before, after = store_weights_as_half(path)
    assert after == path.stat().st_size
    assert before - after > 0.9 * 64 * 3 * 3 * 3 * 2       # the first convolution's 1,728 weights at 2 bytes each
    model = onnx.load(str(path))
    kinds = {i.name: i.data_type for i in model.graph.initializer}
    halves = [n for n, t in kinds.items() if t == onnx.TensorProto.FLOAT16]
    assert len(halves) == 1                                 # the first conv; the second had its batch norm folded in
    assert sum(1 for n in model.graph.node if n.op_type == "Cast") == 1
    assert any(i.data_type == onnx.TensorProto.FLOAT and np.prod(i.dims) >= MIN_ELEMENTS
               for i in model.graph.initializer)                # the folded convolution, kept float32
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(["y"], {"x": x.numpy()})[0]
    assert np.abs(out - rounded.numpy()).max() < 1e-5


def test_export_half_weights_records_what_the_rounding_changed(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    train(toy_config(run, iters=2, ckpt_every=0, eval_every=0), progress=False)
    manifest = export_run(run, tmp_path / "pack", half_weights=True)
    change = manifest.models[0].metrics["half_weights_max_abs_change"]
    assert set(change) == {"probs", "labels"}
    assert 0 <= change["probs"] < 1e-2 and 0 <= change["labels"] <= 1        # labels: the share that changed
    assert "weights stored as float16" in capsys.readouterr().out
    plain = export_run(run, tmp_path / "plain")
    assert "half_weights_max_abs_change" not in plain.models[0].metrics
