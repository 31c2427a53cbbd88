"""Weights of an exported model read back from its ONNX file, under the state-dict names the export kept.

A pack holds only ONNX files, not the run's checkpoint. `torch.onnx.export` names each parameter it stores
as an initializer after its state-dict key (``generator.blocks.0.conv1.weight``), so a later run can start
from a bundled model's tensors (`init_from` a pack) once the run folder that trained it is gone.

Two things the export does are undone here: `--half-weights` stores a weight as ``NAME__float16`` behind a
Cast (read back as float32 under NAME), and constant folding merges an eval-mode BatchNorm into the
convolution before it (an unnamed ``onnx::Conv_N``); `module_weights` maps such a convolution back through
its node's scope and sets the BatchNorm after it to the identity, which computes the same in eval mode."""
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
    return _named_weights(_load(path), path, prefix)


def _load(path: str | Path):
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - onnx raises several kinds for a damaged file
        raise OnnxWeightsError(f"{path}: not a readable ONNX model ({str(exc).splitlines()[0][:120]})") from None


def _named_weights(model, path: str | Path, prefix: str) -> dict[str, torch.Tensor]:
    arrays = {init.name: init for init in model.graph.initializer}
    weights = {_state_key(name[len(prefix):]): _tensor(init)
               for name, init in arrays.items() if name.startswith(prefix)}
    # a Linear applied to a batch of vectors is exported as MatMul with its weight transposed into an unnamed
    # constant; the node's scope (/generator/blocks.0/mod1/from_style/MatMul) still names the module
    root = "/" + prefix.rstrip(".") + "/"
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.name.startswith(root) and node.input[1] in arrays \
                and not node.input[1].startswith(prefix):
            key = _scope_key(node.name[len(root):]) + ".weight"
            weights.setdefault(key, _tensor(arrays[node.input[1]]).T)
    if not weights:
        raise OnnxWeightsError(f"{path} holds no initializer named {prefix}*")
    return weights


HALF_SUFFIX = "__float16"      # trainer/half_weights.py's name for a weight stored as float16


def _state_key(name: str) -> str:
    return name[:-len(HALF_SUFFIX)] if name.endswith(HALF_SUFFIX) else name


def _tensor(init) -> torch.Tensor:
    from onnx import numpy_helper

    return torch.from_numpy(np.array(numpy_helper.to_array(init), dtype=np.float32, copy=True)) \
        if init.data_type in (1, 10) else torch.from_numpy(np.array(numpy_helper.to_array(init)))


def module_weights(path: str | Path, prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """onnx_state_dict(path, prefix) completed for `module` (the network exported under `prefix`): each
    convolution the exporter merged with the BatchNorm after it gets the merged weight and bias, and that
    BatchNorm the identity (weight 1, bias the merged bias when the convolution has none, mean 0, variance
    1 − eps). Only tensors whose name and shape fit `module` are returned; check the result's output."""
    model = _load(path)
    weights = _named_weights(model, path, prefix)
    arrays = {init.name: init for init in model.graph.initializer}
    modules = dict(module.named_modules())
    order = list(modules)
    root = "/" + prefix.rstrip(".") + "/"
    for node in model.graph.node:
        if node.op_type != "Conv" or not node.name.startswith(root) or len(node.input) < 2 \
                or node.input[1] not in arrays or node.input[1].startswith(prefix):
            continue
        key = _scope_key(node.name[len(root):])
        conv = modules.get(key)
        weight = _tensor(arrays[node.input[1]])
        if not isinstance(conv, torch.nn.Conv2d) or tuple(conv.weight.shape) != tuple(weight.shape):
            continue
        bias = _tensor(arrays[node.input[2]]) if len(node.input) > 2 and node.input[2] in arrays \
            else torch.zeros(weight.shape[0])
        weights[f"{key}.weight"] = weight
        if conv.bias is not None:
            weights[f"{key}.bias"] = bias
            continue
        bn = _batchnorm_after(key, order, modules)
        if bn is None:
            continue
        name, norm = bn
        weights.update({f"{name}.weight": torch.ones_like(norm.weight), f"{name}.bias": bias,
                        f"{name}.running_mean": torch.zeros_like(norm.running_mean),
                        f"{name}.running_var": torch.full_like(norm.running_var, 1.0 - norm.eps)})
    own = module.state_dict()
    return {k: v for k, v in weights.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}


def _batchnorm_after(key: str, order: list[str], modules: dict[str, torch.nn.Module]):
    """The BatchNorm2d registered next after convolution `key` under the same parent (a Sequential's next
    child, or bn1 after conv1), or None when another convolution comes first."""
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    for name in order[order.index(key) + 1:]:
        if parent and not name.startswith(parent + "."):
            return None
        mod = modules[name]
        if isinstance(mod, torch.nn.BatchNorm2d):
            return name, mod
        if isinstance(mod, torch.nn.Conv2d):
            return None
    return None


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
