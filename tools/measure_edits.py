"""What a user gets from a pack's attribute editor, measured through the engine on unseen SynthFaces.

Each of N held-out renders (render_seed(7_000_000_000 + i), 128 px; the editors were trained on seeds
below 12,000) has each of the 13 attributes flipped, as in SeCGAN's protocol, and the output is written
three ways: the editor's own output, kept to the attribute's regions (the app's and the CLI's default),
and kept with the photo's detail (`keep_detail`). For each: the pack's evaluator's editing accuracy, the
PSNR outside the attribute's regions against the input, and the PSNR inside them against SynthFaces'
ground-truth re-render of the same face with the attribute flipped (the input's own PSNR there is the
reference: an edit that did nothing scores it).

Run from the repository root:
  PYTHONPATH=. python tools/measure_edits.py faceeditor/resources/models/synthfaces-demo --faces 200 [--json]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from faceeditor.core.attribute_regions import edit_region, masked_psnr
from faceeditor.core.labels import ATTRIBUTES
from faceeditor.engine.engine import Engine
from faceeditor.engine.requests import ClassifyAttributesRequest, EditAttributesRequest, ParseRequest
from trainer.methods.editing import flip_target
from trainer.metrics.editing_accuracy import GroundTruthEdits

HELD_OUT_SEED = 7           # render_seed(7_000_000_000 + i) is sample i of a dataset of seed 7
SIZE = 128
VARIANTS = ("editor's output", "kept to the regions", "kept, with the photo's detail")


def _finite_mean(values: list[float]) -> float:
    kept = [v for v in values if np.isfinite(v)]
    return float(np.mean(kept)) if kept else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack", help="a model pack with edit_attributes, parse and classify_attributes models")
    ap.add_argument("--faces", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="print the figures (with per attribute) as JSON")
    args = ap.parse_args()
    engine = Engine([args.pack], provider="cpu")
    for task in ("edit_attributes", "parse", "classify_attributes"):
        if not engine.has_task(task):
            raise SystemExit(f"{args.pack}: no {task} model")
    gt = GroundTruthEdits({"seed": HELD_OUT_SEED, "size": SIZE}, SIZE, "secgan12")
    src = np.stack([gt.source_labels(i) for i in range(args.faces)])
    images = [gt.rendered(i, src[i], src[i])[0] for i in range(args.faces)]
    before = engine.run(ParseRequest(images=images)).masks
    figures = {v: {"acc": [], "psnr_outside": [], "psnr_gt_inside": []} for v in VARIANTS}
    reference = []
    for k, name in enumerate(ATTRIBUTES):
        y = flip_target(torch.from_numpy(src), k).numpy()
        truth = [gt.rendered(i, src[i], y[i])[0] for i in range(args.faces)]
        # one kept request also returns the editor's own output (raw_images): the editor runs twice, not three times
        kept = engine.run(EditAttributesRequest(images=images, y_diff=y - src, keep_outside=True, masks=before))
        detail = engine.run(EditAttributesRequest(images=images, y_diff=y - src, keep_outside=True, masks=before,
                                                  keep_detail=True))
        for variant, out in zip(VARIANTS, (kept.raw_images, kept.images, detail.images), strict=True):
            judged = engine.run(ClassifyAttributesRequest(images=out))
            col = judged.names.index(name)
            figures[variant]["acc"].append(float(((judged.logits[:, col] > 0) == (y[:, k] > 0.5)).mean()))
            after = engine.run(ParseRequest(images=out)).masks
            regions = [edit_region(b, a, [name]) for b, a in zip(before, after, strict=True)]
            figures[variant]["psnr_outside"].append(_finite_mean(
                [masked_psnr(x, o, ~r) for x, o, r in zip(images, out, regions, strict=True)]))
            figures[variant]["psnr_gt_inside"].append(_finite_mean(
                [masked_psnr(o, t, r) for o, t, r in zip(out, truth, regions, strict=True)]))
            if variant == "kept to the regions":
                reference.append(_finite_mean(
                    [masked_psnr(x, t, r) for x, t, r in zip(images, truth, regions, strict=True)]))
    report = {"pack": args.pack, "faces": args.faces,
              "input_psnr_gt_inside": _finite_mean(reference),
              "variants": {v: {m: _finite_mean(vals) for m, vals in f.items()} for v, f in figures.items()},
              "per_attribute": {v: {m: dict(zip(ATTRIBUTES, vals, strict=True)) for m, vals in f.items()}
                                for v, f in figures.items()}}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{args.pack}: {args.faces} unseen renders x 13 flips; the input's own PSNR to the ground truth inside "
          f"the regions: {report['input_psnr_gt_inside']:.2f} dB")
    print(f"{'output':<32} {'edit acc.':>9} {'PSNR outside':>13} {'PSNR to truth inside':>21}")
    for variant, f in report["variants"].items():
        print(f"{variant:<32} {f['acc']:9.3f} {f['psnr_outside']:10.2f} dB {f['psnr_gt_inside']:18.2f} dB")


if __name__ == "__main__":
    main()
