"""The editing-accuracy ceiling of attribute evaluators: what a perfect editor would score with each judge.

SeCGAN's editing accuracy (§4.4) flips each of the 13 attributes of every test face and asks an evaluator
whether the edit shows the target. On SynthFaces the renderer can draw the true edit, so the evaluator's
accuracy on those ground-truth re-renders is the most any editor can score with that judge. `evaluate`
reports it for the judge of an editor run (`edit_acc_gt_renders`), but only at the editor's resolution;
this compares judges of any resolution on the same faces, with the share of flips whose re-render carries
the asked label at all (a perfect judge's ceiling: some flips cannot show, e.g. a hair colour on a bald
face, or a closed mouth on a face whose expression opens it).

Run from the repository root:
  PYTHONPATH=. python tools/editing_ceiling.py --data-root data/sf128_v2_heldout --faces 200 RUN [RUN ...]
"""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import torch

from faceeditor.core.labels import ATTRIBUTES
from trainer.checkpoint import load_trained_method
from trainer.data.synthfaces.native import read_meta
from trainer.data.synthfaces.render import RENDERER_VERSION
from trainer.methods.editing import flip_target
from trainer.metrics.editing_accuracy import GroundTruthEdits


def judge_logits(net: torch.nn.Module, resolution: int, images: list[np.ndarray]) -> np.ndarray:
    """The evaluator's attribute logits (N, 13) for uint8 (H, W, 3) images, resized to its resolution."""
    x = np.stack([im if im.shape[0] == resolution else
                  cv2.resize(im, (resolution, resolution), interpolation=cv2.INTER_AREA) for im in images])
    x = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0)
    with torch.no_grad():
        return torch.cat([net(x[s:s + 100])[0].float()[:, :len(ATTRIBUTES)]
                          for s in range(0, len(x), 100)]).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("evaluators", nargs="+", help="run folders of attribute classifier runs")
    ap.add_argument("--data-root", required=True, help="a SynthFaces dataset written by this renderer")
    ap.add_argument("--faces", type=int, default=200, help="its first N faces (default 200)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    meta = read_meta(args.data_root)
    if meta.get("renderer_version", 1) != RENDERER_VERSION:
        raise SystemExit(f"{args.data_root}: rendered by renderer v{meta.get('renderer_version', 1)}, this is "
                         f"v{RENDERER_VERSION}; its ground-truth edits would not match (re-render it)")
    size = int(meta["size"])
    n = min(args.faces, int(meta["count"]))
    gt = GroundTruthEdits(meta, size, "secgan12")
    y_src = np.stack([gt.source_labels(i) for i in range(n)])
    natural = [gt.rendered(i, y_src[i], y_src[i])[0] for i in range(n)]
    flips, reachable = [], []
    for k in range(len(ATTRIBUTES)):
        y_trg = flip_target(torch.from_numpy(y_src), k).numpy()
        images = [gt.rendered(i, y_src[i], y_trg[i])[0] for i in range(n)]
        flips.append((y_trg, images))
        reachable.append(float(np.mean([gt.labels(i, y_src[i], y_trg[i])[k] == y_trg[i, k] for i in range(n)])))
    report = {"faces": n, "data_root": args.data_root, "labels_ceiling": float(np.mean(reachable)),
              "labels_ceiling_per_attr": dict(zip(ATTRIBUTES, reachable, strict=True)), "evaluators": {}}
    for run in args.evaluators:
        method, _ = load_trained_method(run, "cpu")
        if "classifier" not in method.nets or getattr(method.cfg, "task", "") != "attributes":
            raise SystemExit(f"{run}: not an attribute classifier run")
        net, res = method.nets["classifier"].eval(), int(method.cfg.data.resolution)
        natural_acc = float(((judge_logits(net, res, natural) > 0) == (y_src > 0.5)).mean())
        per = [float(((judge_logits(net, res, images)[:, k] > 0) == (y_trg[:, k] > 0.5)).mean())
               for k, (y_trg, images) in enumerate(flips)]
        report["evaluators"][run] = {"resolution": res, "natural_acc": natural_acc, "ceiling": float(np.mean(per)),
                                     "ceiling_per_attr": dict(zip(ATTRIBUTES, per, strict=True))}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{n} faces of {args.data_root}; labels of the re-renders (a perfect judge): "
          f"{report['labels_ceiling']:.3f}")
    print(f"{'evaluator':<48} {'res':>3} {'natural':>7} {'ceiling':>7} " + " ".join(f"{a[:6]:>6}" for a in ATTRIBUTES))
    for run, r in report["evaluators"].items():
        print(f"{run[-48:]:<48} {r['resolution']:>3} {r['natural_acc']:7.3f} {r['ceiling']:7.3f} "
              + " ".join(f"{v:6.2f}" for v in r["ceiling_per_attr"].values()))


if __name__ == "__main__":
    main()
