"""Regenerate the SCGAN sample inputs in faceeditor/resources/samples/ (one-off; the outputs are committed).

Each sample is a SynthFaces face rendered from a held-out seed (the sf128_heldout evaluation set:
seed 7 * 10**9 + index, never in the training set, whose seeds are 0 * 10**9 + index), chosen near-frontal
(|yaw|, |pitch|, |roll| < 4 degrees), neutral and with a closed mouth, so that the interpolate presets
(a head turn, a smile) start from a plausible face. Per sample:

  <name>_mask.png        19-class index PNG (palette image: pixel = class, shown in the class colours)
  <name>_landmarks.json  {"landmarks": 68 [x, y] in pixels, "size": [W, H], "seed", "attributes"
                         (the 13 attributes, 0/1), "expression", "pose": [yaw, pitch, roll]}

Run from the repository root:  PYTHONPATH=. python tools/make_scgan_samples.py [--size 128]
"""
from __future__ import annotations

import argparse
import json

from faceeditor.core.image_io import save_image
from faceeditor.core.labels import ATTRIBUTES
from faceeditor.core.landmark_mask import mouth_opening
from faceeditor.core.palette import PALETTE
from faceeditor.resources import samples_dir
from trainer.data.synthfaces import render_seed
from trainer.data.synthfaces.native import sample_seed

HELD_OUT_SEED = 7          # the dataset seed of /work/data/sf128_heldout
INDICES = (139, 853, 866)  # near-frontal, neutral faces of that set (see the docstring)
OUT = samples_dir()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="side in pixels (the demo models' resolution)")
    args = ap.parse_args()
    for index in INDICES:
        seed = sample_seed(HELD_OUT_SEED, index)
        s = render_seed(seed, args.size)
        yaw, pitch, roll = s.pose
        assert max(abs(yaw), abs(pitch), abs(roll)) < 4.0 and s.expression == "neutral", (index, s.pose)
        name = f"heldout{index:04d}"
        save_image(OUT / f"{name}_mask.png", s.mask, palette=[tuple(int(v) for v in c) for c in PALETTE])
        record = {
            "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in s.landmarks],
            "size": [args.size, args.size],
            "seed": seed,
            "attributes": {a: int(bool(s.attributes[a])) for a in ATTRIBUTES},
            "expression": s.expression,
            "pose": [round(float(v), 2) for v in s.pose],
        }
        (OUT / f"{name}_landmarks.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
        print(f"{name}: seed {seed}, mouth opening {mouth_opening(s.landmarks):.3f}, "
              f"attributes {[a for a in ATTRIBUTES if s.attributes[a]]}")


if __name__ == "__main__":
    main()
