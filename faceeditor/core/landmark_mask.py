"""Rasterise 68 iBUG landmarks into a 19-class face-parsing mask (SCGAN's landmark-driven masks).

The face parts a landmark set determines — face oval (skin), brows, eyes, nose, lips, mouth interior — are
drawn as smooth polygons (centripetal Catmull-Rom curves through the points) filled exactly in floating
point (a pixel belongs to a part when its centre lies inside), so the result does not depend on the
resolution beyond pixelation and a mirrored face gives the mirrored mask. Drawn onto a base mask, the parts replace the base's own face parts while hair, background,
cloth, neck and ears stay, and occluders (hair, hat) keep covering the face where the base has them.

Sizes and thicknesses are in units of the inter-ocular distance, so the same options fit any face size.
The paper's six landmark regions are available as a grouping of the 19 classes (LANDMARK_REGIONS).
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from faceeditor.core.face_geometry import FaceFrame, as_landmarks, face_frame
from faceeditor.core.labels import CLASS_INDEX, LANDMARK_REGIONS, NUM_CLASSES
from faceeditor.core.mask_io import validate_mask

_NONE = 255

# The classes a landmark set determines; a base mask's own pixels of these classes are replaced.
LANDMARK_CLASSES: tuple[str, ...] = ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose", "mouth",
                                     "u_lip", "l_lip")
# The parts whose shape an expression changes most, and whose topology only they can change (a mouth opens).
MOUTH_CLASSES: tuple[str, ...] = ("mouth", "u_lip", "l_lip")

# SCGAN's six landmark regions (§5.1) are a grouping of the 19, owned by faceeditor.core.labels.


def landmark_region_lut() -> np.ndarray:
    """uint8 lookup table: 19-class index -> landmark region index (0..6)."""
    lut = np.zeros(NUM_CLASSES, np.uint8)
    for region, (_, members) in enumerate(LANDMARK_REGIONS):
        for name in members:
            lut[CLASS_INDEX[name]] = region
    return lut


def to_landmark_regions(mask: np.ndarray) -> np.ndarray:
    """Group a 19-class mask into the paper's six landmark regions plus background."""
    return landmark_region_lut()[validate_mask(mask)]


@dataclass(frozen=True)
class MaskStyle:
    """Shape options, in inter-ocular distances (iod) unless stated.

    forehead: height of the face oval above the brows, as a fraction of the nose length (27 -> 33).
    brow_thickness: brow band thickness; brow_offset: shift of the band towards the eyes (0 = centred on
    the landmarks, which dlib places along the brow). nose_top: where the nose starts between landmark 27
    (0) and 28 (1); nose_width: half-width of the bridge at the top; ala_width: how far the nostrils' wings
    reach beyond landmarks 31/35. eye_dilate: grows the eye outlines about their centre (lid landmarks lie
    on the lid margin; parsing masks take in a little more).

    The defaults were fitted (per-class IoU, grid search) to the true masks of SynthFaces renders in
    varied poses and expressions, the data the bundled models learn from; they also stay within what
    CelebAMask-HQ-style annotations look like (a nose from the eyes' level to the wings, a forehead about
    one nose length above the brows).
    """

    forehead: float = 1.2
    brow_thickness: float = 0.12
    brow_offset: float = 0.0
    nose_top: float = 0.0
    nose_width: float = 0.13
    ala_width: float = 0.12
    eye_dilate: float = 0.25


DEFAULT_STYLE = MaskStyle()


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        h, w = (int(v) for v in size)
    if h <= 0 or w <= 0:
        raise ValueError(f"mask size must be positive, got {h}x{w}")
    return h, w


def catmull_rom_chain(points: np.ndarray, samples: int = 6, closed: bool = False) -> np.ndarray:
    """A centripetal Catmull-Rom curve through ``points`` (no cusps or loops for uneven spacing)."""
    pts = np.asarray(points, np.float64)
    n = len(pts)
    if n < 3:
        return pts.copy()
    if closed:
        ext = np.vstack([pts[-1], pts, pts[0], pts[1]])
    else:
        ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    segments = n if closed else n - 1
    out = []
    u = np.linspace(0.0, 1.0, samples, endpoint=False)[:, None]
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        t0 = 0.0
        t1 = t0 + max(float(np.hypot(*(p1 - p0))) ** 0.5, 1e-6)
        t2 = t1 + max(float(np.hypot(*(p2 - p1))) ** 0.5, 1e-6)
        t3 = t2 + max(float(np.hypot(*(p3 - p2))) ** 0.5, 1e-6)
        t = t1 + u * (t2 - t1)
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    if not closed:
        out.append(pts[-1:])
    return np.vstack(out)


def forehead_arc(landmarks: np.ndarray, style: MaskStyle = DEFAULT_STYLE, samples: int = 11,
                 frame: FaceFrame | None = None) -> np.ndarray:
    """Points of the upper face outline, from above jaw point 16 over the forehead to above jaw point 0.

    Half an ellipse in the face's own axes, from the jaw ends' height up to ``forehead`` nose lengths
    above the highest brow point, raised where needed so that every brow point stays inside by a margin.
    """
    pts = as_landmarks(landmarks)
    f = frame or face_frame(pts)
    c = 0.5 * (pts[0] + pts[16])
    rel = pts - c
    u, v = rel @ f.lateral, rel @ f.up            # lateral and upward coordinates around the jaw ends' middle
    half = max(0.5 * abs(u[16] - u[0]), 1e-6)
    nose_len = max(float(np.dot(pts[27] - pts[33], f.up)), 0.25 * f.iod)
    base = 0.5 * (v[0] + v[16])
    top = float(v[17:27].max()) + style.forehead * nose_len
    margin = 0.12 * f.iod
    s = np.cos(np.linspace(0.0, np.pi, samples + 2)[1:-1])   # lateral positions, right to left, in (-1, 1)
    height = base + (top - base) * np.sqrt(1.0 - s ** 2)
    brow_u, brow_v = u[17:27], v[17:27] + margin
    order = np.argsort(brow_u)
    lat = 0.5 * (u[16] + u[0]) + s * half
    inside = (lat >= brow_u.min()) & (lat <= brow_u.max())
    envelope = np.interp(lat, brow_u[order], brow_v[order])
    height = np.where(inside, np.maximum(height, envelope), height)
    return c + lat[:, None] * f.lateral + height[:, None] * f.up


def face_outline(landmarks: np.ndarray, style: MaskStyle = DEFAULT_STYLE, frame: FaceFrame | None = None
                 ) -> np.ndarray:
    """The face oval (the skin polygon, in pixels): the jaw line closed by the forehead arc."""
    pts = as_landmarks(landmarks)
    outline = np.vstack([pts[0:17], forehead_arc(pts, style, frame=frame or face_frame(pts))])
    return catmull_rom_chain(outline, samples=4, closed=True)


def face_part_polygons(landmarks: np.ndarray, style: MaskStyle = DEFAULT_STYLE
                       ) -> list[tuple[str, np.ndarray]]:
    """(class name, polygon) pairs in drawing order (later ones cover earlier ones), in pixels."""
    pts = as_landmarks(landmarks)
    f = face_frame(pts)
    iod = f.iod
    parts: list[tuple[str, np.ndarray]] = [("skin", face_outline(pts, style, f))]

    # nose: the bridge widened on both sides, flaring into the wings around the nostrils
    lat = f.lateral
    top = pts[27] + style.nose_top * (pts[28] - pts[27])
    bridge = np.vstack([top, pts[28:31]]) if style.nose_top < 1.0 else pts[28:31]
    half = np.linspace(style.nose_width, style.nose_width * 1.6, len(bridge))[:, None] * iod
    wing_l = pts[31] - lat * style.ala_width * iod + f.up * 0.10 * iod
    wing_r = pts[35] + lat * style.ala_width * iod + f.up * 0.10 * iod
    base = pts[31:36].copy()
    base[0] -= lat * 0.5 * style.ala_width * iod
    base[-1] += lat * 0.5 * style.ala_width * iod
    left_side = bridge - lat * half
    right_side = bridge + lat * half
    parts.append(("nose", np.vstack([left_side, wing_l, base, wing_r, right_side[::-1]])))

    for name, idx in (("r_eye", slice(36, 42)), ("l_eye", slice(42, 48))):
        eye = catmull_rom_chain(pts[idx], samples=6, closed=True)
        if style.eye_dilate:
            centre = pts[idx].mean(axis=0)
            eye = centre + (eye - centre) * (1.0 + style.eye_dilate)
        parts.append((name, eye))

    for name, idx in (("r_brow", slice(17, 22)), ("l_brow", slice(22, 27))):
        line = catmull_rom_chain(pts[idx], samples=5)
        tangent = np.gradient(line, axis=0)
        normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
        normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-9)[:, None]
        normal *= np.where((normal @ f.up) > 0, -1.0, 1.0)[:, None]  # point towards the eyes
        thick = style.brow_thickness * iod * np.sin(np.linspace(0.35, 0.5, len(line)) * np.pi)
        if name == "l_brow":  # l_brow runs inner -> outer; taper towards the outer end as for r_brow
            thick = thick[::-1]
        centre = line + normal * style.brow_offset * iod
        upper = centre - normal * (0.5 * thick)[:, None]
        lower = centre + normal * (0.5 * thick)[:, None]
        parts.append((name, np.vstack([upper, lower[::-1]])))

    outer_upper = catmull_rom_chain(pts[48:55], samples=4)
    outer_lower = catmull_rom_chain(pts[[54, 55, 56, 57, 58, 59, 48]], samples=4)
    inner_upper = catmull_rom_chain(pts[60:65], samples=4)
    inner_lower = catmull_rom_chain(pts[[60, 67, 66, 65, 64]], samples=4)
    parts.append(("mouth", np.vstack([inner_upper, inner_lower[::-1]])))
    parts.append(("u_lip", np.vstack([outer_upper, inner_upper[::-1]])))
    parts.append(("l_lip", np.vstack([outer_lower, inner_lower])))
    return parts


def polygon_coverage(polygon: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W): pixels whose centre (integer x, y) lies inside ``polygon`` (non-zero winding).

    An exact scanline fill in floating point: unlike cv2.fillPoly (which also takes pixels up to half a
    pixel outside the outline) it is unbiased, so areas and mirror images come out right at any size.
    """
    h, w = size
    p = np.asarray(polygon, np.float64)
    a, b = p, np.roll(p, -1, axis=0)
    up = b[:, 1] > a[:, 1]
    lo = np.where(up[:, None], a, b)          # each edge from its lower-y end, so shared edges agree
    hi = np.where(up[:, None], b, a)
    wind = np.where(up, 1, -1)
    keep = hi[:, 1] > lo[:, 1]
    lo, hi, wind = lo[keep], hi[keep], wind[keep]
    r0 = np.clip(np.ceil(lo[:, 1]), 0, h).astype(np.int64)           # rows r with lo.y <= r < hi.y
    r1 = np.clip(np.ceil(hi[:, 1]), 0, h).astype(np.int64)
    counts = np.maximum(r1 - r0, 0)
    out = np.zeros((h, w), bool)
    total = int(counts.sum())
    if total == 0:
        return out
    edge = np.repeat(np.arange(len(counts)), counts)
    rows = r0[edge] + (np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts))
    slope = (hi[:, 0] - lo[:, 0]) / (hi[:, 1] - lo[:, 1])
    xs = lo[edge, 0] + (rows - lo[edge, 1]) * slope[edge]
    order = np.lexsort((xs, rows))
    rows, xs, wd = rows[order], xs[order], wind[edge][order]
    # winding number just right of each crossing, counted from the row's first crossing
    csum = np.cumsum(wd)
    row_start = np.r_[True, rows[1:] != rows[:-1]]
    base = np.maximum.accumulate(np.where(row_start, np.arange(len(rows)), 0))
    winding = csum - (csum[base] - wd[base])
    inside = (winding[:-1] != 0) & (rows[1:] == rows[:-1])
    c0 = np.clip(np.ceil(xs[:-1][inside]), 0, w).astype(np.int64)
    c1 = np.clip(np.ceil(xs[1:][inside]), 0, w).astype(np.int64)     # columns c0 <= c < c1
    rr = rows[:-1][inside]
    diff = np.zeros((h, w + 1), np.int32)
    np.add.at(diff, (rr, c0), 1)
    np.add.at(diff, (rr, c1), -1)
    return np.cumsum(diff[:, :w], axis=1) > 0


def mouth_opening(landmarks: np.ndarray) -> float:
    """Area inside the inner lips (60-67) over the squared eyes-to-nose-base distance (which neither a
    head turn nor an expression changes much); 0 for a closed mouth."""
    pts = as_landmarks(landmarks)
    inner = pts[60:68]
    x, y = inner[:, 0], inner[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    eye_mid = 0.5 * (pts[36:42].mean(axis=0) + pts[42:48].mean(axis=0))
    return area / max(float(np.sum((pts[33] - eye_mid) ** 2)), 1e-12)


def _fill(canvas: np.ndarray, polygon: np.ndarray, value: int) -> None:
    canvas[polygon_coverage(polygon, canvas.shape)] = value


def rasterise_parts(landmarks: np.ndarray, size: int | tuple[int, int],
                    style: MaskStyle = DEFAULT_STYLE, parts: Collection[str] = LANDMARK_CLASSES) -> np.ndarray:
    """The face parts alone: uint8 (H, W) of class indices, 255 where no part lies."""
    h, w = _size_hw(size)
    canvas = np.full((h, w), _NONE, np.uint8)
    for name, poly in face_part_polygons(landmarks, style):
        if name in parts:
            _fill(canvas, poly, CLASS_INDEX[name])
    return canvas


def landmarks_to_mask(landmarks: np.ndarray, size: int | tuple[int, int], *,
                      base: np.ndarray | None = None, style: MaskStyle = DEFAULT_STYLE,
                      occluders: tuple[str, ...] = ("hair", "hat"), regions: bool = False,
                      parts: Collection[str] = LANDMARK_CLASSES, replace_stale: bool = True) -> np.ndarray:
    """A 19-class mask (uint8, (H, W) = ``size``) with the face parts the landmarks determine.

    Without ``base`` everything else is background. With ``base`` (same size), the base's own pixels of
    the classes in ``parts`` are first turned into skin (unless ``replace_stale`` is False), then the new
    parts are drawn over it, except on the base's ``occluders`` pixels (hair over the forehead stays
    hair). ``parts`` (a subset of LANDMARK_CLASSES, default all) limits what is redrawn: e.g.
    ``parts=("mouth",), replace_stale=False`` only opens the mouth interior in a warped mask (a warp
    cannot open a closed mouth). With ``regions`` the result is grouped into the six landmark regions
    (values 0..6, see LANDMARK_REGIONS).
    """
    unknown = set(parts) - set(LANDMARK_CLASSES)
    if unknown:
        raise ValueError(f"parts: {sorted(unknown)} are not drawn from landmarks; use some of "
                         f"{', '.join(LANDMARK_CLASSES)}")
    h, w = _size_hw(size)
    drawn = rasterise_parts(landmarks, (h, w), style, parts)
    if base is None:
        out = np.where(drawn == _NONE, CLASS_INDEX["background"], drawn).astype(np.uint8)
    else:
        out = validate_mask(base, (h, w), name="base mask").copy()
        if replace_stale:
            out[np.isin(out, [CLASS_INDEX[n] for n in parts if n != "skin"])] = CLASS_INDEX["skin"]
        keep = np.isin(out, [CLASS_INDEX[n] for n in occluders]) if occluders else np.zeros(out.shape, bool)
        draw = (drawn != _NONE) & ~keep
        out[draw] = drawn[draw]
    return landmark_region_lut()[out] if regions else out


# A readable colour per class for previews (not a standard; chosen so neighbouring parts contrast).
MASK_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (204, 160, 130), (120, 70, 40), (150, 90, 50), (40, 90, 220), (60, 140, 240),
    (200, 200, 60), (230, 120, 160), (240, 150, 190), (255, 220, 0), (220, 110, 80), (90, 10, 30),
    (200, 40, 60), (160, 20, 50), (170, 130, 110), (120, 220, 220), (60, 60, 160), (90, 50, 20),
    (30, 160, 90),
)


def colorize_mask(mask: np.ndarray, palette: tuple[tuple[int, int, int], ...] = MASK_PALETTE) -> np.ndarray:
    """uint8 RGB (H, W, 3) picture of a class-index mask."""
    lut = np.asarray(palette, np.uint8)
    arr = validate_mask(mask, num_classes=len(lut))
    return lut[arr]
