"""Timelines made for the user: SCGAN's presets (Left2Right, NoSmile2Smile) on a document's landmarks track,
and a document made from a bundled synthesis sample (its mask and landmarks), which the clip benchmarks,
the tests and the README's clip use.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from faceeditor.core.document import Document
from faceeditor.core.face_geometry import as_landmarks, load_landmarks_scaled
from faceeditor.core.interpolation import left2right_keyframes, nosmile2smile_keyframes
from faceeditor.core.keyframes import KeyframeFile
from faceeditor.core.mask_io import load_any_mask
from faceeditor.core.palette import PALETTE
from faceeditor.core.samples import sample_attributes, synthesis_sample_files
from faceeditor.core.timeline import with_key, with_preset

PRESETS = {"left2right": (left2right_keyframes, 48), "nosmile2smile": (nosmile2smile_keyframes, 32)}


def preset_timeline(preset: str, landmarks: np.ndarray, *, size: int, fps: float = 25.0,
                    frames: int | None = None, seed: int = 0,
                    base: KeyframeFile | None = None, attributes: dict[str, float] | None = None) -> KeyframeFile:
    """``base`` (default: an empty synthesis timeline) with the preset's landmarks track (``landmarks``: the
    frontal face, crop pixels of a ``size`` crop) and a seed key at 0 when it has none. ``attributes``
    (the face's own, e.g. a sample's) ride on the first keyframe, as `faceeditor-cli interpolate` does."""
    make, default_frames = PRESETS[preset]
    keys = make(size=size, frames=frames or default_frames, landmarks=as_landmarks(landmarks), z=None,
                attributes=attributes)
    timeline = dataclasses.replace(base or KeyframeFile(), fps=float(fps))
    timeline = with_preset(timeline, keys)
    if not any(k.seed is not None for k in timeline.keyframes):
        timeline = with_key(timeline, "seed", 0.0, seed)
    return timeline


def sample_document(name: str, resolution: int = 128) -> tuple[Document, dict[str, float]]:
    """A document whose crop is a bundled synthesis sample: its mask (as the painted mask), its
    landmarks, and as the photo the mask in the class palette; with the sample's recorded attributes."""
    mask_file, lm_file = synthesis_sample_files(name)
    mask = load_any_mask(mask_file)
    side = mask.shape[0]
    if side != resolution:
        import cv2

        mask = cv2.resize(mask, (resolution, resolution), interpolation=cv2.INTER_NEAREST)
    landmarks = load_landmarks_scaled(lm_file, resolution, side)
    photo = np.asarray(PALETTE, np.uint8)[mask]
    doc = Document.from_photo(photo, landmarks, mode="whole", resolution=resolution, source=name)
    doc.mask.replace(mask, "Sample mask")
    doc.history.clear()
    return doc, sample_attributes(lm_file)
