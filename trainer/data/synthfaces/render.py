"""Drawing a SynthFaces face: layers composited back to front, each on its own small region of interest.

Every layer has a coverage (anti-aliased: shapes drawn at 4 x 4 sub-samples per pixel and averaged, or an
implicit surface whose coverage is 0.5 + its signed distance in pixels) and a colour; a pixel's class is
that of the top-most layer covering at least half of it. A layer's colour depends only on the parameters
of its own part and the scene, and compositing is ``out = below * (1 - a) + colour * a`` (exact when
a = 1), so a change of one part changes only the pixels that part covers (plus its anti-aliased fringe).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from faceeditor.core.labels import CLASS_INDEX

try:    # the clip ufunc itself: np.clip's dispatch costs more than clipping the small arrays used here
    from numpy._core.umath import clip as _clip
except ImportError:  # pragma: no cover
    _clip = np.clip

from . import textures
from .geometry import Ellipsoid, Geometry, build
from .params import HAIR_COLOUR_ATTRIBUTES, FaceParams, attribute_labels, sample_params

# What a seed draws. Bumped on every deliberate change to the drawn pixels or labels, and written into
# datasets, so that re-renders (ground-truth edits) are never compared with faces of another version.
# 1: up to 2026-11-22; 2: neutral faces no longer smile, contempt's corner raise doubled.
RENDERER_VERSION = 2

C = CLASS_INDEX
SHIFT = 4
ONE = 1 << SHIFT
F32 = np.float32


@dataclass
class SynthSample:
    """One rendered face with all its labels."""

    image: np.ndarray                 # uint8 (S, S, 3) RGB
    mask: np.ndarray                  # uint8 (S, S) class indices (PARSE_CLASSES)
    landmarks: np.ndarray             # float32 (68, 2) pixel (x, y), iBUG order
    attributes: dict[str, bool]
    expression: str
    pose: tuple[float, float, float]  # yaw, pitch, roll (degrees)
    identity: int
    params: FaceParams


# ---------------------------------------------------------------------------------------------------
# small drawing helpers

def _roi(points: np.ndarray, size: int, pad: float = 2.0) -> tuple[int, int, int, int] | None:
    pts = np.asarray(points).reshape(-1, 2)
    lo, hi = pts.min(0), pts.max(0)
    x0 = max(int(math.floor(lo[0] - pad)), 0)
    y0 = max(int(math.floor(lo[1] - pad)), 0)
    x1 = min(int(math.ceil(hi[0] + pad)) + 1, size)
    y1 = min(int(math.ceil(hi[1] + pad)) + 1, size)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _union(*rois):
    rois = [r for r in rois if r is not None]
    if not rois:
        return None
    return (min(r[0] for r in rois), min(r[1] for r in rois), max(r[2] for r in rois), max(r[3] for r in rois))


SS = 4      # sub-samples per pixel and axis for coverage
_INV255 = F32(1.0 / 255.0)


class _Cover:
    """Area coverage of shapes in an ROI: drawn without anti-aliasing at SS x SS sub-samples per pixel
    and averaged (cv2's LINE_AA fills are about a pixel too fat, which swallows thin parts)."""

    def __init__(self, roi, ss: int = SS):
        self.roi = roi
        self.ss = ss
        self.buf = np.zeros(((roi[3] - roi[1]) * ss, (roi[2] - roi[0]) * ss), np.uint8)
        self.origin = np.array(roi[:2], np.float64)

    def pts(self, p) -> np.ndarray:
        q = (np.asarray(p, np.float64).reshape(-1, 2) - self.origin) * self.ss + (self.ss - 1) / 2
        return np.rint(q * ONE).astype(np.int32).reshape(-1, 1, 2)

    def fill(self, *polys, value: int = 255) -> _Cover:
        cv2.fillPoly(self.buf, [self.pts(p) for p in polys], value, cv2.LINE_8, SHIFT)
        return self

    def line(self, lines, thickness_px: float, closed: bool = False, value: int = 255) -> _Cover:
        t = max(1, int(round(thickness_px * self.ss)))
        cv2.polylines(self.buf, [self.pts(p) for p in lines], closed, value, t, cv2.LINE_8, SHIFT)
        return self

    def circle(self, c, r_px: float, thickness_px: float = -1.0, value: int = 255) -> _Cover:
        t = -1 if thickness_px < 0 else max(1, int(round(thickness_px * self.ss)))
        cc = self.pts(c)[0, 0]
        cv2.circle(self.buf, (int(cc[0]), int(cc[1])), int(round(r_px * self.ss * ONE)), value, t, cv2.LINE_8, SHIFT)
        return self

    def get(self) -> np.ndarray:
        w, h = self.roi[2] - self.roi[0], self.roi[3] - self.roi[1]
        return np.multiply(cv2.resize(self.buf, (w, h), interpolation=cv2.INTER_AREA), _INV255, dtype=F32)


def _fill(roi, *polys) -> np.ndarray:
    """Coverage (float32 0..1) of filled polygons in an ROI."""
    return _Cover(roi).fill(*polys).get()


def _stroke(roi, lines, thickness_px: float, closed: bool = False) -> np.ndarray:
    """Coverage (float32 0..1) of polylines of a given thickness (px)."""
    return _Cover(roi).line(lines, thickness_px, closed).get()


def _grid(roi):
    xs = np.arange(roi[0], roi[2], dtype=F32)[None, :]
    ys = np.arange(roi[1], roi[3], dtype=F32)[:, None]
    return xs, ys


def _blob_add(buf: np.ndarray, roi, c, rx: float, ry: float, weight: float) -> None:
    """buf += weight * gaussian blob (centre c in image px), evaluated only near the blob."""
    if weight == 0.0:
        return
    cx, cy = float(c[0]) - roi[0], float(c[1]) - roi[1]
    h, w = buf.shape
    x0, x1 = max(int(cx - 2.5 * rx), 0), min(int(cx + 2.5 * rx) + 2, w)
    y0, y1 = max(int(cy - 2.5 * ry), 0), min(int(cy + 2.5 * ry) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return
    gx = np.exp(-((np.arange(x0, x1, dtype=F32) - cx) / rx) ** 2)
    gy = np.exp(-((np.arange(y0, y1, dtype=F32) - cy) / ry) ** 2)
    buf[y0:y1, x0:x1] += F32(weight) * gy[:, None] * gx[None, :]


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return a
    k = int(2 * math.ceil(2.5 * sigma) + 1)
    return cv2.GaussianBlur(a, (k, k), sigma)


def _rep3(x: np.ndarray) -> np.ndarray:
    """x[..., None] repeated over 3 channels, contiguous: numpy broadcasts an (h, w, 1) operand
    against (h, w, 3) with an inner loop of 3 elements, several times slower than a plain loop."""
    return cv2.merge((x, x, x))


def _times(rgb, x: np.ndarray) -> np.ndarray:
    """rgb (3,) * x[..., None] (h, w, 3): the same products, channel by channel."""
    return cv2.merge((x * rgb[0], x * rgb[1], x * rgb[2]))


def _mix(a, b, t):
    return a * (1.0 - t) + b * t


def _edge_alpha(f: np.ndarray, jitter_px: np.ndarray | float = 0.0) -> np.ndarray:
    """Anti-aliased coverage of the region f > 0: 0.5 + f / |grad f| (f sampled on the pixel grid),
    its edge moved by ``jitter_px``."""
    gy, gx = np.gradient(f)
    return _clip(0.5 + f / (np.sqrt(gx * gx + gy * gy) + F32(1e-4)) + jitter_px, 0.0, 1.0).astype(F32)


_K3 = np.ones((3, 3), np.uint8)
_EYE_G = C["eye_g"]
_HAIR = C["hair"]


@cache
def _seen_lut(cls: int) -> np.ndarray:
    """Class index -> 1 for the classes through which a layer of class ``cls`` counts as seen."""
    lut = np.zeros(256, np.uint8)
    lut[cls] = 1
    if cls != _HAIR:
        lut[_EYE_G] = 1
    return lut


def _tidy(alpha: np.ndarray) -> np.ndarray:
    """Drop faint coverage (< 0.5) that is not next to a pixel the layer covers at least half: such
    wisps would change pixels that the mask assigns to another class with no pixel of this one near."""
    solid = cv2.dilate((alpha >= 0.5).view(np.uint8), _K3)
    return alpha * solid


def _paste(dst_roi, src_roi, src: np.ndarray) -> np.ndarray:
    """The part of ``src`` (laid out on src_roi) that falls in dst_roi, zero elsewhere."""
    out = np.zeros((dst_roi[3] - dst_roi[1], dst_roi[2] - dst_roi[0]), src.dtype)
    x0, y0 = max(dst_roi[0], src_roi[0]), max(dst_roi[1], src_roi[1])
    x1, y1 = min(dst_roi[2], src_roi[2]), min(dst_roi[3], src_roi[3])
    if x1 > x0 and y1 > y0:
        out[y0 - dst_roi[1]:y1 - dst_roi[1], x0 - dst_roi[0]:x1 - dst_roi[0]] = \
            src[y0 - src_roi[1]:y1 - src_roi[1], x0 - src_roi[0]:x1 - src_roi[0]]
    return out


def _area(b) -> int:
    return (b[2] - b[0]) * (b[3] - b[1])


def _merge_boxes(boxes: list) -> list:
    """Boxes merged pairwise while their union costs no more than both apart (plus a little: every
    box costs a pass over the layers)."""
    boxes = list(boxes)
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                u = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                if _area(u) <= _area(a) + _area(b) + 64:
                    boxes[i] = u
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


class Canvas:
    """The image being composed, its class mask, and the layers that made it.

    After all layers are drawn, ``settle`` removes every layer's coverage from pixels that are more than
    one pixel away from any pixel of that layer's class in the final mask (or of glasses, which the face
    is seen through), unless a later opaque layer hides them anyway, and composites those places again.
    A hidden part can then not show through an occluder's anti-aliased edge where none of it is
    visible, which is what makes the ground-truth edits local (see regions.py).
    """

    def __init__(self, size: int):
        self.size = size
        self.img = np.zeros((size, size, 3), F32)
        self.mask = np.zeros((size, size), np.uint8)
        self.layers: list[list] = []
        self.base: np.ndarray | None = None

    def put(self, roi, alpha: np.ndarray, colour: np.ndarray, cls: int | None,
            mask_alpha: np.ndarray | None = None, over: np.ndarray | None = None) -> None:
        """Composite ``colour`` (h, w, 3) with ``alpha`` (h, w) into the ROI; label pixels whose
        ``mask_alpha`` (default: alpha) is >= 0.5 as ``cls`` (only where ``over`` allows, if given)."""
        x0, y0, x1, y1 = roi
        self._blend(roi, alpha, colour)
        self.layers.append([roi, alpha, colour, cls])
        if cls is not None:
            sel = (alpha if mask_alpha is None else mask_alpha) >= 0.5
            if over is not None:
                sel &= over
            self.mask[y0:y1, x0:x1][sel] = cls

    def _blend(self, roi, alpha, colour) -> None:
        x0, y0, x1, y1 = roi
        view = self.img[y0:y1, x0:x1]
        a3 = _rep3(alpha)
        view *= 1.0 - a3
        if colour.ndim == 3 and colour.strides[0] == 0 and colour.strides[1] == 0:   # one colour
            view += _times(colour[0, 0], alpha)
        else:
            view += colour * a3

    def settle(self) -> None:
        dirty = []
        covered = np.zeros(self.mask.shape, np.uint8)   # opaque coverage of the layers above (0/1)
        for layer in reversed(self.layers):
            (x0, y0, x1, y1), alpha, _, cls = layer
            if cls is not None:
                # pixels of the layer's class (or glass lenses: the face is seen through them, hair is
                # not drawn under them), grown by one pixel, or hidden by an opaque layer above
                near = cv2.dilate(cv2.LUT(self.mask[y0:y1, x0:x1], _seen_lut(cls)), _K3)
                near |= covered[y0:y1, x0:x1]
                stray = alpha > 0.0
                stray &= near == 0
                if stray.any():
                    ys, xs = np.nonzero(stray)
                    dirty.append((x0 + int(xs.min()), y0 + int(ys.min()),
                                  x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1))
                    layer[1] = alpha = np.where(stray, F32(0.0), alpha)
            covered[y0:y1, x0:x1] |= (alpha >= 1.0).view(np.uint8)
        # composite again, only where something changed (each box from the base up; recompositing an
        # unchanged pixel reproduces it exactly, so boxes that overlap much are merged into one)
        for dx0, dy0, dx1, dy1 in _merge_boxes(dirty):
            self.img[dy0:dy1, dx0:dx1] = self.base[dy0:dy1, dx0:dx1]
            for (x0, y0, x1, y1), alpha, colour, _ in self.layers:
                ix0, iy0, ix1, iy1 = max(x0, dx0), max(y0, dy0), min(x1, dx1), min(y1, dy1)
                if ix1 <= ix0 or iy1 <= iy0:
                    continue
                sl = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
                a = alpha[sl]
                if not a.any():         # nothing of this layer here: blending would change nothing
                    continue
                col = (colour if colour.shape[:2] == alpha.shape else
                       np.broadcast_to(colour, alpha.shape + (3,)))[sl]
                self._blend((ix0, iy0, ix1, iy1), a, col)


# ---------------------------------------------------------------------------------------------------
# light and surfaces

class Light:
    def __init__(self, p: FaceParams):
        sc = p.scene
        az, el = sc.light_az, sc.light_el
        v = np.array([math.sin(az) * math.cos(el), -math.sin(el), math.cos(az) * math.cos(el)])
        v = v / np.linalg.norm(v)
        self.dir = [float(x) for x in v]
        self.k = float(sc.light_k)
        self.tint = np.array([1.0 + 0.05 * sc.warmth, 1.0, 1.0 - 0.05 * sc.warmth], F32)
        h = v + np.array([0.0, 0.0, 1.0])
        h = h / np.linalg.norm(h)
        self.half = [float(x) for x in h]

    def lambert(self, n: np.ndarray) -> np.ndarray:
        """Diffuse shade factor (wrap lighting) of camera-frame normals (..., 3)."""
        d = n[..., 0] * self.dir[0] + n[..., 1] * self.dir[1] + n[..., 2] * self.dir[2]
        lam = _clip((d + 0.3) * (1.0 / 1.3), 0.0, 1.0)
        return ((1.0 - 0.8 * self.k) + 1.1 * self.k * lam).astype(F32)

    def spec(self, n: np.ndarray, power: float) -> np.ndarray:
        d = n[..., 0] * self.half[0] + n[..., 1] * self.half[1] + n[..., 2] * self.half[2]
        return (_clip(d, 0.0, 1.0) ** power).astype(F32)


def _cover_ellipse(g: Geometry, e: Ellipsoid, xs, ys) -> np.ndarray:
    """Anti-aliased coverage of an ellipsoid's silhouette (no normals, no hit points)."""
    s = g.s
    dx = (xs - F32(e.centre_px[0])) * F32(1.0 / s)
    dy = (ys - F32(e.centre_px[1])) * F32(1.0 / s)
    a = e.a_cam
    a22, a02, a12 = float(a[2, 2]), float(a[0, 2]), float(a[1, 2])
    b00 = float(a[0, 0]) - a02 * a02 / a22
    b01 = float(a[0, 1]) - a02 * a12 / a22
    b11 = float(a[1, 1]) - a12 * a12 / a22
    gx = b00 * dx + b01 * dy
    gy = b01 * dx + b11 * dy
    g2 = gx * dx + gy * dy
    return _clip(0.5 + (1.0 - g2) / (2.0 * np.sqrt(gx * gx + gy * gy) + F32(1e-6)) * F32(s), 0.0, 1.0)


def _cast(g: Geometry, e: Ellipsoid, xs, ys, want_hit: bool = True, want_sd: bool = False):
    """Ray-cast an ellipsoid for the pixels of a grid: (coverage, hit point in the head frame or None,
    normal in the camera frame)."""
    s = g.s
    dx = (xs - F32(e.centre_px[0])) * F32(1.0 / s)
    dy = (ys - F32(e.centre_px[1])) * F32(1.0 / s)
    a = e.a_cam
    a22 = float(a[2, 2])
    a02, a12 = float(a[0, 2]), float(a[1, 2])
    b00 = float(a[0, 0]) - a02 * a02 / a22
    b01 = float(a[0, 1]) - a02 * a12 / a22
    b11 = float(a[1, 1]) - a12 * a12 / a22
    g2 = b00 * dx * dx + 2 * b01 * dx * dy + b11 * dy * dy          # projected quadratic form
    gx = b00 * dx + b01 * dy
    gy = b01 * dx + b11 * dy
    grad = 2.0 * np.sqrt(gx * gx + gy * gy) + F32(1e-6)
    sd = (1.0 - g2) / grad * F32(s)                                   # signed distance to the outline, px
    cov = _clip(0.5 + sd, 0.0, 1.0)
    root = np.sqrt(np.maximum(a22 * (1.0 - g2), 0.0))
    lin = a02 * dx + a12 * dy
    dz = (root - lin) * F32(1.0 / a22)
    d = np.empty(dz.shape + (3,), dz.dtype)
    d[..., 0] = dx
    d[..., 1] = dy
    d[..., 2] = dz
    flat = d.reshape(-1, 3)             # one (N, 3) x (3, 3) product instead of one per row
    n = (flat @ a.T.astype(F32)).reshape(d.shape)
    n0, n1, n2 = n[..., 0], n[..., 1], n[..., 2]
    # |n|^2 summed in the order numpy's sum over a length-3 axis uses: (x + y) + z
    n /= _rep3(np.sqrt(n0 * n0 + n1 * n1 + n2 * n2) + F32(1e-9))
    hit = None
    if want_hit:
        hit = (flat @ g.r_full.astype(F32)).reshape(d.shape)
        for c, k in enumerate(e.centre.astype(F32)):    # centre + offset, one channel at a time
            hit[..., c] += k
    if want_sd:
        return cov, hit, n, sd
    return cov, hit, n


# ---------------------------------------------------------------------------------------------------
# colours of parts

def skin_colour(p: FaceParams) -> np.ndarray:
    base = np.array(p.look.skin, F32)
    pale = np.array([0.97, 0.87, 0.82], F32)
    t = 0.62 * p.attr("Pale_Skin")
    out = base * (1 - t) + pale * t
    grey = out.mean()
    return (out * (1 - 0.12 * t) + grey * 0.12 * t).astype(F32)


def hair_colour(p: FaceParams) -> np.ndarray:
    h = p.hair
    w = np.array([p.attr(n) for n in HAIR_COLOUR_ATTRIBUTES], F32)
    tot = float(w.sum())
    if tot > 1.0:
        w /= tot
        tot = 1.0
    cols = np.array([h.black, h.blond, h.brown], F32)
    col = (w[:, None] * cols).sum(0) + (1.0 - tot) * np.array(h.other, F32)
    grey = (1.0 - p.attr("Young")) * p.look.grey_rate
    return _mix(col, np.array([0.74, 0.73, 0.72], F32), 0.85 * grey).astype(F32)


def brow_colour(p: FaceParams) -> np.ndarray:
    dark = np.array([0.11, 0.08, 0.065], F32)
    light = np.array([0.40, 0.29, 0.20], F32)
    return _mix(light, dark, p.look.brow_dark).astype(F32)


def beard_colour(p: FaceParams) -> np.ndarray:
    """Facial hair follows the brows (identity), greying with age; not the head hair's colour
    attributes, so that dyeing the hair does not touch the face."""
    grey = (1.0 - p.attr("Young")) * p.look.grey_rate
    return _mix(brow_colour(p) * 1.1, np.array([0.7, 0.69, 0.68], F32), 0.8 * grey).astype(F32)


def lip_colour(p: FaceParams) -> np.ndarray:
    skin = skin_colour(p)
    nat = skin * np.array([0.84, 0.56, 0.56], F32) + np.array([0.07, 0.0, 0.02], F32) * p.look.lip_tint
    return _mix(nat, np.array(p.look.lipstick, F32), 0.85 * p.attr("Wearing_Lipstick")).astype(F32)


# ---------------------------------------------------------------------------------------------------
# layers

def _background(cv: Canvas, p: FaceParams, light: Light) -> None:
    S = cv.size
    sc = p.scene
    xs = (np.arange(S, dtype=F32) / S)[None, :]
    ys = (np.arange(S, dtype=F32) / S)[:, None]
    c1, c2 = np.array(sc.bg1, F32), np.array(sc.bg2, F32)
    kind = sc.bg_kind
    low = textures.window("low", 0, 0, 128, 128, sc.tex)
    if S != 128:
        low = cv2.resize(low, (S, S), interpolation=cv2.INTER_LINEAR)
    if kind == 0:
        t = _clip(ys * 0.9 + 0.1 * xs + 0.06 * low, 0, 1)
    elif kind == 1:
        edge = 0.25 + 0.5 * ((sc.tex[0] % 97) / 97.0)
        t = _clip((xs - edge) * 40.0, 0, 1) * 0.85 + 0.05 * low
    elif kind == 2:
        t = _clip((low - 0.3) * 1.2, 0, 1)
    else:
        r = np.sqrt((xs - 0.5 + 0.15 * math.sin(sc.light_az)) ** 2 + (ys - 0.4) ** 2)
        t = _clip(r * 1.6, 0, 1) + 0.03 * low
    side = 1.0 + 0.12 * math.sin(sc.light_az) * (xs - 0.5) * 2
    cv.img[:] = cv2.merge([(c1[c] * (1 - t) + c2[c] * t) * (side * light.tint[c]) for c in range(3)])
    cv.mask[:] = C["background"]
    cv.base = cv.img.copy()


def _strands(ix, iy, off, curl: float) -> np.ndarray:
    """Hair texture: fine strands plus clumps (two scales of the same anisotropic noise)."""
    ixi = ix.astype(np.int32) + off[0]
    iyi = iy.astype(np.int32) + off[1]
    fine = textures.gather("strands", iyi, ixi)
    clump = textures.gather("strands", (iyi >> 2) + 97, (ixi >> 2) + 31)
    t = 0.55 * fine + 0.45 * clump
    if curl > 0.25:
        t = t * (1 - 0.35 * curl) + 0.35 * curl * textures.gather("curly", iyi, ixi)
    return t


def _hair_shade(light: Light, base: np.ndarray, n: np.ndarray, strand: np.ndarray, dark: np.ndarray | None = None):
    lam = light.lambert(n)
    spec = light.spec(n, 10.0)
    lum = float(base.mean())
    shade = lam * (0.86 + 0.14 * strand)
    if dark is not None:
        shade = shade * dark
    hi = spec * _clip(0.5 + 0.5 * strand, 0.0, 1.5) * (0.12 + 0.45 * lum) * light.k
    spec_rgb = np.array([1.0, 0.96, 0.9], F32)
    return cv2.merge([(shade * base[c] + hi * spec_rgb[c]) * light.tint[c] for c in range(3)])


def _neck(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray) -> None:
    poly = g.polys["neck"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    nx = _clip((xs - F32(g.centre[0])) / F32(g.values["neck_w"] * g.s), -0.97, 0.97)
    # the normal depends on x only: shade one row, broadcast over the rows
    shade = light.lambert(np.stack([nx, np.full_like(nx, 0.1), np.sqrt(1 - nx * nx)], -1))
    chin_y = float(g.points["chin"][1])
    occl = 1.0 - 0.45 * _clip(1.0 - (ys - chin_y) / F32(0.4 * g.s), 0.0, 1.0)
    fine = textures.window("fine", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], p.look.tex)
    lit = (shade * 0.9 * occl) * (1.0 + 0.015 * fine)
    cv.put(roi, cov, cv2.merge([lit * skin[c] * light.tint[c] for c in range(3)]), C["neck"])


def _cloth(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    sc = p.scene
    poly = g.polys["cloth"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    c1, c2 = np.array(sc.cloth, F32), np.array(sc.cloth2, F32)
    ux = (xs - F32(g.centre[0])) * F32(1.0 / g.s)
    uy = (ys - F32(g.centre[1])) * F32(1.0 / g.s)
    if sc.pattern == 1:
        t = np.broadcast_to((np.sin(uy * 18.0 + sc.tex[0]) > 0.3).astype(F32), cov.shape)
    elif sc.pattern == 2:
        t = 0.5 * ((np.sin(ux * 14.0) > 0).astype(F32) + (np.sin(uy * 14.0) > 0).astype(F32))
    elif sc.pattern == 3:
        t = ((np.sin(ux * 20.0) * np.sin(uy * 20.0)) > 0.55).astype(F32)
    else:
        t = None
    w, h = roi[2] - roi[0], roi[3] - roi[1]
    if t is not None:
        t = _blur(np.ascontiguousarray(t, F32), 0.45 * cv.size / 128)
        dc = c2 - c1
        base = [c1[c] + dc[c] * t for c in range(3)]
    else:
        base = [c1[c] for c in range(3)]
    if cv.size <= 128:
        folds = textures.window("low", roi[0], roi[1], w, h, sc.tex)
    else:
        k = cv.size / 128
        folds = cv2.resize(textures.window("low", int(roi[0] / k), int(roi[1] / k), int(w / k) + 1, int(h / k) + 1,
                                           sc.tex), (w, h))
    weave = textures.window("fine", roi[0], roi[1], w, h, sc.tex)
    nx = _clip(ux * F32(1 / 2.8), -0.9, 0.9)
    shade = light.lambert(np.stack([nx, np.full_like(nx, -0.35), np.sqrt(1 - nx * nx)], -1))   # one row
    shade = shade * (1.0 + 0.09 * folds + 0.05 * weave)
    col = cv2.merge([base[c] * shade * light.tint[c] for c in range(3)])
    cv.put(roi, cov, col, C["cloth"])
    for name in ("collar_r", "collar_l"):
        if name in g.polys:
            cpoly = g.polys[name]
            croi = _roi(cpoly, cv.size)
            if croi is None:
                continue
            ccov = _fill(croi, cpoly)
            ccol = _mix(c2, np.array([0.95, 0.95, 0.95], F32), 0.5) * 0.95 * light.tint
            cv.put(croi, ccov, np.broadcast_to(ccol, ccov.shape + (3,)), C["cloth"])


def _necklace(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    v = p.attr("Wearing_Necklace")
    if v <= 0:
        return
    line = g.lines["necklace"]
    pend = g.points["pendant"]
    roi = _roi(np.concatenate([line, pend[None]]), cv.size, pad=0.12 * g.s)
    if roi is None:
        return
    kind = p.acc.necklace_kind
    cover = _Cover(roi)
    if kind == 1:
        for q in line:
            cover.circle(q, max(0.6, 0.032 * g.s))
    else:
        cover.line([line], max(1.0, 0.024 * g.s))
    if kind == 2:
        cover.circle(pend, max(0.8, 0.055 * g.s))
    cov = cover.get()
    metal = np.array(p.acc.metal if kind != 1 else (0.93, 0.91, 0.86), F32)
    glint = 0.75 + 0.4 * textures.window("fine", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], (3, 7))
    col = metal * _clip(glint, 0.3, 1.4)[..., None] * light.tint
    cv.put(roi, cov * v, col, C["neck_l"], mask_alpha=np.minimum(cov * 2.0, 1.0) * (v >= 0.5))


def _ear(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray, side: int) -> None:
    name = "r_ear" if side < 0 else "l_ear"
    poly, inner = g.polys[name], g.polys[name + "_in"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    inn = _blur(_fill(roi, inner), 0.02 * g.s)
    rim = _blur(cov, 0.025 * g.s)
    n = np.array([side * 0.75, 0.0, 0.66]) @ g.r_full.T
    shade = float(light.lambert(n[None])[0])
    base = skin * np.array([1.0, 0.92, 0.88], F32) * 0.93
    lit = shade * (1.0 - 0.32 * inn) * (0.85 + 0.15 * rim)
    cv.put(roi, cov, cv2.merge([lit * base[c] * light.tint[c] for c in range(3)]), C[name])


def _hidden(g: Geometry, pt: np.ndarray) -> bool:
    """Is a point behind the head (inside the skull's or lower face's silhouette)? For far-side parts."""
    x, y = float(pt[0]), float(pt[1])
    cov, _, _ = _cast(g, g.skull, np.array([[x]], F32), np.array([[y]], F32), want_hit=False)
    if cov[0, 0] > 0.0:
        return True
    return cv2.pointPolygonTest(g.polys["lower_face"].astype(np.float32), (x, y), True) > -0.15 * g.s


def _earring(cv: Canvas, g: Geometry, p: FaceParams, light: Light, side: int, far: bool = False) -> None:
    v = p.attr("Wearing_Earrings")
    if v <= 0:
        return
    name = "r_ear" if side < 0 else "l_ear"
    lobe = g.points[name + "_lobe"]
    if far and _hidden(g, lobe):
        return
    s = g.s
    kind = p.acc.earring_kind
    roi = _roi(np.array([lobe - 0.12 * s, lobe + np.array([0.12, 0.3]) * s]), cv.size)
    if roi is None:
        return
    cover = _Cover(roi)
    if kind == 0:
        cover.circle(lobe, max(0.05 * s, 0.8))
    elif kind == 1:
        cover.circle(lobe + np.array([0.0, 0.075 * s]), 0.075 * s, max(0.8, 0.03 * s))
    else:
        end = lobe + np.array([0.0, 0.12 * s])
        cover.line([np.array([lobe, end])], max(0.8, 0.025 * s))
        cover.circle(end + np.array([0, 0.03 * s]), max(0.8, 0.05 * s))
    cov = cover.get()
    glint = np.full(cov.shape, 0.8, F32)
    _blob_add(glint, roi, lobe + np.array([-0.01, 0.02]) * s, 0.03 * s, 0.03 * s, 0.5)
    col = np.array(p.acc.metal, F32) * glint[..., None] * light.tint
    cv.put(roi, cov * v, col, C["ear_r"], mask_alpha=np.minimum(cov * 2.0, 1.0) * (v >= 0.5))


def _glasses_arm(cv: Canvas, g: Geometry, p: FaceParams, light: Light, side: int) -> None:
    v = p.attr("Eyeglasses")
    if v <= 0:
        return
    line = g.lines["arm_r" if side < 0 else "arm_l"]
    roi = _roi(line, cv.size, pad=3)
    if roi is None:
        return
    cov = _stroke(roi, [line], max(0.8, 0.8 * g.values["glasses_thick"]))
    col = np.broadcast_to(np.array(p.acc.glasses_rgb, F32) * light.tint * 0.85, cov.shape + (3,))
    cv.put(roi, cov * v, col, C["eye_g"], mask_alpha=np.minimum(cov * 2.0, 1.0) * (v >= 0.5))


def _skin(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray, ctx: dict) -> None:
    """Head skin (skull and lower face) with everything painted on it: shading, blush, creases,
    wrinkles, beard and moustache."""
    S, s = cv.size, g.s
    acts = p.actions()
    lower = g.polys["lower_face"]
    sk_c, sk_b = g.values["skull_2d"]
    half = np.sqrt(np.diag(np.linalg.inv(sk_b)))
    corners = g.up_to_px(np.array([[sk_c[0] - half[0], sk_c[1] - half[1]], [sk_c[0] + half[0], sk_c[1] - half[1]],
                                   [sk_c[0] - half[0], sk_c[1] + half[1]], [sk_c[0] + half[0], sk_c[1] + half[1]]]))
    roi = _union(_roi(lower, S), _roi(corners, S))
    xs, ys = _grid(roi)
    h, w = roi[3] - roi[1], roi[2] - roi[0]
    low_cov = _fill(roi, lower)
    sk_cov = _cover_ellipse(g, g.skull, xs, ys)
    cov = np.maximum(sk_cov, low_cov)
    _, _, n = _cast(g, g.shade, xs, ys, want_hit=False)
    shade = light.lambert(n)
    edge = _blur(cov, 0.06 * s)
    shade *= 0.8 + 0.2 * edge
    ctx.update(skin_roi=roi, lower_cov=low_cov, skin_shade=shade)
    fine = textures.window("fine", roi[0], roi[1], w, h, p.look.tex)
    mid = textures.window("mid", roi[0], roi[1], w, h, p.look.tex)
    lit = shade * (1.0 + 0.018 * fine + 0.018 * mid)
    ch = [lit * skin[0], lit * skin[1], lit * skin[2]]      # colour channel by channel (see _rep3)
    ch[2] *= 0.9 + 0.1 * shade                    # shadows are warmer
    # darkening lines: creases, folds, wrinkles
    dark = _Cover(roi, ss=2)                     # blurred below: two sub-samples are enough
    th = max(0.6, 0.016 * s)
    age = (1.0 - p.attr("Young")) * p.look.wrinkle
    for nm in ("r_eye", "l_eye"):
        dark.line([g.lines[nm + "_crease"]], th, value=int(110 + 70 * age))
        if age > 0.05:
            dark.line([g.lines[nm + "_bag"]], th, value=int(140 * age))
            dark.line(g.values[nm + "_feet"], th, value=int(110 * age))
    fold = 0.2 + 0.8 * max(acts["smile"], 0.6 * acts["asym"]) + 0.5 * age + 0.4 * acts["nose_wrinkle"]
    dark.line([g.lines["fold_r"], g.lines["fold_l"]], th * 1.3, value=int(min(255, 85 * fold)))
    if age > 0.05 or acts["brow_raise"] > 0.2:
        v = int(min(255, 110 * age + 110 * max(acts["brow_raise"], 0.0)))
        dark.line(g.values["forehead_lines"], th, value=v)
    furrow = max(-acts["brow_inner"], 0.0) + 0.6 * acts["nose_wrinkle"]
    if furrow > 0.05:
        dark.line(g.values["furrow"], th, value=int(min(255, 150 * furrow)))
    darkness = _blur(dark.get() * F32(0.35), 0.012 * s + 0.35)
    # eye sockets, nose shadow, under the nose and the lower lip
    for nm in ("r_eye", "l_eye"):
        c = g.values[nm + "_eye_centre"]
        _blob_add(darkness, roi, c + np.array([0, -0.06 * s]), 0.24 * s, 0.12 * s, 0.12)
    ldx = light.dir[0]
    tip = g.points["nose_tip"]
    _blob_add(darkness, roi, tip + np.array([-math.copysign(0.15, ldx) * s, -0.08 * s]), 0.09 * s, 0.22 * s,
              0.28 * abs(ldx) * light.k)
    _blob_add(darkness, roi, g.points["nose_base"] + np.array([0, 0.05 * s]), 0.13 * s, 0.045 * s, 0.22)
    _blob_add(darkness, roi, g.points["mouth_centre"] + np.array([0, (g.values["lip_l"] + 0.07) * s]),
              0.15 * s, 0.045 * s, 0.14)
    keep = 1.0 - np.minimum(darkness, 0.8)
    for c_ in ch:
        c_ *= keep
    # blush and highlights
    warm = np.zeros((h, w), F32)
    for c in g.values["cheek_pts"]:
        _blob_add(warm, roi, c + np.array([0, -0.06 * s * acts["smile"]]), 0.2 * s, 0.17 * s,
                  0.08 + 0.12 * p.look.blush + 0.05 * acts["smile"])
    for c_, k_ in zip(ch, np.array([0.12, -0.04, -0.04], F32), strict=True):
        c_ += warm * k_
    hl = np.zeros((h, w), F32)
    _blob_add(hl, roi, g.points["nose_root"] + np.array([0, -0.4 * s]), 0.28 * s, 0.16 * s, 0.06 * light.k)
    _blob_add(hl, roi, g.values["chin_pt"], 0.12 * s, 0.07 * s, 0.05 * light.k)
    for c in g.values["cheek_pts"]:
        _blob_add(hl, roi, c + np.array([0, -0.08 * s]), 0.12 * s, 0.08 * s, 0.04 * light.k)
    for c_ in ch:
        c_ += hl
    # stubble, beard, moustache
    beard = 1.0 - p.attr("No_Beard")
    mus = p.attr("Mustache")
    stub = 0.2 * p.attr("Male") * p.look.stubble
    if beard > 0 or mus > 0 or stub > 0.01:
        cover = _Cover(roi, ss=2)
        for half in g.values["beard_halves"]:
            cover.fill(half)
        bcov = _blur(cover.get(), 0.025 * s + 0.3)
        mcov = _blur(_Cover(roi, ss=2).fill(g.polys["mustache"]).get(), 0.012 * s + 0.3)
        k = 128.0 / S
        hair_t = textures.gather("strands", (ys * (k * 0.35)).astype(np.int32) + p.look.tex[1],
                                 (xs * (k * 1.6)).astype(np.int32) + p.look.tex[0])
        dens = _clip(0.78 + 0.14 * hair_t + 0.12 * fine, 0, 1)
        amount = (bcov * (0.92 * beard + stub * (1.0 - beard)) * dens)
        amount = np.maximum(amount, mcov * (0.95 * mus) * dens)
        bshade = shade * (0.9 + 0.12 * hair_t)
        for c_, k_ in zip(ch, beard_colour(p), strict=True):
            c_ += (bshade * k_ - c_) * amount
    for c_, k_ in zip(ch, light.tint, strict=True):
        c_ *= k_
    cv.put(roi, cov, cv2.merge(ch), C["skin"])


def _eye(cv: Canvas, g: Geometry, p: FaceParams, light: Light, name: str) -> None:
    s = g.s
    poly = g.polys[name]
    upper = g.lines[name + "_upper"]
    roi = _roi(poly, cv.size, pad=3)
    if roi is None:
        return
    opening = _fill(roi, poly)
    lash = _stroke(roi, [upper], max(0.8, 0.028 * s))
    xs, ys = _grid(roi)
    order = np.argsort(upper[:, 0])
    lid_y = np.interp(xs[0], upper[order, 0], upper[order, 1]).astype(F32)[None, :]
    below = _clip((ys - lid_y) * F32(1.0 / (0.07 * s)), 0.0, 1.0)
    c = g.values[name + "_eye_centre"]
    corner = _clip(np.abs(xs - F32(c[0])) * F32(1.0 / (p.shape.eye_w * s)), 0, 1)
    sh = (0.55 + 0.45 * below) * (1.0 - 0.3 * corner * corner)
    sclera = np.array([0.88, 0.86, 0.83], F32)
    # iris: a projected disc
    ic = g.points[name + "_iris"]
    ax = g.values[name + "_iris_ax"]
    inv = np.linalg.inv(np.array([[ax[0, 0], ax[1, 0]], [ax[0, 1], ax[1, 1]]]))
    dx, dy = xs - F32(ic[0]), ys - F32(ic[1])
    a_ = float(inv[0, 0]) * dx + float(inv[0, 1]) * dy
    b_ = float(inv[1, 0]) * dx + float(inv[1, 1]) * dy
    r = np.sqrt(a_ * a_ + b_ * b_)
    scale = float(min(np.linalg.norm(ax[0]), np.linalg.norm(ax[1])))
    iris_cov = _clip(0.5 + (1.0 - r) * scale, 0, 1)
    pupil_cov = _clip(0.5 + (0.42 - r) * scale, 0, 1)
    iris = np.array(p.look.iris, F32)
    ang = np.arctan2(b_, a_)
    streak = textures.gather("fine", (ang * 12).astype(np.int32) + 37, (r * 9).astype(np.int32) + 11)
    ishade = (0.8 + 0.5 * r * (1 - r) * 2.0 + 0.1 * streak) * (1.0 - 0.45 * _clip((r - 0.78) * 5, 0, 1))
    ishade = ishade * (0.5 + 0.5 * below)
    pupil = np.array([0.03, 0.02, 0.02], F32)
    # catch light, towards the light
    cl = (float(ic[0]) + light.dir[0] * scale * 0.4, float(ic[1]) + light.dir[1] * scale * 0.4 - 0.12 * scale)
    glint = _clip(0.5 + (max(0.7, 0.22 * scale) - np.sqrt((xs - cl[0]) ** 2 + (ys - cl[1]) ** 2)), 0, 1)
    glint = 0.8 * glint * iris_cov
    lash_col = brow_colour(p) * 0.4
    dim = 0.82 + 0.18 * light.k
    ch = []
    for c in range(3):                  # channel by channel (see _rep3)
        x = sh * sclera[c]
        x += (ishade * iris[c] - x) * iris_cov
        x += (pupil[c] - x) * pupil_cov
        x += (1.0 - x) * glint
        x += (lash_col[c] - x) * lash
        ch.append(x * dim * light.tint[c])
    alpha = np.maximum(opening, lash)
    cv.put(roi, alpha, cv2.merge(ch), C[name])


def _brow(cv: Canvas, g: Geometry, p: FaceParams, light: Light, name: str) -> None:
    poly = g.polys[name]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    side = -1 if name == "r_brow" else 1
    k = 128.0 / cv.size
    ix = (xs * (k * 2.2) - side * ys * (k * 1.4)).astype(np.int32)
    iy = (ys * (k * 0.8) + side * xs * (k * 0.9)).astype(np.int32)
    strand = textures.gather("strands", iy + 101, ix + 57)
    base = brow_colour(p)
    bushy = p.attr("Bushy_Eyebrows")
    # hairs thin out towards the edges: lighter where the coverage of a blurred outline is lower
    soft = _blur(cov, 0.02 * g.s + 0.3)
    lit = (0.95 + 0.2 * strand * (1 + 0.5 * bushy)) * (1.25 - 0.25 * soft)
    cv.put(roi, cov, cv2.merge([lit * base[c] * light.tint[c] for c in range(3)]), C[name])


def _nose(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray, ctx: dict) -> None:
    s = g.s
    hull = g.polys["nose"]
    roi = _roi(hull, cv.size)
    if roi is None:
        return
    cov = _fill(roi, hull)
    xs, ys = _grid(roi)
    acts = p.actions()
    shade = _paste(roi, ctx["skin_roi"], ctx["skin_shade"])
    root, base = g.points["nose_root"], g.points["nose_base"]
    axis = base - root
    length = float(np.linalg.norm(axis)) + 1e-6
    ax0, ax1 = float(axis[0] / length), float(axis[1] / length)
    dx, dy = xs - F32(root[0]), ys - F32(root[1])
    along = _clip((dx * ax0 + dy * ax1) * F32(1.0 / length), 0, 1)
    across = dx * ax1 - dy * ax0
    half = F32(g.values["nose_half_px"]) * (0.45 + 0.55 * along ** 1.5)
    t = _clip(-across / half, -1, 1)            # -1 .. 1, image left to right
    ldx = light.dir[0]
    side_shade = 1.0 - 0.25 * _clip(-t * math.copysign(1.0, ldx) - 0.15, 0, 1) * (0.4 + abs(ldx))
    ridge = (0.07 * light.k) * np.exp(-(t * 3.3) ** 2) * (0.3 + 0.7 * along)
    lit = shade * side_shade
    ch = [lit * skin[0], lit * skin[1], lit * skin[2]]      # channel by channel (see _rep3)
    ch[2] *= 0.9 + 0.1 * shade
    extra = np.zeros_like(cov)
    _blob_add(extra, roi, g.points["nose_tip"], 0.06 * s, 0.045 * s, 0.09 * light.k)
    ridge = ridge + extra
    for x in ch:
        x += ridge
    # nostrils, alar creases, wrinkles
    dark = np.zeros_like(cov)
    nax = g.values["nostril_ax"]
    for nm in ("nostril_r", "nostril_l"):
        c = g.points[nm]
        dark = np.maximum(dark, _clip(1.3 - np.sqrt(((xs - F32(c[0])) / F32(nax[0])) ** 2
                                                      + ((ys - F32(c[1])) / F32(nax[1])) ** 2), 0, 1) * 0.6)
    for nm in ("ala_r", "ala_l"):
        _blob_add(dark, roi, g.points[nm], 0.045 * s, 0.06 * s, 0.14)
    if acts["nose_wrinkle"] > 0:
        wr = np.zeros_like(cov)
        _blob_add(wr, roi, root + axis * 0.35, 0.09 * s, 0.08 * s, 0.25 * acts["nose_wrinkle"])
        dark += wr * (0.5 + 0.5 * np.sin((ys - F32(root[1])) * F32(120.0 / s)))
    keep = 1.0 - np.minimum(dark, 0.9)
    for c, x in enumerate(ch):
        x *= keep
        x *= light.tint[c]
    cv.put(roi, cov, cv2.merge(ch), C["nose"])


def _mouth(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    s = g.s
    up, lo, hole = g.polys["u_lip"], g.polys["l_lip"], g.polys["mouth"]
    roi = _roi(np.concatenate([up, lo]), cv.size, pad=3)
    if roi is None:
        return
    xs, ys = _grid(roi)
    if g.values["mouth_gap_px"] > 0.15:
        inside = _fill(roi, hole)
        teeth = np.maximum(_fill(roi, g.polys["teeth_u"]), 0.9 * _fill(roi, g.polys["teeth_l"])) * inside
        mc = g.points["mouth_centre"]
        depth = _clip(1.0 - np.abs(xs - F32(mc[0])) * F32(1.0 / (0.35 * s)), 0.2, 1.0)
        depth = np.broadcast_to(depth, inside.shape)
        depth8 = depth * 0.8
        gaps = np.zeros_like(xs)
        for tx in g.values["tooth_x"]:
            gaps = np.maximum(gaps, _clip(1.0 - np.abs(xs - F32(tx[0])) / F32(max(0.6, 0.012 * s)), 0, 1))
        tshade = (0.7 + 0.3 * depth) * (1.0 - 0.3 * gaps)
        ch = []
        inside_rgb, teeth_rgb = np.array([0.26, 0.07, 0.07], F32), np.array([0.92, 0.89, 0.83], F32)
        for c, (k_in, k_t) in enumerate(zip(inside_rgb, teeth_rgb, strict=True)):
            x = depth8 * k_in
            x += (tshade * k_t - x) * teeth
            ch.append(x * light.tint[c])
        cv.put(roi, inside, cv2.merge(ch), C["mouth"])
    lipc = lip_colour(p)
    n_up = np.array([0.0, 0.6, 0.8]) @ g.r_full.T
    n_lo = np.array([0.0, -0.5, 0.87]) @ g.r_full.T
    sh_up = float(light.lambert(n_up[None])[0])
    sh_lo = float(light.lambert(n_lo[None])[0])
    line = _blur(_stroke(roi, [g.lines["lip_line"]], max(0.6, 0.016 * s)), 0.3)
    tex = textures.window("strands", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], (91, 13))
    hl = np.zeros_like(line)
    _blob_add(hl, roi, lo[len(lo) // 4] + np.array([0, -0.012 * s]), 0.1 * s, 0.025 * s,
              (0.07 + 0.12 * p.attr("Wearing_Lipstick")) * light.k)
    for poly, cls, sh in ((up, "u_lip", sh_up * 0.85), (lo, "l_lip", sh_lo)):
        cov = _fill(roi, poly)
        lit = sh * (1.0 + 0.05 * tex) * (1.0 - 0.45 * line)
        ch = [lit * lipc[c] for c in range(3)]
        if cls == "l_lip":
            for x in ch:
                x += hl
        cv.put(roi, cov, cv2.merge([x * light.tint[c] for c, x in enumerate(ch)]), C[cls])


def _hair_cap(cv: Canvas, g: Geometry, p: FaceParams, light: Light, ctx: dict) -> None:
    """Hair on the scalp: the shell around the skull, above the hairline (with bangs)."""
    if p.attr("Bald") >= 0.5:
        return
    S, s = cv.size, g.s
    e = g.shell
    sh_c, sh_b = g.values["shell_2d"]
    half = np.sqrt(np.diag(np.linalg.inv(sh_b)))
    corners = g.up_to_px(np.array([[sh_c[0] - half[0], sh_c[1] - half[1]], [sh_c[0] + half[0], sh_c[1] - half[1]],
                                   [sh_c[0] - half[0], sh_c[1] + half[1]], [sh_c[0] + half[0], sh_c[1] + half[1]]]))
    roi = _roi(corners, S)
    if roi is None:
        return
    xs, ys = _grid(roi)
    _, hit, n, sd = _cast(g, e, xs, ys, want_sd=True)
    cen, ratio = e.centre.astype(F32), (g.skull.radii / e.radii).astype(F32)
    q0, qy, q2 = (cen[c] + (hit[..., c] - cen[c]) * ratio[c] for c in range(3))    # onto the skull
    theta = np.arctan2(q0, q2 - F32(e.centre[2]))
    at = np.abs(theta)
    h, sh = p.hair, p.shape
    bald = p.attr("Bald")
    recede = 4.4 * bald                     # 0 .. 2.2 head units: the hairline climbs over the crown
    hl = h.hairline - recede
    ear_top = sh.ear_y - 0.17
    length = g.values["hair_len"]
    curtains = "curtain_r" in g.polys
    over_ear = 0.1 if curtains else ear_top + (0.3 if length > 1.5 else 0.0) * h.cover_ears
    yb = np.array([hl, hl + 0.05, hl + 0.22, -0.3, 0.07, 0.07, over_ear, over_ear, 0.38, 0.58])
    yb[3:] -= recede
    tb = [0.0, 0.55, 0.95, 1.17, 1.27, 1.38, 1.47, 1.9, 2.15, math.pi]
    H = np.interp(at, tb, yb).astype(F32)
    bangs = p.attr("Bangs")
    if bangs > 0:
        brow_top = sh.eye_y - sh.brow_gap - 0.1 + 0.06 * bangs
        fy = hl + (brow_top - hl) * bangs
        if h.fringe == 1:
            fy = fy + 0.22 * bangs * math.copysign(1.0, h.part + 1e-3) * _clip(theta, -0.9, 0.9) - 0.05 * bangs
        jag = 0.025 * np.sin(theta * 37.0 + h.tex[0]) + 0.015 * np.sin(theta * 71.0 + h.tex[1])
        if h.fringe == 2:
            jag = jag + 0.05 * np.abs(np.sin(theta * 9.0 + h.tex[0]))
        fy = fy - jag * bangs
        wgt = 1.0 - _clip((at - 0.75) * (1 / 0.3), 0, 1)
        H = np.maximum(H, H + (fy - H) * wgt)
    # a fuzzy outline: strands stick out of the silhouette
    k = 128.0 / S
    fuzz = textures.gather("strands", (qy * F32(2.0)).astype(np.int32) + h.tex[1],
                           (theta * F32(s * 1.7 * k)).astype(np.int32) + h.tex[0])
    fuzz = _clip(fuzz, -1.5, 1.5) * F32((0.4 + 0.8 * h.curl) * S / 128.0)
    cov = _clip(0.5 + sd + fuzz, 0.0, 1.0)
    # ragged ends along the hairline too (strands of different lengths)
    ends = textures.gather("strands", (qy * F32(3.0)).astype(np.int32) + h.tex[0],
                           (theta * F32(s * 1.7 * k)).astype(np.int32) + h.tex[1] + 17)
    hair_a = _edge_alpha(H - qy, _clip(ends, -1.5, 1.5) * F32(0.7 * S / 128.0)) * cov
    # behind the cheeks and jaw: a hard cut, so that no hair shows through the face's anti-aliased edge
    # where nothing else of the hair is visible (e.g. between the face and an ear drawn on top)
    block = _paste(roi, ctx["skin_roi"], ctx["lower_cov"]) >= 0.5
    hair_a[block] = 0.0
    hair_a = _tidy(hair_a)
    # strands along meridians from the crown, clumps, a darker parting
    ix = theta * F32(s * 1.7 * k) + F32(3.0 * h.curl) * np.sin(qy * 12.0)
    iy = qy * F32(s * 0.6 * k)
    strand = _strands(ix, iy, h.tex, h.curl)
    part = np.exp(-((theta - 0.35 * h.part) * 20.0) ** 2) * _clip((-qy - 0.95) * 3.0, 0, 1)
    dark = (1.0 - 0.12 * _clip(1.0 - (H - qy) * 8.0, 0, 1)) * (1.0 - 0.3 * part)
    col = _hair_shade(light, hair_colour(p), n, strand, dark)
    cv.put(roi, hair_a, col, C["hair"])


def _hair_poly(cv: Canvas, g: Geometry, p: FaceParams, light: Light, poly: np.ndarray, darkness: float) -> None:
    """Hair that hangs (behind the head, or curtains in front of the shoulders)."""
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    curl = p.hair.curl
    s = g.s
    k = 128.0 / cv.size
    ix = xs * F32(1.7 * k) + F32(2.5 * curl) * np.sin(ys * F32(6.0 / s))
    iy = ys * F32(0.6 * k)
    ix, iy = np.broadcast_arrays(ix, iy)
    strand = _strands(ix, iy, p.hair.tex, curl)
    cx = float(g.shell.centre_px[0])
    hw = float(g.s * (g.shell.radii[0] + 0.35))
    nx = _clip((xs - F32(cx)) * F32(1.0 / hw), -0.95, 0.95)
    n = np.stack([nx, np.full_like(nx, -0.1), np.sqrt(1 - nx * nx)], -1)     # one row: depends on x only
    edge = _blur(cov, 0.05 * s)
    col = _hair_shade(light, hair_colour(p), n, strand, (0.75 + 0.25 * edge) * F32(darkness))
    cv.put(roi, cov, col, C["hair"])


def _glasses(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    v = p.attr("Eyeglasses")
    if v <= 0:
        return
    lr, ll = g.polys["lens_r"], g.polys["lens_l"]
    roi = _roi(np.concatenate([lr, ll, g.lines["bridge"]]), cv.size, pad=3)
    if roi is None:
        return
    xs, ys = _grid(roi)
    t = max(0.8, g.values["glasses_thick"])
    lens = _fill(roi, lr, ll)
    frame = _Cover(roi).line([lr, ll], t, closed=True).line([g.lines["bridge"]], t).get()
    x0, y0, x1, y1 = roi
    cur = cv.mask[y0:y1, x0:x1]
    keep = ~np.isin(cur, (C["l_eye"], C["r_eye"], C["l_brow"], C["r_brow"], C["hair"]))
    not_hair = cur != C["hair"]
    tint = p.acc.lens_tint
    refl = 0.5 + 0.5 * np.sin((xs + ys) * F32(18.0 / g.s))
    lens_alpha = lens * (0.06 + 0.55 * tint + 0.07 * refl) * not_hair
    lens_col = _mix(np.array([0.85, 0.9, 0.95], F32), np.array([0.08, 0.07, 0.07], F32), min(1.0, tint * 1.5))
    lens_col = np.broadcast_to(lens_col * light.tint, lens.shape + (3,))
    cv.put(roi, lens_alpha * v, lens_col, C["eye_g"], mask_alpha=lens * (v >= 0.5), over=keep)
    fcol = np.array(p.acc.glasses_rgb, F32)
    hi = 1.0 + 0.3 * _clip(-(ys - ys.mean()) * F32(1.0 / (0.1 * g.s)), 0, 1) * light.k
    col = np.broadcast_to(fcol * hi[..., None] * light.tint, frame.shape + (3,))
    cv.put(roi, frame * v, col, C["eye_g"], mask_alpha=np.minimum(frame * 2.0, 1.0) * (v >= 0.5))


def _hat(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    v = p.attr("Wearing_Hat")
    if v <= 0:
        return
    S = cv.size
    kind = p.acc.hat_kind
    c1, c2 = np.array(p.acc.hat_rgb, F32), np.array(p.acc.hat_rgb2, F32)
    mflag = float(v >= 0.5)
    if kind == 2 and "brim" in g.polys:
        brim = g.polys["brim"]
        broi = _roi(brim, S)
        if broi is not None:
            bcov = _fill(broi, brim)
            bcol = np.broadcast_to(c1 * 0.8 * light.tint, bcov.shape + (3,))
            cv.put(broi, bcov * v, bcol, C["hat"], mask_alpha=bcov * mflag)
    e = g.hat_shell
    c_, b_ = _ellipse_2d_of(g, e)
    half = np.sqrt(np.diag(np.linalg.inv(b_)))
    corners = g.up_to_px(np.array([[c_[0] - half[0], c_[1] - half[1]], [c_[0] + half[0], c_[1] - half[1]],
                                   [c_[0] - half[0], c_[1] + half[1]], [c_[0] + half[0], c_[1] + half[1]]]))
    roi = _roi(corners, S)
    if roi is None:
        return
    xs, ys = _grid(roi)
    cov, hit, n = _cast(g, e, xs, ys)
    theta = np.arctan2(hit[..., 0], hit[..., 2] - F32(e.centre[2]))
    hl = p.hair.hairline
    if kind == 2:
        band = np.full_like(theta, -0.72)
    else:
        band = hl + 0.12 + 0.35 * (1 - np.cos(theta)) / 2 + (-0.1 if kind == 1 else 0.0)
    a = _tidy(_edge_alpha(band - hit[..., 1]) * cov)
    shade = light.lambert(n)
    if kind == 0:
        rib = 0.85 + 0.15 * np.sin(theta * 40.0)
        cuff = (hit[..., 1] > band - 0.16).astype(F32)
        base = (c1 * (1 - 0.15 * cuff)[..., None]) * rib[..., None]
    elif kind == 2:
        stripe = ((hit[..., 1] > band - 0.12) & (hit[..., 1] < band - 0.02)).astype(F32)
        base = c1 + (c2 - c1) * stripe[..., None]
    else:
        seam = (np.abs(np.sin(theta * 3.0)) < 0.05).astype(F32)
        base = c1 * (1.0 - 0.15 * seam)[..., None]
    col = base * shade[..., None] * light.tint
    cv.put(roi, a * v, col, C["hat"], mask_alpha=a * mflag)
    if kind == 1 and "visor" in g.polys:
        vis = g.polys["visor"]
        vroi = _roi(vis, S)
        if vroi is not None:
            vcov = _fill(vroi, vis)
            vcol = np.broadcast_to(c1 * 0.75 * light.tint, vcov.shape + (3,))
            cv.put(vroi, vcov * v, vcol, C["hat"], mask_alpha=vcov * mflag)


def _ellipse_2d_of(g: Geometry, e: Ellipsoid):
    from .geometry import _ellipse_2d
    return _ellipse_2d(e, g.r_up)


def _finish(cv: Canvas, p: FaceParams) -> np.ndarray:
    """Film grain (a fixed pattern per scene, so it is the same before and after an edit) and 8 bits."""
    S = cv.size
    grain = textures.window("fine", 0, 0, S, S, (p.scene.tex[1], p.scene.tex[0]))
    img = cv.img + _rep3(grain * F32(0.008))
    return _clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------

def render(p: FaceParams, size: int = 128) -> SynthSample:
    """Draw a face and all its labels at size x size pixels."""
    size = int(size)
    if size < 32 or size > 2048:
        raise ValueError(f"size must be between 32 and 2048 pixels, got {size}")
    g = build(p, size)
    light = Light(p)
    cv = Canvas(size)
    skin = skin_colour(p)
    near = g.near_side
    far_sides = [sd for sd in (-1, 1) if sd != near] if near != 0 else [-1, 1]
    hair = p.attr("Bald") < 0.5
    ctx: dict = {}

    _background(cv, p, light)
    if hair and "hair_back" in g.polys:
        _hair_poly(cv, g, p, light, g.polys["hair_back"], 0.72)
    _neck(cv, g, p, light, skin)
    _cloth(cv, g, p, light)
    _necklace(cv, g, p, light)
    for side in far_sides:          # behind the head
        _ear(cv, g, p, light, skin, side)
        _earring(cv, g, p, light, side, far=near != 0)
    _skin(cv, g, p, light, skin, ctx)
    _eye(cv, g, p, light, "r_eye")
    _eye(cv, g, p, light, "l_eye")
    _brow(cv, g, p, light, "r_brow")
    _brow(cv, g, p, light, "l_brow")
    _nose(cv, g, p, light, skin, ctx)
    _mouth(cv, g, p, light)
    _hair_cap(cv, g, p, light, ctx)
    if near != 0:                   # in front of the head
        _ear(cv, g, p, light, skin, near)
        _earring(cv, g, p, light, near)
        _glasses_arm(cv, g, p, light, near)
    else:
        for side in (-1, 1):
            _glasses_arm(cv, g, p, light, side)
    if hair:
        for name in ("curtain_r", "curtain_l"):
            if name in g.polys:
                _hair_poly(cv, g, p, light, g.polys[name], 1.0)
    _glasses(cv, g, p, light)
    _hat(cv, g, p, light)
    cv.settle()
    image = _finish(cv, p)
    labels = attribute_labels(p)
    # small accessories can hide behind hair or a collar: their labels say whether they can be seen
    labels["Wearing_Earrings"] = bool(labels["Wearing_Earrings"] and (cv.mask == C["ear_r"]).any())
    labels["Wearing_Necklace"] = bool(labels["Wearing_Necklace"] and (cv.mask == C["neck_l"]).any())
    return SynthSample(
        image=image, mask=cv.mask, landmarks=g.landmarks.copy(), attributes=labels,
        expression=p.expression, pose=(p.yaw, p.pitch, p.roll), identity=p.identity, params=p,
    )


def render_seed(seed: int, size: int = 128) -> SynthSample:
    """render(sample_params(seed), size)."""
    return render(sample_params(seed), size)
