"""The crop policy: whether a picture is worked on through the detected face's aligned crop or whole.

The models see faces the CelebA way (faceeditor.core.face_align). A photo is brought into that frame by
aligning on its face; a picture that already frames its face that way (a SynthFaces sample, a CelebA-HQ
image, the output of an earlier aligned crop) is taken whole, so the pixels an edit keeps are its own and
nothing is resampled twice. The app (faceeditor.core.document), ``faceeditor-cli parse``, ``classify`` and
``edit`` all ask :func:`decide_crop`, so one picture is cropped the same way everywhere.

"auto" decides from the landmarks:

- no face (none found, or detection unavailable): whole, with the reason;
- a face narrower than MIN_FACE_PX (jaw end to jaw end): whole — an aligned crop would be mostly
  interpolated pixels;
- a square picture of at most AUTO_WHOLE_MAX_SIDE px whose face already sits where the aligned crop of
  that picture would put it: whole. "Already sits there" is measured by comparing the CelebA alignment of
  the landmarks with the whole picture resized to the same side (:func:`framing`): the alignment may
  enlarge by at most FRAMED_MAX_ZOOM (or shrink by as much), move the centre by at most FRAMED_MAX_SHIFT
  of the side and turn by at most FRAMED_MAX_ROTATION degrees;
- anything else: the aligned face.

The limits come from measurements (dlib landmarks): the bundled SynthFaces samples measure zoom 1.23-1.39,
shift 0.06-0.11, rotation up to 4 degrees; 158 SynthFaces renders at 128 px (seeds 0-199, a face found in
158) at most zoom 1.59, shift 0.27, rotation 12.8 degrees; scikit-image's astronaut (512 px, the face a
fifth of the frame) zoom 2.68, shift 0.84 — aligned, as a photo should be.

Explicit modes pass through: "whole" always, "face" when there are landmarks (else whole, with the reason).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceeditor.core.face_align import alignment_matrix, transform_points
from faceeditor.core.face_detect import BORDERLINE_SCORE, Face

MODES = ("auto", "face", "whole")
CROP_MODES = ("face", "whole")
# "auto" takes only square pictures up to this side whole: larger ones are worked on through the face's
# crop and pasted back, so the rest of the picture keeps its full detail.
AUTO_WHOLE_MAX_SIDE = 1024
FRAMED_MAX_ZOOM = 1.7
FRAMED_MAX_SHIFT = 0.3
FRAMED_MAX_ROTATION = 15.0
# A face narrower than this (pixels between the jaw's ends, landmarks 0 and 16) is not aligned in "auto".
MIN_FACE_PX = 32.0
# Detection upsamples pictures up to this side once (finds faces from about 40 px), larger ones not.
DETECT_UPSAMPLE_MAX_SIDE = 1024

NO_FACE = "no face found"

# The face picker offers detections scoring at least this by default (the face being edited always).
# dlib's HOG scores (upsampled once): the astronaut's face 1.09-1.53 in every composite measured, her
# mission patch 0.12-0.17; the bundled SynthFaces samples 0.12-0.99. A score alone cannot tell a hard
# real face from a false one, so fainter detections stay one tick away ("show faint detections"); the
# limit is face_detect's BORDERLINE_SCORE, which already orders them after every surer face, so the
# faces offered are always the first ones of the numbering `faceeditor-cli edit --face N` uses.
OFFER_MIN_SCORE = BORDERLINE_SCORE


class CropPolicyError(ValueError):
    """A crop request that cannot be decided (an unknown mode, a face index out of range)."""


@dataclass(frozen=True)
class Framing:
    """Where the face sits in a picture compared with where an aligned crop of that picture puts it.

    ``zoom``: how much the alignment enlarges the picture (1 = the face already has the aligned size;
    2 = the face is half as big as in an aligned crop). ``shift``: how far the alignment moves the
    picture's centre, as a fraction of the side. ``rotation``: how far it turns it, in degrees.
    """

    zoom: float
    shift: float
    rotation: float

    @property
    def framed(self) -> bool:
        """Whether the picture already frames the face like an aligned crop (within the limits above)."""
        return (1.0 / FRAMED_MAX_ZOOM <= self.zoom <= FRAMED_MAX_ZOOM and self.shift <= FRAMED_MAX_SHIFT
                and abs(self.rotation) <= FRAMED_MAX_ROTATION)


@dataclass(frozen=True)
class CropDecision:
    """How a picture is cropped: ``mode`` "face" (aligned on the face) or "whole", and a one-line
    ``reason`` to show the user. ``framing`` is the measurement "auto" was based on, when it measured;
    ``face_missing`` says that no usable face was there (none found, or too small)."""

    mode: str
    reason: str
    framing: Framing | None = None
    face_missing: bool = False


def _landmarks(landmarks: object) -> np.ndarray:
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise CropPolicyError(f"expected 68 finite (x, y) landmarks, got shape {lm.shape}")
    return lm


def face_width(landmarks: np.ndarray) -> float:
    """Width of the face in pixels: the distance between the jaw's ends (iBUG points 0 and 16)."""
    lm = _landmarks(landmarks)
    return float(np.linalg.norm(lm[16] - lm[0]))


def crop_shaped(shape: tuple[int, ...]) -> bool:
    """Whether a picture of this (H, W[, C]) shape may be taken whole by "auto": square, at most
    AUTO_WHOLE_MAX_SIDE px."""
    h, w = int(shape[0]), int(shape[1])
    return h == w and h <= AUTO_WHOLE_MAX_SIDE


def framing(shape: tuple[int, ...], landmarks: np.ndarray) -> Framing:
    """Compare the CelebA alignment of ``landmarks`` with the whole picture scaled to the same side.

    Both map the picture into a square of side max(H, W): the whole-picture map letterboxes it, the
    alignment puts the five points where CelebA's are. The map from the first square to the second is
    the identity when the picture is already an aligned crop; its scale, rotation and the distance it
    moves the centre are returned.
    """
    lm = _landmarks(landmarks)
    h, w = int(shape[0]), int(shape[1])
    side = max(h, w)
    aligned = alignment_matrix(lm, side)
    # whole picture -> square of `side` (as document.whole_image_crop: pixel centres, letterboxed)
    ox, oy = (side - w) / 2.0, (side - h) / 2.0
    whole_inv = np.array([[1.0, 0.0, -ox], [0.0, 1.0, -oy]])        # square -> picture
    rel = np.vstack([aligned, [0.0, 0.0, 1.0]]) @ np.vstack([whole_inv, [0.0, 0.0, 1.0]])
    a = rel[:2, :2]
    zoom = math.sqrt(abs(float(np.linalg.det(a))))
    rotation = math.degrees(math.atan2(a[1, 0], a[0, 0]))
    centre = np.array([[(side - 1) / 2.0, (side - 1) / 2.0]])
    moved = transform_points(centre, rel[:2])[0]
    shift = float(np.linalg.norm(moved - centre[0])) / side
    return Framing(zoom=zoom, shift=shift, rotation=rotation)


def decide_crop(photo: np.ndarray, landmarks: np.ndarray | None, mode: str = "auto", *,
                missing: str = NO_FACE) -> CropDecision:
    """The crop of ``photo`` (an (H, W, 3) array, or just its shape) for ``mode`` "auto", "face" or
    "whole" (see the module docstring). ``landmarks``: the 68 points of the face to use, photo pixels, or
    None; ``missing`` says why there are none (e.g. "face detection is unavailable (...)")."""
    if mode not in MODES:
        raise CropPolicyError(f"crop mode must be 'auto', 'face' or 'whole', got {mode!r}")
    shape = photo.shape if hasattr(photo, "shape") else tuple(photo)
    if mode == "whole":
        return CropDecision("whole", "the whole image is edited, as asked")
    if landmarks is None:
        return CropDecision("whole", f"{missing}; the whole image is edited", face_missing=True)
    lm = _landmarks(landmarks)
    if mode == "face":
        return CropDecision("face", "the face is edited in an aligned crop, as asked")
    width = face_width(lm)
    if width < MIN_FACE_PX:
        return CropDecision("whole", f"the face is too small ({width:.0f} px wide, under {MIN_FACE_PX:.0f}); "
                                     "the whole image is edited", face_missing=True)
    h, w = int(shape[0]), int(shape[1])
    measured = framing(shape, lm)
    if not measured.framed:
        return CropDecision("face", f"the face is edited in an aligned crop (it would be enlarged "
                                    f"{measured.zoom:.1f}x and moved {measured.shift:.0%} of the side "
                                    "to sit like one)", measured)
    if h != w:
        return CropDecision("face", "the face is edited in an aligned crop (the picture is not square)",
                            measured)
    if not crop_shaped(shape):
        return CropDecision("face", f"the face is edited in an aligned crop (the picture frames it like one "
                                    f"but is larger than {AUTO_WHOLE_MAX_SIDE} px; the rest keeps its detail)",
                            measured)
    return CropDecision("whole", "the picture already frames the face like an aligned crop; it is edited whole",
                        measured)


# --- finding the face the decision is about ------------------------------------------------------------

@dataclass(frozen=True)
class FaceSearch:
    """The face a picture is cropped on: its landmarks (photo pixels) or None, how many faces were found,
    which one was taken (0 = the first of face_detect's order: the largest confident face), notes for the
    user, why detection could not run (``unavailable``), if it could not, and every detected face in that
    order (``faces``: box, score, landmarks; what the app's face picker offers)."""

    landmarks: np.ndarray | None
    faces_found: int = 0
    index: int | None = None
    notes: tuple[str, ...] = ()
    unavailable: str | None = None
    faces: tuple[Face, ...] = ()

    @property
    def missing(self) -> str:
        """Why there are no landmarks, in the words decide_crop's reason uses."""
        return f"face detection is unavailable ({self.unavailable})" if self.unavailable else NO_FACE


def find_face(photo: np.ndarray, index: int | None = None) -> FaceSearch:
    """Detect the faces of ``photo`` (dlib; pictures up to DETECT_UPSAMPLE_MAX_SIDE are upsampled once)
    and take face ``index`` (default: the first). Raises CropPolicyError when ``index`` is out of range."""
    from faceeditor.core import face_detect

    upsample = 1 if max(photo.shape[:2]) <= DETECT_UPSAMPLE_MAX_SIDE else 0
    try:
        faces = face_detect.detect_faces(photo, upsample=upsample)
    except face_detect.FaceModelsUnavailable as exc:
        if index is not None:
            raise CropPolicyError(f"face {index}: face detection is unavailable ({exc})") from None
        return FaceSearch(None, unavailable=str(exc))
    if index is not None and not 0 <= index < len(faces):
        found = f"{len(faces)} face{'s' if len(faces) != 1 else ''} found"
        raise CropPolicyError(f"face {index}: {found}" + (f" (0..{len(faces) - 1})" if faces else ""))
    if not faces:
        return FaceSearch(None)
    chosen = 0 if index is None else index
    notes: tuple[str, ...] = ()
    if len(faces) > 1:
        which = "face 0 (the largest)" if index is None else f"face {chosen}"
        sure = len(offered_faces(faces))
        faint = len(faces) - sure
        found = f"{sure} face{'s' if sure != 1 else ''} found" + (
            f" and {faint} faint detection{'s' if faint != 1 else ''}" if faint else "")
        notes = (f"{found}; editing {which}",)
    return FaceSearch(faces[chosen].landmarks, len(faces), chosen, notes, faces=tuple(faces))


def offered_faces(faces: tuple[Face, ...] | list[Face], current: int | None = None, *,
                  faint: bool = False) -> list[int]:
    """Indices (the --face numbering) of the faces the picker offers: those scoring at least
    OFFER_MIN_SCORE (a face given rather than detected, score nan, counts as sure), every face with
    ``faint``, and always the ``current`` one."""
    return [i for i, face in enumerate(faces)
            if faint or i == current or not face.score < OFFER_MIN_SCORE]


def choose_crop(photo: np.ndarray, mode: str = "auto", *, index: int | None = None
                ) -> tuple[FaceSearch, CropDecision]:
    """Find the face (unless ``mode`` is "whole") and decide the crop: what the app and every command do
    with a picture. ``index`` picks a detected face and means mode "face"."""
    if mode not in MODES:
        raise CropPolicyError(f"crop mode must be 'auto', 'face' or 'whole', got {mode!r}")
    if mode == "whole":
        if index is not None:
            raise CropPolicyError("a face index picks a detected face; it cannot go with the whole image")
        return FaceSearch(None), decide_crop(photo, None, "whole")
    search = find_face(photo, index)
    return search, decide_crop(photo, search.landmarks, "face" if index is not None else mode,
                               missing=search.missing)
