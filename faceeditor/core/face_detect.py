"""Face detection, 68-point landmarks and the 128-D identity descriptor, with dlib.

dlib and its model files (from the ``dlib-bin`` and ``face-recognition-models`` wheels) are loaded lazily,
once per process, so importing this module costs nothing and works where dlib is absent; the first call
that needs them raises :class:`FaceModelsUnavailable` with an install hint if they are missing.

Coordinates are pixels of the input image, x right and y down, with a pixel's centre at its integer
coordinate (dlib's and OpenCV's convention). Landmarks follow the iBUG 300-W order of
``faceeditor.core.labels`` (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67).
"""
from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHAPE_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"

# Detection runs on a copy shrunk to this longest side (landmarks are still fitted at full resolution):
# dlib's HOG detector on a 12 MP photo, upsampled once, takes seconds and a lot of memory.
DEFAULT_DETECT_MAX_SIDE = 2048

# Detector scores below this are borderline: real but hard faces and most false positives live there.
# They are listed after every surer face, so "the first face" is a confident one when there is one.
BORDERLINE_SCORE = 0.3

# Descriptor distance below which dlib's model says "same person" (dlib's documented threshold).
SAME_PERSON_DISTANCE = 0.6


class NoFaceError(LookupError):
    """No face was found in the image."""


class FaceModelsUnavailable(RuntimeError):
    """dlib or its model files are not installed."""


@dataclass(frozen=True)
class Face:
    """One detected face.

    ``box`` is (left, top, right, bottom) in pixels; ``score`` is dlib's detector confidence (higher is
    surer; values near 0 are borderline, ``nan`` when the box was given rather than detected);
    ``landmarks`` is a (68, 2) float64 array of (x, y).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def to_dict(self) -> dict:
        """A JSON-ready description (box, score, landmarks as lists of [x, y])."""
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": None if math.isnan(self.score) else round(float(self.score), 4),
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
        }


_lock = threading.Lock()
_cache: dict[str, object] = {}


def _dlib():
    try:
        import dlib
    except ImportError as exc:
        raise FaceModelsUnavailable(
            f"face detection needs dlib, which is not importable ({exc}); install it with "
            "`pip install dlib-bin`") from None
    return dlib


def model_path(filename: str) -> Path:
    """Path of a model file shipped by the ``face-recognition-models`` wheel.

    The package's own helpers import ``pkg_resources``, which recent setuptools no longer ships, so the
    file is located from the package's location without importing it.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "models" / filename
        if candidate.is_file():
            return candidate
    raise FaceModelsUnavailable(
        f"dlib model file {filename} not found; install it with `pip install face-recognition-models`")


def _get(name: str):
    with _lock:
        if name not in _cache:
            dlib = _dlib()
            if name == "detector":
                _cache[name] = dlib.get_frontal_face_detector()
            elif name == "predictor":
                _cache[name] = dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR_FILE)))
            elif name == "recognizer":
                _cache[name] = dlib.face_recognition_model_v1(str(model_path(RECOGNITION_MODEL_FILE)))
            else:
                raise KeyError(name)
        return _cache[name]


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB image of shape (H, W, 3), got {arr.shape} {arr.dtype}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"empty image {arr.shape}")
    return np.ascontiguousarray(arr)


def _shrink_for_detection(image: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return image, 1.0
    import cv2

    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, width / size[0]


def _fit_landmarks(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    dlib = _dlib()
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    shape = _get("predictor")(image, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def detect_faces(image: np.ndarray, *, upsample: int = 1, min_score: float | None = None,
                 max_side: int | None = DEFAULT_DETECT_MAX_SIDE) -> list[Face]:
    """Every frontal face in an RGB uint8 image, each with its 68 landmarks.

    Faces are ordered largest first, except that borderline detections (score below
    :data:`BORDERLINE_SCORE`) come after all surer ones.

    ``upsample`` enlarges the image that many times (x2 each) before detection, to find smaller faces
    (dlib's HOG detector sees faces from about 80 px wide, 40 px with one upsampling) at a cost in time.
    ``min_score`` drops detections with a lower detector score (default: dlib's own threshold, 0).
    Images larger than ``max_side`` are shrunk for the detection step only.
    """
    if not 0 <= int(upsample) <= 4:
        raise ValueError(f"upsample must be in 0..4, got {upsample}")
    rgb = _check_image(image)
    small, factor = _shrink_for_detection(rgb, max_side)
    rects, scores, _ = _get("detector").run(small, int(upsample), 0.0)
    faces = []
    for rect, score in zip(rects, scores, strict=True):
        if min_score is not None and score < min_score:
            continue
        box = (rect.left() * factor, rect.top() * factor, (rect.right() + 1) * factor - 1,
               (rect.bottom() + 1) * factor - 1)
        faces.append(Face(box=tuple(float(v) for v in box), score=float(score),
                          landmarks=_fit_landmarks(rgb, box)))
    faces.sort(key=lambda f: (f.score < BORDERLINE_SCORE, -f.area, -f.score))
    return faces


def detect_face(image: np.ndarray, *, upsample: int = 1,
                        max_side: int | None = DEFAULT_DETECT_MAX_SIDE) -> Face:
    """The main face: the first of :func:`detect_faces`; :class:`NoFaceError` when there is none."""
    faces = detect_faces(image, upsample=upsample, max_side=max_side)
    if not faces:
        raise NoFaceError(
            f"no face found in the {image.shape[1]}x{image.shape[0]} image (upsample={upsample}); "
            "try a larger upsample for small faces, or a frontal photo")
    return faces[0]


def landmarks_in_box(image: np.ndarray, box: tuple[float, float, float, float]) -> Face:
    """Fit the 68 landmarks inside a given box (e.g. one the user drew, or a known crop's face box)."""
    rgb = _check_image(image)
    left, top, right, bottom = (float(v) for v in box)
    if not (right > left and bottom > top):
        raise ValueError(f"box must be (left, top, right, bottom) with right > left and bottom > top: {box}")
    return Face(box=(left, top, right, bottom), score=float("nan"), landmarks=_fit_landmarks(rgb, box))


def face_descriptor(image: np.ndarray, face: Face, *, num_jitters: int = 0) -> np.ndarray:
    """dlib's 128-D identity descriptor (float64) of ``face`` in ``image``.

    Two descriptors closer than :data:`SAME_PERSON_DISTANCE` (Euclidean) are, per dlib, the same person.
    """
    rgb = _check_image(image)
    dlib = _dlib()
    lm = np.asarray(face.landmarks)
    if lm.shape != (68, 2):
        raise ValueError(f"face descriptor needs 68 landmarks, got shape {lm.shape}")
    rect = dlib.rectangle(*(int(round(v)) for v in face.box))
    points = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in lm])
    shape = dlib.full_object_detection(rect, points)
    vec = _get("recognizer").compute_face_descriptor(rgb, shape, int(num_jitters))
    return np.array(vec, dtype=np.float64)


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two identity descriptors (dlib's metric)."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))
