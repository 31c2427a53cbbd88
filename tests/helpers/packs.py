"""Build real model packs (ONNX files + manifest with correct sha256) from tiny PyTorch networks.

    pack = make_test_pack(tmp_path)                 # one tiny StarGAN editor ("G"), 13 attributes, 32x32
    pack = make_test_pack(tmp_path, tasks=ALL_TASKS) # one tiny model per task
    pack = make_test_pack(tmp_path, tasks=("flip_attributes",))   # SG-GAN's interface: TinyFlipper "G_flip"
    edit_manifest(pack.path, lambda m: m["models"][0]["inputs"][0].update(name="input"))

Export follows the conventions of faceeditor.engine.requests: TorchScript exporter (dynamo=False, no
onnxscript needed), opset 17, batch dim 0 dynamic ("batch") on every input and output.
"""
from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS, PARSE_CLASSES
from faceeditor.engine.manifest import MANIFEST_NAME, Manifest, ModelEntry, TensorSpec
from faceeditor.engine.validate import file_sha256
from trainer.nets.stargan import StarGANGenerator

ALL_TASKS = ("parse", "edit_attributes", "edit_expression", "synthesize", "classify_attributes",
             "classify_expression")


def export_onnx(module: nn.Module, inputs: dict[str, torch.Tensor], output_names: list[str],
                path: Path, dynamic_batch: bool = True) -> None:
    """Export with a dynamic batch dim on every named input and output (or the example's batch size)."""
    module.eval()
    dynamic = {name: {0: "batch"} for name in [*inputs, *output_names]} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(inputs.values()), str(path), input_names=list(inputs),
                          output_names=output_names, dynamic_axes=dynamic, opset_version=17, dynamo=False)


def _specs(names: list[str], tensors, dynamic_batch: bool = True) -> list[TensorSpec]:
    dtypes = {torch.float32: "float32", torch.int64: "int64"}
    return [TensorSpec(n, ["batch" if dynamic_batch else t.shape[0], *t.shape[1:]], dtypes[t.dtype])
            for n, t in zip(names, tensors, strict=True)]


def export_model(pack_dir: Path, name: str, task: str, module: nn.Module, inputs: dict[str, torch.Tensor],
                 output_names: list[str], dynamic_batch: bool = True, **entry_fields) -> ModelEntry:
    """Export `module` as `<name>.onnx` into pack_dir and describe it as a manifest entry."""
    pack_dir.mkdir(parents=True, exist_ok=True)
    path = pack_dir / f"{name}.onnx"
    export_onnx(module, inputs, output_names, path, dynamic_batch)
    with torch.no_grad():
        outs = module(*inputs.values())
    outs = outs if isinstance(outs, tuple) else (outs,)
    return ModelEntry(name=name, task=task, file=path.name, sha256=file_sha256(path),
                      inputs=_specs(list(inputs), inputs.values(), dynamic_batch),
                      outputs=_specs(output_names, outs, dynamic_batch),
                      **entry_fields)


# --- tiny networks for the tasks that StarGAN does not cover -----------------------------------


class TinyParser(nn.Module):
    def __init__(self, n_classes: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.Conv2d(8, n_classes, 3, 1, 1))

    def forward(self, image):
        probs = torch.softmax(self.net(image), dim=1)
        return probs, probs.argmax(dim=1)


class TinyClassifier(nn.Module):
    def __init__(self, n_out: int, n_features: int = 8):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, n_features, 4, 2, 1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(n_features, n_out)

    def forward(self, image):
        f = self.features(image)
        return self.head(f), f


class TinySynthesizer(nn.Module):
    """G(mask, z, attrs): the condition vectors tiled onto the mask, a StarGAN G does the rest."""

    def __init__(self, n_classes: int, nz: int, n_attrs: int):
        super().__init__()
        self.g = StarGANGenerator(n_attrs=nz + n_attrs, in_channels=n_classes, base_width=8, n_res=1)

    def forward(self, mask, z, attrs):
        return self.g(mask, torch.cat([z, attrs], dim=1))


class TinyFlipper(nn.Module):
    """The flip_attributes interface (SG-GAN) with heads tests can tell apart: head (a, v) is
    0.5 * image + FLIP_COLOURS[a, v] (a distinct flat colour per head, the face showing through), and
    attr_probs = sigmoid(mean(image) + (+3 for even a, -3 for odd a)): even attributes read as present
    (their flip removes them), odd ones absent, for any image."""

    def __init__(self, n_attrs: int):
        super().__init__()
        self.register_buffer("colours", flip_colours(n_attrs))
        bias = torch.tensor([3.0 if a % 2 == 0 else -3.0 for a in range(n_attrs)])
        self.register_buffer("bias", bias)

    def forward(self, image):
        flips = 0.5 * image[:, None, None] + self.colours[None, :, :, :, None, None]   # (N, A, 2, 3, H, W)
        probs = torch.sigmoid(image.mean(dim=(1, 2, 3))[:, None] + self.bias[None])
        return flips, probs


def flip_colours(n_attrs: int) -> torch.Tensor:
    """(A, 2, 3) in [-0.5, 0.5]: a distinct colour per head (a, v)."""
    g = torch.Generator().manual_seed(26)
    return torch.rand(n_attrs, 2, 3, generator=g) - 0.5


@dataclass
class TestPack:
    path: Path
    manifest: Manifest
    modules: dict[str, nn.Module] = field(default_factory=dict)   # model name -> the exported network

    __test__ = False  # not a pytest test class


def make_test_pack(root: Path, name: str = "testpack", *, tasks: tuple[str, ...] = ("edit_attributes",),
                   resolution: int = 32, seed: int = 0, edit_mask_input: bool = False,
                   probes: bool = False) -> TestPack:
    """A valid pack folder `root/name` with one tiny model per task (model names below); with `probes`,
    also its probe file and figures, as an export records them (trainer/probes.py)."""
    torch.manual_seed(seed)
    pack_dir = Path(root) / name
    res, nc, na, ne, nz = resolution, len(PARSE_CLASSES), len(ATTRIBUTES), len(EXPRESSIONS), 4
    image = torch.rand(2, 3, res, res) * 2 - 1
    onehot = nn.functional.one_hot(torch.randint(0, nc, (2, res, res)), nc).permute(0, 3, 1, 2).float()
    common = dict(resolution=res, classes=list(PARSE_CLASSES), attributes=list(ATTRIBUTES),
                  expressions=list(EXPRESSIONS), data_domain="none", method="test")
    entries, modules = [], {}
    for task in tasks:
        if task == "parse":
            mname, module, inputs, outs = "parser", TinyParser(nc), {"image": image}, ["probs", "labels"]
        elif task == "edit_attributes":
            mname, outs = "G", ["edited"]
            if edit_mask_input:
                module = StarGANGenerator(n_attrs=na, in_channels=3 + nc, base_width=8, n_res=1)
                module = _ConcatMask(module)
                inputs = {"image": image, "y_diff": torch.randn(2, na), "mask": onehot}
            else:
                module = StarGANGenerator(n_attrs=na, base_width=8, n_res=1)
                inputs = {"image": image, "y_diff": torch.randn(2, na)}
        elif task == "edit_expression":
            mname, outs = "G_expr", ["edited"]
            module = StarGANGenerator(n_attrs=ne, base_width=8, n_res=1)
            inputs = {"image": image, "expression": torch.eye(ne)[:2]}
        elif task == "synthesize":
            mname, outs = "G_synth", ["image"]
            module = TinySynthesizer(nc, nz, na)
            inputs = {"mask": onehot, "z": torch.randn(2, nz), "attrs": torch.randn(2, na)}
        elif task == "flip_attributes":
            mname, module, inputs, outs = "G_flip", TinyFlipper(na), {"image": image}, ["flips", "attr_probs"]
        elif task == "classify_attributes":
            mname, module, inputs, outs = "attr_clf", TinyClassifier(na), {"image": image}, ["logits", "features"]
        elif task == "classify_expression":
            mname, module, inputs, outs = "expr_clf", TinyClassifier(ne), {"image": image}, ["logits", "features"]
        else:
            raise ValueError(f"unknown task {task!r}")
        module.eval()
        entries.append(export_model(pack_dir, mname, task, module, inputs, outs, backbone="tiny", **common))
        modules[mname] = module
    manifest = Manifest(name=name, models=entries, description="tiny random-weight networks for tests")
    if probes:
        from trainer.probes import attach_probes

        attach_probes(pack_dir, manifest, log=lambda *_: None)
    manifest.save(pack_dir)
    return TestPack(pack_dir, manifest, modules)


class _ConcatMask(nn.Module):
    """An editor that reads the one-hot mask as extra input channels (like MagGAN's mask-guided G)."""

    def __init__(self, g: StarGANGenerator):
        super().__init__()
        self.g = g

    def forward(self, image, y_diff, mask):
        return self.g(torch.cat([image, mask], dim=1), y_diff)


def copy_pack(pack: TestPack | Path, dest_root: Path, name: str | None = None) -> Path:
    """Copy a pack folder (e.g. one built once per test session) to dest_root/name."""
    src = pack.path if isinstance(pack, TestPack) else Path(pack)
    dest = Path(dest_root) / (name or src.name)
    shutil.copytree(src, dest)
    return dest


def edit_manifest(pack_dir: Path, change: Callable[[dict], object]) -> None:
    """Apply `change` to the raw manifest JSON (a dict) in place, bypassing the dataclasses, so tests can
    write manifests the loader must refuse."""
    path = Path(pack_dir) / MANIFEST_NAME
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))
