"""The crop policy (faceeditor.core.crop_policy) is one decision for the app and every CLI command."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceeditor.core.crop_policy import (
    AUTO_WHOLE_MAX_SIDE,
    FRAMED_MAX_SHIFT,
    FRAMED_MAX_ZOOM,
    MIN_FACE_PX,
    CropDecision,
    CropPolicyError,
    choose_crop,
    decide_crop,
    face_width,
    framing,
)
from faceeditor.core.document import crop_corners, open_path
from faceeditor.core.face_align import align_face
from faceeditor.core.image_io import load_image, save_image
from faceeditor.core.samples import bundled_samples

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def astronaut():
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut_landmarks(astronaut):
    from faceeditor.core.face_detect import detect_faces

    return detect_faces(astronaut, upsample=1)[0].landmarks


@pytest.fixture
def astronaut_png(astronaut, tmp_path) -> Path:
    path = tmp_path / "astronaut.png"
    save_image(path, astronaut)
    return path


# --- the rule ------------------------------------------------------------------------------------------

def test_an_aligned_crop_measures_as_framed_and_is_taken_whole(astronaut, astronaut_landmarks):
    crop = align_face(astronaut, astronaut_landmarks, 256)
    measured = framing(crop.image.shape, crop.landmarks)
    assert measured.zoom == pytest.approx(1.0, abs=1e-6) and measured.shift < 1e-6
    assert abs(measured.rotation) < 1e-6 and measured.framed
    decision = decide_crop(crop.image, crop.landmarks)
    assert decision == CropDecision("whole", decision.reason, measured)
    assert decision.reason == "the picture already frames the face like an aligned crop; it is edited whole"


def test_the_astronaut_is_a_photo_whose_face_is_aligned(astronaut, astronaut_landmarks):
    decision = decide_crop(astronaut, astronaut_landmarks)
    assert decision.mode == "face" and not decision.face_missing
    assert decision.framing.zoom > FRAMED_MAX_ZOOM and decision.framing.shift > FRAMED_MAX_SHIFT
    assert "aligned crop" in decision.reason and "2.7x" in decision.reason


def test_framed_but_not_square_or_too_large_is_aligned(astronaut, astronaut_landmarks):
    crop = align_face(astronaut, astronaut_landmarks, 256)
    wide = np.zeros((256, 300, 3), np.uint8)
    decision = decide_crop(wide, crop.landmarks + [22.0, 0.0])
    assert decision.framing.framed and decision.mode == "face" and "not square" in decision.reason
    big = AUTO_WHOLE_MAX_SIDE * 2
    decision = decide_crop(np.zeros((big, big, 3), np.uint8), (crop.landmarks + 0.5) * (big / 256) - 0.5)
    assert decision.framing.framed and decision.mode == "face" and f"larger than {AUTO_WHOLE_MAX_SIDE}" in decision.reason


def test_absent_or_too_small_faces_give_the_whole_image_with_the_reason(astronaut_landmarks):
    photo = np.zeros((600, 800, 3), np.uint8)
    assert decide_crop(photo, None) == CropDecision("whole", "no face found; the whole image is edited",
                                                    face_missing=True)
    small = astronaut_landmarks * 0.25
    assert face_width(small) < MIN_FACE_PX
    decision = decide_crop(photo, small)
    assert decision.mode == "whole" and decision.face_missing
    assert decision.reason.startswith(f"the face is too small ({face_width(small):.0f} px wide")
    assert decide_crop(photo, None, missing="face detection is unavailable (x)").reason == \
        "face detection is unavailable (x); the whole image is edited"


def test_explicit_modes_pass_through(astronaut, astronaut_landmarks):
    assert decide_crop(astronaut, astronaut_landmarks, "whole").mode == "whole"
    assert decide_crop(astronaut, astronaut_landmarks * 0.25, "face").mode == "face"
    assert decide_crop(astronaut, None, "face") == CropDecision("whole", "no face found; the whole image is edited",
                                                               face_missing=True)
    with pytest.raises(CropPolicyError, match="crop mode must be 'auto', 'face' or 'whole', got 'fit'"):
        decide_crop(astronaut, None, "fit")
    with pytest.raises(CropPolicyError, match="68 finite"):
        decide_crop(astronaut, np.zeros((5, 2)))


def test_choose_crop_finds_the_face_and_checks_the_index(astronaut):
    search, decision = choose_crop(astronaut)
    assert search.landmarks is not None and search.index == 0 and decision.mode == "face"
    with pytest.raises(CropPolicyError, match=f"face 9: {search.faces_found} faces found"):
        choose_crop(astronaut, index=9)
    search, decision = choose_crop(astronaut, "whole")
    assert search.landmarks is None and decision.mode == "whole"


# --- the app and every command take the same decision ---------------------------------------------------

def test_astronaut_opens_aligned_on_her_face(astronaut_png, astronaut_landmarks):
    opened = open_path(astronaut_png)
    doc = opened.document
    assert doc.mode == "face" and doc.crop_reason == opened.notes[0]
    np.testing.assert_allclose(doc.crop.matrix, align_face(load_image(astronaut_png), astronaut_landmarks,
                                                            doc.resolution).matrix)


def test_a_photo_starts_with_the_whole_portrait_its_landmarks_give(astronaut_png):
    """The first mask (and the mask panel's From landmarks) is a head, not a floating face, so synthesis
    from it draws a portrait; landmarks that describe no face give an all-background mask instead."""
    from dataclasses import replace

    from faceeditor.core.document import initial_mask
    from faceeditor.core.head_layout import portrait_layout
    from faceeditor.core.labels import CLASS_INDEX

    doc = open_path(astronaut_png).document
    np.testing.assert_array_equal(doc.mask.data, portrait_layout(doc.crop.landmarks, doc.resolution))
    assert {CLASS_INDEX[n] for n in ("hair", "neck", "skin", "nose")} <= set(np.unique(doc.mask.data).tolist())
    degenerate = replace(doc.crop, landmarks=np.full((68, 2), 5.0))
    assert not initial_mask(degenerate).any()


def test_bundled_samples_still_open_whole():
    samples = bundled_samples()
    assert len(samples) == 3
    for sample in samples:
        opened = open_path(sample)
        assert opened.document.mode == "whole", sample.name
        assert opened.document.landmarks is not None, sample.name
        assert opened.notes[0] == "the picture already frames the face like an aligned crop; it is edited whole"


def test_a_picture_without_a_face_opens_whole_with_the_reason(tmp_path):
    path = tmp_path / "wall.png"
    save_image(path, np.full((120, 200, 3), 180, np.uint8))
    opened = open_path(path)
    assert opened.document.mode == "whole" and opened.notes == ["no face found; the whole image is edited"]


@pytest.fixture(scope="module")
def all_pack(tmp_path_factory):
    from tests.helpers.packs import make_test_pack

    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "all", tasks=("parse", "classify_attributes", "edit_attributes"), resolution=32)
    return root


def _cli_json(capsys, *argv) -> dict:
    from faceeditor.cli import main

    code = main([*map(str, argv)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out[: out.out.rindex("}") + 1])


def test_parse_classify_and_edit_crop_the_astronaut_like_the_app(astronaut_png, all_pack, tmp_path, capsys):
    doc = open_path(astronaut_png).document
    expected = crop_corners(doc.crop)
    common = ["--pack", "all", "--dir", all_pack]
    parsed = _cli_json(capsys, "parse", astronaut_png, "-o", tmp_path / "m.png", *common)
    read = _cli_json(capsys, "classify", astronaut_png, "--json", *common)
    edited = _cli_json(capsys, "edit", astronaut_png, "--set", "Young=1", "-o", tmp_path / "e.png", "--json",
                       *common)
    for summary in (parsed, read, edited):
        assert summary["mode"] == "face" and summary["crop"]["reason"] == doc.crop_reason
        np.testing.assert_allclose(summary["crop"]["corners"], expected, atol=0.01)


def test_the_commands_take_a_sample_whole_like_the_app(all_pack, tmp_path, capsys):
    sample = bundled_samples()[0]
    common = ["--pack", "all", "--dir", all_pack]
    for argv in (["parse", sample, "-o", tmp_path / "m.png"], ["classify", sample, "--json"],
                 ["edit", sample, "--set", "Young=1", "-o", tmp_path / "e.png", "--json"]):
        summary = _cli_json(capsys, *argv, *common)
        assert summary["mode"] == "whole" and summary["crop"]["corners"][0] == [-0.5, -0.5], argv[0]


def test_a_project_keeps_its_crop_and_the_reason(astronaut_png, tmp_path):
    from faceeditor.core.project import load_project, save_project

    doc = open_path(astronaut_png).document
    path = save_project(tmp_path / "a.fep", doc.to_project())
    again = open_path(path).document
    assert again.mode == "face" and again.crop_reason == doc.crop_reason
    np.testing.assert_allclose(again.crop.matrix, doc.crop.matrix)
    again.recrop("whole")
    assert again.crop_reason == "the whole image is edited, as asked"
    assert load_project(save_project(tmp_path / "b.fep", again.to_project())).settings["crop_reason"] == \
        again.crop_reason


# --- several faces: the picker's offer and the chosen face ----------------------------------------------

def test_the_astronauts_mission_patch_is_found_but_not_offered(astronaut_png):
    """The astronaut holds two detections: her face (score > 1) and her mission patch (about 0.12).
    Both are carried in the opened document (no second detection for the picker); only her face is
    offered by default, and the --face numbering is face_detect's order."""
    from faceeditor.core.crop_policy import OFFER_MIN_SCORE, find_face

    doc = open_path(astronaut_png).document
    scores = [face.score for face in doc.faces]
    assert len(scores) == 2 and scores[0] > 1.0 and scores[1] < OFFER_MIN_SCORE
    assert doc.face_index == 0 and doc.offered_faces() == [0] and doc.offered_faces(faint=True) == [0, 1]
    assert [f.box for f in find_face(load_image(astronaut_png)).faces] == [f.box for f in doc.faces]
    assert open_path(astronaut_png).notes[1] == "1 face found and 1 faint detection; editing face 0 (the largest)"


def test_offered_faces_keeps_the_current_face_even_when_faint():
    from faceeditor.core.crop_policy import offered_faces
    from faceeditor.core.face_detect import Face

    lm = np.zeros((68, 2))
    faces = [Face((0, 0, 9, 9), 1.2, lm), Face((0, 0, 9, 9), 0.5, lm), Face((0, 0, 9, 9), 0.1, lm),
             Face((0, 0, 9, 9), float("nan"), lm)]
    assert offered_faces(faces) == [0, 1, 3]
    assert offered_faces(faces, 2) == [0, 1, 2, 3]
    assert offered_faces(faces, faint=True) == [0, 1, 2, 3]


def test_choosing_a_face_is_one_undo_step_and_a_project_keeps_it(astronaut, tmp_path):
    from faceeditor.core.project import save_project

    path = tmp_path / "two.png"
    save_image(path, np.concatenate([astronaut, astronaut], axis=1))
    doc = open_path(path).document
    assert doc.offered_faces() == [0, 1]
    first = doc.crop.matrix.copy()
    assert doc.choose_face(1) and not doc.choose_face(1)
    assert doc.face_index == 1 and doc.history.undo_name == "Choose face 1"
    np.testing.assert_allclose(doc.landmarks, doc.faces[1].landmarks)
    assert doc.mask.data.any()                       # the new face starts with its landmark parts
    second = doc.crop.matrix.copy()
    doc.history.undo()
    assert doc.face_index == 0
    np.testing.assert_allclose(doc.crop.matrix, first)
    doc.history.redo()
    again = open_path(save_project(tmp_path / "two.fep", doc.to_project())).document
    assert again.face_index == 1 and len(again.faces) == 3
    np.testing.assert_allclose(again.crop.matrix, second)
    assert again.choose_face(0) and again.face_index == 0       # the reopened project still offers its faces


def test_malformed_faces_in_a_project_are_ignored():
    from faceeditor.core.document import faces_from_settings

    assert faces_from_settings({"faces": "x", "face_index": 0}) == ((), None)
    assert faces_from_settings({"faces": [{"box": [0, 0, 1]}], "face_index": 0}) == ((), None)
    good = {"box": [0, 0, 9, 9], "score": None, "landmarks": [[1, 2]] * 68}
    faces, index = faces_from_settings({"faces": [good], "face_index": True})
    assert len(faces) == 1 and np.isnan(faces[0].score) and index is None
    assert faces_from_settings({"faces": [good], "face_index": 0})[1] == 0
