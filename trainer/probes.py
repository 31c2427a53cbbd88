"""Give a pack its probes: render a few SynthFaces faces, store them in the pack, record what each model
gives on them (faceeditor.engine.probes measures; this module renders and writes).

Called by the export after the parity check (on the exported ONNX files, as the app will run them) and by
`faceeditor-train add-probes PACK` for packs exported before probes existed.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from faceeditor.core.atomic_io import atomic_write
from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS
from faceeditor.engine import probes as P
from faceeditor.engine.manifest import Manifest
from faceeditor.engine.processing import resize_image, resize_mask

# Held out from every training set (those use seeds 0 .. 11999, the demo pack's tests 7_000_000_000 + i).
PROBE_SEEDS = tuple(7_100_000_000 + i for i in range(8))
RENDER_SIZE = 128


def render_probe_arrays(resolutions: set[int], latent_sizes: set[int],
                        seeds: tuple[int, ...] = PROBE_SEEDS) -> dict[str, np.ndarray]:
    """The arrays of a probe file: each face rendered at max(128, res) and brought to every model
    resolution by the engine's own resizing (INTER_AREA / nearest), as the app feeds a 128 px crop."""
    from trainer.data.synthfaces import render_seed

    arrays: dict[str, np.ndarray] = {"seeds": np.asarray(seeds, np.int64)}
    renders = {}
    for size in sorted({max(RENDER_SIZE, r) for r in resolutions}):
        renders[size] = [render_seed(s, size) for s in seeds]
    for res in sorted(resolutions):
        src = renders[max(RENDER_SIZE, res)]
        arrays[f"image_{res}"] = np.stack([resize_image(r.image, res, res) for r in src]).astype(np.uint8)
        arrays[f"mask_{res}"] = np.stack([resize_mask(r.mask, res, res) for r in src]).astype(np.uint8)
    labels = renders[min(renders)]
    arrays["attribute_names"] = np.asarray(EVALUATOR_ATTRIBUTES)
    arrays["attributes"] = np.array([[r.attributes[a] for a in EVALUATOR_ATTRIBUTES] for r in labels], np.uint8)
    arrays["expression_names"] = np.asarray(EXPRESSIONS)
    arrays["expressions"] = np.array([EXPRESSIONS.index(r.expression) for r in labels], np.int64)
    for nz in sorted(latent_sizes):
        rng = np.random.default_rng(list(seeds) + [nz])
        arrays[f"z_{nz}"] = rng.standard_normal((len(seeds), nz)).astype(np.float32)
    return arrays


def write_probe_file(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """A compressed .npz of plain arrays (no pickles), written atomically, readable by everyone."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    with atomic_write(path, mode=0o644) as fh:
        fh.write(buf.getvalue())


def attach_probes(pack_dir: str | os.PathLike, manifest: Manifest, log=print) -> Manifest:
    """Write `probes.npz` into the pack folder and record every model's figures in `manifest` (in memory;
    the caller saves it). Models run from the ONNX files in the folder, on the CPU, measured by
    faceeditor.engine.probes. A model the probes cannot feed (classes with no counterpart among the 19
    parse classes) gets no record and says so; the engine then loads it unverified, as an older pack."""
    pack_dir = Path(pack_dir)
    resolutions = {P.model_resolution(e) for e in manifest.models}
    latents = {t.shape[1] for e in manifest.models for t in e.inputs if t.name == "z"}
    path = pack_dir / P.PROBE_FILE
    write_probe_file(path, render_probe_arrays(resolutions, latents))
    sha = P.sha256_of(path)
    probes = P.load_probe_set(path)
    for entry in manifest.models:
        try:
            measured = P.measure(pack_dir, entry, probes)
        except P.ProbeError as exc:
            entry.probes = {}
            log(f"  probes: {entry.name} not probed ({exc})")
            continue
        entry.probes = P.probe_record(entry, measured, probes, P.PROBE_FILE, sha)
        log(f"  probes: {entry.name} {P.METRIC_LABEL[measured.metric]} {measured.value:.4g} "
            f"on {probes.count} faces")
    if not any(e.probes for e in manifest.models):
        path.unlink()                           # no model could use it: the pack stays as before probes
    return manifest
