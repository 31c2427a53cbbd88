"""The keyframes file format (faceeditor.core.keyframes): reader, writer, timing, and projects storing it."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from faceeditor.core.keyframes import (
    MAX_FILE_BYTES,
    KeyframeError,
    KeyframeFile,
    KeyframeSpec,
    decode_keyframes,
    keyframe_frame_numbers,
    parse_keyframes,
    read_keyframes,
    write_keyframes,
)
from faceeditor.core.project import KEYFRAMES_MEMBER, Project, ProjectError, load_project, save_project

POINTS = tuple((float(i), float(2 * i)) for i in range(68))
CLIP = KeyframeFile([
    KeyframeSpec(time=0.0, mask="a_mask.png", landmarks="a_landmarks.json", seed=7, attributes={"Male": 1.0}),
    KeyframeSpec(time=2.0, landmarks=POINTS, seed=9),
    KeyframeSpec(time=1.0),
], fps=12.0, curve="linear")


def test_write_then_read_gives_the_same_keyframes(tmp_path):
    path = write_keyframes(tmp_path / "clip.json", CLIP)
    assert read_keyframes(path) == CLIP
    data = json.loads(path.read_text())
    assert data["keyframes"][0] == {"time": 0.0, "mask": "a_mask.png", "landmarks": "a_landmarks.json",
                                    "seed": 7, "attributes": {"Male": 1.0}}
    assert data["keyframes"][2] == {"time": 1.0} and len(data["keyframes"][1]["landmarks"]) == 68


def test_defaults_of_a_minimal_file():
    clip = parse_keyframes({"keyframes": [{"time": 0}]})
    assert clip == KeyframeFile([KeyframeSpec(0.0)], 25.0, "catmull_rom")


def test_frame_numbers_sort_by_time_and_stretch():
    assert keyframe_frame_numbers(CLIP) == ([0, 2, 1], [0, 12, 24])
    assert keyframe_frame_numbers(CLIP, frames=5) == ([0, 2, 1], [0, 2, 4])
    with pytest.raises(KeyframeError, match="keyframe 0 and keyframe 1 fall on the same frame"):
        keyframe_frame_numbers(KeyframeFile([KeyframeSpec(0.0), KeyframeSpec(0.01)]))
    with pytest.raises(KeyframeError, match="at least 2 keyframes"):
        keyframe_frame_numbers(KeyframeFile([KeyframeSpec(0.0)]))
    with pytest.raises(KeyframeError, match="must not all be equal"):
        keyframe_frame_numbers(KeyframeFile([KeyframeSpec(1.0), KeyframeSpec(1.0)]))


@pytest.mark.parametrize("data, message", [
    ([], "expected an object with a \"keyframes\" list"),
    ({"keyframes": {}}, "\"keyframes\" list"),
    ({"keyframes": [], "speed": 1}, "unknown field 'speed'"),
    ({"keyframes": [], "fps": 0}, "\"fps\" must be a number in (0, 240]"),
    ({"keyframes": [], "fps": True}, "\"fps\""),
    ({"keyframes": [], "curve": "bezier"}, "unknown \"curve\" 'bezier'"),
    ({"keyframes": [3]}, "keyframe 0: expected an object, got int"),
    ({"keyframes": [{"time": 0, "zoom": 2}]}, "keyframe 0: unknown field 'zoom'"),
    ({"keyframes": [{}]}, "\"time\" (seconds) must be a non-negative number, got None"),
    ({"keyframes": [{"time": -1}]}, "non-negative number"),
    ({"keyframes": [{"time": "1s"}]}, "non-negative number, got '1s'"),
    ({"keyframes": [{"time": 0, "mask": 5}]}, "\"mask\" must be a file path"),
    ({"keyframes": [{"time": 0, "mask": ""}]}, "\"mask\" must be a file path"),
    ({"keyframes": [{"time": 0, "landmarks": [[0, 0]] * 67}]}, "68 [x, y] points"),
    ({"keyframes": [{"time": 0, "landmarks": [[0, "a"]] * 68}]}, "68 [x, y] points"),
    ({"keyframes": [{"time": 0, "seed": -2}]}, "seed must be a non-negative integer"),
    ({"keyframes": [{"time": 0, "seed": 1.5}]}, "seed must be a non-negative integer"),
    ({"keyframes": [{"time": 0, "attributes": {"Male": "yes"}}]}, "\"attributes\" must map names to finite"),
    ({"keyframes": [{"time": 0, "attributes": [1]}]}, "\"attributes\" must map"),
])
def test_bad_keyframes_are_one_line_errors(data, message):
    with pytest.raises(KeyframeError) as info:
        parse_keyframes(data, "clip")
    assert message in str(info.value) and "\n" not in str(info.value) and str(info.value).startswith("clip")


def test_hostile_files(tmp_path):
    path = tmp_path / "clip.json"
    for raw, message in ((b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
                         (b"\xff\xfe", "not UTF-8"), (b"{", "not valid JSON"),
                         (b'{"keyframes": [{"time": NaN}]}', "non-negative number"),
                         (b" " * (MAX_FILE_BYTES + 1), "larger than")):
        path.write_bytes(raw)
        with pytest.raises(KeyframeError, match=message):
            read_keyframes(path)
    with pytest.raises(KeyframeError, match="no such file"):
        read_keyframes(tmp_path / "absent.json")
    with pytest.raises(KeyframeError, match="is a folder"):
        read_keyframes(tmp_path)
    long = b'"' + b"x" * 100 + b'"'
    with pytest.raises(KeyframeError) as info:
        decode_keyframes(b'{"keyframes": [{"time": ' + long + b"}]}", "k")
    assert len(str(info.value)) < 200


def test_the_writer_refuses_what_could_not_be_read_back(tmp_path):
    with pytest.raises(KeyframeError, match="non-negative number"):
        write_keyframes(tmp_path / "x.json", KeyframeFile([KeyframeSpec(time=float("nan"))]))
    assert not (tmp_path / "x.json").exists()


# --- projects store keyframes ------------------------------------------------------------------------------

def _project(**kw) -> Project:
    return Project(image=np.zeros((8, 8, 3), np.uint8), **kw)


def test_projects_round_trip_their_keyframes(tmp_path):
    path = save_project(tmp_path / "p.fep", _project(keyframes=list(CLIP.keyframes)))
    assert load_project(path).keyframes.keyframes == CLIP.keyframes
    path = save_project(tmp_path / "empty.fep", _project())
    assert KEYFRAMES_MEMBER in zipfile.ZipFile(path).namelist() and load_project(path).keyframes == KeyframeFile()


def test_old_projects_without_keyframes_load_with_none(tmp_path):
    path = save_project(tmp_path / "p.fep", _project(keyframes=list(CLIP.keyframes)))
    old = tmp_path / "old.fep"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            if info.filename != KEYFRAMES_MEMBER:
                dst.writestr(info, src.read(info))
    assert load_project(old).keyframes == KeyframeFile()


@pytest.mark.parametrize("raw, message", [
    (b"{", "keyframes.json: not valid JSON"),
    (b'{"keyframes": [{"time": -3}]}', "keyframes.json, keyframe 0: \"time\""),
    (b"[" * 100_000, "nested too deeply"),
])
def test_a_broken_keyframes_member_is_a_project_error(tmp_path, raw, message):
    path = save_project(tmp_path / "p.fep", _project())
    bad = tmp_path / "bad.fep"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, raw if info.filename == KEYFRAMES_MEMBER else src.read(info))
    with pytest.raises(ProjectError, match=message.replace("[", r"\[").replace("(", r"\(")) as info:
        load_project(bad)
    assert "\n" not in str(info.value)


def test_an_oversized_keyframes_member_is_refused_before_reading(tmp_path):
    path = save_project(tmp_path / "p.fep", _project())
    bad = tmp_path / "big.fep"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = b" " * (17 << 20) if info.filename == KEYFRAMES_MEMBER else src.read(info)
            dst.writestr(info.filename, data)
    with pytest.raises(ProjectError, match="keyframes.json claims .* more than its limit"):
        load_project(bad)


def test_documents_carry_keyframes_through_a_save(tmp_path):
    from faceeditor.core.document import Document

    doc = Document.from_photo(np.zeros((32, 32, 3), np.uint8), resolution=32)
    doc.keyframes = CLIP
    path = save_project(tmp_path / "d.fep", doc.to_project())
    assert Document.from_project(load_project(path), path).keyframes == CLIP
