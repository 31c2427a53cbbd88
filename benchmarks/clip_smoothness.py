"""Step sizes of the bundled samples' Left2Right and NoSmile2Smile clips, rendered by the app's clip path
(faceeditor.engine.clips.ClipRenderer, which `faceeditor-cli render` and the app's export use) with the
bundled synthesis model.

A step is the mean absolute grey-level difference between consecutive frames; a pop is a step far above
the clip's typical one. Printed per clip: the median step, the largest, and their ratio (the issue asks
for at most 2.5). Run: python benchmarks/clip_smoothness.py [--frames-out DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceeditor.core.samples import synthesis_sample_names  # noqa: E402
from faceeditor.core.timeline_presets import PRESETS, preset_timeline, sample_document  # noqa: E402
from faceeditor.engine.clips import ClipRenderer  # noqa: E402
from faceeditor.engine.engine import Engine  # noqa: E402
from faceeditor.engine.registry import find_pack  # noqa: E402


def steps(frames: list[np.ndarray]) -> np.ndarray:
    """Mean absolute grey-level change between consecutive frames."""
    grey = np.stack([f.astype(np.float32).mean(axis=2) for f in frames])
    return np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=2.5, help="largest allowed max/median step ratio")
    args = ap.parse_args()
    engine = Engine([find_pack("synthesize", None, []).path])
    res = engine.models("synthesize")[0].resolution
    worst = 0.0
    print(f"{'sample':<12} {'clip':<14} {'frames':>6} {'median':>7} {'max':>6} {'ratio':>6}")
    for name in synthesis_sample_names():
        doc, attrs = sample_document(name, res)
        for preset in PRESETS:
            timeline = preset_timeline(preset, doc.crop.landmarks, size=res, attributes=attrs)
            clip = ClipRenderer(engine, doc, timeline)
            frames = [f for i in range(0, clip.frames, 8) for f in clip.render(range(i, min(i + 8, clip.frames)))]
            s = steps(frames)
            ratio = float(s.max() / max(np.median(s), 1e-9))
            worst = max(worst, ratio)
            print(f"{name:<12} {preset:<14} {clip.frames:>6} {np.median(s):7.3f} {s.max():6.3f} {ratio:6.2f}")
    print(f"worst max/median step ratio: {worst:.2f} (limit {args.limit})")
    return 0 if worst <= args.limit else 1


if __name__ == "__main__":
    raise SystemExit(main())
