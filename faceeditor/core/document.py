"""One open piece of work, Qt-free: the photo, the face's aligned crop, the mask layer, the edits.

Photos of any size are edited through a square crop at the working resolution: either the detected face
aligned to the CelebA frame (`face_align.align_face`), or the whole image letterboxed into the square
(for pictures that already frame the face like an aligned crop, such as SynthFaces samples or CelebA-HQ
images, and for photos without a usable face). Which one is faceeditor.core.crop_policy's decision, the
same the CLI commands take; its reason is kept on the document and shown. Models run on the crop; their
output is pasted back into the photo (`face_align.paste_back`, feathered for face crops). The mask layer
lives in crop pixels.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceeditor.core.crop_policy import (
    AUTO_WHOLE_MAX_SIDE,
    CROP_MODES,
    CropDecision,
    CropPolicyError,
    choose_crop,
    decide_crop,
    find_face,
    offered_faces,
)
from faceeditor.core.events import Event
from faceeditor.core.face_align import (
    AlignedCrop,
    align_face,
    invert_affine,
    paste_back,
    transform_points,
    warp,
)
from faceeditor.core.face_detect import Face
from faceeditor.core.history import UndoHistory
from faceeditor.core.keyframes import KeyframeFile
from faceeditor.core.mask_layer import MaskLayer
from faceeditor.core.project import Project

DEFAULT_RESOLUTION = 256
MAX_WORK_RESOLUTION = 1024
__all__ = ["AUTO_WHOLE_MAX_SIDE", "CROP_MODES", "Document", "DocumentError", "Opened", "Placement", "choose_mode",
           "crop_corners", "crop_summary", "detect_landmarks", "faces_from_settings", "initial_mask", "make_crop", "open_path", "whole_image_crop", "work_resolution"]


class DocumentError(ValueError):
    """A document cannot be made from the given data; the message says why."""


def work_resolution(model_resolutions: Iterable[int] = ()) -> int:
    """The side of the crop a photo is worked on: at least DEFAULT_RESOLUTION whatever the models' sides,
    so that pixels an edit keeps keep their detail (models read the crop resized to their own side)."""
    return int(min(MAX_WORK_RESOLUTION, max([DEFAULT_RESOLUTION, *map(int, model_resolutions)])))


def whole_image_crop(photo: np.ndarray, resolution: int, landmarks: np.ndarray | None = None) -> AlignedCrop:
    """The whole photo scaled into a resolution x resolution square (centred; edges replicated)."""
    h, w = photo.shape[:2]
    s = resolution / max(h, w)
    # pixel centres: photo (x + 0.5) * s maps to crop, plus the letterbox offset
    ox = (resolution - w * s) / 2.0
    oy = (resolution - h * s) / 2.0
    matrix = np.array([[s, 0.0, 0.5 * s - 0.5 + ox], [0.0, s, 0.5 * s - 0.5 + oy]])
    image = warp(photo, matrix, (resolution, resolution), border="replicate")
    lm = transform_points(landmarks, matrix) if landmarks is not None else np.zeros((0, 2))
    return AlignedCrop(image=image, matrix=matrix, inverse=invert_affine(matrix), resolution=int(resolution),
                       landmarks=lm, photo_size=(h, w))


def _decide(photo: np.ndarray, landmarks: np.ndarray | None, mode: str) -> CropDecision:
    try:
        return decide_crop(photo, landmarks, mode)
    except CropPolicyError as exc:
        raise DocumentError(str(exc)) from None


def choose_mode(photo: np.ndarray, landmarks: np.ndarray | None, mode: str = "auto") -> str:
    """"face" or "whole": the mode of crop_policy.decide_crop (kept for callers that need only the mode)."""
    return _decide(photo, landmarks, mode).mode


def make_crop(photo: np.ndarray, landmarks: np.ndarray | None, mode: str, resolution: int) -> AlignedCrop:
    """The crop of a decided mode: the aligned face ("face", with landmarks) or the whole image."""
    if mode == "face" and landmarks is not None:
        return align_face(photo, landmarks, resolution)
    return whole_image_crop(photo, resolution, landmarks)


@dataclass(frozen=True, eq=False)
class Placement:
    """Where a crop came from and how a model's output of it goes back into the picture: the one owner of
    the paste-back rule the app (`Document.paster`), the CLI commands and the engine's flip sheets use.

    An aligned face crop ("face") is pasted back feathered, with a small margin, so the edited face
    blends into the photo; a picture edited whole ("whole", letterboxed into the square) is pasted back
    without margin or feather (faceeditor.core.face_align.paste_back)."""

    photo: np.ndarray           # uint8 (H, W, 3): the full picture the crop was cut from
    crop: AlignedCrop
    mode: str                   # "face" | "whole" (faceeditor.core.crop_policy's decision)

    def paste(self, crop_result: np.ndarray) -> np.ndarray:
        """A model's crop-sized (any square size) output pasted into a copy of the photo."""
        if self.mode == "whole":
            return paste_back(self.photo, crop_result, self.crop, margin=0.0, feather=0.0)
        return paste_back(self.photo, crop_result, self.crop)


def crop_corners(crop: AlignedCrop) -> np.ndarray:
    """Where the crop's square lies in the photo: its (4, 2) corners (top-left, top-right, bottom-right,
    bottom-left) in photo pixels, whatever the crop's resolution (so crops of one decision compare)."""
    lo, hi = -0.5, crop.resolution - 0.5
    return transform_points(np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]]), crop.inverse)


def crop_summary(crop: AlignedCrop, decision: CropDecision) -> dict[str, Any]:
    """JSON-ready account of a crop: its mode, the policy's reason and its corners in the photo."""
    return {"mode": decision.mode, "reason": decision.reason,
            "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in crop_corners(crop)]}


def initial_mask(crop: AlignedCrop) -> np.ndarray:
    """A first mask before any parser runs (and the mask *From landmarks* draws): the whole portrait the
    landmarks give (faceeditor.core.head_layout: the face parts they outline on a fitted head template,
    so that synthesis from it draws a head, not a floating face), else all background."""
    if crop.landmarks.shape == (68, 2):
        from faceeditor.core.head_layout import portrait_layout

        try:
            return portrait_layout(crop.landmarks, crop.resolution)
        except Exception:  # degenerate landmarks must not stop a document from opening
            pass
    return np.zeros((crop.resolution, crop.resolution), np.uint8)


@dataclass
class _Geometry:
    """What a re-crop changes: the crop, its mode, and the mask layer drawn in it; a change of face also
    the landmarks, which detected face they are (``face_index``) and whether the face is usable."""

    crop: AlignedCrop
    mode: str
    mask: MaskLayer
    reason: str = ""
    landmarks: np.ndarray | None = None
    face_index: int | None = None
    face_missing: bool = False


@dataclass
class RecropCommand:
    """A re-crop as one step of the document's history; undo brings back the old crop and its mask layer
    (with the strokes before it still undoable, since they belong to that layer)."""

    document: Document
    old: _Geometry
    new: _Geometry
    name: str = "Re-crop"

    @property
    def nbytes(self) -> int:
        return int(self.old.mask.data.nbytes + self.new.mask.data.nbytes + self.old.crop.image.nbytes
                   + self.new.crop.image.nbytes + 256)

    def undo(self) -> None:
        self.document._set_geometry(self.old)

    def redo(self) -> None:
        self.document._set_geometry(self.new)


@dataclass
class Document:
    """The state the UI edits. `edits` and `settings` are plain JSON-ready dicts saved with the project.

    `history` is the document's one undo history (mask strokes, session values, re-crops);
    `geometry_changed` is emitted when the crop and mask layer are swapped (a re-crop, or its undo);
    `mask_edited(step_name)` relays the edits of whichever mask layer is the document's now."""

    photo: np.ndarray
    crop: AlignedCrop
    mode: str
    mask: MaskLayer
    landmarks: np.ndarray | None = None         # photo pixels (68, 2)
    source: str = ""
    project_path: Path | None = None
    edits: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    modified: bool = False
    crop_reason: str = ""                        # why the crop is what it is (crop_policy), for the user
    keyframes: KeyframeFile = field(default_factory=KeyframeFile)   # the timeline, saved with the project
    faces: tuple[Face, ...] = ()                 # every detected face, in the --face numbering
    face_index: int | None = None                # which of `faces` the landmarks are
    history: UndoHistory = field(default_factory=UndoHistory, repr=False, compare=False)
    geometry_changed: Event = field(default_factory=Event, repr=False, compare=False)
    mask_edited: Event = field(default_factory=Event, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.mask.on_edited(self.mask_edited.emit)

    def _use_mask(self, layer: MaskLayer) -> None:
        """Make `layer` the document's mask layer: `mask_edited` relays its edits (and no longer the old's)."""
        self.mask.remove_callback(self.mask_edited.emit)
        self.mask = layer
        layer.on_edited(self.mask_edited.emit)

    @classmethod
    def from_photo(cls, photo: np.ndarray, landmarks: np.ndarray | None = None, *, mode: str = "auto",
                   resolution: int = DEFAULT_RESOLUTION, source: str = "",
                   decision: CropDecision | None = None, faces: tuple[Face, ...] = (),
                   face_index: int | None = None) -> Document:
        """A document on a photo, cropped as crop_policy.decide_crop says for ``mode`` (or as an already
        made ``decision`` about these landmarks says). ``faces``: every detected face (crop_policy's
        FaceSearch.faces), ``face_index`` the one ``landmarks`` belong to; both are kept in the settings."""
        photo = np.asarray(photo)
        if photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
            raise DocumentError(f"a photo must be uint8 RGB (H, W, 3), got {photo.shape} {photo.dtype}")
        if int(resolution) < 16:
            raise DocumentError(f"working resolution must be at least 16 px, got {resolution}")
        if decision is None:
            decision = _decide(photo, landmarks, mode)
        chosen = decision.mode
        crop = make_crop(photo, landmarks, chosen, int(resolution))
        history = UndoHistory()
        faces = tuple(faces)
        face_index = face_index if face_index is not None and 0 <= face_index < len(faces) else None
        return cls(photo=photo, crop=crop, mode=chosen, mask=MaskLayer(initial_mask(crop), history=history),
                   landmarks=landmarks, source=source, crop_reason=decision.reason, history=history,
                   faces=faces, face_index=face_index,
                   settings={"crop_mode": chosen, "resolution": int(resolution), "crop_reason": decision.reason,
                             "face_missing": bool(decision.face_missing), "face_index": face_index,
                             "faces": [face.to_dict() for face in faces]})

    @classmethod
    def from_project(cls, project: Project, path: Path | None = None) -> Document:
        settings = dict(project.settings)
        mask = project.mask
        resolution = int(mask.shape[0]) if mask is not None else int(settings.get("resolution", DEFAULT_RESOLUTION))
        mode = settings.get("crop_mode", "auto")
        mode = mode if mode in CROP_MODES or mode == "auto" else "auto"
        faces, face_index = faces_from_settings(settings)
        doc = cls.from_photo(project.image, project.landmarks, mode=mode, resolution=resolution,
                             source=project.source, faces=faces, face_index=face_index)
        if mask is not None:
            doc._use_mask(MaskLayer(mask, history=doc.history))
        doc.edits = dict(project.edits)
        doc.keyframes = copy.deepcopy(project.keyframes)
        doc.settings.update(settings)
        saved_reason = settings.get("crop_reason")
        if isinstance(saved_reason, str) and doc.mode == mode:     # why the crop was chosen back then
            doc.crop_reason = saved_reason
        doc.settings["crop_reason"] = doc.crop_reason
        doc.settings["crop_mode"] = doc.mode
        doc.settings["faces"] = [face.to_dict() for face in doc.faces]
        doc.settings["face_index"] = doc.face_index
        doc.settings["resolution"] = doc.crop.resolution
        doc.project_path = path
        return doc

    def to_project(self) -> Project:
        """A snapshot (copies) that can be saved from another thread."""
        return Project(image=self.photo, mask=self.mask.data.copy(),
                       landmarks=None if self.landmarks is None else np.array(self.landmarks),
                       edits=_deep_copy_json(self.edits), settings=_deep_copy_json(self.settings),
                       source=self.source, keyframes=copy.deepcopy(self.keyframes))

    # --- geometry -----------------------------------------------------------------------------
    @property
    def crop_image(self) -> np.ndarray:
        return self.crop.image

    @property
    def resolution(self) -> int:
        return self.crop.resolution

    def crop_to_photo_matrix(self) -> np.ndarray:
        """2 x 3 affine from crop pixel coordinates to photo pixel coordinates."""
        return self.crop.inverse

    def paste(self, crop_result: np.ndarray) -> np.ndarray:
        """A model's crop-sized output pasted into (a copy of) the photo."""
        return self.paster()(crop_result)

    def recrop(self, mode: str, resolution: int | None = None) -> bool:
        """Change the crop (mode or resolution), carrying the mask over through photo coordinates, as one
        undo step. False when nothing changed."""
        from faceeditor.core.face_align import mask_to_crop, mask_to_photo

        decision = _decide(self.photo, self.landmarks, mode)
        chosen = decision.mode
        res = int(resolution or self.crop.resolution)
        if chosen == self.mode and res == self.crop.resolution:
            return False
        photo_mask = mask_to_photo(self.mask.data, self.crop)
        new_crop = make_crop(self.photo, self.landmarks, chosen, res)
        new_mask = mask_to_crop(photo_mask, new_crop, border="constant")
        old = self._geometry()
        new = _Geometry(new_crop, chosen, MaskLayer(new_mask, history=self.history), decision.reason,
                        self.landmarks, self.face_index, bool(self.settings.get("face_missing")))
        self._set_geometry(new)
        self.history.push(RecropCommand(self, old, new, f"Re-crop ({'aligned face' if chosen == 'face' else 'whole'})"))
        return True

    # --- which face ---------------------------------------------------------------------------
    def offered_faces(self, faint: bool = False) -> list[int]:
        """The faces the picker offers (crop_policy.offered_faces): sure ones, all with ``faint``, and
        always the one edited now."""
        return offered_faces(self.faces, self.face_index, faint=faint)

    def choose_face(self, index: int) -> bool:
        """Edit detected face ``index`` (the --face numbering) in its aligned crop, as one undo step: the
        landmarks, the crop and the mask change together. The mask is carried over through photo
        coordinates like a re-crop's; where it is background (the new face usually lies outside the old
        crop) the new face's landmark parts fill it, so the new face starts with a mask as an opened photo
        does. False when ``index`` is the face edited now in its aligned crop."""
        from faceeditor.core.face_align import mask_to_crop, mask_to_photo

        if not 0 <= index < len(self.faces):
            raise DocumentError(f"face {index}: {len(self.faces)} face{'s' if len(self.faces) != 1 else ''} found")
        if index == self.face_index and self.mode == "face":
            return False
        landmarks = np.array(self.faces[index].landmarks, np.float64)
        decision = _decide(self.photo, landmarks, "face")
        new_crop = make_crop(self.photo, landmarks, decision.mode, self.crop.resolution)
        carried = mask_to_crop(mask_to_photo(self.mask.data, self.crop), new_crop, border="constant")
        new_mask = np.where(carried != 0, carried, initial_mask(new_crop)).astype(np.uint8)
        old = self._geometry()
        new = _Geometry(new_crop, decision.mode, MaskLayer(new_mask, history=self.history),
                        f"face {index} of {len(self.faces)} is edited in an aligned crop, as chosen",
                        landmarks, index, False)
        self._set_geometry(new)
        self.history.push(RecropCommand(self, old, new, f"Choose face {index}"))
        return True

    def _geometry(self) -> _Geometry:
        return _Geometry(self.crop, self.mode, self.mask, self.crop_reason, self.landmarks, self.face_index,
                         bool(self.settings.get("face_missing")))

    def _set_geometry(self, geometry: _Geometry) -> None:
        self.crop, self.mode = geometry.crop, geometry.mode
        self._use_mask(geometry.mask)
        self.crop_reason = geometry.reason
        self.landmarks, self.face_index = geometry.landmarks, geometry.face_index
        self.settings["face_index"] = geometry.face_index
        self.settings["face_missing"] = geometry.face_missing
        self.settings["crop_mode"] = geometry.mode
        self.settings["crop_reason"] = geometry.reason
        self.settings["resolution"] = geometry.crop.resolution
        self.modified = True
        self.geometry_changed.emit()

    def paster(self):
        """A function pasting a crop-sized output into (a copy of) the photo as the document is cropped
        now; safe to call from a worker thread while the document changes."""
        return self.placement().paste

    def placement(self) -> Placement:
        """Where the crop lies in the photo as the document is cropped now (a snapshot, safe to hand to a
        worker thread or an engine request while the document changes)."""
        return Placement(self.photo, self.crop, self.mode)

    def photo_scale(self) -> float:
        """Photo pixels per crop pixel."""
        return 1.0 / self.crop.scale if self.crop.scale > 0 else math.nan


def _deep_copy_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _deep_copy_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_deep_copy_json(v) for v in obj]
    return obj


@dataclass
class Opened:
    """What `open_path` made, and anything the user should be told about it."""

    document: Document
    notes: list[str] = field(default_factory=list)


def faces_from_settings(settings: dict[str, Any]) -> tuple[tuple[Face, ...], int | None]:
    """The detected faces and the chosen face's index a project's settings keep (from an untrusted file:
    none when the list is malformed; no index when it is not one of them)."""
    from faceeditor.core.face_geometry import LandmarkError, as_landmarks

    raw, index = settings.get("faces"), settings.get("face_index")
    faces: list[Face] = []
    if isinstance(raw, list) and len(raw) <= 256:
        try:
            for item in raw:
                box = tuple(float(v) for v in item["box"])
                score = float("nan") if item.get("score") is None else float(item["score"])
                if len(box) != 4 or not all(math.isfinite(v) for v in box):
                    raise ValueError("box")
                faces.append(Face(box=box, score=score, landmarks=as_landmarks(item["landmarks"])))
        except (TypeError, KeyError, ValueError, AttributeError, LandmarkError):
            faces = []
    ok = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(faces)
    return tuple(faces), index if ok else None


def detect_landmarks(photo: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """68 landmarks of the main face in photo pixels (None and a note when there is none); the face
    crop_policy.find_face takes."""
    search = find_face(photo)
    if search.landmarks is None:
        return None, f"{search.missing}; the whole image is edited"
    return search.landmarks, search.notes[0] if search.notes else None


def open_path(path: str | Path, *, resolution: int = DEFAULT_RESOLUTION, mode: str = "auto") -> Opened:
    """Open a project (.fep) or an image file. Raises ProjectError or image_io.ImageLoadError."""
    from faceeditor.core.image_io import load_image
    from faceeditor.core.project import EXTENSION, load_project

    path = Path(path)
    if path.suffix.lower() == EXTENSION:
        project = load_project(path)
        return Opened(Document.from_project(project, path))
    photo = load_image(path)
    try:
        search, decision = choose_crop(photo, "auto" if mode == "whole" else mode)
    except CropPolicyError as exc:
        raise DocumentError(str(exc)) from None
    if mode == "whole":     # the landmarks still outline the first mask
        decision = decide_crop(photo, search.landmarks, "whole")
    doc = Document.from_photo(photo, search.landmarks, resolution=resolution, source=path.name,
                              decision=decision, faces=search.faces, face_index=search.index)
    return Opened(doc, [decision.reason, *search.notes])
