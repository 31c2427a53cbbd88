"""A contact sheet of a pack's mask-to-face model: look at the faces before believing any figure (DESIGN.md
§6). Rows are 6 held-out SynthFaces faces (render_seed(7e9 + i): never in a training set); columns are the
real render, its mask in the class colours, the model's faces from that mask with the face's own attributes
and seeds 0, 1, 7, 42, and the pack parser's reading of the seed-0 face. Everything runs through the engine
(ONNX Runtime), as the app runs it.

Run from the repository root:
  PYTHONPATH=. python tools/synthesis_sheet.py faceeditor/resources/models/synthfaces-demo -o sheet.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from faceeditor.core.labels import ATTRIBUTES
from faceeditor.core.palette import PALETTE
from faceeditor.engine.engine import Engine
from faceeditor.engine.requests import ParseRequest, SynthesizeRequest

FACES = (0, 1, 2, 3, 5, 8)          # held-out seeds 7e9 + i
SEEDS = (0, 1, 7, 42)
BACKGROUND = (40, 40, 40)
TEXT = (235, 235, 235)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(width: int, height: int, text: str) -> np.ndarray:
    strip = np.full((height, width, 3), BACKGROUND, np.uint8)
    scale = height / 40.0
    (w, h), _ = cv2.getTextSize(text, FONT, scale, 1)
    scale *= min(1.0, (width - 4) / max(w, 1))
    (w, h), _ = cv2.getTextSize(text, FONT, scale, 1)
    cv2.putText(strip, text, ((width - w) // 2, (height + h) // 2), FONT, scale, TEXT, 1, cv2.LINE_AA)
    return strip


def sheet(pack: str, size: int = 128) -> np.ndarray:
    """The sheet as an (H, W, 3) uint8 RGB array."""
    from trainer.data.synthfaces import render_seed

    engine = Engine([pack], provider="cpu")
    if not engine.has_task("synthesize"):
        raise SystemExit(f"{pack}: no synthesize model")
    res = next(m.entry.resolution for m in engine.models() if m.entry.task == "synthesize")
    faces = [render_seed(7_000_000_000 + i, res) for i in FACES]
    masks = [f.mask for f in faces]
    attrs = np.array([[float(f.attributes[a]) for a in ATTRIBUTES] for f in faces], np.float32)
    by_seed = [engine.run(SynthesizeRequest(masks=masks, attrs=attrs, seeds=[s] * len(faces))).images
               for s in SEEDS]
    parsed = engine.run(ParseRequest(images=by_seed[0])).masks
    palette = np.asarray(PALETTE, np.uint8)
    columns = ["real", "mask", *[f"seed {s}" for s in SEEDS], "parser on seed 0"]
    rows = []
    for i, face in enumerate(faces):
        cells = [face.image, palette[face.mask], *[imgs[i] for imgs in by_seed], palette[parsed[i]]]
        rows.append(np.concatenate([cv2.resize(c, (size, size), interpolation=cv2.INTER_NEAREST) for c in cells], 1))
    header = np.concatenate([_label(size, 24, c) for c in columns], 1)
    return np.concatenate([header, *rows], 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--size", type=int, default=128, help="cell side in pixels")
    args = ap.parse_args()
    img = sheet(args.pack, args.size)
    if not cv2.imwrite(str(Path(args.out)), img[..., ::-1]):
        sys.exit(f"cannot write {args.out}")
    print(f"wrote {args.out} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()
