"""Mask painting speed: brush dab, a 100-dab stroke, flood fill and undo on 1024² and 4096² masks.

The reference, measured in the same run, is a plain copy of the whole mask — what an editor that keeps a
full snapshot per undo step pays on every edit. Every figure is the median of several repetitions and is
printed with its ratio to that copy. Targets (issue 7): a dab ≤ 1 ms and a flood fill ≤ 20 ms on 1024².

    python benchmarks/mask_paint.py [--sizes 1024 4096] [--brush 32] [--repeat 15]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceeditor.core.labels import CLASS_INDEX  # noqa: E402
from faceeditor.core.mask_layer import MaskLayer  # noqa: E402


def face_like_mask(n: int) -> np.ndarray:
    """Background, a skin ellipse with hair over its top and a few parts: fills have real boundaries."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    mask = np.zeros((n, n), np.uint8)
    mask[((xx - 0.5) / 0.32) ** 2 + ((yy - 0.55) / 0.42) ** 2 < 1] = CLASS_INDEX["skin"]
    mask[(((xx - 0.5) / 0.36) ** 2 + ((yy - 0.45) / 0.42) ** 2 < 1) & (yy < 0.3)] = CLASS_INDEX["hair"]
    for cx in (0.38, 0.62):
        mask[((xx - cx) / 0.06) ** 2 + ((yy - 0.48) / 0.03) ** 2 < 1] = CLASS_INDEX["l_eye"]
    mask[((xx - 0.5) / 0.1) ** 2 + ((yy - 0.78) / 0.04) ** 2 < 1] = CLASS_INDEX["u_lip"]
    return mask


def median_ms(fn, repeat: int, setup=None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def undo_ms(layer: MaskLayer, repeat: int) -> float:
    """Median time to undo the last step (redone between repetitions)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        assert layer.undo() is not None
        times.append((time.perf_counter() - t0) * 1000.0)
        layer.redo()
    return statistics.median(times)


def bench(n: int, brush: int, repeat: int) -> list[tuple[str, float]]:
    base = face_like_mask(n)
    layer = MaskLayer(base)
    layer.set_brush_size(brush)
    layer.label = CLASS_INDEX["hair"]
    rng = np.random.default_rng(0)

    copy_ms = median_ms(lambda: base.copy(), repeat * 2)
    rows = [("reference: full-mask copy", copy_ms)]

    def one_dab():
        x, y = rng.uniform(brush, n - brush, 2)
        layer.begin_stroke(x, y)
        layer.end_stroke()

    rows.append((f"dab (size {brush}, incl. its undo step)", median_ms(one_dab, repeat * 4)))

    spacing = max(1.0, brush / 4.0)

    def stroke100():
        x0, y0 = rng.uniform(brush, n / 2, 2)
        layer.begin_stroke(x0, y0)
        for i in range(1, 100):       # each move adds exactly one dab
            layer.stroke_to(x0 + i * spacing * 0.8, y0 + i * spacing * 0.6)
        layer.end_stroke()

    rows.append(("stroke of 100 dabs (incl. undo step)", median_ms(stroke100, repeat)))
    rows.append(("undo of that stroke", undo_ms(layer, repeat)))

    fill_state = {}

    def reset_fill():
        layer.data[...] = base
        layer.history.clear()
        fill_state["label"] = CLASS_INDEX["cloth"]

    def fill_background():
        layer.label = fill_state["label"]
        assert layer.fill(2, 2) is not None          # the background around the face: ~60% of the mask
    rows.append(("flood fill of the background (~60%)", median_ms(fill_background, repeat, reset_fill)))
    rows.append(("undo of that fill", undo_ms(layer, repeat)))

    def fill_eye():
        layer.label = CLASS_INDEX["r_eye"]
        assert layer.fill(int(0.38 * n), int(0.48 * n)) is not None
    rows.append(("flood fill of one eye (~0.6%)", median_ms(fill_eye, repeat, reset_fill)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--brush", type=int, default=32, help="brush diameter in mask pixels (default 32)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    for n in args.sizes:
        rows = bench(n, args.brush, args.repeat)
        copy_ms = rows[0][1]
        print(f"\n{n}x{n} mask (uint8, {n * n / 1e6:.1f} MB)")
        print(f"  {'operation':42s} {'ms':>9s} {'x full copy':>12s}")
        for name, ms in rows:
            print(f"  {name:42s} {ms:9.3f} {ms / copy_ms:12.3f}")
    print("\nTargets on 1024²: dab <= 1 ms, flood fill <= 20 ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
