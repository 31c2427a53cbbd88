"""Geometry of the 68 iBUG landmarks: validation, the face's own axes, mirroring, a frontal template,
head turns by lifting 2-D landmarks onto a depth prior, and a smile deformation.

These are what the SCGAN paper's Left2Right and NoSmile2Smile interpolations need when no landmark
tracker is at hand: plausible landmark sets for a head turning from one side to the other, and for a
neutral mouth breaking into a smile, built from one frontal set (a template or a user's own landmarks).
Coordinates are image pixels (x right, y down); no function here depends on the image resolution.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from faceeditor.core.labels import LANDMARK_GROUPS, NUM_LANDMARKS
from faceeditor.core.safe_read import load_json_file

LANDMARKS_FILE_LIMIT = 4 << 20     # bytes; 68 points (and a sample's attributes) take a few kB

# iBUG index of each point's mirror image (a horizontal flip swaps the subject's left and right).
IBUG_MIRROR: tuple[int, ...] = (
    tuple(range(16, -1, -1))                       # jaw 0..16
    + tuple(range(26, 16, -1))                     # brows 17..26
    + (27, 28, 29, 30)                             # nose bridge
    + (35, 34, 33, 32, 31)                         # nose base
    + (45, 44, 43, 42, 47, 46)                     # right eye 36..41 <-> left eye
    + (39, 38, 37, 36, 41, 40)                     # left eye 42..47 <-> right eye
    + (54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55)   # outer lips 48..59
    + (64, 63, 62, 61, 60, 67, 66, 65)             # inner lips 60..67
)


class LandmarkError(ValueError):
    """Landmarks that cannot describe a face (wrong shape, not finite, degenerate)."""


def as_landmarks(points: object, name: str = "landmarks") -> np.ndarray:
    """Validate and return landmarks as a float64 (68, 2) array of pixel (x, y) coordinates."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LandmarkError(f"{name}: not an array of numbers ({exc})") from None
    if arr.shape != (NUM_LANDMARKS, 2):
        raise LandmarkError(f"{name}: expected shape ({NUM_LANDMARKS}, 2) (68 iBUG points as x, y), "
                            f"got {arr.shape}")
    if not np.isfinite(arr).all():
        raise LandmarkError(f"{name}: contains NaN or infinite coordinates")
    return arr


def _read_landmarks_json(path: str | os.PathLike) -> object:
    """The decoded JSON of a landmarks file: a regular file only (a named pipe would hang), bounded in size
    and nesting (faceeditor.core.safe_read); LandmarkError naming the file otherwise."""
    return load_json_file(path, f"cannot read landmarks {os.fspath(path)!r}", LandmarkError,
                          what="landmarks file", limit=LANDMARKS_FILE_LIMIT)


def _landmarks_from_json(data: object, path: str | os.PathLike) -> np.ndarray:
    if isinstance(data, dict):
        if "landmarks" not in data:
            raise LandmarkError(f"{os.fspath(path)!r}: a JSON object needs a \"landmarks\" key")
        data = data["landmarks"]
    return as_landmarks(data, name=repr(os.fspath(path)))


def load_landmarks(path: str | os.PathLike) -> np.ndarray:
    """Read 68 landmarks from a JSON file: ``[[x, y], ...]`` or ``{"landmarks": [[x, y], ...]}``."""
    return _landmarks_from_json(_read_landmarks_json(path), path)


def load_landmarks_scaled(path: str | os.PathLike, size: int, frame: int | None = None) -> np.ndarray:
    """68 landmarks from a JSON file, in pixels of a ``size`` x ``size`` picture.

    A landmarks file holds pixel coordinates of some square picture: the file's ``"size": [W, H]`` says
    which, else ``frame`` (e.g. the side of the mask they belong to), else ``size`` itself. Points far
    outside that picture mean the size is wrong: LandmarkError, as for a non-square or malformed "size".
    """
    name = repr(os.fspath(path))
    data = _read_landmarks_json(path)          # read once: the points and the size come from one version
    points = _landmarks_from_json(data, path)
    side = frame if frame is not None else size
    if isinstance(data, dict) and "size" in data:
        given = data["size"]
        if (not isinstance(given, list) or len(given) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in given)):
            raise LandmarkError(f"landmarks {name}: \"size\" must be [width, height] in pixels, got {given!r}")
        if given[0] != given[1]:
            raise LandmarkError(f"landmarks {name}: picture size {given[0]}x{given[1]} is not square; the "
                                "synthesis model draws square faces")
        side = given[0]
    pts = points * (size / side)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if (lo < -0.5 * size).any() or (hi > 1.5 * size).any():
        raise LandmarkError(f"landmarks {name}: points lie far outside the {side}x{side} picture they are "
                            "taken to belong to; give the picture size as \"size\": [W, H] in the file")
    return pts


def save_landmarks(path: str | os.PathLike, landmarks: np.ndarray) -> None:
    """Write landmarks as ``{"landmarks": [[x, y], ...]}`` (atomically)."""
    pts = as_landmarks(landmarks)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"landmarks": [[round(float(x), 4), round(float(y), 4)] for x, y in pts]}, fh)
    os.replace(tmp, path)


def group(landmarks: np.ndarray, name: str) -> np.ndarray:
    """The points of one LANDMARK_GROUPS entry (e.g. "l_eye")."""
    a, b = LANDMARK_GROUPS[name]
    return landmarks[a:b]


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes in the image: a unit vector across the face (towards the image right for an
    upright frontal face), one up the face (towards the forehead), and the inter-ocular distance."""

    lateral: np.ndarray
    up: np.ndarray
    iod: float
    eye_mid: np.ndarray


def face_frame(landmarks: np.ndarray) -> FaceFrame:
    """Axes estimated from the eye centres and the jaw ends, robust to roll and moderate yaw."""
    pts = as_landmarks(landmarks)
    r_eye = group(pts, "r_eye").mean(axis=0)
    l_eye = group(pts, "l_eye").mean(axis=0)
    across = (l_eye - r_eye) + 0.5 * (pts[16] - pts[0])
    norm = float(np.hypot(*across))
    iod = float(np.hypot(*(l_eye - r_eye)))
    if norm < 1e-9 or iod < 1e-9:
        raise LandmarkError("landmarks are degenerate: the eyes (or the jaw ends) coincide")
    lateral = across / norm
    up = np.array([lateral[1], -lateral[0]])  # lateral rotated by -90 degrees: image up for an upright face
    # make "up" point from the mouth towards the brows whatever the handedness of the input
    brows = pts[17:27].mean(axis=0)
    mouth = pts[48:60].mean(axis=0)
    if float(np.dot(brows - mouth, up)) < 0:
        up = -up
    return FaceFrame(lateral=lateral, up=up, iod=iod, eye_mid=0.5 * (l_eye + r_eye))


def mirror_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """Landmarks of the horizontally flipped image (pixel centres at integers: x -> width - 1 - x)."""
    pts = as_landmarks(landmarks)
    out = pts[list(IBUG_MIRROR)].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


# ---------------------------------------------------------------------------------------------------------
# Frontal template. Coordinates in "face units": x right, y down, origin at the face centre between the
# eyes' height and the mouth, the jaw ends at x = -1 and x = +1. Built from simple curves (not fitted to any
# data set) so that it is exactly mirror-symmetric; proportions follow the usual thirds of a face.

def _template_face_units() -> np.ndarray:
    p = np.zeros((NUM_LANDMARKS, 2))
    # jaw 0..16: from the right ear (image left) under the chin to the left ear
    phi = np.linspace(0.0, math.pi, 17)
    p[0:17, 0] = -np.cos(phi) * (1.0 - 0.10 * np.sin(phi) ** 2)
    p[0:17, 1] = -0.20 + 1.20 * np.sin(phi) ** 1.25
    eye_y = -0.25
    # brows 17..21 (subject's right, image left), outer to inner; 22..26 mirror them
    bx = np.array([-0.80, -0.63, -0.46, -0.30, -0.14])
    by = eye_y - np.array([0.19, 0.27, 0.30, 0.28, 0.24])
    p[17:22] = np.stack([bx, by], axis=1)
    p[22:27] = np.stack([-bx[::-1], by[::-1]], axis=1)
    # nose bridge 27..30, nose base 31..35
    p[27:31] = [[0.0, -0.24], [0.0, -0.09], [0.0, 0.06], [0.0, 0.21]]
    p[31:36] = [[-0.17, 0.30], [-0.085, 0.335], [0.0, 0.35], [0.085, 0.335], [0.17, 0.30]]
    # right eye 36..41: outer corner, two upper-lid points, inner corner, two lower-lid points
    p[36:42] = [[-0.62, eye_y], [-0.52, eye_y - 0.075], [-0.33, eye_y - 0.08], [-0.22, eye_y],
                [-0.33, eye_y + 0.065], [-0.52, eye_y + 0.06]]
    p[42:48] = [[0.22, eye_y], [0.33, eye_y - 0.08], [0.52, eye_y - 0.075], [0.62, eye_y],
                [0.52, eye_y + 0.06], [0.33, eye_y + 0.065]]
    # outer lips 48..59 (48, 54 corners), inner lips 60..67 (closed mouth: upper and lower inner coincide)
    p[48:60] = [[-0.36, 0.61], [-0.24, 0.555], [-0.10, 0.52], [0.0, 0.535], [0.10, 0.52], [0.24, 0.555],
                [0.36, 0.61], [0.25, 0.69], [0.12, 0.735], [0.0, 0.745], [-0.12, 0.735], [-0.25, 0.69]]
    p[60:68] = [[-0.31, 0.61], [-0.11, 0.605], [0.0, 0.61], [0.11, 0.605], [0.31, 0.61],
                [0.11, 0.605], [0.0, 0.61], [-0.11, 0.605]]
    return p


_TEMPLATE = _template_face_units()

# Depth prior: every point lies on a vertical cylinder of radius HEAD_RADIUS (face units) around the neck's
# axis, plus a per-point protrusion (nose, lips) or recess (eyes). Rough anthropometry: the head turns about
# an axis ~10 cm behind the face, ~1.3 half face widths (~7 cm); the nose tip stands ~0.3 in front of the
# cheeks. 1.3 is also the best fit to SynthFaces' own head turns (mean landmark error 0.08 inter-ocular
# distances for yaws of 15-30 degrees, against 0.52 for not turning; radii 1.2/1.4/1.5 gave 0.084/0.109/
# 0.157).
HEAD_RADIUS = 1.3
_PROTRUSION = np.zeros(NUM_LANDMARKS)
_PROTRUSION[27:31] = [0.06, 0.13, 0.21, 0.30]
_PROTRUSION[31:36] = [0.10, 0.16, 0.19, 0.16, 0.10]
_PROTRUSION[36:48] = -0.04
_PROTRUSION[48:68] = 0.05
_PROTRUSION[[48, 54, 60, 64]] = 0.01
_PROTRUSION[17:27] = 0.03


def frontal_template(size: int | tuple[int, int], *, face_width: float = 0.62,
                     center: tuple[float, float] | None = None) -> np.ndarray:
    """A mirror-symmetric frontal set of 68 landmarks for an image of ``size`` (H, W) or (S, S) pixels.

    ``face_width`` is the jaw width as a fraction of the image width; ``center`` (x, y) in pixels
    defaults to a position that leaves room for the forehead and hair, as aligned face crops do.
    """
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    scale = 0.5 * face_width * w
    cx, cy = center if center is not None else ((w - 1) / 2.0, 0.55 * (h - 1))
    return _TEMPLATE * scale + np.array([cx, cy])


def _similarity_to_template(pts: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity (scale s, rotation R, translation t) with pts ~= s * R @ template + t."""
    src = _TEMPLATE
    mu_s, mu_d = src.mean(axis=0), pts.mean(axis=0)
    a, b = src - mu_s, pts - mu_d
    cov = b.T @ a / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, d]) @ vt
    scale = float((sig * [1.0, d]).sum() / (a ** 2).sum() * len(src))
    trans = mu_d - scale * rot @ mu_s
    return scale, rot, trans


def head_turn_landmarks(landmarks: np.ndarray, yaw_deg: float, *, recenter: bool = False) -> np.ndarray:
    """Landmarks of the same face turned by ``yaw_deg`` about the vertical (neck) axis.

    The 2-D points (taken as a frontal view) are mapped into the template's face units by a similarity
    fit, lifted to 3-D on the depth prior (a cylinder of radius HEAD_RADIUS plus per-point protrusions),
    rotated, and projected orthographically back. Points that would turn past the silhouette are held on
    it, as a landmark tracker places the far jaw line on the visible contour. Positive yaw moves the nose
    towards the image's right. The face shifts sideways as a head turning about the neck does; with
    ``recenter`` the centroid of the points stays where it was instead (as in tightly aligned crops). ``head_turn_landmarks(mirror(L), -a)`` mirrors ``head_turn_landmarks(L, a)``.
    """
    pts = as_landmarks(landmarks)
    scale, rot, trans = _similarity_to_template(pts)
    if scale <= 1e-9:
        raise LandmarkError("landmarks are degenerate: cannot fit the face template to them")
    local = ((pts - trans) @ rot) / scale  # inverse similarity: back to face units
    radius = HEAD_RADIUS + _PROTRUSION
    x = np.clip(local[:, 0], -0.999 * radius, 0.999 * radius)
    alpha = np.arcsin(x / radius)  # angle around the axis, 0 = facing the camera
    turned = np.clip(alpha + math.radians(yaw_deg), -math.pi / 2, math.pi / 2)
    new_local = local.copy()
    new_local[:, 0] = radius * np.sin(turned) + (local[:, 0] - x)
    if recenter:
        new_local[:, 0] += local[:, 0].mean() - new_local[:, 0].mean()
    return (new_local * scale) @ rot.T + trans


def lip_parting(amount: float, open_mouth: float = 1.0) -> float:
    """How far the lips are parted at smile intensity ``amount``, in units of a broad smile's opening:
    a smoothstep on [0, 1] (the corners rise before the lips part), linear beyond 1."""
    t = float(amount)
    if t > 1.0:
        return open_mouth * t
    t = min(max(t, 0.0), 1.0)
    return open_mouth * t * t * (3.0 - 2.0 * t)


def smile_landmarks(landmarks: np.ndarray, amount: float, *, open_mouth: float = 1.0) -> np.ndarray:
    """Landmarks of the same face smiling with intensity ``amount`` in [0, 1] (beyond 1 exaggerates).

    Mouth corners move up and outwards in proportion to ``amount``; the lips part progressively (a
    smoothstep of ``amount``, scaled by ``open_mouth``), showing the mouth interior in a broad smile; the
    lower eyelids rise a little (the cheeks push them). Displacements are in inter-ocular distances along
    the face's own axes, so roll and scale do not matter.
    """
    pts = as_landmarks(landmarks)
    f = face_frame(pts)
    t = float(amount)
    part = lip_parting(t, open_mouth)
    out = pts.copy()

    def move(idx: int, side: float, out_amt: float, up_amt: float) -> None:
        out[idx] += f.iod * (side * out_amt * f.lateral + up_amt * f.up)

    # side = -1 for points on the image-left half of the mouth (subject's right), +1 for the other half
    for r, l_, out_amt, up_amt, up_part in (
        (48, 54, 0.11, 0.10, 0.0), (60, 64, 0.10, 0.09, 0.0),
        (49, 53, 0.06, 0.05, 0.01), (50, 52, 0.03, 0.02, 0.02),
        (61, 63, 0.05, 0.03, 0.02), (59, 55, 0.07, 0.04, -0.04), (58, 56, 0.03, 0.0, -0.08),
        (67, 65, 0.05, 0.0, -0.13),
    ):
        move(r, -1.0, t * out_amt, t * up_amt + part * up_part)
        move(l_, 1.0, t * out_amt, t * up_amt + part * up_part)
    move(51, 0.0, 0.0, t * 0.01 + part * 0.02)
    move(62, 0.0, 0.0, t * 0.01 + part * 0.02)
    move(57, 0.0, 0.0, -part * 0.09)
    move(66, 0.0, 0.0, -part * 0.14)
    for idx in (40, 41, 46, 47):  # lower lids rise
        move(idx, 0.0, 0.0, t * 0.015)
    for idx, side in ((31, -1.0), (35, 1.0)):  # nostrils widen slightly
        move(idx, side, t * 0.015, 0.0)
    return out


def dragged_landmarks(landmarks: np.ndarray, index: int, delta: tuple[float, float], *, part: bool = False,
                      mirror: bool = False) -> np.ndarray:
    """Landmarks after the user dragged point ``index`` by ``delta`` (dx, dy): that point, or with ``part``
    its whole LANDMARK_GROUPS part (an eye, the mouth); with ``mirror`` the mirror points
    (IBUG_MIRROR) move by (-dx, dy) too, so the face stays symmetric."""
    pts = as_landmarks(landmarks).copy()
    moved = {int(index)}
    if part:
        if 48 <= index < 68:                         # the lips and the mouth's inside go together
            moved = set(range(48, 68))
        for a, b in LANDMARK_GROUPS.values():
            if a <= index < b and not 48 <= index < 68:
                moved = set(range(a, b))
                break
    dx, dy = float(delta[0]), float(delta[1])
    targets = {i: (dx, dy) for i in moved}
    if mirror:
        for i in moved:
            j = IBUG_MIRROR[i]
            if j not in moved:
                targets[j] = (-dx, dy)
    for i, (x, y) in targets.items():
        pts[i, 0] += x
        pts[i, 1] += y
    return pts
