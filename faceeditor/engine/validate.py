"""Check a model pack against its files and ONNX graphs before anything runs it.

Order matters: the manifest is parsed, every file path is confined to the pack, every file must exist and
match its sha256 (streamed) — only then is any ONNX Runtime session built, to read the graphs' inputs and
outputs and compare them with the manifest and with the task conventions of faceeditor.engine.requests.
The `onnx` package is not needed (it is a `train` extra); graphs are read through onnxruntime.

Every error names the model and the field, e.g.
"models[parser].inputs[0].name: manifest says 'image', ONNX graph has 'input'".
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from faceeditor.core.safe_read import ReadError, open_regular_file
from faceeditor.engine.manifest import MANIFEST_NAME, Manifest, ManifestError, ModelEntry, TensorSpec
from faceeditor.engine.requests import NORMALIZATIONS, TASK_INPUTS, TASK_OUTPUTS

# onnxruntime's type strings for the manifest dtypes.
ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
_CHUNK = 1 << 20
MODEL_FILE_LIMIT = 8 << 30    # bytes; ONNX protobufs stop at 2 GiB, a pack's file is far below this


class PackError(Exception):
    """A pack that must not be used. `errors` lists every problem found, each naming its field."""

    def __init__(self, pack_dir: str | os.PathLike, errors: list[str]):
        self.pack_dir = Path(pack_dir)
        self.errors = list(errors)
        super().__init__(f"{self.pack_dir}: " + "; ".join(self.errors))


@dataclass(frozen=True)
class GraphTensor:
    """An input or output as onnxruntime reports it. Dims are ints, names (symbolic) or None (unknown)."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str          # manifest dtype name, or the raw ORT type string if it has none


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open_regular_file(path, MODEL_FILE_LIMIT, "model file") as fh:   # never blocks on a named pipe
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def model_path(pack_dir: str | os.PathLike, entry: ModelEntry) -> Path:
    """The model file inside the pack; raises PackError if the path (after symlinks) leaves the pack."""
    root = Path(pack_dir).resolve()
    path = (root / entry.file).resolve()
    if not path.is_relative_to(root):
        raise PackError(pack_dir, [f"models[{entry.name}].file: {entry.file!r} points outside the pack"])
    return path


def check_files(pack_dir: str | os.PathLike, manifest: Manifest) -> list[str]:
    """Path confinement, existence and sha256 of every model file."""
    errors = []
    for entry in manifest.models:
        where = f"models[{entry.name}].file"
        try:
            path = model_path(pack_dir, entry)
        except PackError as exc:
            errors += exc.errors
            continue
        if not path.is_file():
            errors.append(f"{where}: {entry.file!r} is missing from the pack")
            continue
        try:
            digest = file_sha256(path)
        except ReadError as exc:
            errors.append(f"{where}: cannot read {entry.file!r} ({exc.reason})")
            continue
        except OSError as exc:
            errors.append(f"{where}: cannot read {entry.file!r} ({exc.strerror or exc})")
            continue
        if digest != entry.sha256:
            errors.append(f"models[{entry.name}].sha256: manifest says {entry.sha256[:12]}…, "
                          f"{entry.file!r} has {digest[:12]}… (file changed or tampered with)")
    return errors


def read_graph(path: str | os.PathLike) -> tuple[list[GraphTensor], list[GraphTensor]]:
    """Inputs and outputs of an ONNX file, through a CPU session without graph optimisation."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

    def convert(args) -> list[GraphTensor]:
        return [GraphTensor(a.name, tuple(a.shape), ORT_TYPES.get(a.type, a.type)) for a in args]

    return convert(sess.get_inputs()), convert(sess.get_outputs())


def compare_tensors(where: str, declared: list[TensorSpec], actual: list[GraphTensor]) -> list[str]:
    """Manifest tensor list vs graph tensor list, position by position.

    A fixed manifest dim must equal the graph's dim (or the graph's may be dynamic); a dynamic (string)
    manifest dim must be dynamic in the graph too, else the engine would feed sizes the graph refuses.
    """
    errors = []
    if len(declared) != len(actual):
        errors.append(f"{where}: manifest lists {len(declared)} ({[t.name for t in declared]}), "
                      f"ONNX graph has {len(actual)} ({[t.name for t in actual]})")
    for i, (spec, graph) in enumerate(zip(declared, actual, strict=False)):
        at = f"{where}[{i}]"
        if spec.name != graph.name:
            errors.append(f"{at}.name: manifest says {spec.name!r}, ONNX graph has {graph.name!r}")
        if spec.dtype != graph.dtype:
            errors.append(f"{at}.dtype: manifest says {spec.dtype!r}, ONNX graph has {graph.dtype!r}")
        if len(spec.shape) != len(graph.shape):
            errors.append(f"{at}.shape: manifest says rank {len(spec.shape)} {spec.shape}, "
                          f"ONNX graph has rank {len(graph.shape)} {list(graph.shape)}")
            continue
        for d, (want, have) in enumerate(zip(spec.shape, graph.shape, strict=True)):
            graph_fixed = isinstance(have, int) and have > 0
            if isinstance(want, int) and graph_fixed and want != have:
                errors.append(f"{at}.shape[{d}]: manifest says {want}, ONNX graph has {have}")
            elif isinstance(want, str) and graph_fixed:
                errors.append(f"{at}.shape[{d}]: manifest says dynamic {want!r}, ONNX graph fixes it to {have}")
    return errors


def check_conventions(entry: ModelEntry) -> list[str]:
    """The manifest entry against its task's tensor conventions and its own lists (no files read)."""
    errors = []
    where = f"models[{entry.name}]"
    if entry.normalization not in NORMALIZATIONS:
        errors.append(f"{where}.normalization: expected one of {sorted(NORMALIZATIONS)}, "
                      f"found {entry.normalization!r}")
    for kind, rules, specs in (("inputs", TASK_INPUTS[entry.task], entry.inputs),
                               ("outputs", TASK_OUTPUTS[entry.task], entry.outputs)):
        by_name = {s.name: (i, s) for i, s in enumerate(specs)}
        for rule in rules:
            if rule.name not in by_name:
                if rule.required:
                    errors.append(f"{where}.{kind}: task {entry.task!r} needs a tensor named {rule.name!r} "
                                  f"(found {[s.name for s in specs]})")
                continue
            i, spec = by_name[rule.name]
            if len(spec.shape) != rule.rank:
                errors.append(f"{where}.{kind}[{i}].shape: {rule.name!r} of task {entry.task!r} must have "
                              f"rank {rule.rank}, manifest says {spec.shape}")
            if spec.dtype != rule.dtype:
                errors.append(f"{where}.{kind}[{i}].dtype: {rule.name!r} of task {entry.task!r} must be "
                              f"{rule.dtype}, manifest says {spec.dtype!r}")
        if kind == "inputs":
            known = {r.name for r in rules}
            for i, spec in enumerate(specs):
                if spec.name not in known:
                    errors.append(f"{where}.inputs[{i}].name: {spec.name!r} is not an input of task "
                                  f"{entry.task!r} (expected {sorted(known)})")
    if errors:
        return errors
    errors += _check_sizes(entry)
    return errors


def _dim(spec: TensorSpec, d: int) -> int | None:
    value = spec.shape[d]
    return value if isinstance(value, int) else None


def _check_sizes(entry: ModelEntry) -> list[str]:
    """Channel counts against the manifest's lists, and a known resolution for image-like inputs."""
    errors = []
    where = f"models[{entry.name}]"
    inputs = {s.name: (i, s) for i, s in enumerate(entry.inputs)}
    outputs = {s.name: (i, s) for i, s in enumerate(entry.outputs)}

    def expect(kind: str, table: dict, name: str, d: int, want: int | None, what: str) -> None:
        if name not in table or want is None:
            return
        i, spec = table[name]
        have = _dim(spec, d)
        if have is None:
            errors.append(f"{where}.{kind}[{i}].shape[{d}]: {name!r} must have a fixed size ({what} = {want})")
        elif have != want:
            errors.append(f"{where}.{kind}[{i}].shape[{d}]: {have}, but {what} is {want}")

    n_classes = len(entry.classes) or None
    n_attrs = len(entry.attributes) or None
    n_expr = len(entry.expressions) or None
    expect("inputs", inputs, "image", 1, 3, "RGB channels")
    expect("outputs", outputs, "image", 1, 3, "RGB channels")
    expect("outputs", outputs, "edited", 1, 3, "RGB channels")
    expect("inputs", inputs, "y_diff", 1, n_attrs, "len(attributes)")
    expect("inputs", inputs, "attrs", 1, n_attrs, "len(attributes)")
    expect("inputs", inputs, "expression", 1, n_expr, "len(expressions)")
    expect("inputs", inputs, "mask", 1, n_classes, "len(classes)")
    expect("outputs", outputs, "probs", 1, n_classes, "len(classes)")
    expect("outputs", outputs, "mask_probs", 1, n_classes, "len(classes)")
    if entry.task == "classify_attributes":
        expect("outputs", outputs, "logits", 1, n_attrs, "len(attributes)")
    if entry.task == "flip_attributes":
        # SG-GAN: every attribute's two value heads from one pass, (N, A, 2, 3, H, W), and the face's
        # reading by the model's own classifier, (N, A) = P(attribute present)
        if "flips" not in outputs:
            errors.append(f"{where}.outputs: task 'flip_attributes' needs an output named 'flips'")
        expect("outputs", outputs, "flips", 1, n_attrs, "len(attributes)")
        expect("outputs", outputs, "flips", 2, 2, "the two values of an attribute")
        expect("outputs", outputs, "flips", 3, 3, "RGB channels")
        expect("outputs", outputs, "attr_probs", 1, n_attrs, "len(attributes)")
    if entry.task == "classify_expression":
        expect("outputs", outputs, "logits", 1, n_expr, "len(expressions)")
    if "z" in inputs and _dim(inputs["z"][1], 1) is None:
        errors.append(f"{where}.inputs[{inputs['z'][0]}].shape[1]: the latent size of 'z' must be fixed")
    needs = {"parse": "classes", "edit_attributes": "attributes", "flip_attributes": "attributes",
             "edit_expression": "expressions",
             "synthesize": "attributes", "classify_attributes": "attributes",
             "classify_expression": "expressions"}[entry.task]
    if not getattr(entry, needs):
        errors.append(f"{where}.{needs}: task {entry.task!r} needs the list of {needs}")
    if entry.task == "synthesize" and not entry.classes:
        errors.append(f"{where}.classes: task 'synthesize' needs the list of mask classes")
    for name in ("mask", "mask_probs"):
        if (name in inputs or name in outputs) and not entry.classes:
            errors.append(f"{where}.classes: a {name!r} tensor needs the list of mask classes")
    spatial = inputs.get("image") or inputs.get("mask")
    if spatial is not None:
        i, spec = spatial
        h, w = _dim(spec, 2), _dim(spec, 3)
        if h is not None and w is not None and h != w:
            errors.append(f"{where}.inputs[{i}].shape: the engine needs square inputs, found {h}x{w}")
        elif h is None or w is None:
            if entry.resolution <= 0:
                errors.append(f"{where}.resolution: the graph's spatial size is dynamic, so the manifest "
                              f"must give a resolution")
        elif entry.resolution and entry.resolution != h:
            errors.append(f"{where}.resolution: manifest says {entry.resolution}, inputs[{i}] is {h}x{w}")
    return errors


def check_graphs(pack_dir: str | os.PathLike, manifest: Manifest) -> list[str]:
    """Each model's ONNX inputs/outputs against its manifest entry. Call only after check_files passed."""
    errors = []
    for entry in manifest.models:
        try:
            inputs, outputs = read_graph(model_path(pack_dir, entry))
        except Exception as exc:  # onnxruntime raises several types for unreadable graphs
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            errors.append(f"models[{entry.name}].file: onnxruntime cannot load {entry.file!r} ({first})")
            continue
        errors += compare_tensors(f"models[{entry.name}].inputs", entry.inputs, inputs)
        errors += compare_tensors(f"models[{entry.name}].outputs", entry.outputs, outputs)
    return errors


def check_pack(pack_dir: str | os.PathLike, probes: bool = True) -> tuple[Manifest | None, list[str]]:
    """Every problem of a pack, without raising: (manifest or None if unreadable, errors).

    With `probes`, a sound pack's models are then re-run on the probes stored in the pack, once per machine
    (faceeditor.engine.probes): a graph with the right names but the wrong behaviour is refused too."""
    try:
        manifest = Manifest.load(pack_dir)
    except ManifestError as exc:
        message = str(exc)
        prefix = f"{Path(pack_dir) / MANIFEST_NAME}: "
        return None, [f"{MANIFEST_NAME}: {message.removeprefix(prefix)}"]
    errors = []
    for entry in manifest.models:
        errors += check_conventions(entry)
    file_errors = check_files(pack_dir, manifest)
    errors += file_errors
    if not file_errors:  # never build a session on a missing, foreign or tampered file
        errors += check_graphs(pack_dir, manifest)
    if probes and not errors:  # run nothing of a pack that already failed
        from faceeditor.engine.probes import verify_pack

        errors += verify_pack(pack_dir, manifest).errors
    return manifest, errors


def validate_pack(pack_dir: str | os.PathLike, probes: bool = True) -> Manifest:
    """The pack's manifest if the pack is sound; raises PackError listing every problem otherwise."""
    manifest, errors = check_pack(pack_dir, probes)
    if errors or manifest is None:
        raise PackError(pack_dir, errors)
    return manifest
