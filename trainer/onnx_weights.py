"""Weights of an exported model read back from its ONNX file, under the state-dict names the export kept.

A pack holds only ONNX files, not the run's checkpoint. `torch.onnx.export` names each parameter it stores
as an initializer after its state-dict key (``generator.blocks.0.conv1.weight``), so a later run can start
from a bundled model's tensors (`init_from` a pack) once the run folder that trained it is gone."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


class OnnxWeightsError(ValueError):
    """The ONNX file or pack cannot provide the weights asked for (one-line message)."""


def pack_model_file(source: str | Path, method: str) -> Path:
    """The ONNX file of `source`: the file itself, or in a pack folder the model whose manifest `method`
    is `method` (the first one, as the manifest lists them)."""
    path = Path(source)
    if path.is_file() and path.suffix == ".onnx":
        return path
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise OnnxWeightsError(f"{str(source)!r} is neither an .onnx file nor a model pack folder")
    try:
        models = json.loads(manifest.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OnnxWeightsError(f"{manifest}: unreadable manifest ({exc})") from None
    for model in models:
        if isinstance(model, dict) and model.get("method") == method and model.get("file"):
            return path / model["file"]
    raise OnnxWeightsError(f"pack {path} has no model of method {method!r}")


def onnx_state_dict(path: str | Path, prefix: str) -> dict[str, torch.Tensor]:
    """{key without `prefix`: tensor} of every initializer of `path` whose name starts with `prefix` (e.g.
    ``"generator."``). Constants the exporter folded or renamed are not state-dict keys and are skipped."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds for a damaged file
        raise OnnxWeightsError(f"{path}: not a readable ONNX model ({str(exc).splitlines()[0][:120]})") from None
    arrays = {init.name: init for init in model.graph.initializer}
    weights = {name[len(prefix):]: torch.from_numpy(np.array(numpy_helper.to_array(init)))
               for name, init in arrays.items() if name.startswith(prefix)}
    # a Linear applied to a batch of vectors is exported as MatMul with its weight transposed into an unnamed
    # constant; the node's scope (/generator/blocks.0/mod1/from_style/MatMul) still names the module
    root = "/" + prefix.rstrip(".") + "/"
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.name.startswith(root) and node.input[1] in arrays \
                and not node.input[1].startswith(prefix):
            key = _scope_key(node.name[len(root):]) + ".weight"
            weights.setdefault(key, torch.from_numpy(np.array(numpy_helper.to_array(arrays[node.input[1]]))).T)
    if not weights:
        raise OnnxWeightsError(f"{path} holds no initializer named {prefix}*")
    return weights


def _scope_key(scope: str) -> str:
    """Module path of an exported node's scope: ``blocks.0/mod1/from_style/MatMul`` -> ``blocks.0.mod1.from_style``;
    a Sequential's child is scoped under its parent as ``style/style.0``, which is ``style.0``."""
    parts: list[str] = []
    for part in scope.split("/")[:-1]:
        if parts and part.startswith(parts[-1] + "."):
            parts[-1] = part
        else:
            parts.append(part)
    return ".".join(parts)
