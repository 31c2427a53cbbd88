"""What every checkpoint importer shares: a weights-only load, the key/shape check against the network in
the reference's layout, and the export of the loaded network to a pack.

Nothing is unpickled: torch.load(weights_only=True) only rebuilds tensors and plain containers, and a
file holding any other Python object is refused with one line naming it. A file whose state dict is not
exactly the reference network's (missing or unexpected keys, other shapes) is refused naming the first
mismatches, before anything is exported. The running-statistic counters `num_batches_tracked` may be
absent: PyTorch before 0.4.1, which the StarGAN and AttGAN projects were written for, did not save them.
"""
from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from faceeditor.engine.manifest import Manifest
from trainer.config import to_dict
from trainer.export import ExportError, ModelOrigin, existing_pack, sha256_file, write_pack
from trainer.methods.base import ExportSpec

PARITY_TOLERANCE = 1e-4          # ONNX Runtime vs PyTorch on the imported network's outputs
OPTIONAL_SUFFIX = ".num_batches_tracked"
SHOWN = 3                        # mismatches named per kind of problem


class CheckpointImportError(ExportError):
    """A checkpoint that cannot be imported; the message is one line naming the file and the problem."""


@dataclass
class ImportConfig:
    """Saved as JSON next to the exported model (and in its manifest entry): where the weights came from
    and everything the import decided."""

    kind: str
    reference: str                     # the reference project, e.g. "yunjey/stargan"
    reference_url: str
    source_file: str                   # the checkpoint's file name as given
    source_sha256: str
    licence: str                       # as the user states it (--licence)
    resolution: int
    network: dict[str, Any] = field(default_factory=dict)      # the network's constructor arguments
    attributes: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    condition: dict[str, Any] = field(default_factory=dict)    # y_diff -> the reference's condition
    preprocessing: dict[str, Any] = field(default_factory=dict)
    data_domain: str = ""


@dataclass
class ImportOptions:
    """The command line's choices; None = the kind's default."""

    licence: str
    resolution: int | None = None
    attributes: list[str] | None = None
    data_domain: str | None = None
    name: str | None = None
    append: bool = False


def load_weights(path: str | os.PathLike) -> Any:
    """torch.load(weights_only=True) of `path`, every failure as one CheckpointImportError line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointImportError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None and "Unsupported global" not in str(exc):   # not a pickle at all (a text file, ...)
            detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
            raise CheckpointImportError(f"{path}: not a PyTorch checkpoint ("
                                        f"{detail.group(1).strip() if detail else 'unreadable pickle'})") from None
        what = f" ({found.group(1)})" if found else ""
        raise CheckpointImportError(
            f"{path}: holds pickled Python objects{what}, which a weights-only load refuses; save the "
            f"state dict instead (torch.save(net.state_dict(), path)) where it was made") from None
    except OSError as exc:
        raise CheckpointImportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError/ValueError/EOFError for non-checkpoints
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointImportError(f"{path}: not a PyTorch checkpoint ({first})") from None


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(k, str) for k in obj) and any(
        torch.is_tensor(v) for v in obj.values())


def find_state_dict(obj: Any, path: str | os.PathLike, containers: tuple[str, ...]) -> dict[str, Any]:
    """The network's state dict inside what the reference saved: the object itself, or the entry of the
    first of `containers` it has (e.g. AttGAN's {"G": ..., "D": ...}, STGAN-pytorch's {"state_dict": ...}).
    A "module." prefix (nn.DataParallel) is removed."""
    sd = None
    if isinstance(obj, Mapping):
        for key in containers:
            if key in obj and _is_state_dict(obj[key]):
                sd = obj[key]
                break
    if sd is None and _is_state_dict(obj):
        sd = obj
    if sd is None:
        keys = sorted(map(str, obj))[:8] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointImportError(
            f"{path}: no state dict found (looked at the file itself and at {list(containers)}; found {keys})")
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return dict(sd)


def _shape(t: Any) -> str:
    return str(tuple(t.shape)) if torch.is_tensor(t) else type(t).__name__


def _some(names: list[str]) -> str:
    more = f" (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def mismatches(expected: Mapping[str, torch.Size], got: Mapping[str, Any]) -> list[str]:
    """Every way `got` differs from the expected key -> shape list (in the expected order), each kind of
    problem naming its first few keys; empty when the state dict loads as it is."""
    missing = [k for k in expected if k not in got and not k.endswith(OPTIONAL_SUFFIX)]
    unexpected = [k for k in got if k not in expected]
    shapes = [f"{k} {_shape(got[k])} instead of {tuple(v)}" for k, v in expected.items()
              if k in got and (not torch.is_tensor(got[k]) or tuple(got[k].shape) != tuple(v))]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_some(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_some(unexpected)}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es): {_some(shapes)}")
    return problems


def expected_shapes(build: Any, **kwargs: Any) -> dict[str, torch.Size]:
    """The key -> shape list of a network, built on the meta device (no memory, no initialisation)."""
    with torch.device("meta"):
        net = build(**kwargs)
    return {k: v.shape for k, v in net.state_dict().items()}


class Importer:
    """One kind of checkpoint. A subclass says where the reference keeps the weights, how to build the
    network for a state dict, and what the pack's model computes around it (`export_spec`)."""

    name: ClassVar[str] = ""
    reference: ClassVar[str] = ""          # owner/project of the reference code
    reference_url: ClassVar[str] = ""
    containers: ClassVar[tuple[str, ...]] = ()
    default_resolution: ClassVar[int] = 128
    resolution_multiple: ClassVar[int] = 4
    data_domain: ClassVar[str] = "celeba"

    # --- per kind -------------------------------------------------------------------------------
    def build(self, **kwargs: Any) -> nn.Module:
        raise NotImplementedError

    def network_kwargs(self, sd: Mapping[str, Any], opts: ImportOptions) -> dict[str, Any]:
        """The constructor arguments the state dict implies (its variant); the default ones when it
        implies none, so the key check names what differs from the reference's default network."""
        return {}

    def configure(self, cfg: ImportConfig, kwargs: dict[str, Any], opts: ImportOptions) -> None:
        """Fill the kind's lists (attributes or classes), condition and preprocessing into `cfg`."""

    def export_spec(self, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------
    def load(self, checkpoint: str | os.PathLike, opts: ImportOptions) -> tuple[nn.Module, ImportConfig]:
        """The reference network with the checkpoint's weights (eval mode) and the import's config;
        CheckpointImportError for a file that is not exactly the reference's."""
        path = Path(checkpoint)
        resolution = opts.resolution or self.default_resolution
        if resolution <= 0 or resolution % self.resolution_multiple:
            raise CheckpointImportError(f"--resolution {resolution}: the {self.name} network needs a "
                                        f"positive multiple of {self.resolution_multiple}")
        sd = find_state_dict(load_weights(path), path, self.containers)
        kwargs = self.network_kwargs(sd, opts)
        problems = mismatches(expected_shapes(self.build, **kwargs), sd)
        if problems:
            raise CheckpointImportError(
                f"{path}: does not match the {self.reference} {self.name} network: " + "; ".join(problems))
        net = self.build(**kwargs)
        net.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)   # strict above, less the counters
        cfg = ImportConfig(kind=self.name, reference=self.reference, reference_url=self.reference_url,
                           source_file=path.name, source_sha256=sha256_file(path), licence=opts.licence,
                           resolution=resolution, network=kwargs,
                           data_domain=opts.data_domain or self.data_domain)
        self.configure(cfg, kwargs, opts)
        return net.float().eval(), cfg

    def import_checkpoint(self, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                          opts: ImportOptions, log: Any = print) -> Manifest:
        """Load, export with the parity check (PARITY_TOLERANCE) and probes, write the pack."""
        existing_pack(Path(out_dir), opts.append)          # a taken folder is refused before the big load
        net, cfg = self.load(checkpoint, opts)
        spec = self.export_spec(net, cfg)
        spec.extra = {**spec.extra, "source": {k: getattr(cfg, k) for k in (
            "reference", "reference_url", "source_file", "source_sha256", "licence")},
            "condition": cfg.condition, "preprocessing": cfg.preprocessing}
        origin = ModelOrigin(method=f"import:{self.name}", config=to_dict(cfg), data_domain=cfg.data_domain,
                             resolution=cfg.resolution)
        with warnings.catch_warnings():
            # StarGAN's instance norms use each image's statistics on purpose (trainer/nets/stargan_official.py)
            warnings.filterwarnings("ignore", message="ONNX export mode is set to TrainingMode.EVAL")
            return write_pack([spec], out_dir, origin, name=opts.name, append=opts.append,
                              tolerance=PARITY_TOLERANCE, log=log,
                              description=f"Imported from {cfg.source_file} ({self.reference}; licence: {cfg.licence})")


def attribute_list(n: int, default: list[str], opts: ImportOptions, kind: str) -> list[str]:
    """The attribute names of a checkpoint conditioned on n attributes: --attributes, or the reference's
    default list when it has n names."""
    names = list(opts.attributes) if opts.attributes else list(default)
    if len(names) != n:
        given = "--attributes names" if opts.attributes else f"the reference's default {kind} list has"
        raise CheckpointImportError(f"the checkpoint conditions on {n} attributes but {given} {len(names)} "
                                    f"({', '.join(names)}); give the {n} names in training order with --attributes")
    if len(set(names)) != n:
        raise CheckpointImportError(f"--attributes: duplicate names in {names}")
    return names


class ConditionedEditor(nn.Module):
    """What an imported editor's pack runs: (image, y_diff) -> edited = G(image, offset + scale * y_diff),
    the engine's difference vector turned into the condition the reference generator was trained on."""

    def __init__(self, g: nn.Module, offset: float, scale: float):
        super().__init__()
        self.g, self.offset, self.scale = g, float(offset), float(scale)

    def forward(self, image: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        return self.g(image, self.offset + self.scale * y_diff)


def editor_spec(kind: str, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
    """The edit_attributes ExportSpec of an imported generator (cfg.condition holds offset and scale)."""
    res = cfg.resolution
    return ExportSpec(
        name=kind, task="edit_attributes",
        module=ConditionedEditor(net, cfg.condition["offset"], cfg.condition["scale"]).eval(),
        example_inputs={"image": torch.rand(1, 3, res, res) * 2 - 1,
                        "y_diff": torch.zeros(1, len(cfg.attributes))},
        output_names=["edited"], backbone=f"{kind}_official", resolution=res, attributes=list(cfg.attributes))
