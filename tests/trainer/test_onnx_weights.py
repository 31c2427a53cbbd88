"""Weights read back from an exported ONNX file (trainer/onnx_weights.py): a network exported with its batch
norms folded into the convolutions and its weights stored as float16 (`--half-weights`) is rebuilt in a
fresh module that computes what the file computes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from trainer.half_weights import round_to_half, store_weights_as_half
from trainer.onnx_weights import module_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)         # a bias and no norm: not folded

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.relu(self.bn1(self.conv1(x))))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = Block()
        self.out = nn.Conv2d(16, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.block(self.stem(x)))


class Wrapper(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.generator = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)


def _trained_like(seed: int) -> Net:
    torch.manual_seed(seed)
    net = Net()
    with torch.no_grad():
        for bn in (net.stem[1], net.block.bn1):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    return net.eval()


@pytest.mark.parametrize("half", [False, True])
def test_folded_batch_norms_and_half_weights_come_back(tmp_path: Path, half: bool) -> None:
    source = _trained_like(0)
    if half:
        round_to_half(source)
    path = tmp_path / "net.onnx"
    torch.onnx.export(Wrapper(source), (torch.zeros(1, 3, 16, 16),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=17, do_constant_folding=True, dynamo=False,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    if half:
        before, after = store_weights_as_half(path)
        assert after < before
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 16, 16)).astype(np.float32)
    (expected,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    fresh = _trained_like(1)
    with torch.no_grad():
        assert np.abs(fresh(torch.from_numpy(x)).numpy() - expected).max() > 1e-2
    weights = module_weights(path, "generator.", fresh)
    # folded: the stem's and the block's first convolution (their norms become the identity); named: the rest
    assert torch.equal(weights["stem.1.weight"], torch.ones(8)) and torch.equal(weights["block.bn1.running_mean"],
                                                                                torch.zeros(16))
    assert {"block.conv2.weight", "block.conv2.bias", "out.weight"} <= set(weights)
    assert all(v.dtype == torch.float32 for k, v in weights.items() if "num_batches" not in k)
    fresh.load_state_dict(weights, strict=False)
    with torch.no_grad():
        assert np.abs(fresh(torch.from_numpy(x)).numpy() - expected).max() < 1e-5
