"""The CelebA-aligned face crop the models see, and pasting an edited crop back into the photo.

The models are trained on CelebA's aligned images (``img_align_celeba``, 178 x 218) after a centre crop of
178 x 178 (rows 20..197) and a resize to the model resolution R. So a photo is brought into that frame:

1. Five points are taken from the 68 dlib landmarks: the centre of each eye (mean of points 36-41 and of
   42-47), the nose tip (30) and the mouth corners (48, 54).
2. A similarity transform (rotation, uniform scale, translation; least squares, Umeyama's closed form)
   maps them onto CelebA's canonical positions in the 178 x 218 frame, :data:`CELEBA_CANONICAL_POINTS` —
   the mean positions of CelebA's five annotated landmarks in ``list_landmarks_align_celeba``: image-left
   eye (69, 111), image-right eye (108, 111), nose (88, 136), image-left mouth corner (72, 152),
   image-right mouth corner (105, 152).
3. That frame is shifted up by 20 rows (the centre crop) and scaled by R / 178 about pixel centres.

The three steps are composed into one 2 x 3 matrix from photo to crop, applied once with
``cv2.warpAffine``, so the crop is resampled a single time. Coordinates put pixel centres on integers.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

CELEBA_ALIGNED_WIDTH = 178
CELEBA_ALIGNED_HEIGHT = 218
CELEBA_CROP_SIZE = 178
CELEBA_CROP_TOP = (CELEBA_ALIGNED_HEIGHT - CELEBA_CROP_SIZE) // 2  # 20, as torchvision's CenterCrop(178)

# (x, y) in the 178 x 218 aligned frame; "left" is the image's left (the subject's right).
CELEBA_CANONICAL_POINTS = np.array(
    [[69.0, 111.0], [108.0, 111.0], [88.0, 136.0], [72.0, 152.0], [105.0, 152.0]])
FIVE_POINT_NAMES = ("left_eye", "right_eye", "nose_tip", "left_mouth", "right_mouth")

BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE,
           "constant": cv2.BORDER_CONSTANT}


@dataclass(frozen=True)
class AlignedCrop:
    """A square crop of a photo in the CelebA frame and the maps between the two.

    ``matrix`` maps photo (x, y) to crop (x, y) and ``inverse`` the other way, both 2 x 3 float64.
    ``landmarks`` are the 68 points in crop coordinates; ``photo_size`` is the photo's (height, width).
    """

    image: np.ndarray
    matrix: np.ndarray
    inverse: np.ndarray
    resolution: int
    landmarks: np.ndarray
    photo_size: tuple[int, int]

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return math.sqrt(abs(np.linalg.det(self.matrix[:, :2])))


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners (5, 2) from 68 iBUG landmarks."""
    lm = _check_landmarks(landmarks)
    return np.stack([lm[36:42].mean(axis=0), lm[42:48].mean(axis=0), lm[30], lm[48], lm[54]])


def canonical_points(resolution: int) -> np.ndarray:
    """Where :func:`five_points` should land in a crop of ``resolution`` x ``resolution``."""
    scale = resolution / CELEBA_CROP_SIZE
    pts = CELEBA_CANONICAL_POINTS - [0.0, CELEBA_CROP_TOP]
    return (pts + 0.5) * scale - 0.5


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2 x 3) taking points ``src`` to ``dst`` (Umeyama 1991, no reflection)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N >= 2, 2) point sets, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc ** 2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("source points coincide; cannot estimate a transform")
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(s) @ d) / var_s)
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]])


def alignment_matrix(landmarks: np.ndarray, resolution: int) -> np.ndarray:
    """The 2 x 3 photo -> crop matrix of the CelebA alignment at ``resolution``."""
    if int(resolution) < 8:
        raise ValueError(f"resolution must be at least 8, got {resolution}")
    return similarity_transform(five_points(landmarks), canonical_points(int(resolution)))


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2 x 3 affine matrix to (N, 2) points."""
    pts = np.asarray(points, np.float64)
    return pts @ np.asarray(matrix, np.float64)[:, :2].T + np.asarray(matrix, np.float64)[:, 2]


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise ValueError(f"expected 68 finite (x, y) landmarks, got shape {lm.shape}")
    return lm


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2 x 3 matrix of ``a`` after ``b``."""
    a3 = np.vstack([a, [0.0, 0.0, 1.0]])
    b3 = np.vstack([b, [0.0, 0.0, 1.0]])
    return (a3 @ b3)[:2]


def _resize_matrix(src_size: int, dst_size: int) -> np.ndarray:
    """Pixel-centre scaling of a square of ``src_size`` onto one of ``dst_size``."""
    s = dst_size / src_size
    return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5]])


def warp(src: np.ndarray, matrix: np.ndarray, size: tuple[int, int], *, nearest: bool = False,
         border: str = "reflect", border_value: int = 0) -> np.ndarray:
    """``cv2.warpAffine`` of ``src`` by a src -> dst ``matrix`` into ``size`` = (width, height).

    When the warp shrinks by more than 2x (a big photo to a small crop), the needed part of the source is
    first reduced by area averaging, so the result is not aliased. ``nearest`` (for masks) never mixes values.
    """
    if border not in BORDERS:
        raise ValueError(f"border must be one of {sorted(BORDERS)}, got {border!r}")
    matrix = np.asarray(matrix, np.float64)
    width, height = int(size[0]), int(size[1])
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    if not nearest and 0 < scale < 0.5:
        factor = int(1.0 / scale)
        inv = invert_affine(matrix)
        corners = transform_points(np.array([[-0.5, -0.5], [width - 0.5, -0.5], [-0.5, height - 0.5],
                                             [width - 0.5, height - 0.5]]), inv)
        pad = factor + 2
        x0 = max(0, int(math.floor(corners[:, 0].min())) - pad)
        y0 = max(0, int(math.floor(corners[:, 1].min())) - pad)
        x1 = min(src.shape[1], int(math.ceil(corners[:, 0].max())) + pad + 1)
        y1 = min(src.shape[0], int(math.ceil(corners[:, 1].max())) + pad + 1)
        if x1 - x0 >= 2 * factor and y1 - y0 >= 2 * factor:
            roi = src[y0:y1, x0:x1]
            small_w, small_h = math.ceil((x1 - x0) / factor), math.ceil((y1 - y0) / factor)
            small = cv2.resize(roi, (small_w, small_h), interpolation=cv2.INTER_AREA)
            sx, sy = (x1 - x0) / small_w, (y1 - y0) / small_h
            small_to_src = np.array([[sx, 0.0, 0.5 * sx - 0.5 + x0], [0.0, sy, 0.5 * sy - 0.5 + y0]])
            src, matrix = small, _compose(matrix, small_to_src)
    return cv2.warpAffine(src, matrix, (width, height), flags=flags, borderMode=BORDERS[border],
                          borderValue=border_value)


def align_face(photo: np.ndarray, landmarks: np.ndarray, resolution: int = 128, *,
               border: str = "reflect") -> AlignedCrop:
    """Crop ``photo`` (uint8 RGB) to the CelebA frame at ``resolution`` from 68 landmarks (or a ``Face``).

    Parts of the crop outside the photo are filled by ``border`` ("reflect" mirrors the photo's edge,
    "replicate" repeats it, "constant" is black).
    """
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB photo (H, W, 3), got {photo.shape} {photo.dtype}")
    lm = _check_landmarks(landmarks)
    matrix = alignment_matrix(lm, resolution)
    crop = warp(photo, matrix, (resolution, resolution), border=border)
    return AlignedCrop(image=crop, matrix=matrix, inverse=invert_affine(matrix), resolution=int(resolution),
                       landmarks=transform_points(lm, matrix), photo_size=(photo.shape[0], photo.shape[1]))


def mask_to_crop(mask: np.ndarray, aligned: AlignedCrop, *, border: str = "reflect") -> np.ndarray:
    """A photo-sized class-index mask brought into the crop (nearest neighbour, indices never mixed)."""
    mask = np.asarray(mask)
    if mask.shape[:2] != aligned.photo_size:
        raise ValueError(f"mask is {mask.shape[:2]}, the photo was {aligned.photo_size}")
    return warp(mask, aligned.matrix, (aligned.resolution, aligned.resolution), nearest=True, border=border)


def mask_to_photo(crop_mask: np.ndarray, aligned: AlignedCrop, *, fill: int = 0) -> np.ndarray:
    """A crop-sized class-index mask brought back to photo size; outside the crop it is ``fill``."""
    crop_mask = np.asarray(crop_mask)
    size = crop_mask.shape[0]
    if crop_mask.shape[:2] != (size, size):
        raise ValueError(f"crop mask must be square, got {crop_mask.shape}")
    to_photo = _compose(aligned.inverse, _resize_matrix(size, aligned.resolution))
    height, width = aligned.photo_size
    return warp(crop_mask, to_photo, (width, height), nearest=True, border="constant", border_value=fill)


# ---------------------------------------------------------------------------------------- paste-back

# The blend weights of the last few crops: a slider drag pastes the same crop back at every step, and the
# weights (a polygon fill, a distance transform and a smoothstep over the crop's footprint) cost more than
# the blend itself. Keyed by the crop's geometry and the region's bytes; the cached arrays are read-only.
_WEIGHTS_CACHE_SIZE = 8
_weights_cache: OrderedDict[tuple, tuple[tuple[int, int, int, int], np.ndarray]] = OrderedDict()
_weights_lock = threading.Lock()


def _digest(array: np.ndarray) -> str:
    a = np.ascontiguousarray(array)
    return hashlib.blake2b(a.tobytes(), digest_size=16).hexdigest() + str(a.shape) + str(a.dtype)


def _region_in_canvas(aligned: AlignedCrop, margin_px: float, feather_px: float,
                      region: str | np.ndarray | None, face_dilate: float
                      ) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """Blend weights on the photo's part under the crop: ((x0, y0, x1, y1), float32 weights, read-only),
    remembered for the last few crops (_weights_cache)."""
    if region is None or isinstance(region, str):
        region_key: object = (region, _digest(aligned.landmarks) if region == "face" else "")
    else:
        region_key = _digest(np.asarray(region))
    key = (_digest(aligned.inverse), aligned.resolution, tuple(aligned.photo_size), float(margin_px),
           float(feather_px), float(face_dilate), region_key)
    with _weights_lock:
        hit = _weights_cache.get(key)
        if hit is not None:
            _weights_cache.move_to_end(key)
            return hit
    box, weights = _compute_region_in_canvas(aligned, margin_px, feather_px, region, face_dilate)
    weights.setflags(write=False)
    with _weights_lock:
        _weights_cache[key] = (box, weights)
        while len(_weights_cache) > _WEIGHTS_CACHE_SIZE:
            _weights_cache.popitem(last=False)
    return box, weights


def _compute_region_in_canvas(aligned: AlignedCrop, margin_px: float, feather_px: float,
                              region: str | np.ndarray | None, face_dilate: float
                              ) -> tuple[tuple[int, int, int, int], np.ndarray]:
    res = aligned.resolution
    height, width = aligned.photo_size
    photo_per_crop = 1.0 / aligned.scale
    lo, hi = margin_px - 0.5, res - 0.5 - margin_px
    if hi - lo < 1.0:
        raise ValueError(f"margin {margin_px:.1f} px leaves nothing of a {res} px crop")
    square = transform_points(np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]]), aligned.inverse)
    feather_photo = feather_px * photo_per_crop
    pad = int(math.ceil(feather_photo)) + 2
    # Rasterise on a canvas a little larger than the square's footprint (it may reach past the photo's
    # edges, so the feather follows the crop's own edge), then keep the part inside the photo.
    cx0 = int(math.floor(square[:, 0].min())) - pad
    cy0 = int(math.floor(square[:, 1].min())) - pad
    cx1 = int(math.ceil(square[:, 0].max())) + pad + 1
    cy1 = int(math.ceil(square[:, 1].max())) + pad + 1
    x0, y0, x1, y1 = max(cx0, 0), max(cy0, 0), min(cx1, width), min(cy1, height)
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0), np.zeros((0, 0), np.float32)
    # The canvas only needs to reach `pad` beyond the photo for the distance transform to be right.
    cx0, cy0 = max(cx0, x0 - pad), max(cy0, y0 - pad)
    cx1, cy1 = min(cx1, x1 + pad), min(cy1, y1 + pad)
    shape = (cy1 - cy0, cx1 - cx0)
    shift = 4  # sub-pixel polygon vertices (1/16 px)

    def fill(poly: np.ndarray) -> np.ndarray:
        canvas = np.zeros(shape, np.uint8)
        pts = np.round((poly - [cx0, cy0]) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(canvas, [pts], 1, lineType=cv2.LINE_8, shift=shift)
        return canvas

    inside = fill(square)
    crop_to_canvas = aligned.inverse.copy()
    crop_to_canvas[:, 2] -= [cx0, cy0]
    if isinstance(region, str) and region == "face":
        hull = cv2.convexHull(aligned.landmarks.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        face = fill(transform_points(hull, aligned.inverse))
        grow = face_dilate * res * photo_per_crop
        if grow > 0:
            dist_out = cv2.distanceTransform(1 - face, cv2.DIST_L2, 5)
            face = (dist_out <= grow).astype(np.uint8)
        inside &= face
    elif region is not None and not isinstance(region, str):
        region = np.asarray(region)
        if region.ndim != 2 or region.shape[0] != region.shape[1]:
            raise ValueError(f"region mask must be a square (N, N) array in crop coordinates, got {region.shape}")
        soft = region.astype(np.float32)
        if region.dtype == np.uint8 and soft.max() > 1:
            soft /= 255.0
        to_canvas = _compose(crop_to_canvas, _resize_matrix(region.shape[0], res))
        warped = cv2.warpAffine(soft, to_canvas, (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        inside &= (warped >= 0.5).astype(np.uint8)
    elif region is not None:
        raise ValueError(f"region must be None, 'face' or a crop-sized mask, got {region!r}")
    if feather_photo >= 1.0:
        dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
        t = np.clip(dist / np.float32(feather_photo), 0.0, 1.0)
        weights = t * t * (3.0 - 2.0 * t)  # smoothstep: no kink where the ramp meets the inside
    else:
        weights = inside.astype(np.float32)
    weights = weights.astype(np.float32)[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return (x0, y0, x1, y1), np.ascontiguousarray(weights)


def blend_mask(aligned: AlignedCrop, *, margin: float = 0.03, feather: float = 0.08,
               region: str | np.ndarray | None = None, face_dilate: float = 0.08) -> np.ndarray:
    """The photo-sized float32 weights (0..1) that :func:`paste_back` blends the crop with.

    The blend region is the crop square shrunk by ``margin`` on every side; with ``region="face"`` it is
    further limited to the convex hull of the landmarks grown by ``face_dilate``, and with a crop-sized
    mask array to that mask. Inside it the weight rises from 0 at its edge to 1 at ``feather`` inwards.
    ``margin``, ``feather`` and ``face_dilate`` are fractions of the crop side. Where the weight is 0 the
    photo is left bitwise unchanged.
    """
    res = aligned.resolution
    (x0, y0, x1, y1), weights = _region_in_canvas(aligned, margin * res, feather * res, region, face_dilate)
    out = np.zeros(aligned.photo_size, np.float32)
    out[y0:y1, x0:x1] = weights
    return out


def _change_weights(edited: np.ndarray, original: np.ndarray, radius: int) -> np.ndarray | None:
    """Where ``edited`` differs from the crop it was made from, grown by ``radius`` crop pixels and softened
    over as many again: uint8 (res, res), exactly 255 on every changed pixel, 0 far from any; None when
    nothing changed."""
    d = cv2.absdiff(edited, original)
    # the largest channel difference per pixel (numpy's max over the channel axis takes 20x as long)
    changed = cv2.compare(cv2.max(cv2.max(d[..., 0], d[..., 1]), d[..., 2]), 0, cv2.CMP_GT)
    if not cv2.countNonZero(changed):
        return None
    k = 2 * radius + 1
    # a square dilation under a box blur of the same size keeps every changed pixel at exactly 255
    grown = cv2.dilate(changed, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.blur(grown, (k, k), borderType=cv2.BORDER_REPLICATE)


def paste_back(photo: np.ndarray, edited_crop: np.ndarray, aligned: AlignedCrop, *,
               margin: float = 0.03, feather: float = 0.08, region: str | np.ndarray | None = None,
               face_dilate: float = 0.08, only_changed: bool = True) -> np.ndarray:
    """Blend an edited crop back into (a copy of) the full photo it was cut from.

    ``edited_crop`` is a square uint8 RGB image of any size (a model may run at a resolution other than
    the crop's). Only pixels where :func:`blend_mask` (same arguments) is non-zero can change.

    ``only_changed``: an edited crop at the crop's own size is pasted only where it differs from the crop
    (grown and feathered by 1 % of the crop side), so the rest of the face keeps the photo's own pixels
    instead of their resampling through the crop — and a local edit (a mouth, glasses) warps and blends
    only its part of the photo. An unchanged crop gives the photo back bitwise.
    """
    photo = np.asarray(photo)
    if photo.shape[:2] != aligned.photo_size or photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be the uint8 RGB image of size {aligned.photo_size} the crop came from, "
                         f"got {photo.shape} {photo.dtype}")
    edited = np.asarray(edited_crop)
    if (edited.ndim != 3 or edited.shape[2] != 3 or edited.shape[0] != edited.shape[1]
            or edited.dtype != np.uint8):
        raise ValueError(f"edited crop must be a square uint8 RGB image, got {edited.shape} {edited.dtype}")
    res = aligned.resolution
    (x0, y0, x1, y1), weights = _region_in_canvas(aligned, margin * res, feather * res, region, face_dilate)
    out = photo.copy()
    if weights.size == 0:
        return out
    crop_to_roi = _compose(aligned.inverse, _resize_matrix(edited.shape[0], res))
    crop_to_roi[:, 2] -= [x0, y0]
    if only_changed and edited.shape[:2] == aligned.image.shape[:2]:
        change = _change_weights(edited, aligned.image, max(1, round(0.01 * res)))
        if change is None:
            return out
        # only the part of the region under the changed pixels' box is warped and blended
        bx, by, bw, bh = cv2.boundingRect(change)
        box = transform_points(np.array([[bx - 1.0, by - 1.0], [bx + bw, by - 1.0], [bx + bw, by + bh],
                                         [bx - 1.0, by + bh]]), crop_to_roi)
        sx0 = max(0, int(math.floor(box[:, 0].min())) - 1)
        sy0 = max(0, int(math.floor(box[:, 1].min())) - 1)
        sx1 = min(x1 - x0, int(math.ceil(box[:, 0].max())) + 2)
        sy1 = min(y1 - y0, int(math.ceil(box[:, 1].max())) + 2)
        if sx1 <= sx0 or sy1 <= sy0:
            return out
        crop_to_roi[:, 2] -= [sx0, sy0]
        # the change rides along as a fourth channel: one warp for both (a 4-channel warp is also faster
        # than a 3-channel one)
        rgba = warp(cv2.merge([*cv2.split(edited), change]), crop_to_roi, (sx1 - sx0, sy1 - sy0),
                    border="replicate")
        weights = cv2.multiply(np.ascontiguousarray(weights[sy0:sy1, sx0:sx1]), rgba[..., 3], scale=1.0 / 255,
                               dtype=cv2.CV_32F)
        pasted = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        x0, y0, x1, y1 = x0 + sx0, y0 + sy0, x0 + sx1, y0 + sy1
    else:
        pasted = warp(edited, crop_to_roi, (x1 - x0, y1 - y0), border="replicate")
    # w * pasted + (1 - w) * photo in one OpenCV pass (9x faster than the same in numpy floats at 512²; it
    # rounds like np.rint but for at most one level on ~0.1 % of the pixels); w = 0 leaves the photo exact
    out[y0:y1, x0:x1] = cv2.blendLinear(np.ascontiguousarray(pasted), np.ascontiguousarray(photo[y0:y1, x0:x1]),
                                        np.ascontiguousarray(weights), np.ascontiguousarray(1.0 - weights))
    return out
