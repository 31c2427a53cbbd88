"""MagGAN's Table 3 at equal budget on SynthFaces: every row trained for the same iterations with the same
widths, data and seed, then judged on the same held-out faces against the ground truth.

Rows (shared/papers/maggan.md §5, plus this project's choices):
  stgan               STGAN (tiled y_diff, no masks)
  stgan+mre           STGAN + the mask-guided reconstruction loss (maggan without mask conditioning or SPADE)
  maggan-no-mre       MagGAN without L_mre (λ_3 = 0)
  maggan-no-spade     MagGAN without SPADE
  maggan              MagGAN (mask conditioning, SPADE, L_mre)
  maggan-blend        MagGAN without SPADE, with the blending trick of eq. 13 (the bundled configuration)
  stargan-rr          StarGAN with the refined residual (SG-GAN's output), same budget

Each row is `faceeditor-train train` then `faceeditor-train evaluate --split train --data-root HELDOUT
--evaluator JUDGE` (eval_limit faces), so the figures are the ones any run reports. Runs go to
OUT/<row>; a row whose run folder already holds the final checkpoint is only re-evaluated.

  PYTHONPATH=. python tools/maggan_ablation.py --data-root /work/data/sf128_edits \
      --heldout /work/data/sf128_v2_heldout --judge /work/runs/judge-128-edits --out /work/runs/ablation \
      --resolution 64 --iters 600 --faces 100
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SHARED = ["--g-width", "16", "--g-max-width", "128", "--d-width", "32", "--fc-width", "256", "--batch-size", "8",
          "--n-critic", "2", "--shortcut-layers", "3", "--inject-layers", "1", "--refined-residual", "true",
          "--lr", "2e-4", "--lr-decay", "none", "--data.num-workers", "0"]

ROWS: dict[str, list[str]] = {
    "stgan": ["--method", "stgan", "--refined-residual", "true"],
    "stgan+mre": ["--method", "maggan", "--mask-conditioning", "false", "--spade", "false", "--blend", "false"],
    "maggan-no-mre": ["--method", "maggan", "--lambda-mre", "0", "--spade", "true", "--blend", "false"],
    "maggan-no-spade": ["--method", "maggan", "--spade", "false", "--blend", "false"],
    "maggan": ["--method", "maggan", "--spade", "true", "--blend", "false"],
    "maggan-blend": ["--method", "maggan", "--spade", "false", "--blend", "true"],
    "stargan-rr": ["--method", "stargan", "--n-res", "2", "--d-layers", "5"],
}
COLUMNS = ("gain_pixel", "gain_semantic", "preservation_db", "detail", "rec_psnr", "edit_acc")


def _metrics(run: Path, key_prefix: str) -> dict:
    data = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    keys = [k for k in data if k.startswith(key_prefix)]
    if not keys:
        raise SystemExit(f"{run}: no metrics under {key_prefix!r}")
    return data[keys[0]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--judge", required=True, help="attribute classifier run folder (the editing accuracy)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--iters", type=int, default=600)
    ap.add_argument("--faces", type=int, default=100)
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of: " + ", ".join(ROWS))
    args = ap.parse_args()
    exe = [sys.executable, "-m", "trainer.cli"]
    table = {}
    for row in args.rows.split(","):
        run = Path(args.out) / row
        if not (run / f"ckpt_{args.iters:08d}.pt").exists() and not any(run.glob(f"*{args.iters}*.pt")):
            cmd = exe + ["train"] + ROWS[row] + SHARED + [
                "--data.root", args.data_root, "--data.resolution", str(args.resolution), "--run-dir", str(run),
                "--iters", str(args.iters), "--eval-limit", str(args.faces), "--sample-every", str(args.iters),
                "--ckpt-every", str(args.iters)]
            print("$", " ".join(cmd[2:]), flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        key = f"train@{Path(args.heldout).name}#{Path(args.judge).resolve().name}"
        done = run / "metrics.json"
        if not (done.is_file() and key in json.loads(done.read_text(encoding="utf-8"))):
            cmd = exe + ["evaluate", str(run), "--split", "train", "--data-root", args.heldout,
                         "--evaluator", args.judge]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        table[row] = _metrics(run, key)
        print(row, {c: round(float(table[row].get(c, float("nan"))), 4) for c in COLUMNS}, flush=True)
    print(f"\n{args.iters} iterations each at {args.resolution}², {args.faces} held-out faces x 13 flips")
    print("| row | " + " | ".join(COLUMNS) + " | MRE |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for row, m in table.items():
        cells = " | ".join(f"{float(m.get(c, float('nan'))):.3f}" for c in COLUMNS)
        print(f"| {row} | {cells} | {float(m.get('mre', float('nan'))):.4f} |")


if __name__ == "__main__":
    main()
