"""A whole portrait from 68 landmarks: hair, ears, neck, cloth and background around the face parts.

Landmarks determine only the face parts (faceeditor.core.landmark_mask); a synthesis model given those
alone on background draws a small face floating in the void. :func:`portrait_layout` fits a head
template to the landmarks by a similarity transform and draws the landmark face parts over it, so
"landmarks alone" give a complete 19-class portrait layout.

The template is data, not code: ``core/data/head_template.png`` (an index PNG, pixel = class, of the
classes in TEMPLATE_CLASSES) and ``core/data/head_template.json`` (the 68 landmarks of that layout, its
size and how it was made). It is the per-pixel majority class of near-frontal SynthFaces renders aligned
on their landmarks, made by ``tools/make_head_template.py``; the core only reads it (it never imports
the trainer's renderer).

Below the line through the jaw ends (landmarks 0 and 16) the landmarks fix the face outline, so there the
oval wins: template skin outside it gives way to the template's nearest other class (neck under the
chin, hair or background at the cheeks) and template hair inside it becomes skin. Above that line the
outline is only a guess (the forehead arc), so template hair over it stays hair and template skin
beyond it stays skin (the head is not cut at the arc).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from faceeditor.core.face_align import similarity_transform
from faceeditor.core.face_geometry import as_landmarks, face_frame
from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.landmark_mask import (
    DEFAULT_STYLE,
    MaskStyle,
    face_outline,
    landmarks_to_mask,
    polygon_coverage,
)
from faceeditor.core.mask_warp import HEAD_POINTS

DATA_DIR = Path(__file__).resolve().parent / "data"
TEMPLATE_PNG = DATA_DIR / "head_template.png"
TEMPLATE_JSON = DATA_DIR / "head_template.json"

# The classes a head template holds (the face parts are drawn from the landmarks, so the face is skin).
TEMPLATE_CLASSES: tuple[str, ...] = ("background", "skin", "l_ear", "r_ear", "neck", "cloth", "hair")

# Points the template is fitted on: those that expressions hardly move (upper jaw line, nose bridge, eye
# corners), whose motion is the head's own (faceeditor.core.mask_warp.HEAD_POINTS). The set is its own
# mirror image, so a mirrored face gets the mirrored fit. On SynthFaces they fit the template better than
# adding the nose base and mouth corners or taking all 68 points (pixel agreement 0.823 vs 0.818, 0.808).
FIT_POINTS: tuple[int, ...] = HEAD_POINTS


class HeadTemplateError(ValueError):
    """A head template file that is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class HeadTemplate:
    """A portrait layout (uint8 (S, S), 19-class indices of TEMPLATE_CLASSES) and its 68 landmarks."""

    layout: np.ndarray
    landmarks: np.ndarray


def load_head_template(png: str | Path = TEMPLATE_PNG, meta: str | Path = TEMPLATE_JSON) -> HeadTemplate:
    """Read a head template (index PNG + JSON with ``"size"`` and ``"landmarks"``); HeadTemplateError."""
    from faceeditor.core.mask_io import MaskError, load_mask
    from faceeditor.core.safe_read import load_json_file

    raw = load_json_file(meta, f"head template {str(meta)!r}", HeadTemplateError)
    if not isinstance(raw, dict) or "landmarks" not in raw or "size" not in raw:
        raise HeadTemplateError(f"head template {str(meta)!r}: needs \"size\" and \"landmarks\"")
    try:
        layout = load_mask(png, expected_size=tuple(int(v) for v in raw["size"])[::-1])
        points = as_landmarks(raw["landmarks"], name=f"head template {str(meta)!r} landmarks")
    except (MaskError, ValueError, TypeError) as exc:
        raise HeadTemplateError(str(exc)) from None
    allowed = [CLASS_INDEX[n] for n in TEMPLATE_CLASSES]
    if not np.isin(layout, allowed).all():
        raise HeadTemplateError(f"head template {str(png)!r}: classes other than "
                                f"{', '.join(TEMPLATE_CLASSES)}")
    return HeadTemplate(layout=layout, landmarks=points)


@lru_cache(maxsize=1)
def default_head_template() -> HeadTemplate:
    """The bundled template, read once (a clip asks for a layout every frame)."""
    return load_head_template()


def template_matrix(template_landmarks: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """2x3 similarity taking the template's landmarks onto ``landmarks`` (least squares on FIT_POINTS)."""
    idx = list(FIT_POINTS)
    return similarity_transform(as_landmarks(template_landmarks)[idx], as_landmarks(landmarks)[idx])


def warp_layout(layout: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A class-index layout moved by ``matrix`` (2x3, layout -> output pixels) into an (H, W) mask.

    Each class is warped bilinearly as a 0/255 plane and the largest wins, so edges stay smooth when the
    template is enlarged (nearest neighbour would show the template's pixels as steps); beyond the
    template the border is replicated (cloth continues down, background sideways).
    """
    h, w = size
    out = np.zeros((h, w), np.uint8)
    best = np.full((h, w), -1, np.int16)
    for c in np.unique(layout):
        plane = cv2.warpAffine((layout == c).astype(np.uint8) * 255, matrix, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        more = plane > best
        out[more], best[more] = c, plane[more]
    return out


def _nearest_other(layout: np.ndarray, where: np.ndarray, cls: int) -> np.ndarray:
    """``layout`` with the pixels ``where`` (all of class ``cls``) set to the nearest pixel's class that is
    not ``cls``."""
    other = layout != cls
    if not other.any() or not where.any():
        return layout
    _, labels = cv2.distanceTransformWithLabels(np.where(other, 0, 255).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(other)
    value = np.zeros(int(labels.max()) + 1, np.uint8)
    value[labels[ys, xs]] = layout[ys, xs]
    out = layout.copy()
    out[where] = value[labels[where]]
    return out


def portrait_layout(landmarks: np.ndarray, size: int | tuple[int, int], *, style: MaskStyle = DEFAULT_STYLE,
                    template: HeadTemplate | None = None) -> np.ndarray:
    """A 19-class portrait mask (uint8 (H, W)): the head template fitted to ``landmarks`` (hair, ears,
    neck, cloth, background), with the face parts the landmarks determine drawn on top.

    Raises LandmarkError for landmarks that cannot describe a face, as landmarks_to_mask does.
    """
    pts = as_landmarks(landmarks)
    h, w = (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0:
        raise ValueError(f"mask size must be positive, got {h}x{w}")
    frame = face_frame(pts)                       # LandmarkError for degenerate landmarks
    tpl = template or default_head_template()
    layout = warp_layout(tpl.layout, template_matrix(tpl.landmarks, pts), (h, w))

    oval = polygon_coverage(face_outline(pts, style, frame), (h, w))
    jaw_mid = 0.5 * (pts[0] + pts[16])
    below = ((np.arange(w)[None, :] - jaw_mid[0]) * frame.up[0]
             + (np.arange(h)[:, None] - jaw_mid[1]) * frame.up[1]) < 0
    skin, hair = CLASS_INDEX["skin"], CLASS_INDEX["hair"]
    layout = _nearest_other(layout, (layout == skin) & ~oval & below, skin)
    layout[oval & below & (layout == hair)] = skin
    # every face part is drawn (the template's hair never hides an eye or a brow); the oval's skin then
    # gives way again to the template hair that is left inside it (above the jaw ends: the hairline)
    out = landmarks_to_mask(pts, (h, w), base=layout, style=style, occluders=())
    out[(layout == hair) & (out == skin)] = hair
    return out


__all__ = ["FIT_POINTS", "HeadTemplate", "HeadTemplateError", "TEMPLATE_CLASSES", "default_head_template",
           "load_head_template", "portrait_layout", "template_matrix", "warp_layout"]
