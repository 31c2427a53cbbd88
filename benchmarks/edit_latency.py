#!/usr/bin/env python3
"""Edit latency: slider-to-pixels time of the full attribute editor against preview paths, in one run.

One slider step of the app is timed end to end as the app runs it: the crop to a tensor, the editor's
forward pass (ONNX Runtime; the parse probabilities are computed, and resized to the model's size, once
per photo and fed as the `masks` input, since the parse does not change while a slider is dragged: the
engine remembers them the same way, Engine._input_parse), the conversion to pixels and the paste back
(face_align.paste_back). The aligned crop itself (face_align.align_face) is made once per photo, as the
app's Document does (every slider step edits `doc.crop_image`); its time is printed below the table with
the ratios it would give if it were repeated in every step. Paths are interleaved repeat by repeat, so a
busy machine slows them alike; the table gives the median ms and the ratio full / path. The photo is the first
ground-truth face upscaled to 512² with the landmarks of faceeditor/resources/samples/heldout0139 scaled alike; the
slider is Bald at 0.7.

Paths (the pack's `edit_attributes` model with a `masks` input, e.g. MagGAN):
  full       the model at its resolution (128²), ORT_ENABLE_ALL, --threads threads
  int8       the same graph with dynamic int8 quantisation (onnxruntime.quantization.quantize_dynamic)
  half       a model at half the resolution, its change upsampled and added to the input:
             x + up(G64(down x) - down x) — the pack's preview model (`preview_of`: the same weights traced
             at 64², or a student distilled by `--method preview_distill`), or traced from --run
  1thread    the full model on one intra-op thread
  spinning   the full model with ORT's idle-thread spinning on (its default, the app's engine today);
             every other session here runs with spinning off

Accuracy: SynthFaces ground truth (trainer.metrics.editing_accuracy.GroundTruthEdits, meta seed 7, size
128): --faces faces x 13 single-attribute flips; pixel gain = 1 - err(edit, truth) / err(input, truth)
inside the true change region (pixels where truth and input differ, grown 2 px; err = mean abs error),
pooled per attribute over its edits and averaged over the attributes, as `faceeditor-train evaluate`.

    python benchmarks/edit_latency.py --run runs/maggan-128               # parser from the demo pack
    python benchmarks/edit_latency.py --pack packs/with-maggan --faces 5 --repeats 5   # quick
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faceeditor.core.face_align import AlignedCrop, align_face, paste_back  # noqa: E402
from faceeditor.engine import processing as P  # noqa: E402
from faceeditor.engine.manifest import Manifest, ModelEntry  # noqa: E402
from faceeditor.resources import demo_pack_dir, samples_dir  # noqa: E402

SAMPLES = samples_dir()
GT_META = {"seed": 7, "size": 128}
N_ATTRS = 13
BAR_SPEED, BAR_GAIN = 2.5, 0.05


def session(path: Path, threads: int, spin: bool = False) -> ort.InferenceSession:
    """A CPU session. Spinning is off unless `spin`: idle ORT threads that spin steal the cores from the
    paste-back that follows each run (and from the other sessions of this benchmark) on a busy machine."""
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def down(x: np.ndarray, size: int) -> np.ndarray:
    """(N, C, H, W) float32 -> (N, C, size, size), area-averaged."""
    if x.shape[-1] == size:
        return x
    return np.stack([cv2.resize(np.ascontiguousarray(a.transpose(1, 2, 0)), (size, size),
                                interpolation=cv2.INTER_AREA).reshape(size, size, -1).transpose(2, 0, 1)
                     for a in x]).astype(np.float32)


class EditPath:
    """One way to turn (image tensor at 128, y_diff, masks at 128) into an edited tensor at 128."""

    def __init__(self, name: str, sess: ort.InferenceSession, size: int, residual: bool):
        self.name, self.sess, self.size, self.residual = name, sess, size, residual
        self._masks: tuple[np.ndarray, np.ndarray] | None = None

    def feeds(self, x: np.ndarray, y: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray]:
        # the parse probabilities at the model's size, resized once per photo (the engine keeps them too)
        if self._masks is None or self._masks[0] is not m:
            self._masks = (m, down(m, self.size))
        return {"image": down(x, self.size), "y_diff": y, "masks": self._masks[1]}

    def edit_tensor(self, x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
        f = self.feeds(x, y, m)
        out = self.sess.run(["edited"], f)[0]
        if not self.residual:
            return out
        delta = out - f["image"]
        up = np.stack([cv2.resize(np.ascontiguousarray(d.transpose(1, 2, 0)), (x.shape[-1], x.shape[-2]),
                                  interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1) for d in delta])
        return np.clip(x + up, -1, 1)

    def slider_step(self, photo: np.ndarray, crop: AlignedCrop, y: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """What the app does per slider step: the document's crop to a tensor, infer, to pixels, paste back."""
        x = P.images_to_tensor([crop.image], 128, "minus1_1")
        if self.residual:
            f = self.feeds(x, y, masks)
            out = self.sess.run(["edited"], f)[0]
            edited = P.add_change([crop.image], out - f["image"], "minus1_1")[0]
        else:
            out = self.sess.run(["edited"], {"image": x, "y_diff": y, "masks": masks})[0]
            edited = P.tensor_to_images(out, [(128, 128)], "minus1_1")[0]
        return paste_back(photo, edited, crop)


def gt_cases(n_faces: int, parse: ort.InferenceSession):
    """Inputs, flips, truths and parse probabilities of the held-out ground-truth faces."""
    from trainer.metrics.editing_accuracy import GroundTruthEdits

    gt = GroundTruthEdits(GT_META, 128, "parse19")
    xs, ys, truths, idx = [], [], [], []
    inputs = []
    for i in range(n_faces):
        y_src = gt.source_labels(i)
        img, _ = gt.rendered(i, y_src, y_src)
        inputs.append(img)
        for k in range(N_ATTRS):
            y_trg = y_src.copy()
            y_trg[k] = 1.0 - y_trg[k]
            truth, _ = gt.rendered(i, y_src, y_trg)
            if np.array_equal(truth, img):
                continue
            idx.append(i)
            ys.append(y_trg - y_src)
            truths.append(truth)
    x_all = P.images_to_tensor(inputs, 128, "minus1_1")
    probs = parse.run(["probs"], {"image": x_all})[0].astype(np.float32)
    xs = x_all[idx]
    return inputs, np.array(idx), xs, np.stack(ys).astype(np.float32), probs[idx], truths


def pixel_gain(inputs, idx, edited_u8, truths, ys) -> float:
    """The evaluation's pixel gain (trainer/metrics/ground_truth_gain.py): per attribute 1 - Σerr(edit,
    truth) / Σerr(input, truth) over its edits inside the true change region, then the mean over the
    attributes, so this benchmark and `evaluate` report the same figure."""
    from trainer.metrics.ground_truth_gain import gain, pixel_errors, true_change_region

    def to_x(im):
        return im.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0

    per: dict[int, list[tuple[float, float]]] = {}
    for j, (i, truth) in enumerate(zip(idx, truths, strict=True)):
        x, t, e = to_x(inputs[i]), to_x(truth), to_x(edited_u8[j])
        per.setdefault(int(np.abs(ys[j]).argmax()), []).append(pixel_errors(e, x, t, true_change_region(x, t)))
    return float(np.nanmean([gain(*np.array(v, np.float64).reshape(-1, 2).T) for v in per.values()]))


def onnx_input_size(path: Path) -> int:
    """The side of an editor graph's first input (N, 3, side, side)."""
    import onnx

    return int(onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[2].dim_value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", default=str(demo_pack_dir()),
                    help="a pack with a parse model (and, without --run, an editor with a masks input and its "
                         "preview)")
    ap.add_argument("--model", default="", help="the editor's name (default: the first with a masks input)")
    ap.add_argument("--run", default="", help="a MagGAN run: its latest checkpoint is traced here (the full "
                                              "model and its half-resolution preview)")
    ap.add_argument("--preview", action="append", default=[], metavar="FILE.onnx",
                    help="another half-resolution preview to time beside the pack's (e.g. the traced one of the "
                         "old pack next to a distilled one); repeatable")
    ap.add_argument("--faces", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="edit_latency-"))
    pack = Path(args.pack)
    manifest = Manifest.load(pack)
    parse = session(pack / manifest.models_for("parse")[0].file, args.threads)
    half_path, half_size = None, 0
    if args.run:                                         # the run's latest checkpoint, traced here
        from trainer.checkpoint import latest_checkpoint
        from trainer.export import export_bare

        ckpt = latest_checkpoint(args.run)
        traced = export_bare(args.run, tmp, checkpoint=ckpt)
        full_name = next(n for n in traced if not n.endswith("_preview"))
        full_path = traced[full_name]
        if f"{full_name}_preview" in traced:
            half_path = traced[f"{full_name}_preview"]
        label = f"{full_name} traced from {ckpt}"
    else:
        editors = [m for m in manifest.models_for("edit_attributes")
                   if any(t.name == "masks" for t in m.inputs) and not m.preview_of]
        editor: ModelEntry | None = next((m for m in editors if not args.model or m.name == args.model), None)
        if editor is None:
            print(f"{pack}: no edit_attributes model with a masks input (give --run to trace one)")
            return 2
        full_path, label = pack / editor.file, f"{editor.name} of {pack}"
        preview = next((m for m in manifest.models_for("edit_attributes") if m.preview_of == editor.name), None)
        if preview is not None:
            half_path = pack / preview.file
    if half_path is not None:
        half_size = onnx_input_size(half_path)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = tmp / "int8.onnx"
    quantize_dynamic(str(full_path), str(int8_path), weight_type=QuantType.QUInt8)

    paths = [EditPath("full", session(full_path, args.threads), 128, False),
             EditPath("int8", session(int8_path, args.threads), 128, False)]
    if half_path is not None and half_size:
        paths.append(EditPath(f"half ({half_size}²)", session(half_path, args.threads), half_size, True))
    for extra in map(Path, args.preview):
        if not extra.is_file():
            print(f"--preview {extra}: no such file")
            return 2
        size = onnx_input_size(extra)
        paths.append(EditPath(f"{extra.stem[:10]} ({size}²)", session(extra, args.threads), size, True))
    paths.append(EditPath("1thread", session(full_path, 1), 128, False))
    paths.append(EditPath("spinning", session(full_path, args.threads, spin=True), 128, False))

    # --- latency: one photo, a slider at 0.7 on one attribute ---------------------------------------
    lm_info = json.loads((SAMPLES / "heldout0139_landmarks.json").read_text())
    from trainer.metrics.editing_accuracy import GroundTruthEdits

    gt = GroundTruthEdits(GT_META, 128, "parse19")
    face, _ = gt.rendered(0, gt.source_labels(0), gt.source_labels(0))
    scale = 4                                             # a 512² "photo" of the face
    photo = cv2.resize(face, (128 * scale, 128 * scale), interpolation=cv2.INTER_CUBIC)
    landmarks = np.asarray(lm_info["landmarks"], np.float64) * scale * 128 / float(lm_info["size"][0])
    crop = align_face(photo, landmarks, 128)
    x0 = P.images_to_tensor([crop.image], 128, "minus1_1")
    masks = parse.run(["probs"], {"image": x0})[0].astype(np.float32)
    y = np.zeros((1, N_ATTRS), np.float32)
    y[0, 0] = 0.7
    times: dict[str, list[float]] = {p.name: [] for p in paths}
    align_ms: list[float] = []
    for p in paths:                                        # warm-up
        p.slider_step(photo, crop, y, masks)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        align_face(photo, landmarks, 128)                  # once per photo in the app, timed for the note
        align_ms.append((time.perf_counter() - t0) * 1000.0)
        for p in paths:
            t0 = time.perf_counter()
            p.slider_step(photo, crop, y, masks)
            times[p.name].append((time.perf_counter() - t0) * 1000.0)
    med = {k: statistics.median(v) for k, v in times.items()}
    align = statistics.median(align_ms)

    # --- accuracy ------------------------------------------------------------------------------------
    inputs, idx, xs, ys, ms, truths = gt_cases(args.faces, parse)
    gains = {}
    for p in paths:
        if p.name in ("1thread", "spinning"):           # the full graph: the same pixels as full
            gains[p.name] = gains["full"]
            continue
        out = np.concatenate([p.edit_tensor(xs[s:s + 16], ys[s:s + 16], ms[s:s + 16])
                              for s in range(0, len(xs), 16)])
        gains[p.name] = pixel_gain(inputs, idx, P.tensor_to_images(out, [(128, 128)] * len(out), "minus1_1"),
                                   truths, ys)

    full_ms, full_gain = med["full"], gains["full"]
    print(f"editor {label}; {len(xs)} ground-truth edits on {args.faces} faces; "
          f"{args.repeats} repeats, {args.threads} threads; photo {photo.shape[1]}x{photo.shape[0]}")
    print(f"{'path':18s} {'ms/step':>8s} {'full/path':>9s} {'pixel gain':>10s} {'Δgain':>7s}  bar "
          f"(≥{BAR_SPEED}x, |Δgain| ≤ {BAR_GAIN})")
    rows = []
    for p in paths:
        ratio = full_ms / med[p.name]
        dg = gains[p.name] - full_gain
        ok = p.name != "full" and ratio >= BAR_SPEED and abs(dg) <= BAR_GAIN
        rows.append({"path": p.name, "ms": med[p.name], "ratio": ratio, "pixel_gain": gains[p.name], "delta": dg})
        print(f"{p.name:18s} {med[p.name]:8.2f} {ratio:9.2f} {gains[p.name]:10.3f} {dg:+7.3f}  "
              f"{'meets' if ok else '-'}")
    print(f"aligning the crop: {align:.2f} ms, once per photo (the app's Document); were it repeated in every "
          "step, full/path would be " + ", ".join(f"{r['path']} {(full_ms + align) / (r['ms'] + align):.2f}"
                                                   for r in rows if r["path"] != "full"))
    if args.json:
        Path(args.json).write_text(json.dumps({"align_ms": align, "paths": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
