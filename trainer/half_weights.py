"""Half-precision weight storage for exported ONNX graphs (`faceeditor-train export --half-weights`).

The demo pack must stay under 60 MB; a model's weights stored as float16 take half the space. The graph
still computes in float32: each stored float16 initializer is followed by a Cast to float32, which ONNX
Runtime folds once when it loads the model, so inference speed and the engine's float32 contract do not
change. Before the export the PyTorch module's weights are rounded to float16 precision, so the parity check
compares the graph against the same rounded weights (ONNX has no other copy of them); what the rounding
itself changes is measured separately and recorded in the manifest (half_weights_max_abs_change).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

MIN_ELEMENTS = 1024          # smaller tensors (biases, norms) stay float32: they weigh nothing


@torch.no_grad()
def round_to_half(module: nn.Module) -> int:
    """Round every float32 parameter and buffer of `module` to float16 precision, in place (kept as
    float32 tensors). Returns how many tensors were rounded."""
    count = 0
    for tensor in [*module.parameters(), *module.buffers()]:
        if tensor.dtype == torch.float32 and tensor.numel() >= MIN_ELEMENTS:
            tensor.copy_(tensor.half().float())
            count += 1
    return count


def store_weights_as_half(path: str | Path, min_elements: int = MIN_ELEMENTS) -> tuple[int, int]:
    """Rewrite the ONNX file at `path` with each float32 initializer of at least `min_elements` that float16
    holds exactly (the weights round_to_half rounded) stored as float16 and cast back to float32 where the
    graph reads it; the graph's results are therefore unchanged. Others (constants the exporter computed,
    such as convolutions with a batch norm folded in) stay float32. Returns (bytes before, bytes after)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    path = Path(path)
    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims, dtype=np.int64)) < min_elements:
            continue
        values = numpy_helper.to_array(init)
        halved = values.astype(np.float16)
        if not np.array_equal(halved.astype(np.float32), values):
            continue                         # not a rounded weight (e.g. a batch norm folded in at export)
        stored = f"{init.name}__float16"
        half = numpy_helper.from_array(halved, stored)
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [stored], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}__to_float32"))
    for node in reversed(casts):             # before every reader: nodes stay in topological order
        graph.node.insert(0, node)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return before, path.stat().st_size
