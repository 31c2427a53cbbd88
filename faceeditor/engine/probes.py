"""Packs prove what they do: probe inputs stored in the pack, and the figures its models gave on them.

A graph can have the right names, shapes and sha256 and still do the wrong thing (a parser that labels
every pixel as hair). So at export the trainer runs every model on a few SynthFaces renders stored in the
pack (`probes.npz`, plain arrays, read with `allow_pickle=False`) and records, per model, a key metric on
them and a fingerprint of its outputs (`ModelEntry.probes`). The engine re-runs the probes the first time a
pack is seen on a machine and refuses a pack whose models do not reproduce the figures; a pass is cached
in the user cache folder, keyed by the sha256s of the pack's graphs and probe records, so later start-ups
pay nothing. Packs without probes (older exports) still load, and are listed as not verified.

This module is the one owner of the measurement: the trainer records what `measure` returns and the engine
compares what `measure` returns now. docs/engine.md ("Probes") gives the design and the tolerances.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES, LabelError, parse_to_model_lut
from faceeditor.core.safe_read import load_json_file
from faceeditor.engine.manifest import Manifest, ModelEntry
from faceeditor.engine.requests import NORMALIZATIONS

log = logging.getLogger(__name__)

PROBES_VERSION = 1
PROBE_FILE = "probes.npz"
MAX_PROBE_FILE_BYTES = 32 << 20     # a probe file is a few hundred KB; refuse to unpack anything huge
MAX_PROBES = 64
FINGERPRINT_CHUNKS = 8
# A fingerprint value matches when |measured - recorded| <= FINGERPRINT_ATOL + FINGERPRINT_RTOL * |recorded|.
FINGERPRINT_ATOL = 0.02
FINGERPRINT_RTOL = 0.02
# The key metric of each task and its tolerance (accuracy: one decision of the probe set, at least 0.02).
TASK_METRIC = {
    "parse": "miou",
    "edit_attributes": "psnr",
    "flip_attributes": "accuracy",
    "edit_expression": "psnr",
    "synthesize": "mask_r2",
    "classify_attributes": "accuracy",
    "classify_expression": "accuracy",
}
METRIC_TOLERANCE = {"miou": 0.02, "psnr": 0.5, "mask_r2": 0.02, "accuracy": 0.02}
METRIC_LABEL = {"miou": "mIoU", "psnr": "PSNR to the input (dB)", "mask_r2": "mask R²",
                "accuracy": "accuracy"}


class ProbeError(ValueError):
    """A probe file that cannot be used (unreadable, too big, missing or malformed arrays)."""


# --- the probe set ----------------------------------------------------------------------------------


@dataclass
class ProbeSet:
    """The arrays of a probe file: renders and masks at each model resolution, labels, latents."""

    arrays: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return int(self.arrays["seeds"].shape[0])

    def get(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise ProbeError(f"the probe file has no {key!r} array (it has {sorted(self.arrays)})")
        return self.arrays[key]

    def images(self, res: int) -> np.ndarray:
        return self.get(f"image_{res}")

    def masks(self, res: int) -> np.ndarray:
        return self.get(f"mask_{res}")

    def attribute_matrix(self, names: list[str], defaults: dict[str, float]) -> np.ndarray:
        """The probes' true attributes in a model's order (0/1); a name the probes lack gets its default."""
        known = [str(n) for n in self.get("attribute_names")]
        values = self.get("attributes").astype(np.float32)
        out = np.empty((self.count, len(names)), np.float32)
        for j, name in enumerate(names):
            out[:, j] = values[:, known.index(name)] if name in known else defaults.get(name, 0.0)
        return out


def _check_array(key: str, a: np.ndarray, n: int) -> None:
    """Shapes and dtypes a probe file may hold (anything else is refused, never interpreted)."""
    def bad(what: str) -> ProbeError:
        return ProbeError(f"array {key!r}: expected {what}, found {a.dtype} {a.shape}")

    if key == "seeds":
        if a.dtype != np.int64 or a.ndim != 1:
            raise bad("int64 (N,)")
    elif key.startswith("image_"):
        res = int(key[6:])
        if a.dtype != np.uint8 or a.shape != (n, res, res, 3):
            raise bad(f"uint8 ({n}, {res}, {res}, 3)")
    elif key.startswith("mask_"):
        res = int(key[5:])
        if a.dtype != np.uint8 or a.shape != (n, res, res):
            raise bad(f"uint8 ({n}, {res}, {res})")
        if a.size and int(a.max()) >= NUM_CLASSES:
            raise bad(f"class indices below {NUM_CLASSES}")
    elif key in ("attribute_names", "expression_names"):
        if a.dtype.kind != "U" or a.ndim != 1:
            raise bad("a list of names")
    elif key == "attributes":
        if a.dtype != np.uint8 or a.ndim != 2 or a.shape[0] != n:
            raise bad(f"uint8 ({n}, A)")
    elif key == "expressions":
        if a.dtype != np.int64 or a.shape != (n,):
            raise bad(f"int64 ({n},)")
    elif key.startswith("z_"):
        if a.dtype != np.float32 or a.shape != (n, int(key[2:])) or not np.isfinite(a).all():
            raise bad(f"finite float32 ({n}, {key[2:]})")
    else:
        raise ProbeError(f"unknown array {key!r}")


def load_probe_set(path: str | os.PathLike) -> ProbeSet:
    """Read and check a probe file (an .npz of plain arrays; never unpickles)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProbeError(f"cannot read {path.name!r} ({exc.strerror or exc})") from None
    if size > MAX_PROBE_FILE_BYTES:
        raise ProbeError(f"{path.name!r} is {size} bytes, more than a probe file may hold")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                if not (key.replace("_", "").isalnum() and len(key) <= 40):
                    raise ProbeError(f"unexpected array name {key!r}")
                arrays[key] = np.asarray(data[key])
    except ProbeError:
        raise
    except Exception as exc:  # zipfile, ValueError (pickled objects), OSError ...
        raise ProbeError(f"{path.name!r} is not a readable probe file ({type(exc).__name__}: {exc})") from None
    if "seeds" not in arrays:
        raise ProbeError(f"{path.name!r} has no 'seeds' array")
    n = arrays["seeds"].shape[0] if arrays["seeds"].ndim == 1 else -1
    if not 1 <= n <= MAX_PROBES:
        raise ProbeError(f"{path.name!r}: expected 1 to {MAX_PROBES} probes, found {arrays['seeds'].shape}")
    try:
        for key, a in arrays.items():
            _check_array(key, a, n)
    except ValueError as exc:   # ProbeError, or int() of a malformed key suffix
        raise ProbeError(f"{path.name!r}: {exc}") from None
    for names, values in (("attribute_names", "attributes"), ("expression_names", "expressions")):
        if (names in arrays) != (values in arrays):
            raise ProbeError(f"{path.name!r}: {values!r} and {names!r} come together")
    if "attributes" in arrays and arrays["attributes"].shape[1] != len(arrays["attribute_names"]):
        raise ProbeError(f"{path.name!r}: 'attributes' has {arrays['attributes'].shape[1]} columns for "
                         f"{len(arrays['attribute_names'])} names")
    if "expressions" in arrays and arrays["expressions"].size and not (
            0 <= arrays["expressions"].min() and arrays["expressions"].max() < len(arrays["expression_names"])):
        raise ProbeError(f"{path.name!r}: 'expressions' indices outside 'expression_names'")
    return ProbeSet(arrays)


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """What one model gave on the probes: its key metric and a fingerprint of its float outputs."""

    metric: str
    value: float
    fingerprint: dict[str, list[list[float]]]


def fingerprint(output: np.ndarray) -> list[list[float]]:
    """Per probe: the means of FINGERPRINT_CHUNKS contiguous chunks of the output and its standard
    deviation, rounded to 4 decimals. Averages over hundreds of values absorb float noise between CPUs and
    providers, yet any change of behaviour moves them (a coarse picture of where the output is what)."""
    flat = np.asarray(output, dtype=np.float64).reshape(output.shape[0], -1)
    rows = []
    for row in flat:
        chunks = np.array_split(row, min(FINGERPRINT_CHUNKS, row.size))
        rows.append([round(float(c.mean()), 4) for c in chunks] + [round(float(row.std()), 4)])
    return rows


def _onehot(masks: np.ndarray, classes: list[str]) -> np.ndarray:
    lut = parse_to_model_lut(classes)
    idx = lut[masks]
    out = np.zeros((masks.shape[0], len(classes), *masks.shape[1:]), np.float32)
    np.put_along_axis(out, idx[:, None], 1.0, axis=1)
    return out


def _image_tensor(images: np.ndarray, normalization: str) -> np.ndarray:
    scale, offset = NORMALIZATIONS[normalization]
    x = images.astype(np.float32) * (scale / 255.0) + offset
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def probe_feeds(entry: ModelEntry, res: int, probes: ProbeSet) -> dict[str, np.ndarray]:
    """The model's inputs for the probes at its resolution: the renders, their true masks (one-hot in the
    model's classes), their true attributes / expressions, stored latents; condition vectors that ask for
    no change (y_diff = 0, the face's own expression), so an editor's output is its reconstruction."""
    names = {t.name for t in entry.inputs}
    feeds: dict[str, np.ndarray] = {}
    n = probes.count
    if "image" in names:
        feeds["image"] = _image_tensor(probes.images(res), entry.normalization)
    if "mask" in names:
        feeds["mask"] = _onehot(probes.masks(res), entry.classes)
    if "masks" in names:                    # MagGAN: the parse probabilities, here the true masks one-hot
        feeds["masks"] = _onehot(probes.masks(res), list(PARSE_CLASSES))
    if "y_diff" in names:
        feeds["y_diff"] = np.zeros((n, len(entry.attributes)), np.float32)
        if "masks" in names and entry.attributes:
            # a mask-guided editor may return its input exactly when asked for no change (MagGAN's
            # blending), which would prove nothing: it is probed flipping the first attribute instead
            own = probes.attribute_matrix(entry.attributes[:1], entry.attribute_defaults())
            feeds["y_diff"][:, 0] = 1.0 - 2.0 * (own[:, 0] > 0.5)
    if "attrs" in names:
        feeds["attrs"] = probes.attribute_matrix(entry.attributes, entry.attribute_defaults())
    if "expression" in names:
        known = [str(e) for e in probes.get("expression_names")]
        onehot = np.zeros((n, len(entry.expressions)), np.float32)
        for i, k in enumerate(probes.get("expressions")):
            if known[k] in entry.expressions:
                onehot[i, entry.expressions.index(known[k])] = 1.0
        feeds["expression"] = onehot
    if "z" in names:
        nz = next(t.shape[1] for t in entry.inputs if t.name == "z")
        feeds["z"] = probes.get(f"z_{nz}")
    return feeds


def mean_iou(predicted: np.ndarray, truth: np.ndarray, n_classes: int) -> float:
    """Mean IoU over the classes present in the predictions or the truth (the trainer's MeanIoU)."""
    p = predicted.astype(np.int64).ravel()
    t = truth.astype(np.int64).ravel()
    if p.size and (p.min() < 0 or p.max() >= n_classes):
        return 0.0                              # labels outside the class list: nothing is right
    cm = np.bincount(t * n_classes + p, minlength=n_classes ** 2).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    present = union > 0
    return float((tp[present] / union[present]).mean()) if present.any() else 0.0


def psnr(a: np.ndarray, b: np.ndarray, normalization: str) -> float:
    """PSNR in 8-bit grey levels between two network-range image tensors (capped at 100 dB)."""
    scale, _ = NORMALIZATIONS[normalization]
    mse = float((((a.astype(np.float64) - b) * (255.0 / scale)) ** 2).mean())
    return 100.0 if mse <= 1e-10 else min(100.0, 10.0 * math.log10(255.0 ** 2 / mse))


def mask_r2(images: np.ndarray, masks: np.ndarray) -> float:
    """How much of a synthesised image's colour variance the input mask explains (1 − within-class /
    total sum of squares, averaged over probes). A generator that follows its mask scores high; one that
    ignores it (noise, a flat or a fixed face) scores near 0. Needs no parser, so it judges only the
    generator."""
    scores = []
    for img, mask in zip(images.astype(np.float64), masks, strict=True):
        pix = img.reshape(img.shape[0], -1).T                        # (HW, C)
        lab = mask.ravel()
        total = ((pix - pix.mean(0)) ** 2).sum()
        if total <= 1e-12:
            scores.append(0.0)
            continue
        counts = np.bincount(lab, minlength=NUM_CLASSES).astype(np.float64)
        sums = np.stack([np.bincount(lab, weights=pix[:, c], minlength=NUM_CLASSES) for c in range(pix.shape[1])], 1)
        means = sums / np.maximum(counts, 1)[:, None]
        within = ((pix - means[lab]) ** 2).sum()
        scores.append(1.0 - within / total)
    return float(np.mean(scores))


def key_metric(entry: ModelEntry, res: int, probes: ProbeSet, feeds: dict[str, np.ndarray],
               outputs: dict[str, np.ndarray]) -> tuple[str, float]:
    """(metric name, value) of the task's key figure on the probes (TASK_METRIC)."""
    task = entry.task
    if task == "parse":
        truth = parse_to_model_lut(entry.classes)[probes.masks(res)]
        return "miou", mean_iou(outputs["labels"], truth, len(entry.classes))
    if task in ("edit_attributes", "edit_expression"):
        return "psnr", psnr(outputs["edited"], feeds["image"], entry.normalization)
    if task == "synthesize":
        return "mask_r2", mask_r2(outputs["image"], probes.masks(res))
    if task == "flip_attributes":
        # the model's own reading of the probes (attr_probs = P(present)); the heads are fingerprinted
        known = [str(a) for a in probes.get("attribute_names")]
        cols = [j for j, a in enumerate(entry.attributes) if a in known]
        if not cols:
            raise ProbeError("the probes have none of the model's attributes")
        truth = probes.get("attributes")[:, [known.index(entry.attributes[j]) for j in cols]] > 0
        return "accuracy", float(((outputs["attr_probs"][:, cols] > 0.5) == truth).mean())
    logits = outputs["logits"]
    if task == "classify_attributes":
        known = [str(a) for a in probes.get("attribute_names")]
        cols = [j for j, a in enumerate(entry.attributes) if a in known]
        if not cols:
            raise ProbeError("the probes have none of the model's attributes")
        truth = probes.get("attributes")[:, [known.index(entry.attributes[j]) for j in cols]] > 0
        return "accuracy", float(((logits[:, cols] > 0) == truth).mean())
    known = [str(e) for e in probes.get("expression_names")]
    truth_names = [known[k] for k in probes.get("expressions")]
    rows = [i for i, e in enumerate(truth_names) if e in entry.expressions]
    if not rows:
        raise ProbeError("the probes show none of the model's expressions")
    truth = np.array([entry.expressions.index(truth_names[i]) for i in rows])
    return "accuracy", float((logits[rows].argmax(1) == truth).mean())


def metric_tolerance(entry: ModelEntry, metric: str, probes: ProbeSet) -> float:
    """The tolerance recorded with a metric: METRIC_TOLERANCE, and for an accuracy at least one decision
    of the probe set (a near-tie flipping between CPUs must not refuse a pack)."""
    tol = METRIC_TOLERANCE[metric]
    if metric == "accuracy":
        per = len(entry.attributes) if entry.task in ("classify_attributes", "flip_attributes") else 1
        tol = max(tol, 1.0 / (probes.count * max(per, 1)) + 1e-6)
    return round(tol, 6)


def model_resolution(entry: ModelEntry) -> int:
    """The size a model is fed at: its graph's fixed spatial size, else the manifest's resolution (the
    rule of faceeditor.engine.engine.LoadedModel.resolution)."""
    spec = next((t for t in entry.inputs if t.name in ("image", "mask")), None)
    if spec is not None and len(spec.shape) == 4 and isinstance(spec.shape[2], int):
        return spec.shape[2]
    return entry.resolution


def run_model(pack_dir: str | os.PathLike, entry: ModelEntry, feeds: dict[str, np.ndarray],
              session: Any = None) -> dict[str, np.ndarray]:
    """Every output of a model on `feeds`, on the CPU, in chunks its batch dim accepts (a fixed batch is
    padded with the last row, as the engine does)."""
    from faceeditor.engine.session import SessionSettings, build_session

    if session is None:
        session, _ = build_session(Path(pack_dir) / entry.file, SessionSettings("cpu"))
    names = [t.name for t in entry.outputs]
    n = next(iter(feeds.values())).shape[0]
    fixed = entry.inputs[0].shape[0]
    chunk = fixed if isinstance(fixed, int) else n
    parts = []
    for start in range(0, n, chunk):
        part = {k: v[start:start + chunk] for k, v in feeds.items()}
        real = next(iter(part.values())).shape[0]
        if real < chunk:
            part = {k: np.concatenate([v, np.repeat(v[-1:], chunk - real, axis=0)]) for k, v in part.items()}
        parts.append([o[:real] for o in session.run(names, part)])
    return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)}


def measure(pack_dir: str | os.PathLike, entry: ModelEntry, probes: ProbeSet, session: Any = None) -> Measurement:
    """Run one model of a pack on the probes and take its key metric and fingerprint."""
    res = model_resolution(entry)
    try:
        feeds = probe_feeds(entry, res, probes)
    except (LabelError, ValueError, IndexError) as exc:
        raise ProbeError(f"cannot build the probe inputs ({exc})") from None
    out = run_model(pack_dir, entry, feeds, session)
    try:
        metric, value = key_metric(entry, res, probes, feeds, out)
    except (LabelError, KeyError) as exc:
        raise ProbeError(f"cannot measure the outputs ({exc})") from None
    prints = {t.name: fingerprint(out[t.name]) for t in entry.outputs
              if np.issubdtype(out[t.name].dtype, np.floating)}
    return Measurement(metric, round(float(value), 4), prints)


def probe_record(entry: ModelEntry, measurement: Measurement, probes: ProbeSet, file: str,
                 sha256: str) -> dict[str, Any]:
    """What the manifest stores as `probes` for one model."""
    return {
        "version": PROBES_VERSION,
        "file": file,
        "sha256": sha256,
        "count": probes.count,
        "metric": measurement.metric,
        "value": measurement.value,
        "tolerance": metric_tolerance(entry, measurement.metric, probes),
        "fingerprint": measurement.fingerprint,
        "fingerprint_atol": FINGERPRINT_ATOL,
        "fingerprint_rtol": FINGERPRINT_RTOL,
    }


def compare(record: dict[str, Any], measurement: Measurement) -> str | None:
    """None when the measurement reproduces the record; else the figures, in one line."""
    if record["metric"] != measurement.metric:
        return (f"records a {record['metric']!r} figure, but the key figure of this task is "
                f"{measurement.metric!r}")
    problems = []
    label = METRIC_LABEL.get(record["metric"], record["metric"])
    metric_off = abs(measurement.value - record["value"]) > record["tolerance"] + 1e-9
    atol, rtol = record["fingerprint_atol"], record["fingerprint_rtol"]
    worst, where, largest = 0.0, "", 0.0       # largest excess over the tolerance, its output, its |diff|
    for name, rows in record["fingerprint"].items():
        got = measurement.fingerprint.get(name)
        if got is None or len(got) != len(rows) or any(len(a) != len(b) for a, b in zip(got, rows, strict=False)):
            worst, where, largest = math.inf, name, math.inf
            break
        want = np.asarray(rows, np.float64)
        diff = np.abs(np.asarray(got, np.float64) - want)
        excess = diff - (atol + rtol * np.abs(want))
        if excess.max() > worst:
            worst, where, largest = float(excess.max()), name, float(diff.max())
    if metric_off or worst > 1e-9:
        problems.append(f"probe {label} {measurement.value:.3f}, recorded {record['value']:.3f} "
                        f"(tolerance {record['tolerance']:g})")
        if math.isinf(worst):
            problems.append(f"output {where!r} is missing or has another shape than its fingerprint")
        elif worst > 1e-9:
            problems.append(f"output {where!r} fingerprint differs by up to {largest:.3g} "
                            f"(tolerance {atol:g} + {rtol:.0%})")
        else:
            problems.append("outputs' fingerprint within tolerance")
    return "; ".join(problems) if problems else None


# --- verifying a pack -----------------------------------------------------------------------------------


@dataclass
class ProbeVerdict:
    """Outcome of checking a pack's probes. status: "verified" (ran now and passed), "cached" (passed
    before on this machine), "none" (the pack records no probes), "failed" (see errors)."""

    status: str
    errors: list[str] = field(default_factory=list)
    figures: dict[str, dict[str, float | str]] = field(default_factory=dict)
    seconds: float = 0.0


def probe_cache_dir() -> Path:
    """Where verdicts are cached (`platformdirs.user_cache_dir("faceeditor")/probe-verdicts`)."""
    from faceeditor.core.locations import cache_dir

    return cache_dir() / "probe-verdicts"


def cache_key(manifest: Manifest) -> str:
    """sha256 over what a verdict depends on: each graph's sha256 and probe record, the probe format and
    the ONNX Runtime version that ran them."""
    import onnxruntime as ort

    items = sorted([m.name, m.sha256, m.probes] for m in manifest.models if m.probes)
    blob = json.dumps({"v": PROBES_VERSION, "ort": ort.__version__, "models": items}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


_VERIFIED_HERE: set[str] = set()        # passes of this process (when the cache folder is not writable)


def _cached(key: str) -> bool:
    if key in _VERIFIED_HERE:
        return True
    try:
        data = load_json_file(probe_cache_dir() / f"{key}.json", what="probe verdict")
    except ValueError:          # no verdict, or an unreadable one: the probes run again
        return False
    return isinstance(data, dict) and data.get("key") == key and data.get("verdict") == "pass"


def _remember(key: str, manifest: Manifest, figures: dict) -> None:
    from faceeditor.core.atomic_io import atomic_write

    _VERIFIED_HERE.add(key)
    try:
        folder = probe_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / f"{key}.json", text=True) as fh:
            json.dump({"key": key, "verdict": "pass", "pack": manifest.name,
                       "checked": time.strftime("%Y-%m-%dT%H:%M:%S"), "figures": figures}, fh, indent=1)
    except OSError as exc:
        log.warning("cannot cache the probe verdict of %s (%s); it will be re-checked next time",
                    manifest.name, exc)


def probe_status(manifest: Manifest) -> str:
    """"verified" (passed on this machine), "unverified" or "none" (no probes); reads the cache only."""
    if not any(m.probes for m in manifest.models):
        return "none"
    return "verified" if _cached(cache_key(manifest)) else "unverified"


def sha256_of(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB chunks (validate.file_sha256's twin: validate imports this module)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _probe_path(pack_dir: Path, file: str) -> Path | None:
    root = pack_dir.resolve()
    path = (root / file).resolve()
    return path if path.is_relative_to(root) else None


def check_probe_files(pack_dir: str | os.PathLike, manifest: Manifest) -> list[str]:
    """Each probe file named by the manifest: inside the pack, present, and matching its sha256."""
    errors, digests = [], {}
    for entry in manifest.models:
        rec = entry.probes
        if not rec:
            continue
        where = f"models[{entry.name}].probes"
        path = _probe_path(Path(pack_dir), rec["file"])
        if path is None:
            errors.append(f"{where}.file: {rec['file']!r} points outside the pack")
            continue
        if path not in digests:
            try:
                digests[path] = sha256_of(path) if path.is_file() else None
            except OSError as exc:
                digests[path] = f"unreadable ({exc.strerror or exc})"
        digest = digests[path]
        if digest is None:
            errors.append(f"{where}.file: {rec['file']!r} is missing from the pack")
        elif digest != rec["sha256"]:
            errors.append(f"{where}.sha256: manifest says {rec['sha256'][:12]}…, {rec['file']!r} has "
                          f"{digest[:12]}… (probe file changed or tampered with)")
    return errors


def run_probes(pack_dir: str | os.PathLike, manifest: Manifest) -> tuple[list[str], dict]:
    """Run every model that records probes on them (CPU) and compare: (errors, figures per model)."""
    errors, figures, sets = [], {}, {}
    for entry in manifest.models:
        rec = entry.probes
        if not rec:
            continue
        where = f"models[{entry.name}].probes"
        try:
            if rec["file"] not in sets:
                sets[rec["file"]] = load_probe_set(Path(pack_dir) / rec["file"])
            measured = measure(pack_dir, entry, sets[rec["file"]])
        except ProbeError as exc:
            errors.append(f"{where}: {exc}")
            continue
        except Exception as exc:  # a graph that fails on its own probes does not do what it says
            text = str(exc).strip()
            errors.append(f"{where}: the model failed on its probes ({type(exc).__name__}"
                          f"{': ' + text.splitlines()[0] if text else ''})")
            continue
        figures[entry.name] = {"metric": rec["metric"], "recorded": rec["value"], "measured": measured.value,
                               "tolerance": rec["tolerance"]}
        reason = compare(rec, measured)
        if reason:
            errors.append(f"{where}: {reason}")
    return errors, figures


def verify_pack(pack_dir: str | os.PathLike, manifest: Manifest, use_cache: bool = True) -> ProbeVerdict:
    """Check a pack's probes (call after its files and graphs were validated). A pass is cached."""
    t0 = time.perf_counter()
    probed = [m for m in manifest.models if m.probes]
    if not probed:
        return ProbeVerdict("none")
    unknown = [m.name for m in probed if m.probes.get("version") != PROBES_VERSION]
    if unknown:
        return ProbeVerdict("failed", [f"models[{n}].probes.version: this app reads probe format "
                                       f"{PROBES_VERSION}, the pack has another" for n in unknown])
    errors = check_probe_files(pack_dir, manifest)
    if errors:
        return ProbeVerdict("failed", errors, seconds=time.perf_counter() - t0)
    key = cache_key(manifest)
    if use_cache and _cached(key):
        return ProbeVerdict("cached", seconds=time.perf_counter() - t0)
    errors, figures = run_probes(pack_dir, manifest)
    seconds = time.perf_counter() - t0
    if errors:
        log.warning("model pack %s refused by its probes: %s", manifest.name, "; ".join(errors))
        return ProbeVerdict("failed", errors, figures, seconds)
    _remember(key, manifest, figures)
    log.info("model pack %s verified on its probes in %.2f s", manifest.name, seconds)
    return ProbeVerdict("verified", [], figures, seconds)
