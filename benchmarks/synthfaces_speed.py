"""SynthFaces rendering speed, images per second per core, with all labels (mask, landmarks, attributes).

One process with OpenCV limited to one thread measures one core; rates are per CPU-second of this
process (so other load on a shared machine does not count against it), wall-clock rates are printed
too. The reference measured in the same run is what a loader of a real dataset pays per sample at the
same size: decoding a JPEG image and a PNG mask from memory. The issue's target (150 images/s per core
at 128x128) is printed as a second ratio.

    PYTHONPATH=. python benchmarks/synthfaces_speed.py [--seconds 5]
"""
from __future__ import annotations

import argparse
import time

import cv2

from trainer.data.synthfaces import render_seed

TARGET_128 = 150.0


def rate(fn, seconds: float) -> tuple[float, float]:
    """(per CPU-second, per wall-second) rates of calling fn for about ``seconds`` of CPU time."""
    n, c0, w0 = 0, time.process_time(), time.perf_counter()
    while True:
        fn(n)
        n += 1
        dt = time.process_time() - c0
        if dt >= seconds and n >= 5:
            return n / dt, n / (time.perf_counter() - w0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="measuring time per size")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    try:
        import os
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = 0
    print(f"one process (= one core); machine has {cores or '?'} usable cores")
    for size in (128, 256):
        render_seed(10_000, size)          # warm-up: noise tiles, caches
        synth, synth_wall = rate(lambda i, s=size: render_seed(i, s), args.seconds)
        samples = [render_seed(50_000 + i, size) for i in range(16)]
        jpgs = [cv2.imencode(".jpg", s.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1] for s in samples]
        pngs = [cv2.imencode(".png", s.mask)[1] for s in samples]

        def decode(i, samples=samples, jpgs=jpgs, pngs=pngs):
            k = i % len(samples)
            cv2.imdecode(jpgs[k], cv2.IMREAD_COLOR)
            cv2.imdecode(pngs[k], cv2.IMREAD_UNCHANGED)
        real, _ = rate(decode, min(args.seconds, 2.0))
        line = (f"{size}x{size}: {synth:7.1f} images/s/core rendered ({synth_wall:.1f}/s wall) | reference "
                f"(decode JPEG + PNG mask): {real:8.1f}/s/core | ratio {synth / real:.3f}")
        if size == 128:
            line += f" | vs target {TARGET_128:.0f}: {synth / TARGET_128:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
