"""A gallery of SynthFaces samples: each face as image | mask over the image | landmarks."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceeditor.core.labels import LANDMARK_GROUPS, NUM_CLASSES

from .native import sample_seed
from .render import SynthSample, render_seed

# One colour per parsing class (background black), chosen to be told apart.
PALETTE = np.array([
    (0, 0, 0), (204, 153, 120), (120, 60, 200), (200, 60, 120), (40, 200, 240), (240, 200, 40),
    (250, 250, 250), (255, 110, 60), (60, 110, 255), (255, 215, 0), (220, 70, 40), (150, 0, 40),
    (255, 60, 100), (255, 130, 170), (150, 120, 90), (0, 220, 160), (40, 140, 80), (90, 50, 20),
    (70, 70, 200),
], np.uint8)
assert len(PALETTE) == NUM_CLASSES
_CLOSED = ("r_eye", "l_eye", "outer_lips", "inner_lips")


def colour_mask(mask: np.ndarray) -> np.ndarray:
    return PALETTE[mask]


def panel(sample: SynthSample) -> np.ndarray:
    """(S, 3S, 3) uint8: the image, the mask blended over it, the landmarks drawn on it."""
    img = sample.image
    size = img.shape[0]
    over = (0.35 * img + 0.65 * colour_mask(sample.mask)).astype(np.uint8)
    lmk = img.copy()
    pts = np.round(sample.landmarks * 16).astype(np.int32)
    for name, (a, b) in LANDMARK_GROUPS.items():
        cv2.polylines(lmk, [pts[a:b].reshape(-1, 1, 2)], name in _CLOSED, (60, 255, 60), 1, cv2.LINE_AA, 4)
    r = int(16 * max(0.6, size / 200))
    for p in pts:
        cv2.circle(lmk, (int(p[0]), int(p[1])), r, (255, 40, 40), -1, cv2.LINE_AA, 4)
    return np.concatenate([img, over, lmk], 1)


def gallery(seeds, size: int = 128, cols: int = 2, gap: int = 4) -> np.ndarray:
    """Panels of the given seeds in a grid with ``cols`` faces per row."""
    panels = [panel(render_seed(int(s), size)) for s in seeds]
    h, w = panels[0].shape[:2]
    rows = (len(panels) + cols - 1) // cols
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = p
    return out


def write_preview(path, count: int = 16, size: int = 128, seed: int = 0, cols: int = 2) -> Path:
    """Write a gallery of the first ``count`` faces of the dataset with this seed as a PNG."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the preview is a PNG file; got {path.name!r}")
    img = gallery([sample_seed(seed, i) for i in range(int(count))], size=size, cols=cols)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img[..., ::-1]):
        raise OSError(f"could not write {path}")
    return path


def edit_strip(seed: int, size: int = 128, names=None, gap: int = 4) -> np.ndarray:
    """One face, then the same face with each named attribute flipped (ground-truth edits), then in
    each expression: two rows of images."""
    from faceeditor.core.labels import EXPRESSIONS

    from .params import sample_params, with_attribute, with_expression
    from .render import render

    p = sample_params(seed)
    names = names or ("Bald", "Bangs", "Blond_Hair", "Eyeglasses", "Male", "Mustache", "No_Beard",
                      "Pale_Skin", "Young", "Wearing_Hat")
    row1 = [render(p, size).image] + [render(with_attribute(p, n, 0.0 if p.attr(n) >= 0.5 else 1.0), size).image
                                      for n in names]
    row2 = [render(with_expression(p, e), size).image for e in EXPRESSIONS]
    w = max(len(row1), len(row2))
    out = np.full((2 * size + gap, w * (size + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate((row1, row2)):
        for c, img in enumerate(row):
            out[r * (size + gap):r * (size + gap) + size, c * (size + gap):c * (size + gap) + size] = img
    return out
