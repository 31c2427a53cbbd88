"""The 3D-ish head of a SynthFaces face and its projection: every outline the renderer fills, every
implicit surface it ray-casts, and the 68 landmarks, all from one set of numbers.

Head frame (head units, half face width ~ 1): x to the image's right for a frontal face (the subject's
left), y down, z towards the camera, eye line at y = 0. The head is the union of a skull ellipsoid
(forehead, temples, cranium; also the surface hair, hats and the bald scalp live on) and a stack of
front-half cross-sections for the lower face (cheeks, jaw, chin). Features are points on that surface,
pushed out where they protrude (nose, lips), rotated by yaw/pitch/roll about a pivot in the neck and
projected orthographically. The body (neck, shoulders) is not rotated.

Pixel convention: pixel (i, j) has its centre at x = j, y = i (as cv2 and dlib use).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .params import FaceParams

try:    # the clip ufunc itself: np.clip's dispatch costs more than clipping the small arrays used here
    from numpy._core.umath import clip as _clip
except ImportError:  # pragma: no cover
    _clip = np.clip


@lru_cache(maxsize=64)
def _lin(start: float, stop: float, num: int, endpoint: bool = True) -> np.ndarray:
    """np.linspace of constant arguments, computed once (read-only)."""
    out = np.linspace(start, stop, num, endpoint=endpoint)
    out.flags.writeable = False
    return out


PIVOT = np.array([0.0, 0.25, -0.3])
Y_JAW = 0.12            # where the lower-face cross-sections start
SKULL_C = (0.0, -0.35, -0.15)
SKULL_R = (1.0, 1.18, 1.2)


def _rot(yaw: float, pitch: float, roll: float) -> tuple[np.ndarray, np.ndarray]:
    """(R_full, R_upright): rotation matrices acting on column vectors (head frame -> camera)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    up = rx @ ry
    return rz @ up, up


def smoothstep(e0: float, e1: float, x):
    t = _clip((np.asarray(x, dtype=np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass
class Ellipsoid:
    """An ellipsoid in the head frame, prepared for per-pixel ray casting in the camera frame."""

    centre: np.ndarray            # head frame
    radii: np.ndarray
    centre_px: np.ndarray = field(default=None)   # projected centre (px), set by Geometry
    a_cam: np.ndarray = field(default=None)       # quadratic form in camera units


@dataclass
class Geometry:
    """All outlines (pixel coordinates, float (N, 2) arrays) and surfaces of one face at one size."""

    size: int
    s: float                                  # pixels per head unit
    centre: np.ndarray                        # pixel position of the head-frame origin (pose 0)
    r_full: np.ndarray
    r_up: np.ndarray
    roll: float
    landmarks: np.ndarray = None
    polys: dict = field(default_factory=dict)         # name -> (N, 2) px
    lines: dict = field(default_factory=dict)         # name -> (N, 2) px polylines
    points: dict = field(default_factory=dict)        # name -> (2,) px
    values: dict = field(default_factory=dict)        # misc numbers (px units unless said)
    skull: Ellipsoid = None
    shell: Ellipsoid = None                   # hair volume
    hat_shell: Ellipsoid = None
    shade: Ellipsoid = None                   # smooth surface used for skin normals
    near_side: int = 0                        # +1: subject's left (x>0) side is nearer the camera; 0 frontal

    # --- projections -------------------------------------------------------------------------------
    def cam(self, p: np.ndarray, upright: bool = False) -> np.ndarray:
        r = self.r_up if upright else self.r_full
        return (np.asarray(p, dtype=np.float64) - PIVOT) @ r.T + PIVOT

    def px(self, p: np.ndarray) -> np.ndarray:
        """Head-frame points (N, 3) -> pixels (N, 2)."""
        c = self.cam(p)
        return np.stack([self.centre[0] + self.s * c[..., 0], self.centre[1] + self.s * c[..., 1]], -1)

    def up_to_px(self, xy: np.ndarray) -> np.ndarray:
        """Upright-camera (pre-roll) x, y in head units -> pixels (roll applied about the pivot)."""
        xy = np.asarray(xy, dtype=np.float64)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        dx, dy = xy[..., 0] - PIVOT[0], xy[..., 1] - PIVOT[1]
        x = PIVOT[0] + cr * dx - sr * dy
        y = PIVOT[1] + sr * dx + cr * dy
        return np.stack([self.centre[0] + self.s * x, self.centre[1] + self.s * y], -1)

    def body_px(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack([self.centre[0] + self.s * xy[..., 0], self.centre[1] + self.s * xy[..., 1]], -1)

    def prepare(self, e: Ellipsoid) -> Ellipsoid:
        """Camera-frame quadratic form and projected centre of an ellipsoid."""
        inv = np.diag(1.0 / np.asarray(e.radii) ** 2)
        e.a_cam = self.r_full @ inv @ self.r_full.T
        e.centre_px = self.px(e.centre[None])[0]
        return e


class FaceModel:
    """Surface of one head in the head frame. ``m`` blends the female and male jaw; the renderer places
    the features on the surface of m = 0.5 so that Male moves the jaw line but not the eyes or mouth."""

    def __init__(self, p: FaceParams, m: float | None = None):
        sh = p.shape
        m = p.attr("Male") if m is None else m
        self.p = p
        self.m = m
        self.W = sh.width
        self.skull_c = np.array(SKULL_C)
        self.skull_r = np.array([SKULL_R[0] * self.W, SKULL_R[1] * sh.skull_h, SKULL_R[2]])
        self.jaw_e = sh.jaw_f + (sh.jaw_m - sh.jaw_f) * m
        self.chin_w = (sh.chin_f + (sh.chin_m - sh.chin_f) * m) * self.W
        self.a0 = self.skull_halfwidth(Y_JAW) * (1.0 + 0.04 * sh.cheek)
        self.chin_bottom = 1.13 * sh.length * (1.0 + 0.03 * m)
        self.delta = 0.09
        self.chin_y = Y_JAW + (self.chin_bottom - Y_JAW) / (1.0 + self.delta)
        self.zf0 = self.skull_front(0.0, Y_JAW)
        self.b0 = self.zf0 - SKULL_C[2]

    # --- surfaces ----------------------------------------------------------------------------------
    def skull_halfwidth(self, y):
        c, r = self.skull_c, self.skull_r
        return r[0] * np.sqrt(_clip(1.0 - ((np.asarray(y) - c[1]) / r[1]) ** 2, 0.0, 1.0))

    def skull_front(self, u, y):
        c, r = self.skull_c, self.skull_r
        q = 1.0 - (np.asarray(u) / r[0]) ** 2 - ((np.asarray(y) - c[1]) / r[1]) ** 2
        return c[2] + r[2] * np.sqrt(_clip(q, 0.02, 1.0))

    def ring(self, t):
        """Lower-face cross-section at parameter t (0 = top, 1 = chin, up to 1 + delta = chin bottom):
        (y, half-width a, depth b, centre z c)."""
        t = np.asarray(t, dtype=np.float64)
        y = Y_JAW + t * (self.chin_y - Y_JAW)
        tt = _clip(t, 0.0, 1.0)
        a = self.chin_w + (self.a0 - self.chin_w) * np.power(_clip(1.0 - tt ** self.jaw_e, 0, 1), 0.5)
        rounding = np.sqrt(_clip(1.0 - ((t - 1.0) / self.delta) ** 2, 0.0, 1.0))
        a = np.where(t > 1.0, self.chin_w * rounding, a)
        zf = self.zf0 + (self.p.shape.chin_z - 0.1) * tt
        b = self.b0 * (1.0 - 0.5 * tt)
        return y, a, b, zf - b

    def t_of_y(self, y):
        return (np.asarray(y, dtype=np.float64) - Y_JAW) / (self.chin_y - Y_JAW)

    def front_z(self, u, y):
        """z of the face surface at frontal position (u, y)."""
        u = np.asarray(u, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        upper = self.skull_front(u, y)
        _, a, b, c = self.ring(_clip(self.t_of_y(y), 0.0, 1.0 + self.delta))
        a = np.maximum(a, 1e-3)
        lower = c + b * np.sqrt(_clip(1.0 - (u / a) ** 2, 0.02, 1.0))
        w = smoothstep(Y_JAW - 0.05, Y_JAW + 0.05, y)
        return upper * (1 - w) + lower * w

    def face_halfwidth(self, y):
        y = np.asarray(y, dtype=np.float64)
        _, a, _, _ = self.ring(_clip(self.t_of_y(y), 0.0, 1.0 + self.delta))
        return np.where(y < Y_JAW, self.skull_halfwidth(y), a)

    def on_face(self, u, y, lift=0.0) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return np.stack([u, y, self.front_z(u, y) + lift], -1)


# ---------------------------------------------------------------------------------------------------

def _resample(poly: np.ndarray, n: int) -> np.ndarray:
    """n points equally spaced by arc length along a polyline."""
    d = np.sqrt(((poly[1:] - poly[:-1]) ** 2).sum(-1))
    cum = np.concatenate([[0.0], np.cumsum(d)])
    t = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(t, cum, poly[:, 0]), np.interp(t, cum, poly[:, 1])], -1)


def _ellipse_2d(e: Ellipsoid, r_up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected (upright camera) centre and 2x2 quadratic form of an ellipsoid."""
    inv = np.diag(1.0 / np.asarray(e.radii) ** 2)
    a = r_up @ inv @ r_up.T
    b = a[:2, :2] - np.outer(a[:2, 2], a[2, :2]) / a[2, 2]
    c = (e.centre - PIVOT) @ r_up.T + PIVOT
    return c[:2], b


def _ellipse_points(centre: np.ndarray, b: np.ndarray, n: int = 48) -> np.ndarray:
    w, v = np.linalg.eigh(b)
    ang = _lin(0, 2 * np.pi, n, endpoint=False)
    unit = np.stack([np.cos(ang), np.sin(ang)], -1) / np.sqrt(w)[None, :]
    return centre[None, :] + unit @ v.T


def _ellipse_x_at(centre: np.ndarray, b: np.ndarray, y: np.ndarray, side: int) -> np.ndarray:
    """x on a 2D ellipse (quadratic form b around centre) at height y, on side -1/+1 (clamped)."""
    dy = y - centre[1]
    # b00 dx^2 + 2 b01 dx dy + b11 dy^2 = 1
    disc = (b[0, 1] * dy) ** 2 - b[0, 0] * (b[1, 1] * dy ** 2 - 1.0)
    return centre[0] + (-b[0, 1] * dy + side * np.sqrt(np.clip(disc, 0, None))) / b[0, 0]


def _catmull(points: np.ndarray, per: int = 4) -> np.ndarray:
    """A smooth open curve through the given points (Catmull-Rom)."""
    p = np.concatenate([points[:1] * 2 - points[1:2], points, points[-1:] * 2 - points[-2:-1]])
    t = _lin(0, 1, per, endpoint=False)[:, None]
    n = len(p) - 3                                   # segments, all at once: (segment, t, xy)
    p0, p1, p2, p3 = (p[k:k + n, None, :] for k in range(4))
    seg = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                 + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3)
    return np.concatenate([seg.reshape(-1, 2), points[-1:]])


def hair_length(p: FaceParams, bald: bool = True) -> float:
    """Style length after Male (and Bald): 0 crop .. 3 long."""
    m = p.attr("Male")
    style = p.hair.style_f + (p.hair.style_m - p.hair.style_f) * m
    return float(style * (max(0.0, 1.0 - 2.0 * p.attr("Bald")) if bald else 1.0))


class _Batch:
    """Points requested during build(), projected together at the end (one vectorised call instead of
    dozens of tiny ones). Requests return index arrays that compose like the points would: points on
    the face count up from 0, free 3D points count down from -1 (the table lists them reversed at its
    end, so one plain gather serves both)."""

    def __init__(self):
        self.face: list[tuple[np.ndarray, np.ndarray, object]] = []
        self.free: list[np.ndarray] = []
        self.n_face = 0
        self.n_free = 0

    def on_face(self, u, y, lift=0.0) -> np.ndarray:
        u = np.asarray(u, np.float64)
        y = np.asarray(y, np.float64)
        if u.shape != y.shape:
            u, y = np.broadcast_arrays(u, y)
        shape = u.shape
        if not isinstance(lift, float):
            lift = np.broadcast_to(np.asarray(lift, np.float64), shape).ravel()
        self.face.append((u.ravel(), y.ravel(), lift))
        n = u.size
        idx = np.arange(self.n_face, self.n_face + n)
        self.n_face += n
        return idx.reshape(shape) if shape != (n,) else idx

    def point3(self, pts) -> np.ndarray:
        pts = np.asarray(pts, np.float64)
        shape = pts.shape[:-1]
        n = int(np.prod(shape))
        self.free.append(pts.reshape(-1, 3))
        idx = np.arange(-1 - self.n_free, -1 - self.n_free - n, -1).reshape(shape)
        self.n_free += n
        return idx

    def resolve(self, surface: FaceModel, g: Geometry) -> np.ndarray:
        u = np.concatenate([f[0] for f in self.face])
        y = np.concatenate([f[1] for f in self.face])
        lift = np.empty(self.n_face)
        k = 0
        for f in self.face:
            n = f[0].size
            lift[k:k + n] = f[2]
            k += n
        pts = np.stack([u, y, surface.front_z(u, y) + lift], -1)
        face_px = g.px(pts)
        free_px = g.px(np.concatenate(self.free)) if self.free else np.zeros((0, 2))
        self.table = np.concatenate([face_px, free_px[::-1]])
        return self.table

    def __call__(self, idx) -> np.ndarray:
        return self.table[idx]


def build(p: FaceParams, size: int) -> Geometry:
    """Geometry of one face at one image size."""
    import cv2

    sh, sc = p.shape, p.scene
    acts = p.actions()
    fm = FaceModel(p)                 # silhouette: the real jaw
    surf = FaceModel(p, m=0.5)        # surface the features sit on (independent of Male)
    m = fm.m
    r_full, r_up = _rot(math.radians(p.yaw), math.radians(p.pitch), math.radians(p.roll))
    s = size * sc.scale
    centre = np.array([size * (0.5 + sc.cx), size * (0.45 + sc.cy)])
    g = Geometry(size=size, s=s, centre=centre, r_full=r_full, r_up=r_up, roll=math.radians(p.roll))
    g.near_side = 0 if abs(p.yaw) < 3.0 else (-1 if p.yaw > 0 else 1)
    B = _Batch()
    later: list[tuple[dict, str, object]] = []     # (dict, key, index array or list of them)
    lm_idx = np.zeros(68, np.int64)

    def defer(d: dict, key: str, idx) -> None:
        later.append((d, key, idx))

    # --- face outline: lower-face cross-sections ---------------------------------------------------
    ts = np.concatenate([_lin(0.0, 1.0, 22), 1.0 + fm.delta * np.array([0.35, 0.6, 0.8, 0.93, 1.0])])
    ys, a, b, c = fm.ring(ts)
    th = _lin(0.0, np.pi, 19)
    ring_pts = np.stack([
        a[:, None] * np.cos(th)[None, :],
        np.broadcast_to(ys[:, None], (len(ts), len(th))),
        c[:, None] + b[:, None] * np.sin(th)[None, :],
    ], -1)                                                   # (rings, angles, 3)
    up = g.cam(ring_pts.reshape(-1, 3), upright=True).reshape(len(ts), len(th), 3)
    li, ri = up[..., 0].argmin(1), up[..., 0].argmax(1)
    k = np.arange(len(ts))
    left_up, right_up = up[k, li, :2], up[k, ri, :2]
    contour_up = np.concatenate([left_up, right_up[::-1][1:]])      # top-left .. chin .. top-right
    g.values["contour_up"] = contour_up
    g.polys["lower_face"] = g.up_to_px(contour_up)
    jaw_lm = g.up_to_px(_resample(contour_up, 17))
    g.points["chin"] = g.up_to_px(up[-1, 9, :2][None])[0]
    g.values["left_up"], g.values["right_up"] = left_up, right_up

    # --- surfaces for per-pixel casting --------------------------------------------------------------
    g.skull = g.prepare(Ellipsoid(fm.skull_c.copy(), fm.skull_r.copy()))
    length = hair_length(p)
    # the volume (which the hat sits on) does not shrink with Bald, so a hat keeps its size
    vol = p.hair.volume * (0.45 + 0.55 * min(hair_length(p, bald=False), 2.0) / 2.0) + 0.03
    g.values["hair_len"] = length
    g.values["hair_vol"] = vol
    g.shell = g.prepare(Ellipsoid(fm.skull_c.copy(), fm.skull_r + np.array([vol, vol * 1.25, vol])))
    hat_extra = 0.07 + (0.2 if p.acc.hat_kind == 2 else 0.0)
    g.hat_shell = g.prepare(Ellipsoid(fm.skull_c.copy() + np.array([0, -hat_extra * 0.5, 0]),
                                      fm.skull_r + np.array([vol + 0.06, vol * 1.25 + 0.06 + hat_extra,
                                                             vol + 0.06])))
    g.shade = g.prepare(Ellipsoid(np.array([0.0, -0.15, -0.25]), np.array([fm.W * 1.04, 1.45, 1.3])))

    # --- eyes ----------------------------------------------------------------------------------------
    xi = _lin(0.0, 1.0, 11)          # outer corner -> inner corner
    h_up = sh.eye_h * 0.62 * (1.0 + 0.5 * acts["upper_lid"]) * (1.0 - 0.12 * acts["smile"])
    h_lo = sh.eye_h * 0.42 * max(0.25, 1.0 - 0.5 * acts["lower_lid"] - 0.25 * acts["smile"])
    h_up_brow = sh.eye_h * 0.62 * (1.0 + 0.5 * max(acts["upper_lid"], 0.0))   # brows stay clear of this
    eye_y = sh.eye_y
    third = np.array([0.0, 1 / 3, 2 / 3, 1.0])
    for side, name, idx in ((-1, "r_eye", 36), (1, "l_eye", 42)):
        ue = side * sh.eye_sep
        uo, ui = ue + side * sh.eye_w, ue - side * sh.eye_w
        yo, yi = eye_y - sh.eye_tilt, eye_y + 0.01

        def lid(t, upper: bool, uo=uo, ui=ui, yo=yo, yi=yi):
            uu = uo + (ui - uo) * t
            bb = yo + (yi - yo) * t
            if upper:
                return uu, bb - h_up * np.sin(np.pi * t ** 1.15) ** 0.85
            return uu, bb + h_lo * np.sin(np.pi * t ** 0.9) ** 1.1

        iu = B.on_face(*lid(xi, True), -0.02)
        il = B.on_face(*lid(xi, False), -0.02)
        defer(g.polys, name, np.concatenate([iu, il[::-1][1:-1]]))
        defer(g.lines, name + "_upper", iu)
        lu = B.on_face(*lid(third, True), -0.02)
        ll = B.on_face(*lid(third, False), -0.02)
        if side < 0:   # r_eye: 36 outer, 37 38 upper, 39 inner, 40 41 lower
            lm_idx[idx:idx + 6] = [lu[0], lu[1], lu[2], lu[3], ll[2], ll[1]]
        else:          # l_eye: 42 inner, 43 44 upper, 45 outer, 46 47 lower
            lm_idx[idx:idx + 6] = [lu[3], lu[2], lu[1], lu[0], ll[1], ll[2]]
        # iris: a disc on the eyeball, projected
        gx, gy = sc.gaze
        ic = (ue + gx * sh.eye_w * 0.45, eye_y + 0.003 + gy * sh.eye_h * 0.25)
        r = sh.iris_r
        defer(g.values, name + "_iris_pts", B.on_face(np.array([ic[0], ic[0] - r, ic[0] + r, ic[0], ic[0]]),
                                                      np.array([ic[1], ic[1], ic[1], ic[1] - r, ic[1] + r])))
        defer(g.values, name + "_eye_centre", B.on_face(ue, eye_y, -0.02))
        # eyelid crease, lower-lid bag and crow's feet (paint on skin)
        base = yo + (yi - yo) * xi
        uu = uo + (ui - uo) * xi
        crease = base - h_up * (1.0 + 0.55 * (1 - 0.4 * acts["upper_lid"])) * np.sin(np.pi * xi) ** 0.7 - 0.03
        defer(g.lines, name + "_crease", B.on_face(uu[1:-1], crease[1:-1]))
        bag = base + h_lo * 1.6 * np.sin(np.pi * xi) + 0.04
        defer(g.lines, name + "_bag", B.on_face(uu[2:-2], bag[2:-2]))
        feet = []
        for k_ in (-1, 0, 1):
            feet.append(B.on_face(np.array([uo + side * 0.04, uo + side * 0.14]),
                                  np.array([yo + 0.02 * k_, yo + 0.07 * k_ - 0.01])))
        defer(g.values, name + "_feet", feet)

    # --- brows ---------------------------------------------------------------------------------------
    bushy = p.attr("Bushy_Eyebrows")
    tau = _lin(0.0, 1.0, 9)
    for side, name, idx in ((-1, "r_brow", 17), (1, "l_brow", 22)):
        ue = side * sh.eye_sep
        u_in = ue - side * sh.eye_w * 0.95
        u_out = ue + side * sh.eye_w * (0.95 + 0.35 * sh.brow_len)
        u = u_in + (u_out - u_in) * tau
        y_base = eye_y - sh.brow_gap + 0.035 * m
        arch = sh.brow_arch * (1.0 - 0.45 * m)
        y = (y_base - arch * np.sin(np.pi * _clip(tau * 1.15, 0, 1)) + sh.brow_tilt * tau
             - 0.09 * acts["brow_raise"] - 0.075 * acts["brow_inner"] * (1 - tau) ** 2)
        u = u + side * 0.025 * min(acts["brow_inner"], 0.0) * (1 - tau) ** 2
        thick = sh.brow_thick * (1.2 - 0.55 * tau) * (1.0 + 0.65 * bushy) * (1.0 + 0.25 * m)
        # a lowered brow stops short of the upper lid
        y = np.minimum(y, eye_y - sh.eye_tilt * (tau > 0.5) - h_up_brow - 0.045 - thick * 0.45)
        top = B.on_face(u, y - thick * 0.55, 0.01)
        bot = B.on_face(u, y + thick * 0.45, 0.01)
        defer(g.polys, name, np.concatenate([top, bot[::-1]]))
        centre_line = B.on_face(u, y, 0.01)
        defer(g.lines, name, centre_line)
        sel = centre_line[[0, 2, 4, 6, 8]]   # inner .. outer
        lm_idx[idx:idx + 5] = sel[::-1] if side < 0 else sel

    # --- nose ----------------------------------------------------------------------------------------
    y_root = eye_y - 0.03
    y_tip = eye_y + sh.nose_len
    y_base = y_tip + 0.055
    nw = sh.nose_w * (1.0 + 0.08 * m + 0.1 * acts["nose_wrinkle"])
    bw = sh.nose_bridge

    def nose_half(y):
        return np.interp(y, [y_root, (y_root + y_tip) / 2, y_tip - 0.08, y_tip, y_base],
                         [bw, bw * 1.1, nw * 0.85, nw, nw * 0.78])

    def nose_lift(u, y):
        prof = np.interp(y, [y_root, y_tip - 0.05, y_tip, y_base], [0.12, 0.85, 1.0, 0.45]) * sh.nose_prot
        hw = nose_half(y)
        return prof * _clip(1.0 - (np.asarray(u) / hw) ** 2, 0.0, 1.0) ** 0.6

    def nose_pts(u, y):
        u, y = np.broadcast_arrays(np.asarray(u, np.float64), np.asarray(y, np.float64))
        return B.on_face(u, y, nose_lift(u, y))

    ny = np.linspace(y_root, y_base, 9)
    nx = _lin(-1.0, 1.0, 7)
    gy_, gx_ = np.meshgrid(ny, nx, indexing="ij")
    nose_grid = nose_pts(gx_ * nose_half(gy_), gy_)
    lm_idx[27:31] = nose_pts(np.zeros(4), np.linspace(y_root, y_tip, 4))
    f = np.array([-0.62, -0.32, 0.0, 0.32, 0.62])
    lm_idx[31:36] = nose_pts(f * nw, y_base - 0.012 + 0.012 * (1 - np.abs(f)))
    nose_named = nose_pts(np.array([0.0, 0.0, 0.0, -nw * 0.48, nw * 0.48, -nw * 0.92, nw * 0.92]),
                          np.array([y_tip - 0.01, y_root, y_base, y_base - 0.02, y_base - 0.02,
                                    y_tip - 0.01, y_tip - 0.01]))
    for i, nm in enumerate(("nose_tip", "nose_root", "nose_base", "nostril_r", "nostril_l", "ala_r", "ala_l")):
        defer(g.points, nm, nose_named[i])
    g.values["nostril_ax"] = np.array([nw * 0.28, 0.022]) * s
    g.values["nose_half_px"] = nw * s

    # --- mouth ---------------------------------------------------------------------------------------
    y_m = max(sh.mouth_y * sh.length, y_base + 0.2)
    mw = sh.mouth_w * (1.0 + 0.16 * acts["smile"] + 0.16 * acts["stretch"] - 0.22 * acts["round"]
                       + 0.06 * acts["asym"])
    lip_u = sh.lip_u * (1.0 - 0.45 * acts["press"]) * (1.0 - 0.15 * acts["smile"])
    lip_l = sh.lip_l * (1.0 - 0.45 * acts["press"]) * (1.0 + 0.12 * acts["round"])
    o = max(0.0, acts["open"] - 0.3) / 0.7                 # lips part from open = 0.3 on
    gap = 0.09 * min(o, 1.0) + 0.05 * max(o - 1.0, 0.0)
    y_cR = y_m - 0.055 * acts["smile"] + 0.045 * acts["corner_down"] + 0.012 * acts["stretch"]
    y_cL = y_cR - 0.13 * acts["asym"]
    uR, uL = -mw, mw + 0.07 * acts["asym"]
    raise_ = 0.03 * acts["upper_lip_raise"]

    def mouth_curve(v, kind):
        """v in [-1, 1] from the right corner (image left) to the left corner."""
        v = np.asarray(v, dtype=np.float64)
        w = (v + 1) / 2
        u = uR + (uL - uR) * w
        base = y_cR + (y_cL - y_cR) * w
        prof = _clip(1.0 - v ** 2, 0.0, 1.0)
        if kind == "uo":     # upper outer: cupid's bow
            bow = np.exp(-((np.abs(v) - 0.32) / 0.22) ** 2) * (0.35 * sh.cupid)
            y = base - lip_u * (0.12 + 0.88 * prof ** 0.55) * (1.0 + bow - 0.3 * sh.cupid * np.exp(-(v / 0.12) ** 2))
            y = y - raise_ * prof
        elif kind == "ui":   # upper inner
            y = base - 0.006 * prof - raise_ * 1.3 * prof ** 0.8
        elif kind == "li":   # lower inner
            y = base + gap * prof ** 0.65 - 0.004 * prof
        else:                # lower outer
            y = base + gap * prof ** 0.65 + lip_l * (0.12 + 0.88 * prof ** 0.5)
        return u, y

    def mouth_pts(v, kind, inner=False):
        v = np.asarray(v, dtype=np.float64)
        if inner:
            v = v * 0.9
        u, y = mouth_curve(v, kind)
        lift = 0.035 * _clip(1 - v ** 2, 0, 1) + (0.01 if kind in ("uo", "lo") else 0.0)
        return B.on_face(u, y, lift)

    vv = _lin(-1.0, 1.0, 17)
    uo_i, ui_i = mouth_pts(vv, "uo"), mouth_pts(vv, "ui", True)
    li_i, lo_i = mouth_pts(vv, "li", True), mouth_pts(vv, "lo")
    defer(g.polys, "u_lip", np.concatenate([uo_i, ui_i[::-1]]))
    defer(g.polys, "l_lip", np.concatenate([lo_i, li_i[::-1]]))
    defer(g.polys, "mouth", np.concatenate([ui_i, li_i[::-1]]))
    defer(g.values, "lip_line_parts", (uo_i[0], ui_i, li_i, uo_i[-1]))
    g.values["mouth_gap_px"] = gap * s
    if gap > 0:
        th_u = 0.055 + 0.02 * acts["upper_lip_raise"]
        u_t, y_t = mouth_curve(vv * 0.85, "ui")
        defer(g.polys, "teeth_u", np.concatenate([B.on_face(u_t, y_t - 0.02, 0.03),
                                                  B.on_face(u_t[::-1], (y_t + th_u)[::-1], 0.03)]))
        u_b, y_b = mouth_curve(vv * 0.7, "li")
        defer(g.polys, "teeth_l", np.concatenate([B.on_face(u_b, y_b + 0.02, 0.03),
                                                  B.on_face(u_b[::-1], (y_b - 0.035)[::-1], 0.03)]))
        defer(g.values, "tooth_x", B.on_face(np.linspace(uR, uL, 11)[1:-1] * 0.8, np.full(9, y_m + 0.01), 0.03))
    lm_idx[48:55] = mouth_pts(np.array([-1.0, -0.62, -0.3, 0.0, 0.3, 0.62, 1.0]), "uo")
    lm_idx[55:60] = mouth_pts(np.array([0.62, 0.3, 0.0, -0.3, -0.62]), "lo")
    lm_idx[60:65] = mouth_pts(np.array([-1.0, -0.45, 0.0, 0.45, 1.0]), "ui", True)
    lm_idx[65:68] = mouth_pts(np.array([0.45, 0.0, -0.45]), "li", True)
    defer(g.points, "mouth_centre", mouth_pts(np.array(0.0), "li", True))
    g.values["lip_u"], g.values["lip_l"] = lip_u, lip_l
    facial_hair = (p.attr("Mustache") > 0 or p.attr("No_Beard") < 1 or 0.2 * m * p.look.stubble > 0.01)
    # nasolabial folds
    for side, nm in ((-1, "r"), (1, "l")):
        u_c = uR if side < 0 else uL
        y_c = y_cR if side < 0 else y_cL
        pts_u = np.array([side * nw * 1.05, side * (nw * 1.3 + 0.03), u_c + side * 0.07, u_c + side * 0.06])
        pts_y = np.array([y_tip - 0.02, y_base + 0.12, y_c + 0.02, y_c + 0.15])
        defer(g.lines, f"fold_{nm}", B.on_face(*_catmull(np.stack([pts_u, pts_y], -1), 4).T))
    if facial_hair:
        # moustache
        mus_top = y_base + 0.03
        mus_bot = y_m - lip_u * 0.6
        style = p.look.mustache_style
        droop = 0.08 if style == 2 else (0.02 if style == 1 else 0.05)
        thick = 0.45 if style == 1 else 1.0
        mu = np.array([-mw - 0.04, -mw * 0.6, -0.1, 0.0, 0.1, mw * 0.6, mw + 0.04])
        top_y = np.array([y_cR - 0.02, mus_top + 0.04, mus_top, mus_top + 0.01, mus_top, mus_top + 0.04, y_cL - 0.02])
        top_y = mus_bot - (mus_bot - top_y) * thick
        bot_y = np.array([y_cR + droop, mus_bot + 0.01, mus_bot, mus_bot - 0.005, mus_bot, mus_bot + 0.01,
                          y_cL + droop])
        defer(g.polys, "mustache", B.on_face(np.concatenate([mu, mu[::-1]]), np.concatenate([top_y, bot_y[::-1]]), 0.01))
        # beard: between a line across the cheeks (under the lower lip in the middle) and the jaw contour
        bs = p.look.beard_style
        y_under = y_m + lip_l + gap + 0.03
        if bs == 1:      # goatee
            top_u = np.array([-mw * 0.95, -0.12, 0.0, 0.12, mw * 0.95])
            top_y = np.array([y_m + 0.02, y_under, y_under + 0.01, y_under, y_m + 0.02])
            bot_t = np.linspace(0.55, 1.0 + fm.delta, 9)
            reach = 0.42
        else:
            hw0 = float(fm.face_halfwidth(np.array([Y_JAW + 0.02]))[0]) * 0.97
            cy0 = Y_JAW + 0.02 if bs == 0 else 0.3
            cy1 = 0.42 if bs == 0 else 0.55
            top_u = np.array([-hw0, -0.62, -mw - 0.06, -0.1, 0.0, 0.1, mw + 0.06, 0.62, hw0])
            top_y = np.array([cy0, cy1, y_m - 0.04, y_under, y_under + 0.01, y_under, y_m - 0.04, cy1, cy0])
            bot_t = np.linspace(0.0 if bs == 0 else float(fm.t_of_y(0.3)), 1.0 + fm.delta, 12)
            reach = 10.0
        yy, aa, _, _ = fm.ring(bot_t)
        aa = np.minimum(aa * 0.97, reach)         # inside the face: the skin's outline clips the rest
        yy = yy + 0.04 * (bot_t / bot_t[-1])
        # two halves, each a simple polygon from the chin's middle outwards (a single outline folds over
        # itself on the far side of a turned head)
        mid = len(top_u) // 2
        halves = []
        for side in (-1, 1):
            tu = top_u[mid:] if side > 0 else top_u[mid::-1]
            ty = top_y[mid:] if side > 0 else top_y[mid::-1]
            halves.append(B.on_face(np.concatenate([tu, side * aa, [0.0]]),
                                    np.concatenate([ty, yy, [yy[-1]]]), 0.01))
        defer(g.values, "beard_halves", halves)
    defer(g.values, "cheek_pts", B.on_face(np.array([-0.55, 0.55]), np.array([0.33, 0.33])))
    defer(g.values, "forehead_lines", [
        B.on_face(_lin(-0.45, 0.45, 9), np.full(9, eye_y - sh.brow_gap - 0.13 - 0.085 * i)
                  - 0.03 * np.cos(_lin(-1.2, 1.2, 9))) for i in range(3)])
    defer(g.values, "furrow", [B.on_face(np.array([d, d * 1.2]), np.array([eye_y - sh.brow_gap - 0.02,
                                                                         eye_y - sh.brow_gap - 0.14]))
                               for d in (-0.045, 0.045)])
    defer(g.values, "chin_pt", B.on_face(0.0, surf.chin_bottom - 0.13))

    # --- ears ----------------------------------------------------------------------------------------
    ear_outline = np.array([[0.0, 0.0], [0.1, -0.06], [0.21, -0.04], [0.27, 0.06], [0.27, 0.19], [0.22, 0.32],
                            [0.14, 0.42], [0.08, 0.5], [0.02, 0.5], [-0.02, 0.42], [-0.02, 0.28],
                            [0.0, 0.14]]) * sh.ear_size
    concha = np.array([[0.04, 0.06], [0.13, 0.02], [0.2, 0.1], [0.19, 0.24], [0.12, 0.33], [0.05, 0.32],
                       [0.03, 0.18]]) * sh.ear_size
    extra = np.array([[0.05, 0.49 * sh.ear_size], [0.05, -0.02]])
    for side, name in ((-1, "r_ear"), (1, "l_ear")):
        y0 = sh.ear_y - 0.12
        xr = side * float(fm.skull_halfwidth(y0 + 0.2)) * 0.97
        zr = -0.02
        fl = sh.ear_flare
        back = np.array([side * math.sin(fl), 0.0, -math.cos(fl)])

        def ear3(o, xr=xr, y0=y0, zr=zr, back=back):
            return np.stack([xr + o[:, 0] * back[0], y0 + o[:, 1], zr + o[:, 0] * back[2]], -1)
        defer(g.polys, name, B.point3(ear3(ear_outline)))
        defer(g.polys, name + "_in", B.point3(ear3(concha)))
        e = B.point3(ear3(extra))
        defer(g.points, name + "_lobe", e[0])
        defer(g.points, name + "_top", e[1])

    if p.attr("Eyeglasses") > 0:
        # --- glasses -------------------------------------------------------------------------------------
        lw, lh = sh.eye_w * 1.55, sh.eye_h * 2.05
        ang = _lin(0, 2 * np.pi, 28, endpoint=False)
        shape = p.acc.glasses_shape
        n_exp = {0: 2.0, 1: 4.5, 2: 2.6}[shape]
        cx_ = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** (2 / n_exp)
        cy_ = np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** (2 / n_exp)
        if shape == 2:   # aviator: deeper towards the bottom
            cy_ = cy_ * (1.0 + 0.25 * (cy_ > 0))
        z_lens = float(surf.front_z(sh.eye_sep, eye_y)) + 0.18
        for side, name in ((-1, "r"), (1, "l")):
            ue = side * sh.eye_sep
            gu = ue + side * 0.01 + cx_ * lw
            gy = eye_y + 0.015 + cy_ * lh * (0.8 if shape == 0 else 1.0)
            defer(g.polys, f"lens_{name}", B.point3(np.stack([gu, gy, np.full_like(gu, z_lens)], -1)))
            outer = [ue + side * lw, eye_y - 0.02, z_lens - 0.02]
            temple = [side * float(fm.skull_halfwidth(eye_y)), eye_y - 0.03, -0.05]
            ear_top = [side * float(fm.skull_halfwidth(sh.ear_y)) * 1.02, sh.ear_y - 0.13, -0.2]
            defer(g.lines, f"arm_{name}", B.point3(np.array([outer, temple, ear_top])))
        zb = float(surf.front_z(0.0, eye_y)) + 0.2
        bridge_u = np.linspace(-sh.eye_sep + lw * 0.95, sh.eye_sep - lw * 0.95, 5)
        bridge_y = eye_y - 0.02 - 0.03 * np.cos(_lin(-1.4, 1.4, 5))
        defer(g.lines, "bridge", B.point3(np.stack([bridge_u, bridge_y, np.full(5, zb)], -1)))
        g.values["glasses_thick"] = p.acc.glasses_thick * s

    # --- hat outlines --------------------------------------------------------------------------------
    if p.attr("Wearing_Hat") <= 0:
        pass
    elif p.acc.hat_kind == 1:   # cap visor, a flat half-disc in front of the forehead
        va = _lin(-np.pi / 2, np.pi / 2, 13)
        vr = fm.W * 0.95
        band_y = p.hair.hairline - 0.07
        zf = float(fm.skull_front(0.0, band_y))
        visor = np.stack([vr * np.sin(va), band_y + 0.05 * np.cos(va) + 0.02, zf - 0.15 + 0.55 * np.cos(va)], -1)
        back = np.stack([vr * np.sin(va[::-1]) * 1.02, np.full(13, band_y - 0.02),
                         zf - 0.2 + 0.1 * np.cos(va[::-1])], -1)
        defer(g.polys, "visor", B.point3(np.concatenate([visor, back])))
    elif p.acc.hat_kind == 2:  # fedora brim: a ring in the band plane
        ba = _lin(0, 2 * np.pi, 40, endpoint=False)
        rr = fm.skull_r[0] + vol + 0.5
        brim = np.stack([rr * np.sin(ba), -0.72 + 0.06 * (np.cos(ba) > 0) * np.cos(ba),
                         SKULL_C[2] + (fm.skull_r[2] + vol + 0.5) * np.cos(ba)], -1)
        defer(g.polys, "brim", B.point3(brim))

    # --- project everything at once ------------------------------------------------------------------
    B.resolve(surf, g)
    for d, key, idx in later:
        d[key] = [B(i) for i in idx] if isinstance(idx, list) else (
            tuple(B(i) for i in idx) if isinstance(idx, tuple) else B(idx))
    lm = B(lm_idx)
    lm[0:17] = jaw_lm
    for name in ("r_eye", "l_eye"):
        pp = g.values.pop(name + "_iris_pts")
        g.points[name + "_iris"] = pp[0]
        g.values[name + "_iris_ax"] = np.stack([(pp[2] - pp[1]) / 2, (pp[4] - pp[3]) / 2])
    g.lines["r_eye_upper"] = g.lines["r_eye_upper"]
    g.polys["nose"] = cv2.convexHull(B(nose_grid).reshape(-1, 2).astype(np.float32)).reshape(-1, 2).astype(np.float64)
    cr, ui_, li_, cl = g.values.pop("lip_line_parts")
    g.lines["lip_line"] = np.concatenate([[cr], (ui_ + li_) / 2, [cl]])

    # --- hair outlines that are polygons: back hair and front curtains ------------------------------
    _hair_polys(g, p, sh)

    # --- body: neck, shoulders, necklace -------------------------------------------------------------
    _body_polys(g, p, sh, sc, m, centre)
    g.landmarks = lm.astype(np.float32)
    return g


def _hair_polys(g: Geometry, p: FaceParams, sh) -> None:
    cen_sh, b_sh = _ellipse_2d(g.shell, g.r_up)
    g.values["shell_2d"] = (cen_sh, b_sh)
    g.values["skull_2d"] = _ellipse_2d(g.skull, g.r_up)
    length = g.values["hair_len"]
    y_end = -0.1 + 0.8 * length + 0.05 * p.hair.curl
    g.values["hair_end"] = y_end
    if length <= 0.55 or p.attr("Bald") >= 0.5:
        return
    if p.hair.tuck >= 0.5 and length > 1.5 and p.hair.tex[0] % 3 == 0:
        # hair up in a bun at the back of the crown
        ang = _lin(0, 2 * np.pi, 24, endpoint=False)
        r = 0.36 + 0.08 * p.hair.volume * 5
        bun = np.stack([r * np.cos(ang), -1.2 + 0.85 * r * np.sin(ang), np.full(24, -0.75)], -1)
        g.polys["hair_back"] = g.px(bun)
        return
    ell = _ellipse_points(cen_sh, b_sh, 64)
    y_w = cen_sh[1] + 0.05
    flare = 0.08 + 0.12 * p.hair.curl + 0.05 * p.hair.volume * 5
    ys_ = np.linspace(y_w, y_end, 10)
    xl = _ellipse_x_at(cen_sh, b_sh, np.array([y_w]), -1)[0] - flare * (ys_ - y_w) ** 0.8
    xr_ = _ellipse_x_at(cen_sh, b_sh, np.array([y_w]), 1)[0] + flare * (ys_ - y_w) ** 0.8
    wave = 0.04 * p.hair.curl * np.sin(ys_ * 9.0 + p.hair.tex[0])
    xl, xr_ = xl + wave, xr_ + wave
    top = ell[ell[:, 1] < y_w]
    top = top[np.argsort(np.arctan2(top[:, 1] - cen_sh[1], top[:, 0] - cen_sh[0]))]
    bottom_x = np.linspace(xr_[-1], xl[-1], 9)
    bottom_y = y_end + 0.06 * np.cos(_lin(-1.3, 1.3, 9)) + 0.03 * np.sin(np.arange(9) * 2.3 + p.hair.tex[1])
    back = np.concatenate([np.stack([xl[::-1], ys_[::-1]], -1), top,
                           np.stack([xr_, ys_], -1), np.stack([bottom_x, bottom_y], -1)])
    g.polys["hair_back"] = g.up_to_px(back)
    if p.hair.tuck >= 0.5:
        return
    left_up, right_up = g.values["left_up"], g.values["right_up"]
    cover = 0.09 + 0.05 * p.hair.volume * 5
    for side, chain, name in ((-1, left_up, "curtain_r"), (1, right_up, "curtain_l")):
        y_top = min(Y_JAW - 0.25, p.hair.hairline + 0.3)     # up to the temple: no gap below the cap
        yc = np.linspace(y_top, y_end, 14)
        face_x = np.interp(yc, chain[:, 1], chain[:, 0])
        below = yc > chain[-1, 1] - 0.05
        neck_x = side * (sh.neck_w + 0.12) + PIVOT[0]
        face_x = np.where(below, neck_x, face_x)
        far = (g.near_side != 0) and (side != g.near_side)
        cov = cover * (0.15 if far else 1.0)
        inner = face_x - side * cov
        outer_x = _ellipse_x_at(cen_sh, b_sh, np.minimum(yc, y_w), side)
        outer_x = outer_x + side * flare * np.clip(yc - y_w, 0, None) ** 0.8
        outer_x = np.where(side * (outer_x - inner) < 0.08, inner + side * 0.08, outer_x)
        tip_x = np.linspace(outer_x[-1], inner[-1], 5)
        tip_y = y_end + 0.05 * np.sin(_lin(0, np.pi, 5)) * (1 + p.hair.curl)
        poly = np.concatenate([np.stack([inner, yc], -1), np.stack([tip_x[::-1], tip_y], -1)[1:-1],
                               np.stack([outer_x[::-1], yc[::-1]], -1)])
        g.polys[name] = g.up_to_px(poly)


def _body_polys(g: Geometry, p: FaceParams, sh, sc, m: float, centre: np.ndarray) -> None:
    nwk = sh.neck_w * (1.0 + 0.14 * m)
    g.values["neck_w"] = nwk
    g.polys["neck"] = g.body_px(np.array([[-nwk, 0.1], [nwk, 0.1], [nwk * 1.02, 1.5], [nwk * 1.3, 2.0],
                                          [nwk * 1.3, 3.2], [-nwk * 1.3, 3.2], [-nwk * 1.3, 2.0],
                                          [-nwk * 1.02, 1.5]]))
    sw = sc.shoulder * (1.0 + 0.12 * m)
    neckline = sc.neckline
    dip = {0: 1.75, 1: 2.2, 2: 1.8, 3: 1.15}[neckline]
    top_y = 1.42 if neckline != 3 else 1.1
    shoulder_l = np.array([[-nwk - 0.08, top_y], [-0.9 * sw, 1.6], [-1.65 * sw, 1.78], [-2.15 * sw, 2.1],
                           [-2.45 * sw, 2.8], [-2.6 * sw, 4.0]])
    shoulder_r = shoulder_l * np.array([-1, 1])
    if neckline == 3:
        cut = np.array([[-nwk - 0.08, top_y], [0.0, top_y + 0.02], [nwk + 0.08, top_y]])
    elif neckline == 1:
        cut = np.array([[-nwk - 0.08, top_y], [-0.18, (top_y + dip) / 2 + 0.05], [0.0, dip],
                        [0.18, (top_y + dip) / 2 + 0.05], [nwk + 0.08, top_y]])
    else:
        cx__ = np.linspace(-nwk - 0.08, nwk + 0.08, 9)
        cut = np.stack([cx__, top_y + (dip - top_y) * np.cos(_lin(-np.pi / 2, np.pi / 2, 9)) ** 1.3], -1)
    cloth = np.concatenate([shoulder_l[::-1], cut[1:-1], shoulder_r])
    g.polys["cloth"] = g.body_px(cloth)
    g.values["cloth_top"] = top_y
    if neckline == 2:   # shirt collar flaps
        g.polys["collar_r"] = g.body_px(np.array([[-nwk - 0.12, top_y - 0.1], [-0.02, dip + 0.05],
                                                  [-0.45, dip + 0.15], [-nwk - 0.3, top_y + 0.12]]))
        g.polys["collar_l"] = g.polys["collar_r"] * np.array([-1, 1]) + np.array([2 * centre[0], 0])
    drop = 1.45 + 0.35 * p.acc.necklace_drop
    if neckline == 3:
        drop = max(drop, 1.75)
    t_ = _lin(-1, 1, 17)
    chain_y = 1.22 + (drop - 1.22) * (1 - t_ ** 2) ** 0.9
    chain_x = t_ * nwk * 0.98
    g.lines["necklace"] = g.body_px(np.stack([chain_x, chain_y], -1))
    g.points["pendant"] = g.body_px(np.array([[0.0, drop + 0.06]]))[0]
