"""Export speed: frames per second of the app's export path (faceeditor.engine.clips.ClipRenderer.export:
frames batched through the engine, streamed to the H.264 writer) against rendering the same frames one at a
time through the engine (one request per frame), in one run, with the bundled synthesis model at its
resolution. Prints both rates and their ratio.

Run: python benchmarks/video_export.py [--frames 48] [--batch 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceeditor.core.samples import synthesis_sample_names  # noqa: E402
from faceeditor.core.timeline_presets import preset_timeline, sample_document  # noqa: E402
from faceeditor.engine.clips import ClipRenderer  # noqa: E402
from faceeditor.engine.engine import Engine  # noqa: E402
from faceeditor.engine.registry import find_pack  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    engine = Engine([find_pack("synthesize", None, []).path])
    res = engine.models("synthesize")[0].resolution
    doc, attrs = sample_document(synthesis_sample_names()[0], res)
    clip = ClipRenderer(engine, doc, preset_timeline("left2right", doc.crop.landmarks, size=res,
                                                     frames=args.frames, attributes=attrs))
    clip.render([0])                                     # warm-up: session creation, first run
    best = {"batched": float("inf"), "one at a time": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            t = time.perf_counter()
            clip.export(Path(tmp) / f"b{r}.mp4", batch=args.batch)
            best["batched"] = min(best["batched"], time.perf_counter() - t)
            t = time.perf_counter()
            clip.export(Path(tmp) / f"s{r}.mp4", batch=1)
            best["one at a time"] = min(best["one at a time"], time.perf_counter() - t)
    n = clip.frames
    for name, s in best.items():
        print(f"{name:>14}: {n} frames at {res}x{res} in {s:.2f} s = {n / s:.1f} frames/s")
    ratio = best["one at a time"] / best["batched"]
    print(f"batched export (batch {args.batch}) is {ratio:.2f}x the frame-by-frame rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
