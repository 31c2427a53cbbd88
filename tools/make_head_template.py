"""Make the head template of faceeditor.core.head_layout (one-off; the outputs are committed).

Renders ``--count`` near-frontal SynthFaces faces (|yaw| <= ``--max-yaw`` degrees, training-set seeds)
with a medium hair length worn behind the ears (``--hair``, ``--ears``: over all lengths the majority is a
short crop, which reads less as a whole portrait and predicts true hair worse, IoU 0.37 against 0.42),
framed ``--zoom`` times smaller than the dataset's crops so that the hair, the shoulders and the space
around them are in the picture; aligns each mask to the faces' mean landmarks by a similarity fitted on
head_layout.FIT_POINTS (Procrustes, twice), adds every aligned mask's mirror image (so the template is
symmetric), and takes per pixel the most frequent class of TEMPLATE_CLASSES (face parts count as skin;
glasses, earrings and hats vote for nothing), the vote counts smoothed a little so the edges are clean.

Writes into faceeditor/core/data/ (the core reads them; it never renders):
  head_template.png   the layout: an index PNG (palette image, pixel = 19-class index), --size square
  head_template.json  {"size": [W, H], "landmarks": the 68 mirror-symmetric mean landmarks in its pixels,
                       "classes", "made_with": how it was made}
and, with --preview, a picture of the layout with its landmarks.

Run from the repository root:  PYTHONPATH=. python tools/make_head_template.py [--count 240] [--preview x.png]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np

from faceeditor.core.face_align import similarity_transform, transform_points
from faceeditor.core.face_geometry import IBUG_MIRROR
from faceeditor.core.head_layout import FIT_POINTS, TEMPLATE_CLASSES, TEMPLATE_JSON, TEMPLATE_PNG
from faceeditor.core.image_io import save_image
from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES, flip_class_lut
from faceeditor.core.palette import PALETTE
from trainer.data.synthfaces import render
from trainer.data.synthfaces.geometry import hair_length
from trainer.data.synthfaces.native import sample_face

UNKNOWN = 255
# what each of the 19 classes votes for: face parts are skin; glasses, earrings and hats hide what is
# under them, so they vote for nothing
_VOTE = {"skin": "skin", "l_brow": "skin", "r_brow": "skin", "l_eye": "skin", "r_eye": "skin",
         "nose": "skin", "mouth": "skin", "u_lip": "skin", "l_lip": "skin", "l_ear": "l_ear",
         "r_ear": "r_ear", "neck": "neck", "neck_l": "neck", "cloth": "cloth", "hair": "hair",
         "background": "background"}


def vote_lut() -> np.ndarray:
    lut = np.full(256, UNKNOWN, np.uint8)
    for name, to in _VOTE.items():
        lut[CLASS_INDEX[name]] = CLASS_INDEX[to]
    return lut


def _render(job: tuple[int, int, int, float]) -> tuple[np.ndarray, np.ndarray]:
    seed, index, size, zoom = job
    p = sample_face(seed, index)
    p = replace(p, scene=replace(p.scene, scale=p.scene.scale / zoom))
    s = render(p, size)
    return vote_lut()[s.mask], s.landmarks.astype(np.float64)


def mirror_points(points: np.ndarray, size: int) -> np.ndarray:
    out = points[list(IBUG_MIRROR)].copy()
    out[:, 0] = (size - 1) - out[:, 0]
    return out


def mean_landmarks(all_points: np.ndarray, size: int, rounds: int = 2) -> np.ndarray:
    """Procrustes mean on FIT_POINTS, made mirror-symmetric about the picture's vertical centre line."""
    ref = all_points.mean(axis=0)
    idx = list(FIT_POINTS)
    for _ in range(rounds):
        ref = 0.5 * (ref + mirror_points(ref, size))
        aligned = [transform_points(p, similarity_transform(p[idx], ref[idx])) for p in all_points]
        ref = np.mean(aligned, axis=0)
    return 0.5 * (ref + mirror_points(ref, size))


def vote(masks: np.ndarray, sigma: float) -> np.ndarray:
    """Most frequent class of TEMPLATE_CLASSES per pixel (unknown pixels do not vote), counts blurred."""
    classes = [CLASS_INDEX[n] for n in TEMPLATE_CLASSES]
    counts = np.stack([(masks == c).sum(axis=0).astype(np.float32) for c in classes])
    if sigma > 0:
        counts = np.stack([cv2.GaussianBlur(c, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
                           for c in counts])
    out = np.asarray(classes, np.uint8)[np.argmax(counts, axis=0)]
    out[counts.sum(axis=0) == 0] = CLASS_INDEX["background"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=240, help="faces to render (default 240)")
    ap.add_argument("--size", type=int, default=160, help="template side in pixels (default 160)")
    ap.add_argument("--zoom", type=float, default=1.5, help="how much smaller than the dataset's crops the "
                                                           "faces are framed (default 1.5)")
    ap.add_argument("--max-yaw", type=float, default=8.0, help="largest |yaw| in degrees (default 8)")
    ap.add_argument("--hair", type=float, nargs=2, default=(1.0, 2.0), metavar=("MIN", "MAX"),
                    help="hair lengths to take, 0 crop .. 1 chin .. 2 shoulders .. 3 long (default 1 2: a "
                         "medium length; all lengths together vote for a short crop)")
    ap.add_argument("--ears", action=argparse.BooleanOptionalAction, default=True,
                    help="only faces with the hair behind the ears, so the ears show (default: on)")
    ap.add_argument("--seed", type=int, default=0,
                    help="SynthFaces dataset seed (default 0, the training set)")
    ap.add_argument("--sigma", type=float, default=1.0, help="blur of the vote counts in pixels (default 1)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out-png", type=Path, default=TEMPLATE_PNG)
    ap.add_argument("--out-json", type=Path, default=TEMPLATE_JSON)
    ap.add_argument("--preview", type=Path, help="also write a picture of the template with its landmarks")
    args = ap.parse_args()

    jobs, index = [], 0
    while len(jobs) < args.count:
        p = sample_face(args.seed, index)
        if (abs(p.yaw) <= args.max_yaw and args.hair[0] <= hair_length(p) <= args.hair[1]
                and (not args.ears or p.hair.tuck >= 0.5)):
            jobs.append((args.seed, index, args.size, args.zoom))
        index += 1
    t0 = time.time()
    with Pool(args.workers) as pool:
        rendered = pool.map(_render, jobs, chunksize=8)
    print(f"rendered {len(jobs)} faces (of the first {index} samples) in {time.time() - t0:.0f} s")

    points = np.stack([p for _, p in rendered])
    ref = mean_landmarks(points, args.size)
    idx = list(FIT_POINTS)
    flip = np.asarray(flip_class_lut() + [UNKNOWN] * (256 - NUM_CLASSES), np.uint8)
    aligned = []
    for mask, pts in rendered:
        m = similarity_transform(pts[idx], ref[idx])
        warped = cv2.warpAffine(mask, m, (args.size, args.size), flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=UNKNOWN)
        aligned += [warped, flip[warped[:, ::-1]]]
    layout = vote(np.stack(aligned), args.sigma)

    options = (f"--count {args.count} --size {args.size} --zoom {args.zoom} --max-yaw {args.max_yaw} "
               f"--hair {args.hair[0]} {args.hair[1]} {'--ears' if args.ears else '--no-ears'} "
               f"--seed {args.seed} --sigma {args.sigma}")
    save_image(args.out_png, layout, palette=[tuple(int(v) for v in c) for c in PALETTE])
    meta = {
        "size": [args.size, args.size],
        "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in ref],
        "classes": list(TEMPLATE_CLASSES),
        "made_with": f"tools/make_head_template.py {options}: the per-pixel majority class of near-frontal "
                     "SynthFaces masks aligned on their landmarks, mirrored copies included",
    }
    args.out_json.write_text(json.dumps(meta) + "\n", encoding="utf-8")
    shares = {n: round(float((layout == CLASS_INDEX[n]).mean()), 3) for n in TEMPLATE_CLASSES}
    print(f"wrote {args.out_png} ({args.out_png.stat().st_size} bytes) and {args.out_json}; classes {shares}")
    if args.preview:
        big = 4
        pic = np.asarray(PALETTE, np.uint8)[layout].repeat(big, 0).repeat(big, 1).copy()
        for x, y in ref:
            centre = (int(round((x + 0.5) * big)), int(round((y + 0.5) * big)))
            cv2.circle(pic, centre, 3, (255, 255, 255), -1)
        save_image(args.preview, pic)


if __name__ == "__main__":
    main()
