"""Real renders of one mask: a SynthFaces face drawn again with another face's scene (background, light,
clothes' colours and pattern) and hair shades, which leave every pixel's class as it was.

This is the reference for SCGAN's diversity across z with the mask fixed: what a real second draw of the
same layout differs by. Consecutive faces of a dataset differ in layout as well, so their distance
overstates what a generator held to one mask can vary.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from .native import sample_face
from .params import FaceParams
from .render import render

# scene fields that change colours only (the framing, neckline, shoulders and gaze change the layout)
SCENE_LOOK = ("bg_kind", "bg1", "bg2", "light_az", "light_el", "light_k", "warmth", "cloth", "cloth2", "pattern",
              "tex")
HAIR_SHADES = ("black", "blond", "brown", "other")     # not `tex`: the strands shape the outline


def restyle(p: FaceParams, donor: FaceParams) -> FaceParams:
    """p with the donor's scene look and hair shades: the same mask, other colours and light."""
    scene = replace(p.scene, **{k: getattr(donor.scene, k) for k in SCENE_LOOK})
    hair = replace(p.hair, **{k: getattr(donor.hair, k) for k in HAIR_SHADES})
    return replace(p, scene=scene, hair=hair)


def same_mask_pair(p: FaceParams, donor: FaceParams, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image of p, image of p restyled by the donor, the mask both share), uint8, at size x size."""
    a = render(p, size)
    b = render(restyle(p, donor), size)
    return a.image, b.image, a.mask


def same_mask_l1(root: str | Path, indices: list[int], resolution: int) -> float:
    """Mean |a - b| on a 0-1 scale between renders of the same masks, for samples `indices` of the native
    SynthFaces dataset at `root` (each restyled by the next sample), at `resolution`."""
    meta = json.loads((Path(root) / "meta.json").read_text())
    seed, fraction, size = int(meta["seed"]), float(meta.get("edited_fraction", 0.0)), int(meta["size"])
    total = 0.0
    for i in indices:
        a, b, _ = same_mask_pair(sample_face(seed, i, fraction), sample_face(seed, i + 1, fraction), size)
        if size != resolution:
            import cv2

            a, b = (cv2.resize(x, (resolution, resolution), interpolation=cv2.INTER_AREA) for x in (a, b))
        total += float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean() / 255.0)
    return total / max(1, len(indices))
