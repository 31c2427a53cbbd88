"""SCGAN's options at equal budget on SynthFaces: every row trained for the same iterations, data and seed,
then judged on the same held-out masks by the bundled parser and attribute classifier.

Rows (shared/papers/scgan.md is the first; the rest are this project's options, docs/scgan.md):
  paper                Table 2's G with the paired L1 and texture terms (the earlier bundled recipe)
  paper+div            the same with the mode-seeking term (λ_div 1)
  spade                the SPADE generator (mask at every block), same terms
  spade+div            SPADE with the mode-seeking term
  spade+vae            SPADE with the style encoder (z of the paired terms from E(x))
  spade+vae+div        SPADE, style encoder and mode-seeking term
  spade+vae+parts      SPADE, style encoder and the paired L1 again over the small parts (λ_parts 50)
  spade+vae+parts+jit  the same with the texture windows at a random offset each step (the bundled recipe's terms)

Each row is `faceeditor-train train` then `faceeditor-train evaluate --split test --data-root HELDOUT
--spatial-judge PACK --evaluator PACK`, so the figures are the ones any run reports. Runs go to OUT/<row>;
a row whose run folder already holds its final checkpoint is only re-evaluated.

  PYTHONPATH=. python tools/scgan_ablation.py --data-root /work/data/sf128_edits \
      --heldout /work/data/sf128_v2_heldout --pack faceeditor/resources/models/synthfaces-demo \
      --out /work/runs/scgan-ablation --resolution 64 --iters 300
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SHARED = ["--method", "scgan", "--nz", "16", "--lambda-rec", "100", "--lambda-texture", "100", "--n-repeat", "1",
          "--batch-size", "8", "--lr", "2e-4", "--lr-decay", "none", "--data.num-workers", "0", "--seed", "0"]
SPADE = ["--generator", "spade", "--spade-channels", "64", "--style-dim", "64"]
ROWS: dict[str, list[str]] = {
    "paper": ["--width", "0.25"],
    "paper+div": ["--width", "0.25", "--lambda-div", "1"],
    "spade": SPADE,
    "spade+div": [*SPADE, "--lambda-div", "1"],
    "spade+vae": [*SPADE, "--style-encoder", "true"],
    "spade+vae+div": [*SPADE, "--style-encoder", "true", "--lambda-div", "1"],
    "spade+vae+parts": [*SPADE, "--style-encoder", "true", "--lambda-parts", "50"],
    "spade+vae+parts+jit": [*SPADE, "--style-encoder", "true", "--lambda-parts", "50", "--texture-jitter", "true"],
}
SMALL_PARTS = ("l_eye", "r_eye", "l_brow", "r_brow", "nose", "u_lip", "l_lip")


def _row_figures(m: dict) -> dict[str, float]:
    get = lambda k: float(m.get(k, float("nan")))                                  # noqa: E731
    recall = [get(f"spatial_recall/{c}") for c in SMALL_PARTS]
    return {"consistency": get("spatial_acc"), "ceiling": get("spatial_ceiling"), "floor": get("spatial_floor"),
            "small_part_recall": min(recall), "diversity_l1": get("diversity_l1"),
            "same_mask_l1": get("real_same_mask_l1"), "diversity_feat": get("diversity_feat"),
            "attr_acc": get("attr_acc"), "attr_flip_acc": get("attr_flip_acc")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--pack", required=True, help="model pack whose parser and attribute classifier judge")
    ap.add_argument("--out", required=True)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of: " + ", ".join(ROWS))
    args = ap.parse_args()
    exe = [sys.executable, "-m", "trainer.cli"]
    table = {}
    for row in args.rows.split(","):
        run = Path(args.out) / row
        if not any(run.glob(f"ckpt-{args.iters:09d}.pt")):
            cmd = exe + ["train"] + SHARED + ROWS[row] + [
                "--data.root", args.data_root, "--data.resolution", str(args.resolution), "--run-dir", str(run),
                "--iters", str(args.iters), "--sample-every", str(args.iters), "--ckpt-every", str(args.iters),
                "--eval-every", "0", "--eval-limit", "100"]
            print("$", " ".join(cmd[2:]), flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        pack = Path(args.pack).resolve()
        key = f"test@{Path(args.heldout).name}#{pack.name}#judge:{pack.name}"
        done = run / "metrics.json"
        if not (done.is_file() and key in json.loads(done.read_text(encoding="utf-8"))):
            cmd = exe + ["evaluate", str(run), "--split", "test", "--data-root", args.heldout,
                         "--evaluator", str(pack), "--spatial-judge", str(pack)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        table[row] = _row_figures(json.loads(done.read_text(encoding="utf-8"))[key])
        print(row, {k: round(v, 4) for k, v in table[row].items()}, flush=True)
    cols = list(next(iter(table.values())))
    print(f"\n{args.iters} iterations each at {args.resolution}², the held-out test split (100 masks)")
    print("| row | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for row, figures in table.items():
        print(f"| {row} | " + " | ".join(f"{figures[c]:.3f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
