"""dlib face detection, 68 landmarks and identity descriptors on scikit-image's astronaut photo."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceeditor.core import face_detect
from faceeditor.core.face_detect import (
    Face,
    FaceModelsUnavailable,
    NoFaceError,
    descriptor_distance,
    detect_face,
    detect_faces,
    face_descriptor,
    landmarks_in_box,
)


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_one_face_with_plausible_landmarks(astronaut_faces):
    assert len(astronaut_faces) == 1
    face = astronaut_faces[0]
    left, top, right, bottom = face.box
    # Eileen Collins' face sits in the upper middle of the 512 x 512 photo.
    assert 150 < left < right < 300 and 50 < top < bottom < 200
    assert 60 < face.width < 130 and face.score > 0.5
    lm = face.landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float64
    margin = 0.15 * face.width  # the jaw line may reach a little past dlib's box
    assert np.all(lm[:, 0] > left - margin) and np.all(lm[:, 0] < right + margin)
    assert np.all(lm[:, 1] > top - margin) and np.all(lm[:, 1] < bottom + margin)
    eye_l, eye_r = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    mouth, nose_tip, chin = lm[48:68].mean(axis=0), lm[30], lm[8]
    assert eye_l[0] < nose_tip[0] < eye_r[0]                   # image-left eye is iBUG 36-41
    assert max(eye_l[1], eye_r[1]) < nose_tip[1] < mouth[1] < chin[1]
    assert abs(eye_l[1] - eye_r[1]) < 0.1 * face.width          # a nearly upright face
    assert np.all(lm[17:22, 1] < eye_l[1]) and np.all(lm[22:27, 1] < eye_r[1])  # brows above eyes
    assert lm[48, 0] < lm[54, 0]                               # mouth corners left to right


def test_default_upsampling_puts_the_confident_face_first(astronaut, astronaut_face):
    faces = detect_faces(astronaut)  # upsample=1 also finds a weak false positive on the suit
    assert faces[0].score >= face_detect.BORDERLINE_SCORE
    assert iou(faces[0].box, astronaut_face.box) > 0.7
    assert all(f.score < face_detect.BORDERLINE_SCORE for f in faces[1:])
    scores_ok = [f for f in faces if f.score >= face_detect.BORDERLINE_SCORE]
    assert len(scores_ok) == 1
    assert len(detect_faces(astronaut, min_score=face_detect.BORDERLINE_SCORE)) == 1


def test_big_photos_are_shrunk_for_detection_only(astronaut, astronaut_face):
    faces = detect_faces(astronaut, upsample=1, max_side=256, min_score=0.3)
    assert len(faces) == 1
    # Boxes come back in full-resolution pixels, landmarks are fitted at full resolution.
    assert iou(faces[0].box, astronaut_face.box) > 0.7
    assert np.abs(faces[0].landmarks - astronaut_face.landmarks).mean() < 4.0


def test_landmarks_in_a_given_box_match_detection(astronaut, astronaut_face):
    refit = landmarks_in_box(astronaut, astronaut_face.box)
    assert np.isnan(refit.score)
    assert np.array_equal(refit.landmarks, astronaut_face.landmarks)
    with pytest.raises(ValueError, match="right > left"):
        landmarks_in_box(astronaut, (10, 10, 5, 20))


def test_no_face_in_a_blank_image():
    blank = np.full((200, 300, 3), 127, np.uint8)
    assert detect_faces(blank) == []
    with pytest.raises(NoFaceError, match="no face found in the 300x200 image"):
        detect_face(blank)


def test_bad_inputs_are_refused(astronaut):
    with pytest.raises(ValueError, match="uint8 RGB"):
        detect_faces(astronaut.astype(np.float32))
    with pytest.raises(ValueError, match="uint8 RGB"):
        detect_faces(astronaut[..., 0])
    with pytest.raises(ValueError, match="upsample"):
        detect_faces(astronaut, upsample=7)


def test_identity_descriptor_survives_rescaling(astronaut, astronaut_face):
    desc = face_descriptor(astronaut, astronaut_face)
    assert desc.shape == (128,) and np.isfinite(desc).all() and np.linalg.norm(desc) > 0.1
    assert descriptor_distance(desc, desc) == 0.0
    small = cv2.resize(astronaut, (400, 400), interpolation=cv2.INTER_AREA)
    scaled = Face(box=tuple(v * 400 / 512 for v in astronaut_face.box), score=astronaut_face.score,
                  landmarks=astronaut_face.landmarks * 400 / 512)
    other = face_descriptor(small, scaled)
    # Same person at another scale: well under dlib's 0.6 "same person" threshold.
    assert descriptor_distance(desc, other) < 0.35
    flipped_colours = face_descriptor(255 - astronaut, astronaut_face)
    assert descriptor_distance(desc, flipped_colours) > descriptor_distance(desc, other)


def test_to_dict_is_json_ready(astronaut_face):
    d = astronaut_face.to_dict()
    assert len(d["box"]) == 4 and len(d["landmarks"]) == 68 and isinstance(d["score"], float)


def test_missing_dlib_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # "import dlib" now raises ImportError
    monkeypatch.setattr(face_detect, "_cache", {})
    with pytest.raises(FaceModelsUnavailable, match="pip install dlib-bin"):
        detect_faces(np.zeros((32, 32, 3), np.uint8))


def test_modules_import_without_dlib():
    code = ("import sys; sys.modules['dlib'] = None; "
            "import faceeditor.core.face_detect, faceeditor.core.face_align, faceeditor.commands.detect")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.returncode == 0, done.stderr


def test_missing_model_file_gives_a_clear_error():
    with pytest.raises(FaceModelsUnavailable, match="pip install face-recognition-models"):
        face_detect.model_path("no_such_model.dat")
    assert face_detect.model_path(face_detect.SHAPE_PREDICTOR_FILE).is_file()
