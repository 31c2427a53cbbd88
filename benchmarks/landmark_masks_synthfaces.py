"""How well do landmark-driven masks predict the true mask of a face whose landmarks moved?

SynthFaces re-renders one identity with another expression or head pose and gives the true 19-class mask
of each render. For every pair (source render -> target render) this script predicts the target mask from
the source mask and the two landmark sets, and compares with the truth:

  no warp        the source mask unchanged (the reference every other figure is measured against)
  warp           mask_warp.warp_mask (piecewise-affine over the landmark triangulation)
  warp + parts   landmark_mask.landmarks_to_mask(target landmarks, base=warped mask)
  warp + mouth   the same, redrawing only the lips and the mouth interior (parts=MOUTH_CLASSES)
  warp + inside  the warped mask with only the mouth interior drawn over it, when the target's mouth is
                 open wider than the source's (what Interpolation does by default with a keyframe mask)
  parts only     landmarks_to_mask(target landmarks, base=source mask), no warp
  landmarks      landmarks_to_mask(target landmarks) alone, scored on the six landmark regions

It prints pixel accuracy, mean IoU over the classes present, and the error ratio (1 - acc) against no warp.
Last, the Left2Right head-turn model: face_geometry.head_turn_landmarks applied to the frontal landmarks
against the landmarks of SynthFaces' own turned renders (mean point error in inter-ocular distances),
with not turning at all as the reference.

    PYTHONPATH=. python benchmarks/landmark_masks_synthfaces.py --identities 20 --size 128
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from faceeditor.core.labels import EXPRESSIONS, NUM_CLASSES
from faceeditor.core.landmark_mask import (
    MOUTH_CLASSES,
    landmarks_to_mask,
    mouth_opening,
    to_landmark_regions,
)
from faceeditor.core.mask_warp import warp_mask


class Score:
    def __init__(self, classes: int = NUM_CLASSES):
        self.inter = np.zeros(classes)
        self.union = np.zeros(classes)
        self.correct = 0
        self.total = 0

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        self.correct += int((pred == truth).sum())
        self.total += truth.size
        for c in np.union1d(np.unique(pred), np.unique(truth)):
            self.inter[c] += ((pred == c) & (truth == c)).sum()
            self.union[c] += ((pred == c) | (truth == c)).sum()

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.total, 1)

    @property
    def miou(self) -> float:
        present = self.union > 0
        return float((self.inter[present] / self.union[present]).mean())


def pairs(sf, identities: int, size: int, scenario: str):
    for seed in range(identities):
        p = sf.sample_params(1000 + seed)
        if scenario == "expression":
            base = sf.with_pose(p, 0.0, 0.0, 0.0) if hasattr(sf, "with_pose") else p
            src = sf.render(sf.with_expression(base, "neutral"), size=size)
            for e in EXPRESSIONS:
                if e != "neutral":
                    yield src, sf.render(sf.with_expression(base, e), size=size)
        else:
            neutral = sf.with_expression(p, "neutral")
            src = sf.render(sf.with_pose(neutral, 0.0, 0.0, 0.0), size=size)
            for yaw in (-30.0, -15.0, 15.0, 30.0):
                yield src, sf.render(sf.with_pose(neutral, yaw, 0.0, 0.0), size=size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", type=int, default=20)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    from trainer.data import synthfaces as sf

    scenarios = ["expression"] + (["pose"] if hasattr(sf, "with_pose") else [])
    for scenario in scenarios:
        scores = {k: Score() for k in ("no warp", "warp", "warp + parts", "warp + mouth", "warp + inside",
                                        "parts only")}
        regions = {k: Score(7) for k in ("no warp", "landmarks")}
        t0, n = time.perf_counter(), 0
        for src, dst in pairs(sf, args.identities, args.size, scenario):
            warped = warp_mask(src.mask, src.landmarks, dst.landmarks)
            scores["no warp"].add(src.mask, dst.mask)
            scores["warp"].add(warped, dst.mask)
            scores["warp + parts"].add(landmarks_to_mask(dst.landmarks, args.size, base=warped), dst.mask)
            scores["warp + mouth"].add(landmarks_to_mask(dst.landmarks, args.size, base=warped,
                                                         parts=MOUTH_CLASSES), dst.mask)
            inside = warped
            if mouth_opening(dst.landmarks) > mouth_opening(src.landmarks):
                inside = landmarks_to_mask(dst.landmarks, args.size, base=warped, parts=("mouth",),
                                           replace_stale=False)
            scores["warp + inside"].add(inside, dst.mask)
            scores["parts only"].add(landmarks_to_mask(dst.landmarks, args.size, base=src.mask), dst.mask)
            truth6 = to_landmark_regions(dst.mask)
            regions["no warp"].add(to_landmark_regions(src.mask), truth6)
            regions["landmarks"].add(landmarks_to_mask(dst.landmarks, args.size, regions=True), truth6)
            n += 1
        ref = 1.0 - scores["no warp"].accuracy
        print(f"\n{scenario}: {n} pairs of {args.identities} identities at {args.size}px "
              f"({time.perf_counter() - t0:.1f} s)")
        print(f"  {'method':<14} {'pixel acc':>9} {'mIoU(19)':>9} {'error / no-warp error':>22}")
        for name, s in scores.items():
            print(f"  {name:<14} {s.accuracy:9.4f} {s.miou:9.4f} {(1 - s.accuracy) / ref:22.3f}")
        ref6 = 1.0 - regions["no warp"].accuracy
        for name, s in regions.items():
            print(f"  6 regions, {name:<10}{s.accuracy:6.4f} {s.miou:9.4f} {(1 - s.accuracy) / ref6:22.3f}")
    if hasattr(sf, "with_pose"):
        head_turns(sf, args.identities, args.size)


def head_turns(sf, identities: int, size: int) -> None:
    from faceeditor.core.face_geometry import face_frame, head_turn_landmarks

    print(f"\nhead turns: {identities} identities, yaw -30/-15/15/30 at {size}px")
    print(f"  {'yaw':>5} {'turned':>8} {'not turned':>11} {'ratio':>7}")
    for yaw in (-30.0, -15.0, 15.0, 30.0):
        turned, frontal = [], []
        for seed in range(identities):
            p = sf.with_pose(sf.with_expression(sf.sample_params(3000 + seed), "neutral"), 0.0, 0.0, 0.0)
            start = sf.render(p, size=size).landmarks.astype(float)
            truth = sf.render(sf.with_pose(p, yaw, 0.0, 0.0), size=size).landmarks
            iod = face_frame(start).iod
            turned.append(np.linalg.norm(head_turn_landmarks(start, yaw) - truth, axis=1).mean() / iod)
            frontal.append(np.linalg.norm(start - truth, axis=1).mean() / iod)
        print(f"  {yaw:5.0f} {np.mean(turned):8.3f} {np.mean(frontal):11.3f} "
              f"{np.mean(turned) / np.mean(frontal):7.3f}")


if __name__ == "__main__":
    main()
