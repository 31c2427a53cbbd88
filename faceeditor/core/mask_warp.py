"""Warp a mask (or an image) from one set of 68 landmarks to another, piecewise-affinely.

The destination image is cut into the Delaunay triangles of the destination landmarks plus anchor points:
the forehead outline the landmarks imply and a ring around the face, both carried with the head's rigid
motion (a similarity fitted on landmarks that expressions hardly move), and fixed points along and just
outside the image border. Every destination pixel takes its value from the source position given by the
affine map of its triangle, so the face parts move with their landmarks, hair, ears and glasses move with
the head (not with raised brows or an opened jaw), and the background and cloth fade smoothly into the
fixed border. Masks are sampled with nearest neighbour (class indices never blend),
images bilinearly.

Backward mapping over a triangulation of the *destination* means that a source triangle may be
degenerate (a closed mouth whose lips part) or folded without harm: the destination is always covered
exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceeditor.core.face_geometry import as_landmarks
from faceeditor.core.landmark_mask import DEFAULT_STYLE, MaskStyle, forehead_arc
from faceeditor.core.mask_io import validate_mask

_SHIFT = 8
_NO_TRIANGLE = np.iinfo(np.uint16).max


# Landmarks that expressions hardly move (upper jaw line, nose bridge, eye corners): their motion is the
# head's own, which hair, ears, hats and glasses follow.
HEAD_POINTS: tuple[int, ...] = (0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 36, 39, 42, 45)


@dataclass(frozen=True)
class WarpOptions:
    """How the space around the landmarks moves.

    border_points: fixed anchors per image side. outline: the forehead outline the landmarks imply is
    added as control points: ``"follow"`` builds it from the destination landmarks (jaw ends, nose) with
    the brows placed by the head's motion alone, so that raised brows do not drag the hair; ``"rigid"``
    carries the source outline with the head's similarity (fitted on HEAD_POINTS); ``"none"`` leaves it
    out. ring: a ring of points around the face outline, scaled by this factor about the face's centre
    and carried rigidly with the head (None: no ring). style: for the outline.

    Defaults chosen on SynthFaces re-renders (benchmarks/landmark_masks_synthfaces.py): "follow" without a
    ring was best for both expression and head-pose changes; a rigid ring helps expressions a hair and
    hurts head turns, where the skull does not move like the face.
    """

    border_points: int = 4
    outline: str = "follow"
    ring: float | None = None
    ring_points: int = 16
    style: MaskStyle = DEFAULT_STYLE


DEFAULT_WARP = WarpOptions()


def head_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (rotation, uniform scale, translation) taking the source head points
    onto the destination ones."""
    a, b = src[list(HEAD_POINTS)], dst[list(HEAD_POINTS)]
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - ma, b - mb
    denom = float((a0 ** 2).sum())
    if denom < 1e-12:
        return np.array([[1.0, 0.0, mb[0] - ma[0]], [0.0, 1.0, mb[1] - ma[1]]])
    # complex-number form of the Procrustes fit: b0 ~ (p + i q) * a0
    p = float((a0[:, 0] * b0[:, 0] + a0[:, 1] * b0[:, 1]).sum()) / denom
    q = float((a0[:, 0] * b0[:, 1] - a0[:, 1] * b0[:, 0]).sum()) / denom
    rot = np.array([[p, -q], [q, p]])
    return np.hstack([rot, (mb - rot @ ma)[:, None]])


def _border_anchors(h: int, w: int, per_side: int) -> np.ndarray:
    """Fixed points on a rectangle one pixel outside the pixel centres, corners included."""
    x0, y0, x1, y1 = -1.0, -1.0, float(w), float(h)
    ts = np.linspace(0.0, 1.0, max(per_side, 1) + 1)[:-1]
    top = np.stack([x0 + ts * (x1 - x0), np.full_like(ts, y0)], axis=1)
    right = np.stack([np.full_like(ts, x1), y0 + ts * (y1 - y0)], axis=1)
    bottom = np.stack([x1 - ts * (x1 - x0), np.full_like(ts, y1)], axis=1)
    left = np.stack([np.full_like(ts, x0), y1 - ts * (y1 - y0)], axis=1)
    return np.vstack([top, right, bottom, left])


def control_points(src: np.ndarray, dst: np.ndarray, size: tuple[int, int],
                   options: WarpOptions = DEFAULT_WARP) -> tuple[np.ndarray, np.ndarray]:
    """Corresponding (N, 2) source and destination points: the landmarks, the forehead outline, a ring
    around the face (see WarpOptions) and the fixed border anchors."""
    if options.outline not in ("rigid", "follow", "none"):
        raise ValueError(f"outline must be 'rigid', 'follow' or 'none', got {options.outline!r}")
    h, w = size
    src_lm, dst_lm = as_landmarks(src, "source landmarks"), as_landmarks(dst, "destination landmarks")
    src_pts, dst_pts = [src_lm], [dst_lm]
    head = head_similarity(src_lm, dst_lm)

    def rigid(points: np.ndarray) -> np.ndarray:
        return points @ head[:, :2].T + head[:, 2]

    arc = forehead_arc(src_lm, options.style)
    if options.outline == "rigid":
        src_pts.append(arc)
        dst_pts.append(rigid(arc))
    elif options.outline == "follow":
        # the destination's own outline (jaw ends, nose length), but with the brows where the head's
        # motion alone puts them: raising the brows is an expression, not a bigger forehead
        steady = dst_lm.copy()
        steady[17:27] = rigid(src_lm[17:27])
        src_pts.append(arc)
        dst_pts.append(forehead_arc(steady, options.style))
    if options.ring:
        outline = np.vstack([src_lm[0:17], arc])
        centre = outline.mean(axis=0)
        pick = np.linspace(0, len(outline), options.ring_points, endpoint=False).astype(int)
        ring = centre + (outline[pick] - centre) * float(options.ring)
        src_pts.append(ring)
        dst_pts.append(rigid(ring))
    anchors = _border_anchors(h, w, options.border_points)
    # points outside the anchor rectangle would make the border move; keep them just inside it
    lo, hi = np.array([-0.5, -0.5]), np.array([w - 0.5, h - 0.5])
    src_all = np.vstack([np.clip(p, lo, hi) for p in src_pts] + [anchors])
    dst_all = np.vstack([np.clip(p, lo, hi) for p in dst_pts] + [anchors])
    return src_all, dst_all


def _merge_duplicates(dst: np.ndarray, src: np.ndarray, tol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Destination points closer than ``tol`` become one (their source positions averaged)."""
    keys = np.round(dst / tol).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse)
    src_mean = np.zeros((len(first), 2))
    np.add.at(src_mean, inverse, src)
    return dst[first], src_mean / counts[:, None]


def delaunay_triangles(points: np.ndarray) -> np.ndarray:
    """(T, 3) vertex indices of the Delaunay triangulation of distinct 2-D points (cv2.Subdiv2D)."""
    pts32 = points.astype(np.float32)
    lo = np.floor(pts32.min(axis=0)) - 2
    hi = np.ceil(pts32.max(axis=0)) + 2
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    index = {}
    for i, (x, y) in enumerate(pts32):
        subdiv.insert((float(x), float(y)))
        index[(float(x), float(y))] = i
    tris = []
    for t in subdiv.getTriangleList():
        ids = [index.get((float(t[0]), float(t[1]))), index.get((float(t[2]), float(t[3]))),
               index.get((float(t[4]), float(t[5])))]
        if None not in ids:  # drop triangles that touch Subdiv2D's virtual outer vertices
            tris.append(ids)
    return np.asarray(tris, np.int64).reshape(-1, 3)


def _dense_map(src: np.ndarray, dst: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """float32 (map_x, map_y) giving for each destination pixel its source position."""
    h, w = size
    dst, src = _merge_duplicates(dst, src)
    tris = delaunay_triangles(dst)
    d = dst[tris]                                                  # (T, 3, 2)
    area2 = (d[:, 1, 0] - d[:, 0, 0]) * (d[:, 2, 1] - d[:, 0, 1]) - \
            (d[:, 2, 0] - d[:, 0, 0]) * (d[:, 1, 1] - d[:, 0, 1])
    tris = tris[np.abs(area2) > 1e-9]
    d, s = dst[tris], src[tris]
    # affine A (T, 2, 3) with A @ [x, y, 1] = source position, solved from the three vertex pairs
    homog = np.concatenate([d, np.ones((len(tris), 3, 1))], axis=2)      # (T, 3, 3)
    affine = np.linalg.solve(homog, s).transpose(0, 2, 1)               # (T, 2, 3)

    ids = np.full((h, w), _NO_TRIANGLE, np.uint16)
    fixed = np.round(d * (1 << _SHIFT)).astype(np.int32)
    for t in range(len(tris)):
        cv2.fillConvexPoly(ids, fixed[t].reshape(-1, 1, 2), int(t), lineType=cv2.LINE_8, shift=_SHIFT)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    missing = ids == _NO_TRIANGLE
    if missing.any():  # cannot happen with the border anchors; the identity is the safe fallback
        ids[missing] = 0
    a = affine[ids.astype(np.int64)]                                     # (H, W, 2, 3)
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    if missing.any():
        map_x[missing], map_y[missing] = xs[missing], ys[missing]
    return map_x.astype(np.float32), map_y.astype(np.float32)


def warp_field(src_landmarks: np.ndarray, dst_landmarks: np.ndarray, size: int | tuple[int, int],
               options: WarpOptions = DEFAULT_WARP) -> tuple[np.ndarray, np.ndarray]:
    """The backward map (map_x, map_y) for ``cv2.remap``: destination pixel -> source position."""
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    src, dst = control_points(src_landmarks, dst_landmarks, hw, options)
    return _dense_map(src, dst, hw)


def warp_mask(mask: np.ndarray, src_landmarks: np.ndarray, dst_landmarks: np.ndarray, *,
              options: WarpOptions = DEFAULT_WARP) -> np.ndarray:
    """The mask moved so that what lay at ``src_landmarks`` lies at ``dst_landmarks`` (nearest neighbour).

    Landmarks are in the mask's pixel coordinates; the output has the mask's size.
    """
    arr = validate_mask(mask)
    map_x, map_y = warp_field(src_landmarks, dst_landmarks, arr.shape, options)
    return cv2.remap(arr, map_x, map_y, interpolation=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)


def warp_image(image: np.ndarray, src_landmarks: np.ndarray, dst_landmarks: np.ndarray, *,
               options: WarpOptions = DEFAULT_WARP) -> np.ndarray:
    """Like :func:`warp_mask` for an (H, W) or (H, W, C) image, sampled bilinearly."""
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"image: expected an (H, W) or (H, W, C) array, got shape {img.shape}")
    map_x, map_y = warp_field(src_landmarks, dst_landmarks, img.shape[:2], options)
    return cv2.remap(img, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
