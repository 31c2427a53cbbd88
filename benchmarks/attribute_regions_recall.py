"""How well the attribute regions cover what an attribute edit really changes, on SynthFaces.

For a few hundred rendered faces and each editor attribute, the face is re-rendered with the attribute
flipped (trainer.data.synthfaces.with_attribute: present -> absent is the '-' sign, absent -> present the
'+' sign); the true change is every pixel that differs. The region of the edit is computed from the TRUE
masks of the input and the re-render, as the engine's keep_outside computes it from parses:

  AR      faceeditor.core.attribute_regions.edit_region with {attribute: +-1} (MagGAN's AR+/AR- tables,
          core/data/attribute_parts.json), the app's regions
  class   the reference: the old class-level regions (ATTRIBUTE_REGIONS classes in either mask, dilated)

Printed per attribute and sign: recall (share of the truly changed pixels inside the region, pooled over
faces), area (the region's mean share of the image) and the share of faces with a change. A region should
keep recall near 1 with as small an area as the attribute allows.

    python benchmarks/attribute_regions_recall.py [--faces 200] [--size 128]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from faceeditor.core.attribute_regions import edit_region, region_classes
from faceeditor.core.labels import ATTRIBUTES
from trainer.data.synthfaces import render, sample_params, with_attribute


def class_region(before: np.ndarray, after: np.ndarray, name: str) -> np.ndarray:
    """The old class-level region: the attribute's classes in either mask, dilated as edit_region does."""
    import math

    import cv2

    ids = region_classes([name])
    region = np.isin(before, ids) | np.isin(after, ids)
    r = max(1, math.ceil(before.shape[0] / 64))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(region.astype(np.uint8), kernel).astype(bool)


def measure(faces: int, size: int, seed0: int = 10_000) -> dict[tuple[str, str], dict[str, float]]:
    """{(attribute, sign): {n, changed, recall_ar, area_ar, recall_class, area_class}}."""
    acc: dict[tuple[str, str], dict[str, float]] = {}
    for i in range(faces):
        p = sample_params(seed0 + i)
        base = render(p, size)
        for name in ATTRIBUTES:
            present = p.attr(name) >= 0.5
            sign = "-" if present else "+"
            out = render(with_attribute(p, name, 0.0 if present else 1.0), size)
            changed = (base.image != out.image).any(axis=2)
            a = acc.setdefault((name, sign), dict(n=0, changed=0, faces_changed=0, hit_ar=0, hit_class=0,
                                                  area_ar=0.0, area_class=0.0))
            ar = edit_region(base.mask, out.mask, {name: 1.0 if sign == "+" else -1.0})
            cl = class_region(base.mask, out.mask, name)
            a["n"] += 1
            a["changed"] += int(changed.sum())
            a["faces_changed"] += int(changed.any())
            a["hit_ar"] += int((changed & ar).sum())
            a["hit_class"] += int((changed & cl).sum())
            a["area_ar"] += float(ar.mean())
            a["area_class"] += float(cl.mean())
    out: dict[tuple[str, str], dict[str, float]] = {}
    for key, a in acc.items():
        c = max(a["changed"], 1)
        out[key] = dict(n=a["n"], faces_changed=a["faces_changed"],
                        recall_ar=a["hit_ar"] / c if a["changed"] else float("nan"),
                        recall_class=a["hit_class"] / c if a["changed"] else float("nan"),
                        area_ar=a["area_ar"] / a["n"], area_class=a["area_class"] / a["n"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=200)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = measure(args.faces, args.size)
    print(f"SynthFaces, {args.faces} faces at {args.size} px; region from the true masks of input and re-render")
    print(f"{'attribute':<20}{'sign':>4}{'faces':>7}{'recall AR':>11}{'area AR':>9}"
          f"{'recall class':>14}{'area class':>12}{'area ratio':>12}")
    for name in ATTRIBUTES:
        for sign in ("+", "-"):
            r = res.get((name, sign))
            if r is None:
                continue
            ratio = r["area_ar"] / r["area_class"] if r["area_class"] else float("nan")
            print(f"{name:<20}{sign:>4}{r['faces_changed']:>4}/{r['n']:<3}{r['recall_ar']:>10.4f}"
                  f"{r['area_ar']:>9.3f}{r['recall_class']:>14.4f}{r['area_class']:>12.3f}{ratio:>12.2f}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
