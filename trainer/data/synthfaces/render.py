"""Drawing a SynthFaces face: layers composited back to front, each on its own small region of interest.

Every layer has a coverage (anti-aliased: cv2 fills with LINE_AA and sub-pixel coordinates, or an
implicit surface whose coverage is 0.5 + its signed distance in pixels) and a colour; a pixel's class is
that of the top-most layer covering at least half of it. A layer's colour depends only on the parameters
of its own part and the scene, and compositing is ``out = below * (1 - a) + colour * a``, so a change of
one part changes only the pixels that part covers (plus its anti-aliased fringe).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from faceeditor.core.labels import CLASS_INDEX

from . import textures
from .geometry import Y_JAW, Ellipsoid, Geometry, build
from .params import HAIR_COLOUR_ATTRIBUTES, FaceParams, attribute_labels, sample_params

C = CLASS_INDEX
SHIFT = 4
ONE = 1 << SHIFT


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
    x0 = max(int(math.floor(pts[:, 0].min() - pad)), 0)
    y0 = max(int(math.floor(pts[:, 1].min() - pad)), 0)
    x1 = min(int(math.ceil(pts[:, 0].max() + pad)) + 1, size)
    y1 = min(int(math.ceil(pts[:, 1].max() + pad)) + 1, size)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _union(*rois):
    rois = [r for r in rois if r is not None]
    if not rois:
        return None
    return (min(r[0] for r in rois), min(r[1] for r in rois), max(r[2] for r in rois), max(r[3] for r in rois))


def _fix(pts: np.ndarray, roi) -> np.ndarray:
    return np.round((np.asarray(pts) - (roi[0], roi[1])) * ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(roi, *polys, value: int = 255) -> np.ndarray:
    """Anti-aliased coverage (float32 0..1) of filled polygons in an ROI."""
    buf = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
    cv2.fillPoly(buf, [_fix(p, roi) for p in polys], value, cv2.LINE_AA, SHIFT)
    return buf.astype(np.float32) * (1.0 / 255.0)


def _stroke(roi, lines, thickness_px: float, closed: bool = False, value: int = 255, buf=None) -> np.ndarray:
    """Anti-aliased coverage of polylines of a given thickness (px)."""
    if buf is None:
        buf = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
    t = max(1, int(round(thickness_px)))
    cv2.polylines(buf, [_fix(p, roi) for p in lines], closed, value, t, cv2.LINE_AA, SHIFT)
    return buf


def _grid(roi):
    xs = np.arange(roi[0], roi[2], dtype=np.float32)[None, :]
    ys = np.arange(roi[1], roi[3], dtype=np.float32)[:, None]
    return xs, ys


def _blob(xs, ys, c, rx, ry=None) -> np.ndarray:
    ry = rx if ry is None else ry
    return np.exp(-(((xs - c[0]) / rx) ** 2 + ((ys - c[1]) / ry) ** 2)).astype(np.float32)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return a
    k = int(2 * math.ceil(2.5 * sigma) + 1)
    return cv2.GaussianBlur(a, (k, k), sigma)


def _mix(a, b, t):
    return a * (1.0 - t) + b * t


class Canvas:
    """The image being composed and its class mask."""

    def __init__(self, size: int):
        self.size = size
        self.img = np.zeros((size, size, 3), np.float32)
        self.mask = np.zeros((size, size), np.uint8)

    def put(self, roi, alpha: np.ndarray, colour: np.ndarray, cls: int | None,
            mask_alpha: np.ndarray | None = None, over: np.ndarray | None = None) -> None:
        """Composite ``colour`` (h, w, 3) with ``alpha`` (h, w) into the ROI; label pixels whose
        ``mask_alpha`` (default: alpha) is >= 0.5 as ``cls`` (only where ``over`` allows, if given)."""
        x0, y0, x1, y1 = roi
        view = self.img[y0:y1, x0:x1]
        a = alpha[..., None]
        view *= 1.0 - a
        view += colour * a
        if cls is not None:
            sel = (alpha if mask_alpha is None else mask_alpha) >= 0.5
            if over is not None:
                sel &= over
            self.mask[y0:y1, x0:x1][sel] = cls


# ---------------------------------------------------------------------------------------------------
# light and surfaces

class Light:
    def __init__(self, p: FaceParams):
        sc = p.scene
        az, el = sc.light_az, sc.light_el
        v = np.array([math.sin(az) * math.cos(el), -math.sin(el), math.cos(az) * math.cos(el)])
        self.dir = v / np.linalg.norm(v)
        self.k = sc.light_k
        self.tint = np.array([1.0 + 0.05 * sc.warmth, 1.0, 1.0 - 0.05 * sc.warmth], np.float32)
        h = self.dir + np.array([0.0, 0.0, 1.0])
        self.half = h / np.linalg.norm(h)

    def lambert(self, n: np.ndarray) -> np.ndarray:
        """Diffuse shade factor (wrap lighting) of camera-frame normals (..., 3)."""
        d = n[..., 0] * self.dir[0] + n[..., 1] * self.dir[1] + n[..., 2] * self.dir[2]
        lam = np.clip((d + 0.3) * (1.0 / 1.3), 0.0, 1.0)
        return ((1.0 - 0.8 * self.k) + 1.1 * self.k * lam).astype(np.float32)

    def spec(self, n: np.ndarray, power: float) -> np.ndarray:
        d = n[..., 0] * self.half[0] + n[..., 1] * self.half[1] + n[..., 2] * self.half[2]
        return (np.clip(d, 0.0, 1.0) ** power).astype(np.float32)


def _cast(g: Geometry, e: Ellipsoid, xs, ys):
    """Ray-cast an ellipsoid for the pixels of a grid: (coverage, hit point in the head frame, normal in
    the camera frame)."""
    s = g.s
    dx = (xs - e.centre_px[0]) / s
    dy = (ys - e.centre_px[1]) / s
    a = e.a_cam
    lin = a[0, 2] * dx + a[1, 2] * dy
    q2 = a[0, 0] * dx * dx + 2 * a[0, 1] * dx * dy + a[1, 1] * dy * dy
    g2 = q2 - lin * lin / a[2, 2]
    # gradient of the projected quadratic form (for the anti-aliased edge)
    b00 = a[0, 0] - a[0, 2] ** 2 / a[2, 2]
    b01 = a[0, 1] - a[0, 2] * a[1, 2] / a[2, 2]
    b11 = a[1, 1] - a[1, 2] ** 2 / a[2, 2]
    gx = 2 * (b00 * dx + b01 * dy)
    gy = 2 * (b01 * dx + b11 * dy)
    grad = np.sqrt(gx * gx + gy * gy) + 1e-6
    cov = np.clip(0.5 + (1.0 - g2) / grad * s, 0.0, 1.0).astype(np.float32)
    dz = (-lin + np.sqrt(np.clip(a[2, 2] * (1.0 - g2), 0.0, None))) / a[2, 2]
    dz = np.broadcast_to(dz, cov.shape)
    dxb = np.broadcast_to(dx, cov.shape)
    dyb = np.broadcast_to(dy, cov.shape)
    d = np.stack([dxb, dyb, dz], -1)
    hit = e.centre + d @ g.r_full          # head frame (row-vector form of R^T d)
    n = d @ a.T
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-9
    return cov, hit, n


# ---------------------------------------------------------------------------------------------------
# colours of parts

def skin_colour(p: FaceParams) -> np.ndarray:
    base = np.array(p.look.skin, np.float32)
    pale = np.array([0.97, 0.88, 0.84], np.float32)
    t = 0.62 * p.attr("Pale_Skin")
    out = base * (1 - t) + pale * t
    # pale skin is also a little less saturated
    grey = out.mean()
    return out * (1 - 0.15 * t) + grey * 0.15 * t


def hair_colour(p: FaceParams) -> np.ndarray:
    h = p.hair
    w = np.array([p.attr(n) for n in HAIR_COLOUR_ATTRIBUTES], np.float32)
    tot = float(w.sum())
    if tot > 1.0:
        w /= tot
        tot = 1.0
    cols = np.array([h.black, h.blond, h.brown], np.float32)
    col = (w[:, None] * cols).sum(0) + (1.0 - tot) * np.array(h.other, np.float32)
    grey = (1.0 - p.attr("Young")) * p.look.grey_rate
    return _mix(col, np.array([0.72, 0.71, 0.70], np.float32), 0.85 * grey)


def brow_colour(p: FaceParams) -> np.ndarray:
    dark = np.array([0.10, 0.075, 0.06], np.float32)
    light = np.array([0.42, 0.30, 0.20], np.float32)
    return _mix(light, dark, p.look.brow_dark)


def beard_colour(p: FaceParams) -> np.ndarray:
    return brow_colour(p) * 0.9


def lip_colour(p: FaceParams) -> np.ndarray:
    skin = skin_colour(p)
    nat = skin * np.array([0.88, 0.6, 0.6], np.float32) + np.array([0.06, 0.0, 0.02], np.float32) * p.look.lip_tint
    return _mix(nat, np.array(p.look.lipstick, np.float32), 0.85 * p.attr("Wearing_Lipstick"))


# ---------------------------------------------------------------------------------------------------
# layers

def _background(cv: Canvas, p: FaceParams, light: Light) -> None:
    S = cv.size
    sc = p.scene
    xs = (np.arange(S, dtype=np.float32) / S)[None, :]
    ys = (np.arange(S, dtype=np.float32) / S)[:, None]
    c1, c2 = np.array(sc.bg1, np.float32), np.array(sc.bg2, np.float32)
    kind = sc.bg_kind
    low = textures.window("low", 0, 0, S, S, sc.tex) if S <= 128 else cv2.resize(
        textures.window("low", 0, 0, 128, 128, sc.tex), (S, S), interpolation=cv2.INTER_LINEAR)
    if kind == 0:
        t = np.clip(ys * 0.9 + 0.1 * xs + 0.06 * low, 0, 1)[..., None]
    elif kind == 1:
        edge = 0.3 + 0.4 * ((sc.tex[0] % 97) / 97.0)
        t = np.clip((xs - edge) * S / 3.0, 0, 1)[..., None] * np.ones_like(ys)[..., None] * 0.85
        t = t + 0.05 * low[..., None]
    elif kind == 2:
        t = np.clip((low - 0.4) * 1.4, 0, 1)[..., None]
    else:
        r = np.sqrt((xs - 0.5 + 0.15 * math.sin(sc.light_az)) ** 2 + (ys - 0.4) ** 2)
        t = np.clip(r * 1.5, 0, 1)[..., None]
    img = c1 * (1 - t) + c2 * t
    side = 1.0 + 0.12 * math.sin(sc.light_az) * (xs - 0.5) * 2
    cv.img[:] = img * side[..., None] * light.tint
    cv.mask[:] = C["background"]


def _hair_texture(ix, iy, off, curl: float) -> np.ndarray:
    ix = ix.astype(np.int32) + off[0]
    iy = iy.astype(np.int32) + off[1]
    t = textures.gather("strands", iy, ix)
    if curl > 0.25:
        t = t * (1 - 0.4 * curl) + 0.4 * curl * textures.gather("curly", iy, ix)
    return t


def _hair_shade(p: FaceParams, light: Light, base, n, strand, dark_edge=None):
    lam = light.lambert(n)
    spec = light.spec(n, 18.0)
    lum = float(base.mean())
    val = base[None, None, :] * (lam * (0.78 + 0.22 * strand))[..., None]
    hi = (spec * (0.55 + 0.45 * np.clip(strand, -1, 1)))[..., None] * (0.18 + 0.5 * lum)
    val = val + hi * np.array([1.0, 0.97, 0.92], np.float32)
    if dark_edge is not None:
        val *= dark_edge[..., None]
    return val * light.tint


def _hair_flat(cv: Canvas, g: Geometry, p: FaceParams, light: Light, poly: np.ndarray, darkness: float) -> None:
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    curl = p.hair.curl
    ix = xs * (128.0 / cv.size) * 1.6 + 2.5 * curl * np.sin(ys * (6.0 / g.s))
    iy = ys * (128.0 / cv.size) * 0.7 + 0 * xs
    strand = _hair_texture(np.broadcast_to(ix, cov.shape), iy + 0 * ix, p.hair.tex, curl)
    cx = np.mean(poly[:, 0])
    nx = np.clip((xs - cx) / (0.5 * (poly[:, 0].max() - poly[:, 0].min()) + 1), -0.95, 0.95)
    n = np.stack(np.broadcast_arrays(nx, np.zeros_like(ys) - 0.15, np.sqrt(1 - nx * nx)), -1)
    col = _hair_shade(p, light, hair_colour(p), n, strand) * darkness
    cv.put(roi, cov, col, C["hair"])


def _neck(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray) -> None:
    poly = g.polys["neck"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    nx = np.clip((xs - g.centre[0]) / (g.values["neck_w"] * g.s), -0.98, 0.98)
    n = np.stack(np.broadcast_arrays(nx, np.zeros_like(ys) + 0.1, np.sqrt(1 - nx * nx)), -1)
    shade = light.lambert(n) * 0.88
    chin_y = g.points["chin"][1]
    occl = 1.0 - 0.4 * np.clip(1.0 - (ys - chin_y) / (0.45 * g.s), 0.0, 1.0)
    fine = textures.window("fine", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], p.look.tex)
    col = skin[None, None, :] * (shade * occl * (1.0 + 0.02 * fine))[..., None] * light.tint
    cv.put(roi, cov, col, C["neck"])


def _cloth(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    sc = p.scene
    poly = g.polys["cloth"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    c1, c2 = np.array(sc.cloth, np.float32), np.array(sc.cloth2, np.float32)
    ux = (xs - g.centre[0]) / g.s
    uy = (ys - g.centre[1]) / g.s
    if sc.pattern == 1:
        t = (np.sin((uy * 1.0 + ux * 0.0) * 18.0 + sc.tex[0]) > 0.3).astype(np.float32) * np.ones_like(ux)
    elif sc.pattern == 2:
        t = 0.5 * ((np.sin(ux * 14.0) > 0).astype(np.float32) + (np.sin(uy * 14.0) > 0).astype(np.float32))
    elif sc.pattern == 3:
        t = ((np.sin(ux * 20.0) * np.sin(uy * 20.0)) > 0.55).astype(np.float32)
    else:
        t = np.zeros_like(ux * uy)
    t = _blur(t, 0.5 * cv.size / 128)
    base = c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]
    w, h = roi[2] - roi[0], roi[3] - roi[1]
    folds = textures.window("low", roi[0], roi[1], w, h, sc.tex) if cv.size <= 128 else cv2.resize(
        textures.window("low", roi[0] // 2, roi[1] // 2, (w + 1) // 2, (h + 1) // 2, sc.tex), (w, h))
    weave = textures.window("fine", roi[0], roi[1], w, h, sc.tex)
    nx = np.clip(ux / 2.8, -0.9, 0.9)
    n = np.stack(np.broadcast_arrays(nx, -0.35 + 0 * uy, np.sqrt(1 - nx * nx)), -1)
    shade = light.lambert(n) * (1.0 + 0.08 * folds + 0.04 * weave)
    col = base * shade[..., None] * light.tint
    cv.put(roi, cov, col, C["cloth"])
    for name in ("collar_r", "collar_l"):
        if name in g.polys:
            cpoly = g.polys[name]
            croi = _roi(cpoly, cv.size)
            if croi is None:
                continue
            ccov = _fill(croi, cpoly)
            ccol = np.ones(ccov.shape + (3,), np.float32) * _mix(c1, np.array([0.95, 0.95, 0.95], np.float32), 0.6) * 0.95
            cv.put(croi, ccov, ccol * light.tint, C["cloth"])


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
    t = 0.022 * g.s
    buf = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
    if kind == 1:
        for q in line[::2] if cv.size < 200 else line:
            cv2.circle(buf, tuple(_fix(q, roi)[0, 0]), int(0.028 * g.s * ONE), 255, -1, cv2.LINE_AA, SHIFT)
    else:
        _stroke(roi, [line], max(1.0, t), buf=buf)
    if kind == 2:
        cv2.circle(buf, tuple(_fix(pend, roi)[0, 0]), int(0.05 * g.s * ONE), 255, -1, cv2.LINE_AA, SHIFT)
    cov = buf.astype(np.float32) / 255.0
    xs, ys = _grid(roi)
    metal = np.array(p.acc.metal if kind != 1 else (0.93, 0.91, 0.86), np.float32)
    glint = 0.75 + 0.45 * textures.window("fine", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], (3, 7))
    col = metal[None, None, :] * np.clip(glint, 0.3, 1.4)[..., None] * light.tint
    cv.put(roi, cov * v, col, C["neck_l"], mask_alpha=cov * (v >= 0.5))


def _ear(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray, side: int) -> None:
    name = "r_ear" if side < 0 else "l_ear"
    poly, inner = g.polys[name], g.polys[name + "_in"]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    inn = _blur(_fill(roi, inner), 0.35 * g.s * 0.05)
    xs, ys = _grid(roi)
    n = np.array([side * 0.7, 0.0, 0.7])
    n = n @ g.r_full.T
    shade = float(light.lambert(n[None])[0])
    base = skin * np.array([1.0, 0.93, 0.9], np.float32) * 0.95
    col = base[None, None, :] * (shade * (1.0 - 0.3 * inn))[..., None] * light.tint
    col = np.broadcast_to(col, cov.shape + (3,))
    cv.put(roi, cov, col, C[name])


def _earring(cv: Canvas, g: Geometry, p: FaceParams, light: Light, side: int) -> None:
    v = p.attr("Wearing_Earrings")
    if v <= 0:
        return
    name = "r_ear" if side < 0 else "l_ear"
    lobe = g.points[name + "_lobe"]
    s = g.s
    kind = p.acc.earring_kind
    roi = _roi(np.array([lobe - 0.12 * s, lobe + np.array([0.12, 0.3]) * s]), cv.size)
    if roi is None:
        return
    buf = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
    c = _fix(lobe, roi)[0, 0]
    if kind == 0:
        cv2.circle(buf, tuple(c), int(0.035 * s * ONE), 255, -1, cv2.LINE_AA, SHIFT)
    elif kind == 1:
        cc = _fix(lobe + np.array([0.0, 0.075 * s]), roi)[0, 0]
        cv2.circle(buf, tuple(cc), int(0.075 * s * ONE), 255, max(1, int(round(0.025 * s))), cv2.LINE_AA, SHIFT)
    else:
        end = lobe + np.array([0.0, 0.12 * s])
        _stroke(roi, [np.array([lobe, end])], max(1.0, 0.018 * s), buf=buf)
        cv2.circle(buf, tuple(_fix(end + np.array([0, 0.03 * s]), roi)[0, 0]), int(0.042 * s * ONE), 255, -1,
                   cv2.LINE_AA, SHIFT)
    cov = buf.astype(np.float32) / 255.0
    xs, ys = _grid(roi)
    metal = np.array(p.acc.metal, np.float32)
    glint = 0.8 + 0.5 * _blob(xs, ys, lobe + np.array([-0.01, 0.02]) * s, 0.03 * s)
    col = metal[None, None, :] * glint[..., None] * light.tint
    cv.put(roi, cov * v, col, C["ear_r"], mask_alpha=cov * (v >= 0.5))


def _glasses_arm(cv: Canvas, g: Geometry, p: FaceParams, light: Light, side: int) -> None:
    v = p.attr("Eyeglasses")
    if v <= 0:
        return
    line = g.lines["arm_r" if side < 0 else "arm_l"]
    roi = _roi(line, cv.size, pad=3)
    if roi is None:
        return
    cov = _stroke(roi, [line], max(1.0, 0.7 * g.values["glasses_thick"])).astype(np.float32) / 255.0
    col = np.broadcast_to(np.array(p.acc.glasses_rgb, np.float32) * light.tint * 0.9, cov.shape + (3,))
    cv.put(roi, cov * v, col, C["eye_g"], mask_alpha=cov * (v >= 0.5))


def _skin(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray, lower_cov_out: dict) -> None:
    """Head skin (skull and lower face) with everything painted on it: shading, blush, creases,
    wrinkles, beard and moustache."""
    S, s = cv.size, g.s
    acts = p.actions()
    lower = g.polys["lower_face"]
    sk_c, sk_b = g.values["skull_2d"]
    skull_pts = g.up_to_px(np.array([[sk_c[0] - 1.3, sk_c[1] - 1.4], [sk_c[0] + 1.3, sk_c[1] + 1.4]]))
    roi = _union(_roi(lower, S), _roi(skull_pts, S))
    roi = (max(roi[0], 0), max(roi[1], 0), min(roi[2], S), min(roi[3], S))
    xs, ys = _grid(roi)
    low_cov = _fill(roi, lower)
    lower_cov_out["roi"], lower_cov_out["cov"] = roi, low_cov
    sk_cov, _, _ = _cast(g, g.skull, xs, ys)
    cov = np.maximum(sk_cov, low_cov)
    _, _, n = _cast(g, g.shade, xs, ys)
    shade = light.lambert(n)
    # soft darkening towards the silhouette of the lower face (jaw line)
    edge = _blur(cov, 0.06 * s)
    shade = shade * (0.82 + 0.18 * edge)
    w, h = roi[2] - roi[0], roi[3] - roi[1]
    fine = textures.window("fine", roi[0], roi[1], w, h, p.look.tex)
    mid = textures.window("mid", roi[0], roi[1], w, h, p.look.tex)
    col = skin[None, None, :] * (shade * (1.0 + 0.022 * fine + 0.03 * mid))[..., None]
    # subsurface: shadows are warmer
    col[..., 2] *= 0.92 + 0.08 * shade
    # paints: darkening lines and blobs
    dark = np.zeros((h, w), np.uint8)
    th = max(1.0, 0.018 * s)
    age = (1.0 - p.attr("Young")) * p.look.wrinkle
    for nm in ("r_eye", "l_eye"):
        _stroke(roi, [g.lines[nm + "_crease"]], th, value=int(120 + 60 * age), buf=dark)
        if age > 0.05:
            _stroke(roi, [g.lines[nm + "_bag"]], th, value=int(150 * age), buf=dark)
            for f in g.values[nm + "_feet"]:
                _stroke(roi, [f], th, value=int(110 * age), buf=dark)
    fold = 0.25 + 0.75 * max(acts["smile"], 0.6 * acts["asym"]) + 0.5 * age + 0.4 * acts["nose_wrinkle"]
    for nm in ("fold_r", "fold_l"):
        _stroke(roi, [g.lines[nm]], th * 1.3, value=int(min(255, 90 * fold)), buf=dark)
    if age > 0.05 or acts["brow_raise"] > 0.2:
        v = int(min(255, 120 * age + 110 * max(acts["brow_raise"], 0.0)))
        _stroke(roi, g.values["forehead_lines"], th, value=v, buf=dark)
    furrow = max(-acts["brow_inner"], 0.0) + 0.6 * acts["nose_wrinkle"]
    if furrow > 0.05:
        _stroke(roi, g.values["furrow"], th, value=int(min(255, 160 * furrow)), buf=dark)
    darkf = _blur(dark.astype(np.float32) * (1.0 / 255.0), 0.012 * s + 0.35)
    # eye sockets, nose side shadow, under lower lip
    sock = np.zeros((h, w), np.float32)
    for nm in ("r_eye", "l_eye"):
        c = g.values[nm + "_eye_centre"]
        sock += _blob(xs, ys, c + np.array([0, -0.05 * s]), 0.26 * s, 0.14 * s)
    ldx = light.dir[0]
    tip = g.points["nose_tip"]
    nshadow = _blob(xs, ys, tip + np.array([-np.sign(ldx) * 0.16 * s, -0.05 * s]), 0.1 * s, 0.2 * s) * abs(ldx)
    under = _blob(xs, ys, g.points["nose_base"] + np.array([0, 0.04 * s]), 0.14 * s, 0.045 * s)
    lip_sh = _blob(xs, ys, g.points["mouth_centre"] + np.array([0, (g.values["lip_l"] + 0.06) * s]), 0.16 * s,
                   0.045 * s)
    darkness = 0.35 * darkf + 0.13 * sock + 0.25 * nshadow + 0.2 * under + 0.12 * lip_sh
    col *= (1.0 - np.clip(darkness, 0, 0.8))[..., None]
    # blush and highlights
    blush = np.zeros((h, w), np.float32)
    for c in g.values["cheek_pts"]:
        blush += _blob(xs, ys, c + np.array([0, -0.05 * s * acts["smile"]]), 0.22 * s)
    blush *= 0.08 + 0.12 * p.look.blush + 0.05 * acts["smile"]
    col += blush[..., None] * np.array([0.1, -0.05, -0.04], np.float32)
    hl = 0.06 * _blob(xs, ys, g.points["nose_root"] + np.array([0, -0.35 * s]), 0.25 * s, 0.18 * s)
    hl += 0.05 * _blob(xs, ys, g.values["chin_pt"], 0.12 * s, 0.07 * s)
    col += (hl * light.k)[..., None]
    # stubble, beard, moustache
    m = p.attr("Male")
    beard = 1.0 - p.attr("No_Beard")
    mus = p.attr("Mustache")
    stub = 0.22 * m * p.look.stubble
    if beard > 0 or mus > 0 or stub > 0.01:
        bcov = _blur(_fill(roi, g.polys["beard"]), 0.02 * s + 0.3)
        mcov = _blur(_fill(roi, g.polys["mustache"]), 0.012 * s + 0.3)
        strand = textures.gather("strands", (ys * (128.0 / S) * 0.9).astype(np.int32) + p.look.tex[1],
                                 (xs * (128.0 / S) * 1.8).astype(np.int32) + p.look.tex[0])
        dens = np.clip(0.72 + 0.35 * strand + 0.1 * fine, 0, 1)
        amount = (np.clip(bcov * beard, 0, 1) * 0.95 + stub * bcov * (1 - beard)) * dens
        amount = np.maximum(amount, np.clip(mcov * mus, 0, 1) * dens)
        bc = beard_colour(p) * (1.0 + 0.15 * strand)[..., None] * shade[..., None]
        col = col * (1 - amount[..., None]) + bc * amount[..., None]
    col *= light.tint
    cv.put(roi, cov, col, C["skin"])


def _eye(cv: Canvas, g: Geometry, p: FaceParams, light: Light, name: str) -> None:
    s = g.s
    poly = g.polys[name]
    upper = g.lines[name + "_upper"]
    roi = _roi(poly, cv.size, pad=3)
    if roi is None:
        return
    opening = _fill(roi, poly)
    lash_t = max(1.0, 0.022 * s)
    lash = _stroke(roi, [upper], lash_t).astype(np.float32) / 255.0
    xs, ys = _grid(roi)
    # distance below the upper lid (px), for the lid's shadow on the eyeball
    order = np.argsort(upper[:, 0])
    lid_y = np.interp(xs[0], upper[order, 0], upper[order, 1])[None, :]
    below = np.clip((ys - lid_y) / (0.06 * s), 0.0, 1.0)
    sclera = np.array([0.93, 0.91, 0.88], np.float32)
    c = g.values[name + "_eye_centre"]
    corner = np.clip(np.abs(xs - c[0]) / (p.shape.eye_w * s), 0, 1)
    sh = (0.62 + 0.38 * below) * (1.0 - 0.25 * corner ** 2)
    col = sclera[None, None, :] * sh[..., None]
    # iris
    ic = g.points[name + "_iris"]
    ax = g.values[name + "_iris_ax"]
    m = np.array([[ax[0, 0], ax[1, 0]], [ax[0, 1], ax[1, 1]]])
    inv = np.linalg.inv(m)
    dx, dy = xs - ic[0], ys - ic[1]
    a_ = inv[0, 0] * dx + inv[0, 1] * dy
    b_ = inv[1, 0] * dx + inv[1, 1] * dy
    r = np.sqrt(a_ * a_ + b_ * b_)
    scale = min(np.linalg.norm(ax[0]), np.linalg.norm(ax[1]))
    iris_cov = np.clip(0.5 + (1.0 - r) * scale, 0, 1)
    pupil_cov = np.clip(0.5 + (0.42 - r) * scale, 0, 1)
    iris = np.array(p.look.iris, np.float32)
    ang = np.arctan2(b_, a_)
    streak = textures.gather("fine", (ang * 12).astype(np.int32) + 37, (r * 9).astype(np.int32) + 11)
    ic_col = iris[None, None, :] * (0.75 + 0.45 * r * (1 - r) * 2.5 + 0.12 * streak)[..., None]
    ic_col = ic_col * (1.0 - 0.5 * np.clip((r - 0.8) / 0.2, 0, 1))[..., None]   # limbal ring
    ic_col = ic_col * (0.55 + 0.45 * below)[..., None]
    col = _mix(col, ic_col, iris_cov[..., None])
    col = _mix(col, np.array([0.03, 0.02, 0.02], np.float32), pupil_cov[..., None])
    # catch light, towards the light
    cl = ic + np.array([light.dir[0], light.dir[1]]) * scale * 0.45 - np.array([0, 0.1]) * scale
    glint = np.clip(0.5 + (0.22 * scale - np.sqrt((xs - cl[0]) ** 2 + (ys - cl[1]) ** 2)), 0, 1) * iris_cov
    col = _mix(col, np.array([1.0, 1.0, 1.0], np.float32), (0.85 * glint)[..., None])
    lash_col = brow_colour(p) * 0.45
    col = _mix(col, lash_col, lash[..., None])
    alpha = np.maximum(opening, lash)
    col = col * (0.85 + 0.15 * light.k) * light.tint
    cv.put(roi, alpha, col, C[name])


def _brow(cv: Canvas, g: Geometry, p: FaceParams, light: Light, name: str) -> None:
    poly = g.polys[name]
    roi = _roi(poly, cv.size)
    if roi is None:
        return
    cov = _fill(roi, poly)
    xs, ys = _grid(roi)
    side = -1 if name == "r_brow" else 1
    k = 128.0 / cv.size
    ix = (xs * k * 2.2 - side * ys * k * 1.4).astype(np.int32)
    iy = (ys * k * 0.8 + side * xs * k * 0.9).astype(np.int32)
    strand = textures.gather("strands", iy + 101, ix + 57)
    base = brow_colour(p)
    bushy = p.attr("Bushy_Eyebrows")
    col = base[None, None, :] * (0.9 + 0.25 * strand * (1 + 0.5 * bushy))[..., None] * light.tint
    cv.put(roi, cov, col, C[name])


def _nose(cv: Canvas, g: Geometry, p: FaceParams, light: Light, skin: np.ndarray) -> None:
    s = g.s
    hull = g.polys["nose"]
    roi = _roi(hull, cv.size)
    if roi is None:
        return
    cov = _fill(roi, hull)
    xs, ys = _grid(roi)
    acts = p.actions()
    _, _, n = _cast(g, g.shade, xs, ys)
    shade = light.lambert(n)
    root, base = g.points["nose_root"], g.points["nose_base"]
    axis = base - root
    length = float(np.linalg.norm(axis)) + 1e-6
    axis = axis / length
    dx, dy = xs - root[0], ys - root[1]
    along = np.clip((dx * axis[0] + dy * axis[1]) / length, 0, 1)
    across = dx * axis[1] - dy * axis[0]
    half = g.values["nose_half_px"] * (0.45 + 0.55 * along ** 1.5)
    t = np.clip(-across / half, -1, 1)  # -1 .. 1 left to right in the image
    ldx = light.dir[0]
    side_shade = 1.0 - 0.22 * np.clip(-t * np.sign(ldx) - 0.1, 0, 1) * (0.4 + abs(ldx))
    ridge = 0.09 * np.exp(-(t / 0.3) ** 2) * (0.3 + 0.7 * along) * light.k
    tipb = 0.08 * _blob(xs, ys, g.points["nose_tip"], 0.07 * s, 0.05 * s)
    col = skin[None, None, :] * (shade * side_shade * (1.0 - 0.08 * (1 - along) * 0))[..., None]
    col[..., 2] *= 0.92 + 0.08 * shade
    col += (ridge + tipb)[..., None] * light.k
    # nostrils and alar creases
    nd = np.zeros_like(xs * ys)
    ax = g.values["nostril_ax"]
    for nm in ("nostril_r", "nostril_l"):
        c = g.points[nm]
        nd = np.maximum(nd, np.clip(1.2 - np.sqrt(((xs - c[0]) / ax[0]) ** 2 + ((ys - c[1]) / ax[1]) ** 2), 0, 1))
    crease = np.zeros_like(nd)
    for nm in ("ala_r", "ala_l"):
        c = g.points[nm]
        crease += _blob(xs, ys, c, 0.05 * s, 0.06 * s)
    wr = 0.0
    if acts["nose_wrinkle"] > 0:
        wr = acts["nose_wrinkle"] * 0.25 * _blob(xs, ys, root + axis * length * 0.35, 0.09 * s, 0.08 * s) * \
            (0.5 + 0.5 * np.sin((ys - root[1]) * (40.0 / s) * 3.0))
    col *= (1.0 - np.clip(0.55 * nd + 0.12 * crease + wr, 0, 0.9))[..., None]
    col *= light.tint
    cv.put(roi, cov, col, C["nose"])


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
        depth = np.clip(1.0 - np.abs(xs - mc[0]) / (0.35 * s), 0.2, 1.0)
        col = np.array([0.28, 0.08, 0.08], np.float32)[None, None, :] * depth[..., None] * 0.8
        gaps = np.zeros_like(teeth)
        for tx in g.values["tooth_x"]:
            gaps = np.maximum(gaps, np.clip(1.0 - np.abs(xs - tx[0]) / max(0.6, 0.012 * s), 0, 1))
        tcol = np.array([0.93, 0.9, 0.84], np.float32)[None, None, :] * (
            (0.7 + 0.3 * depth) * (1.0 - 0.35 * gaps))[..., None]
        col = _mix(col, tcol, teeth[..., None]) * light.tint
        cv.put(roi, inside, col, C["mouth"])
    lipc = lip_colour(p)
    n_up = np.array([0.0, 0.6, 0.8]) @ g.r_full.T
    n_lo = np.array([0.0, -0.5, 0.87]) @ g.r_full.T
    sh_up = float(light.lambert(n_up[None])[0])
    sh_lo = float(light.lambert(n_lo[None])[0])
    line = _blur(_stroke(roi, [g.lines["lip_line"]], max(1.0, 0.015 * s)).astype(np.float32) / 255.0, 0.3)
    fine = textures.window("strands", roi[0], roi[1], roi[2] - roi[0], roi[3] - roi[1], (91, 13))
    for poly, cls, sh in ((up, "u_lip", sh_up * 0.85), (lo, "l_lip", sh_lo)):
        cov = _fill(roi, poly)
        col = lipc[None, None, :] * (sh * (1.0 + 0.05 * fine) * (1.0 - 0.45 * line))[..., None]
        if cls == "l_lip":
            c = lo[len(lo) // 4]
            hl = _blob(xs, ys, c + np.array([0, -0.01 * s]), 0.1 * s, 0.025 * s)
            col += (hl * (0.08 + 0.1 * p.attr("Wearing_Lipstick")) * light.k)[..., None]
        cv.put(roi, cov, col * light.tint, C[cls])


def _hair_cap(cv: Canvas, g: Geometry, p: FaceParams, light: Light, lower: dict) -> None:
    """Hair on the scalp: the shell around the skull, above the hairline (with bangs)."""
    if p.attr("Bald") >= 0.5:
        return
    S, s = cv.size, g.s
    sh_c, sh_b = g.values["shell_2d"]
    pts = g.up_to_px(np.array([[sh_c[0] - 1.5, sh_c[1] - 1.6], [sh_c[0] + 1.5, sh_c[1] + 1.6]]))
    roi = _roi(pts, S)
    if roi is None:
        return
    xs, ys = _grid(roi)
    cov, hit, n = _cast(g, g.shell, xs, ys)
    e = g.shell
    q = e.centre + (hit - e.centre) * (g.skull.radii / e.radii)
    theta = np.arctan2(q[..., 0], q[..., 2] - e.centre[2])
    at = np.abs(theta)
    h = p.hair
    sh = p.shape
    bald = p.attr("Bald")
    hl = h.hairline - 2.2 * 2.0 * bald
    ear_top = sh.ear_y - 0.17
    length = g.values["hair_len"]
    over_ear = ear_top + (0.35 if length > 1.5 else 0.0) * h.cover_ears
    yb = [hl, hl + 0.05, hl + 0.22, -0.3, 0.07, 0.07, over_ear, over_ear, 0.38, 0.58]
    tb = [0.0, 0.55, 0.95, 1.17, 1.27, 1.38, 1.47, 1.9, 2.15, math.pi]
    yb = np.array(yb) - np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]) * 2.2 * 2.0 * bald
    H = np.interp(at, tb, yb)
    bangs = p.attr("Bangs")
    if bangs > 0:
        brow_top = sh.eye_y - sh.brow_gap - 0.1 + 0.06 * bangs
        fy = hl + (brow_top - hl) * bangs
        if h.fringe == 1:
            fy = fy + 0.22 * bangs * np.sign(h.part + 1e-3) * np.clip(theta, -0.9, 0.9) - 0.05 * bangs
        jag = 0.03 * np.sin(theta * 37.0 + h.tex[0]) + 0.02 * np.sin(theta * 71.0 + h.tex[1])
        if h.fringe == 2:
            jag = jag + 0.06 * np.abs(np.sin(theta * 9.0 + h.tex[0]))
        fy = fy - jag * bangs
        wgt = 1.0 - np.clip((at - 0.75) / 0.3, 0, 1)
        H = np.maximum(H, H + (fy - H) * wgt)
    hair_a = np.clip(0.5 + (H - q[..., 1]) * s * 0.9, 0, 1) * cov
    lr, lc = lower["roi"], lower["cov"]
    block = np.zeros_like(hair_a)
    ix0, iy0 = max(lr[0], roi[0]), max(lr[1], roi[1])
    ix1, iy1 = min(lr[2], roi[2]), min(lr[3], roi[3])
    if ix1 > ix0 and iy1 > iy0:
        block[iy0 - roi[1]:iy1 - roi[1], ix0 - roi[0]:ix1 - roi[0]] = lc[iy0 - lr[1]:iy1 - lr[1], ix0 - lr[0]:ix1 - lr[0]]
    hair_a = hair_a * (1.0 - block)
    # strands along meridians from the crown
    R = s * 1.15 * (128.0 / S) ** 0.0
    ix = theta * R * 1.5 * (128.0 / S) + 3.0 * h.curl * np.sin(q[..., 1] * 12.0)
    iy = q[..., 1] * s * 0.6 * (128.0 / S)
    strand = _hair_texture(ix, iy, h.tex, h.curl)
    # part line darker near the top
    part = np.exp(-((theta - 0.35 * h.part) / 0.05) ** 2) * np.clip((-q[..., 1] - 0.9) / 0.3, 0, 1)
    edge = 1.0 - 0.35 * np.clip(1.0 - (H - q[..., 1]) / 0.12, 0, 1)   # thinner at the hairline
    col = _hair_shade(p, light, hair_colour(p), n, strand, edge * (1.0 - 0.3 * part))
    cv.put(roi, hair_a, col, C["hair"])


def _glasses(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    v = p.attr("Eyeglasses")
    if v <= 0:
        return
    lr, ll = g.polys["lens_r"], g.polys["lens_l"]
    roi = _roi(np.concatenate([lr, ll, g.lines["bridge"]]), cv.size, pad=3)
    if roi is None:
        return
    xs, ys = _grid(roi)
    t = max(1.0, g.values["glasses_thick"])
    lens = _fill(roi, lr, ll)
    frame = _stroke(roi, [lr, ll], t, closed=True)
    frame = _stroke(roi, [g.lines["bridge"]], t, buf=frame).astype(np.float32) / 255.0
    x0, y0, x1, y1 = roi
    cur = cv.mask[y0:y1, x0:x1]
    keep = ~np.isin(cur, (C["l_eye"], C["r_eye"], C["l_brow"], C["r_brow"], C["hair"]))
    not_hair = cur != C["hair"]
    tint = p.acc.lens_tint
    refl = 0.5 + 0.5 * np.sin((xs + ys) * (3.0 / g.s) * 6.0)
    lens_alpha = lens * (0.07 + 0.5 * tint + 0.08 * refl) * not_hair
    lens_col = _mix(np.array([0.85, 0.9, 0.95], np.float32), np.array([0.08, 0.07, 0.07], np.float32), min(1.0, tint * 1.5))
    lens_col = np.broadcast_to(lens_col * light.tint, lens.shape + (3,))
    cv.put(roi, lens_alpha * v, lens_col, C["eye_g"], mask_alpha=lens * (v >= 0.5), over=keep)
    fcol = np.array(p.acc.glasses_rgb, np.float32)
    hi = 1.0 + 0.35 * np.clip(-(ys - ys.mean()) / (0.1 * g.s), 0, 1) * light.k
    col = fcol[None, None, :] * hi[..., None] * light.tint
    col = np.broadcast_to(col, frame.shape + (3,))
    cv.put(roi, frame * v, col, C["eye_g"], mask_alpha=frame * (v >= 0.5))


def _hat(cv: Canvas, g: Geometry, p: FaceParams, light: Light) -> None:
    v = p.attr("Wearing_Hat")
    if v <= 0:
        return
    S, s = cv.size, g.s
    kind = p.acc.hat_kind
    c1, c2 = np.array(p.acc.hat_rgb, np.float32), np.array(p.acc.hat_rgb2, np.float32)
    mflag = float(v >= 0.5)
    if kind == 2 and "brim" in g.polys:
        brim = g.polys["brim"]
        broi = _roi(brim, S)
        if broi is not None:
            bcov = _fill(broi, brim)
            bcol = np.broadcast_to(c1 * 0.8 * light.tint, bcov.shape + (3,))
            cv.put(broi, bcov * v, bcol, C["hat"], mask_alpha=bcov * mflag)
    e = g.hat_shell
    sh_c, _ = _ellipse_of(g, e)
    pts = g.px(np.array([e.centre - e.radii, e.centre + e.radii]))
    roi = _roi(np.concatenate([pts, [g.px(e.centre[None])[0] - 1.6 * s], [g.px(e.centre[None])[0] + 1.6 * s]]), S)
    if roi is None:
        return
    xs, ys = _grid(roi)
    cov, hit, n = _cast(g, e, xs, ys)
    theta = np.arctan2(hit[..., 0], hit[..., 2] - e.centre[2])
    hl = p.hair.hairline
    if kind == 2:
        band = np.full_like(theta, -0.72)
    else:
        band = hl + 0.12 + 0.35 * (1 - np.cos(theta)) / 2 + (-0.1 if kind == 1 else 0.0)
    a = np.clip(0.5 + (band - hit[..., 1]) * s, 0, 1) * cov
    shade = light.lambert(n)
    if kind == 0:
        rib = 0.85 + 0.15 * np.sin(theta * 40.0)
        cuff = (hit[..., 1] > band - 0.16).astype(np.float32)
        base = _mix(c1[None, None, :], c1[None, None, :] * 0.85, cuff[..., None]) * rib[..., None]
    elif kind == 2:
        stripe = ((hit[..., 1] > band - 0.12) & (hit[..., 1] < band - 0.02)).astype(np.float32)
        base = _mix(c1[None, None, :], c2[None, None, :], stripe[..., None])
    else:
        base = np.broadcast_to(c1[None, None, :], a.shape + (3,)).copy()
        base = base * (1.0 - 0.15 * (np.abs(np.sin(theta * 3.0)) < 0.05))[..., None]
    col = base * shade[..., None] * light.tint
    cv.put(roi, a * v, col, C["hat"], mask_alpha=a * mflag)
    if kind == 1 and "visor" in g.polys:
        vis = g.polys["visor"]
        vroi = _roi(vis, S)
        if vroi is not None:
            vcov = _fill(vroi, vis)
            vcol = np.broadcast_to(c1 * 0.75 * light.tint, vcov.shape + (3,))
            cv.put(vroi, vcov * v, vcol, C["hat"], mask_alpha=vcov * mflag)


def _ellipse_of(g: Geometry, e: Ellipsoid):
    return e.centre_px, None


def _finish(cv: Canvas, p: FaceParams) -> np.ndarray:
    S = cv.size
    grain = textures.window("fine", 0, 0, S, S, (p.scene.tex[1], p.scene.tex[0]))
    img = cv.img + grain[..., None] * 0.008
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


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
    far_sides = [s for s in (-1, 1) if s != near] if near != 0 else [-1, 1]
    near_sides = [near] if near != 0 else []

    _background(cv, p, light)
    if "hair_back" in g.polys and p.attr("Bald") < 0.5:
        _hair_flat(cv, g, p, light, g.polys["hair_back"], 0.72)
    _neck(cv, g, p, light, skin)
    _cloth(cv, g, p, light)
    _necklace(cv, g, p, light)
    for side in far_sides:
        _ear(cv, g, p, light, skin, side)
        _earring(cv, g, p, light, side)
        if near != 0:
            _glasses_arm(cv, g, p, light, side)
    lower: dict = {}
    _skin(cv, g, p, light, skin, lower)
    _eye(cv, g, p, light, "r_eye")
    _eye(cv, g, p, light, "l_eye")
    _brow(cv, g, p, light, "r_brow")
    _brow(cv, g, p, light, "l_brow")
    _nose(cv, g, p, light, skin)
    _mouth(cv, g, p, light)
    _hair_cap(cv, g, p, light, lower)
    for side in near_sides:
        _ear(cv, g, p, light, skin, side)
        _earring(cv, g, p, light, side)
    for side in near_sides if near != 0 else (-1, 1):
        _glasses_arm(cv, g, p, light, side)
    if p.attr("Bald") < 0.5:
        for name in ("curtain_r", "curtain_l"):
            if name in g.polys:
                _hair_flat(cv, g, p, light, g.polys[name], 0.95)
    _glasses(cv, g, p, light)
    _hat(cv, g, p, light)
    image = _finish(cv, p)
    return SynthSample(
        image=image, mask=cv.mask, landmarks=g.landmarks.copy(), attributes=attribute_labels(p),
        expression=p.expression, pose=(p.yaw, p.pitch, p.roll), identity=p.identity, params=p,
    )


def render_seed(seed: int, size: int = 128) -> SynthSample:
    """render(sample_params(seed), size)."""
    return render(sample_params(seed), size)


__all__ = ["SynthSample", "render", "render_seed", "Y_JAW"]
