"""ONNX export of a trained run into a model pack, with a PyTorch-vs-ONNX-Runtime parity check.

For every ExportSpec of the run's method: export with the TorchScript-based exporter (opset 17, batch as a
dynamic axis), run both PyTorch and ONNX Runtime (CPU) on random inputs and on real ones (a batch of the
config's val split when it is readable), and compare every output: float outputs within PARITY_TOLERANCE,
integer outputs exactly. Then every model of the pack is run on a few SynthFaces probe faces stored in
the pack (`trainer/probes.py`), and its key metric and output fingerprint are recorded for the engine to
re-check (faceeditor.engine.probes). The pack (ONNX files, a config copy per model, manifest.json) is assembled in a
temporary folder and moved into place only when every check passed, so a failed export leaves no pack and
an existing pack untouched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceeditor.core.domain import SYNTHFACES as SYNTHFACES_DOMAIN
from faceeditor.core.safe_read import load_json_file
from faceeditor.engine.manifest import MANIFEST_NAME, TASKS, Manifest, ManifestError, ModelEntry, TensorSpec
from trainer.checkpoint import describe_os_error, load_trained_method
from trainer.config import to_dict
from trainer.data.registry import build_dataset
from trainer.data.synthfaces.formats import rendered_layout
from trainer.half_weights import round_to_half, store_weights_as_half
from trainer.loop import METRICS_NAME
from trainer.methods.base import ExportSpec
from trainer.probes import attach_probes

OPSET = 17
PARITY_TOLERANCE = 1e-3
RANDOM_BATCH = 3          # differs from the example's batch, so the dynamic batch axis is exercised
REAL_BATCH = 4

_DTYPES = {
    torch.float32: "float32", torch.float16: "float16", torch.int64: "int64", torch.int32: "int32",
    torch.uint8: "uint8", torch.bool: "bool",
}


class ExportError(RuntimeError):
    """The run cannot be exported (no checkpoint, bad spec, existing pack, ...); one-line message."""


class ParityError(ExportError):
    """ONNX Runtime disagrees with PyTorch beyond the tolerance; nothing was written."""


@dataclass
class OutputParity:
    name: str
    integer: bool
    diffs: dict[str, float] = field(default_factory=dict)    # input kind ("random"/"real") -> max |diff|
    problems: list[str] = field(default_factory=list)
    tolerance: float = PARITY_TOLERANCE                       # on float outputs; integers are exact

    @property
    def ok(self) -> bool:
        if self.problems:
            return False
        limit = 0.0 if self.integer else self.tolerance
        return all(d <= limit for d in self.diffs.values())

    def describe(self) -> str:
        parts = [f"{k} {v:.3g}" for k, v in self.diffs.items()] + self.problems
        return f"{self.name}: " + ", ".join(parts)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dtype_name(dtype: torch.dtype, where: str) -> str:
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ExportError(f"{where}: dtype {dtype} cannot be described in a manifest "
                          f"(use one of {sorted(set(_DTYPES.values()))})") from None


def _as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    if torch.is_tensor(out):
        return (out,)
    if isinstance(out, (tuple, list)) and all(torch.is_tensor(o) for o in out):
        return tuple(out)
    raise ExportError(f"export modules must return a tensor or a tuple of tensors, got {type(out).__name__}")


def random_inputs(spec: ExportSpec, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs shaped like the example with another batch size: floats uniform in [-1, 1] (the range of
    images and attribute vectors), integers in the example's value range, booleans at random."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, ex in spec.example_inputs.items():
        shape = (batch, *ex.shape[1:])
        if ex.dtype == torch.bool:
            out[name] = torch.rand(shape, generator=g) < 0.5
        elif ex.dtype.is_floating_point:
            out[name] = (torch.rand(shape, generator=g) * 2 - 1).to(ex.dtype)
        else:
            lo, hi = int(ex.min()), int(ex.max())
            out[name] = torch.randint(lo, hi + 1, shape, generator=g).to(ex.dtype)
    return out


def real_inputs(spec: ExportSpec, batch: dict[str, Any] | None) -> dict[str, torch.Tensor] | None:
    """The spec's inputs from a real data batch (None when none of them can be taken from it)."""
    if batch is None:
        return None
    if spec.inputs_from_batch is not None:
        return {k: v.detach().cpu() for k, v in spec.inputs_from_batch(batch).items()}
    n = next(iter(batch.values())).shape[0]
    fill = random_inputs(spec, n, seed=1)
    taken = 0
    out = {}
    for name, ex in spec.example_inputs.items():
        v = batch.get(name)
        if torch.is_tensor(v) and tuple(v.shape[1:]) == tuple(ex.shape[1:]):
            out[name] = v.to(ex.dtype)
            taken += 1
        else:
            out[name] = fill[name]
    return out if taken else None


def _real_batch(cfg: Any) -> tuple[dict[str, Any] | None, str]:
    try:
        ds = build_dataset(cfg.data, "val")
        n = min(REAL_BATCH, len(ds))
        if n == 0:
            return None, "the val split is empty"
        return torch.utils.data.default_collate([ds[i] for i in range(n)]), ""
    except Exception as exc:  # noqa: BLE001 - data not present on the export machine is not fatal
        return None, f"val split of {cfg.data.name!r} at {cfg.data.root!r} not readable ({exc})"


def _export_onnx(spec: ExportSpec, path: Path) -> None:
    names_in = list(spec.example_inputs)
    dynamic = {n: {0: "batch"} for n in [*names_in, *spec.output_names]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # the legacy exporter is what we want
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            spec.module, tuple(spec.example_inputs.values()), str(path), input_names=names_in,
            output_names=list(spec.output_names), dynamic_axes=dynamic, opset_version=OPSET,
            do_constant_folding=True, dynamo=False,
        )


def run_onnx(path: Path, inputs: dict[str, torch.Tensor], output_names: list[str]) -> list[np.ndarray]:
    """The ONNX model's outputs on CPU (ONNX Runtime)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return session.run(output_names, {k: v.numpy() for k, v in inputs.items()})


def check_parity(spec: ExportSpec, path: Path, cases: dict[str, dict[str, torch.Tensor]],
                 tolerance: float = PARITY_TOLERANCE) -> list[OutputParity]:
    """Compare PyTorch and ONNX Runtime on each input case, output by output."""
    results = [OutputParity(n, integer=False, tolerance=tolerance) for n in spec.output_names]
    for kind, inputs in cases.items():
        with torch.no_grad():
            expected = _as_tuple(spec.module(*inputs.values()))
        if len(expected) != len(spec.output_names):
            raise ExportError(f"{spec.name}: the module returns {len(expected)} outputs but "
                              f"{len(spec.output_names)} output names are given")
        got = run_onnx(path, inputs, spec.output_names)
        for res, exp, onx in zip(results, expected, got, strict=True):
            exp_np = exp.detach().cpu().numpy()
            res.integer = not (exp.dtype.is_floating_point or exp.dtype.is_complex)
            if exp_np.shape != onx.shape:
                res.problems.append(f"{kind} shape {tuple(onx.shape)} != PyTorch {tuple(exp_np.shape)}")
                continue
            if res.integer and exp_np.dtype != onx.dtype:
                res.problems.append(f"{kind} dtype {onx.dtype} != PyTorch {exp_np.dtype}")
                continue
            if exp_np.size == 0:
                res.diffs[kind] = 0.0
                continue
            a, b = exp_np.astype(np.float64), onx.astype(np.float64)
            diff = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
            res.diffs[kind] = float(diff.max())
            if not np.isfinite(res.diffs[kind]):
                res.problems.append(f"{kind} non-finite values in one output only")
    return results


def _tensor_specs(names: list[str], tensors: tuple[torch.Tensor, ...] | list[torch.Tensor],
                  where: str) -> list[TensorSpec]:
    return [TensorSpec(name=n, shape=["batch", *[int(d) for d in t.shape[1:]]],
                       dtype=_dtype_name(t.dtype, f"{where}.{n}"))
            for n, t in zip(names, tensors, strict=True)]


def _check_spec(spec: ExportSpec) -> None:
    if not spec.name or any(c in spec.name for c in "/\\") or spec.name.startswith("."):
        raise ExportError(f"export spec name {spec.name!r} is not a valid file stem")
    if spec.task not in TASKS:
        raise ExportError(f"{spec.name}: task {spec.task!r} is not one of {TASKS}")
    if not spec.example_inputs or not spec.output_names:
        raise ExportError(f"{spec.name}: needs at least one input and one output name")
    for n, t in spec.example_inputs.items():
        if t.dim() < 1:
            raise ExportError(f"{spec.name}: input {n!r} needs a batch dimension")


def _read_metrics(run_dir: Path) -> dict[str, Any]:
    path = run_dir / METRICS_NAME
    if not path.is_file():
        return {}
    try:
        data = load_json_file(path, what="metrics file")
    except ValueError:          # unreadable metrics are left out of the manifest, not a failed export
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class ModelOrigin:
    """What every manifest entry of one export says of where its models come from: the method, the config
    (also saved as `<model>.config.json` next to the ONNX file), the data domain, the resolution a spec
    without one takes, and the metrics measured before export."""

    method: str
    config: dict[str, Any]
    data_domain: str
    resolution: int
    metrics: dict[str, Any] = field(default_factory=dict)


def existing_pack(out_dir: Path, append: bool) -> Manifest | None:
    """The pack that `append` adds to (None when there is none yet); ExportError for a folder that would
    be overwritten or is not a pack."""
    if append:
        if (out_dir / MANIFEST_NAME).is_file():
            try:
                return Manifest.load(out_dir)
            except ManifestError as exc:
                raise ExportError(f"--append: the existing pack cannot be read: {exc}") from None
        if out_dir.exists() and any(out_dir.iterdir()):
            raise ExportError(f"--append: {out_dir} is not a model pack (no {MANIFEST_NAME})")
    elif out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"{out_dir} already exists; use --append to add models to a pack, or choose "
                          f"a new folder")
    return None


def data_domain(data: Any) -> str:
    """What a run's pictures were, for the manifest's `data_domain`: its dataset's name, except that
    SynthFaces written in a real dataset's layout (the writer's marker at the root) is "synthfaces" —
    renders, not the photographs that layout usually holds."""
    return SYNTHFACES_DOMAIN if rendered_layout(data.root) else data.name


def export_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, name: str | None = None,
               append: bool = False, checkpoint: str | os.PathLike | None = None,
               default: bool = False, preview: bool = False, half_weights: bool = False,
               log: Any = print) -> Manifest:
    """Export a run's models into the pack folder `out_dir` (see the module docstring); returns the
    pack's manifest. `preview` adds the method's preview models (Method.preview_specs). Raises
    ParityError (nothing written) when ONNX Runtime disagrees with PyTorch. With `append` and `default`,
    the new models go before the pack's others, so that the engine (which takes a task's first model
    unless asked for another) and the app use them by default. `half_weights` stores the weights as
    float16 (trainer/half_weights.py)."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    existing_pack(out_dir, append)                    # refuse early, before the checkpoint is loaded
    method, state = load_trained_method(run_dir, "cpu", checkpoint)
    cfg = method.cfg
    specs = method.export_specs() + (method.preview_specs() if preview else [])
    if not specs:
        raise ExportError(f"method {cfg.method!r} exports no models")
    origin = ModelOrigin(method=cfg.method, config=to_dict(cfg), data_domain=data_domain(cfg.data),
                         resolution=cfg.data.resolution,
                         metrics={**_read_metrics(run_dir), "step": int(state["step"])})
    batch, why_no_real = _real_batch(cfg)
    if batch is None:
        log(f"note: parity on random inputs only: {why_no_real}")
    return write_pack(specs, out_dir, origin, name=name, append=append, default=default, batch=batch,
                      description=f"Exported by faceeditor-train from {cfg.method} run {run_dir.name}",
                      half_weights=half_weights, log=log)


def write_pack(specs: list[ExportSpec], out_dir: str | os.PathLike, origin: ModelOrigin, *,
               name: str | None = None, description: str = "", append: bool = False, default: bool = False,
               batch: dict[str, Any] | None = None, tolerance: float = PARITY_TOLERANCE,
               half_weights: bool = False, log: Any = print) -> Manifest:
    """Export `specs` into the pack folder `out_dir`, each parity-checked on random inputs (and on `batch`,
    a real data batch, when given) within `tolerance`, with probes; the pack is assembled in a temporary
    folder and moved into place only when every check passed. Used by export_run and the checkpoint
    importers (trainer/importers). With `half_weights` each module's weights are rounded to float16 and
    stored so (trainer/half_weights.py); the parity check then reads the rounded module."""
    out_dir = Path(out_dir)
    existing = existing_pack(out_dir, append)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ExportError(f"method {origin.method!r} exports duplicate model names {names}")
    for s in specs:
        _check_spec(s)
        s.module.eval()

    untouched = (f"the pack at {out_dir} is left as it was" if out_dir.exists()
                 else f"nothing was written to {out_dir}")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.export-"))
    except OSError as exc:
        raise ExportError(f"cannot write the pack: {describe_os_error(exc)}; {untouched}") from None
    try:
        entries: list[ModelEntry] = []
        failures: list[str] = []
        for spec in specs:
            onnx_path = tmp / f"{spec.name}.onnx"
            log(f"exporting {spec.name} ({spec.task}) ...")
            half_change = _round_weights(spec) if half_weights else None
            try:
                _export_onnx(spec, onnx_path)
                if half_weights:
                    before, after = store_weights_as_half(onnx_path)
                    moved = ", ".join(f"{n} {v:.2e}" for n, v in half_change.items())
                    log(f"  weights stored as float16: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB "
                        f"(what the rounding changes, per output: {moved})")
            except OSError as exc:
                raise ExportError(f"{spec.name}: the ONNX file could not be written "
                                  f"({describe_os_error(exc)}); {untouched}") from None
            except Exception as exc:  # noqa: BLE001 - exporter failures are reported per model
                raise ExportError(f"{spec.name}: ONNX export failed: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
            cases = {"random": random_inputs(spec, RANDOM_BATCH)}
            real = real_inputs(spec, batch)
            if real is not None:
                cases["real"] = real
            parity = check_parity(spec, onnx_path, cases, tolerance)
            report = "; ".join(p.describe() for p in parity)
            if not all(p.ok for p in parity):
                failures.append(f"{spec.name}: {report}")
                continue
            log(f"  parity ok (max |PyTorch - ONNX|: {report})")
            with torch.no_grad():
                outputs = _as_tuple(spec.module(*spec.example_inputs.values()))
            (tmp / f"{spec.name}.config.json").write_text(json.dumps(origin.config, indent=2) + "\n",
                                                          encoding="utf-8")
            entries.append(ModelEntry(
                name=spec.name, task=spec.task, file=onnx_path.name, sha256=sha256_file(onnx_path),
                inputs=_tensor_specs(list(spec.example_inputs), list(spec.example_inputs.values()),
                                     f"{spec.name}.inputs"),
                outputs=_tensor_specs(spec.output_names, outputs, f"{spec.name}.outputs"),
                method=origin.method, backbone=spec.backbone,
                resolution=spec.resolution or origin.resolution, normalization=spec.normalization,
                classes=list(spec.classes), attributes=list(spec.attributes),
                expressions=list(spec.expressions), data_domain=origin.data_domain, config=origin.config,
                metrics={**origin.metrics, "export_parity_max_abs_diff": {p.name: p.diffs for p in parity},
                         **({"half_weights_max_abs_change": half_change} if half_change is not None else {})},
                extra=dict(spec.extra), preview_of=spec.preview_of,
            ))
        if failures:
            raise ParityError(
                f"parity check failed (tolerance {tolerance:g} on floats, exact on integers; "
                f"max |PyTorch - ONNX Runtime| per output): " + " | ".join(failures) +
                f"; no pack written to {out_dir}")

        models = entries
        if existing is not None:
            new_names = {e.name for e in entries}
            kept = [m for m in existing.models if m.name not in new_names]
            for m in kept:
                for f in (m.file, f"{m.name}.config.json"):
                    src = out_dir / f
                    if src.is_file():
                        (tmp / f).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(src, tmp / f)
            models = entries + kept if default else kept + entries
        manifest = Manifest(
            name=name or (existing.name if existing else out_dir.name), models=models,
            version=existing.version if existing else "0.1.0",
            description=existing.description if existing else description,
        )
        # Probes (after the parity check, from the exported graphs): every model of the pack, kept ones
        # included, against one new probe file, so the engine can tell the graphs do what they did here.
        attach_probes(tmp, manifest, log=log)
        manifest.save(tmp)
        Manifest.load(tmp)                                     # what we wrote must read back
        for p in tmp.iterdir():
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
        _swap_into_place(tmp, out_dir)
    except OSError as exc:                 # a full disk or similar while assembling or moving the pack
        shutil.rmtree(tmp, ignore_errors=True)
        where = f" ({exc.filename})" if exc.filename else ""
        raise ExportError(f"cannot write the pack: {describe_os_error(exc)}{where}; {untouched}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _round_weights(spec: ExportSpec) -> dict[str, float]:
    """Round spec.module's weights to float16 precision in place; per output, what that changes on the
    spec's random inputs: the largest absolute change of a float output, the share of changed values of an
    integer one (class labels)."""
    inputs = random_inputs(spec, RANDOM_BATCH)
    with torch.no_grad():
        before = _as_tuple(spec.module(*inputs.values()))
        round_to_half(spec.module)
        after = _as_tuple(spec.module(*inputs.values()))
    return {n: float((a.double() - b.double()).abs().max()) if a.is_floating_point() else float((a != b).double().mean())
            for n, a, b in zip(spec.output_names, after, before, strict=True)}


def export_bare(run_dir: str | os.PathLike, out_dir: str | os.PathLike, *, preview: bool = True,
                checkpoint: str | os.PathLike | None = None) -> dict[str, Path]:
    """A run's models (and its preview models when `preview`) as bare ONNX files `<name>.onnx` in out_dir:
    no parity check, no probes, no pack (for benchmarks/edit_latency.py). Model name -> path."""
    method, _ = load_trained_method(run_dir, "cpu", checkpoint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for spec in method.export_specs() + (method.preview_specs() if preview else []):
        _check_spec(spec)
        spec.module.eval()
        paths[spec.name] = out_dir / f"{spec.name}.onnx"
        _export_onnx(spec, paths[spec.name])
    return paths


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Replace out_dir by tmp: two renames in the same folder, the old pack kept until the new one is in."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
