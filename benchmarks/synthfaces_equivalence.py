"""SynthFaces renderer equivalence: does a (faster) renderer draw what a reference copy of it draws?

Models train on data from a given renderer, so speed work must not change its output. This renders the
same seeds with the reference package (a pristine checkout of the renderer, loaded under another module
name) and with the current one, and compares: parameters, masks and attributes must be identical, landmarks within
1e-4 px, images identical except at most 1 grey level on at most 0.1% of the pixels. Exits 1 on any
violation and prints the worst figures either way.

    git worktree add /tmp/synth_ref <commit>      # the renderer to compare against
    PYTHONPATH=. python benchmarks/synthfaces_equivalence.py --ref /tmp/synth_ref [--seeds 300] [--edits]
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from trainer.data.synthfaces import ATTR_KEYS, render, sample_params, with_attribute


def load_reference(root: Path):
    """The ``trainer.data.synthfaces`` package of another checkout, imported as ``synthfaces_reference``."""
    pkg_dir = root / "trainer" / "data" / "synthfaces"
    init = pkg_dir / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"error: no SynthFaces package at {pkg_dir}")
    name = "synthfaces_reference"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(pkg_dir)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", type=Path, required=True, help="root of the reference checkout")
    ap.add_argument("--seeds", type=int, default=300, help="seeds per size")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--first", type=int, default=0, help="first seed")
    ap.add_argument("--edits", action="store_true",
                    help="also compare each seed with one attribute (cycling) at intensity 0.5")
    args = ap.parse_args()
    import cv2
    cv2.setNumThreads(1)
    ref = load_reference(args.ref)
    ok = True
    for size in args.sizes:
        worst_lm = 0.0
        n_diff_px = 0
        worst_frac = 0.0
        max_level = 0
        bad_mask = bad_other = bad_params = 0
        t_ref = t_new = 0.0
        pairs = 0
        for seed in range(args.first, args.first + args.seeds):
            pa, pb = ref.sample_params(seed), sample_params(seed)
            if dataclasses.astuple(pa) != dataclasses.astuple(pb):
                bad_params += 1
            jobs = [(pa, pb, True)]
            if args.edits:      # also a ground-truth edit: one attribute at an in-between intensity
                name = ATTR_KEYS[seed % len(ATTR_KEYS)]
                jobs.append((ref.with_attribute(pa, name, 0.5), with_attribute(pb, name, 0.5), False))
            for qa, qb, timed in jobs:
                c0 = time.process_time()
                a = ref.render(qa, size)
                c1 = time.process_time()
                b = render(qb, size)
                c2 = time.process_time()
                if timed:
                    t_ref += c1 - c0
                    t_new += c2 - c1
                pairs += 1
                if a.mask.shape != b.mask.shape or not np.array_equal(a.mask, b.mask):
                    bad_mask += 1
                if (a.attributes != b.attributes or a.expression != b.expression or a.pose != b.pose
                        or a.identity != b.identity or b.image.dtype != np.uint8
                        or b.landmarks.dtype != np.float32):
                    bad_other += 1
                worst_lm = max(worst_lm, float(np.abs(a.landmarks.astype(np.float64) - b.landmarks).max()))
                d = np.abs(a.image.astype(np.int16) - b.image.astype(np.int16)).max(-1)
                n = int((d > 0).sum())
                n_diff_px += n
                worst_frac = max(worst_frac, n / d.size)
                max_level = max(max_level, int(d.max()))
        size_ok = (bad_params == 0 and bad_mask == 0 and bad_other == 0 and worst_lm <= 1e-4 and max_level <= 1
                   and worst_frac <= 1e-3)
        ok &= size_ok
        print(f"{size}x{size}: {args.seeds} seeds, {pairs} renders | params differ in {bad_params} | masks differ in {bad_mask} | labels differ in {bad_other} | "
              f"max landmark diff {worst_lm:.2e} px | pixels differing {n_diff_px} "
              f"(worst image {100 * worst_frac:.4f}%, max {max_level} grey levels) | "
              f"CPU ms/face ref {1000 * t_ref / args.seeds:.2f} new {1000 * t_new / args.seeds:.2f} "
              f"(x{t_ref / max(t_new, 1e-9):.2f}) | {'OK' if size_ok else 'FAIL'}")
    print("EQUIVALENT" if ok else "NOT EQUIVALENT")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
