"""Project files (.fep): round trip, atomic writes, hostile and damaged files; autosave and recovery."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from faceeditor.core.autosave import AutosaveSession, discard_orphan, find_orphans
from faceeditor.core.document import Document, open_path, whole_image_crop
from faceeditor.core.project import (
    IMAGE_MEMBER,
    MASK_MEMBER,
    PROJECT_MEMBER,
    Project,
    ProjectError,
    load_project,
    project_bytes,
    save_project,
    write_members,
)

ROOT = Path(__file__).resolve().parents[2]


def _project(seed=0, size=(48, 64)) -> Project:
    rng = np.random.default_rng(seed)
    return Project(
        image=rng.integers(0, 256, (*size, 3)).astype(np.uint8),
        mask=rng.integers(0, 19, (32, 32)).astype(np.uint8),
        landmarks=rng.uniform(0, 40, (68, 2)),
        edits={"attributes": {"Bangs": 0.75, "Young": -1.25}, "synthesis": {"seed": 7, "attrs": {"Male": 1.0}}},
        settings={"crop_mode": "whole", "resolution": 32, "view": {"overlay_opacity": 0.4}},
        source="photo.jpg",
    )


def _assert_same(a: Project, b: Project) -> None:
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    assert a.edits == b.edits and a.settings == b.settings and a.source == b.source


def test_round_trip_is_identical(tmp_path):
    project = _project()
    path = save_project(tmp_path / "work.fep", project)
    loaded = load_project(path)
    _assert_same(project, loaded)
    assert loaded.saved_at > 0
    names = zipfile.ZipFile(path).namelist()
    assert names[0] == PROJECT_MEMBER and {IMAGE_MEMBER, MASK_MEMBER} <= set(names)
    assert not [p for p in tmp_path.iterdir() if p.name != "work.fep"], "no temporary files left behind"


def test_round_trip_without_mask_or_landmarks(tmp_path):
    project = _project()
    project.mask = None
    project.landmarks = None
    loaded = load_project(save_project(tmp_path / "p.fep", project, fast=True))
    assert loaded.mask is None and loaded.landmarks is None


def test_failed_save_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    path = save_project(tmp_path / "work.fep", _project(0))
    before = path.read_bytes()
    import faceeditor.core.project as project_mod

    def explode(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_mod.os, "fsync", explode)
    with pytest.raises(ProjectError, match="No space left"):
        save_project(path, _project(1))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["work.fep"]


def test_unserialisable_edits_are_refused_before_writing(tmp_path):
    project = _project()
    project.edits = {"bad": object()}
    with pytest.raises(ProjectError, match="edits is not JSON"):
        save_project(tmp_path / "p.fep", project)
    assert not list(tmp_path.iterdir())


def _members(**override) -> dict[str, bytes]:
    members = project_bytes(_project(), fast=True)
    for k, v in override.items():
        name = k.replace("_", ".", 1) if "." not in k else k
        if v is None:
            members.pop(name, None)
        else:
            members[name] = v
    return members


def _zip(path: Path, members: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is not a zip at all" * 10, "not a readable zip"),
    (b"PK\x03\x04" + b"\x00" * 60, "not a readable zip"),
])
def test_garbage_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.fep"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match=message):
        load_project(path)


def test_truncated_project_is_reported_as_damaged(tmp_path):
    path = save_project(tmp_path / "p.fep", _project())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectError, match="damaged|truncated"):
        load_project(path)


def test_corrupted_member_is_named(tmp_path):
    path = save_project(tmp_path / "p.fep", _project())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(IMAGE_MEMBER)
    start = info.header_offset + 30 + len(info.filename) + 100       # inside the stored PNG bytes
    data[start:start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectError, match=r"image\.png"):
        load_project(path)


@pytest.mark.parametrize("name", ["../evil.json", "/abs/image.png", "a/../../x", "C:\\win.png", "dir\\x"])
def test_unsafe_member_names_are_refused(tmp_path, name):
    members = _members()
    members[name] = b"{}"
    with pytest.raises(ProjectError, match="not a safe relative path"):
        load_project(_zip(tmp_path / "p.fep", members))


def test_duplicate_members_are_refused(tmp_path):
    path = tmp_path / "p.fep"
    _zip(path, _members())
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as zf:
        zf.writestr(IMAGE_MEMBER, b"other")
    with pytest.raises(ProjectError, match="appears twice"):
        load_project(path)


def test_zip_bomb_is_refused_before_decompression(tmp_path):
    members = _members()
    members["edits.json"] = b"{" + b" " * (12 << 20) + b"}"          # 12 MB of spaces, deflates ~1000x
    with pytest.raises(ProjectError, match="zip bomb"):
        load_project(_zip(tmp_path / "p.fep", members))


def test_oversized_member_is_refused(tmp_path):
    members = _members()
    members["landmarks.json"] = b"[" + b"0," * (1 << 20) + b"0]"
    with pytest.raises(ProjectError, match="limit"):
        load_project(_zip(tmp_path / "p.fep", members, compress=zipfile.ZIP_STORED))


def test_lying_size_header_is_caught_by_the_bounded_read(tmp_path):
    path = tmp_path / "p.fep"
    members = _members()
    members["settings.json"] = b'{"a": "' + b"x" * (5 << 20) + b'"}'
    _zip(path, members, compress=zipfile.ZIP_STORED)
    # rewrite the central directory's claimed size of settings.json to something small
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("settings.json")
    real = info.file_size.to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    idx = data.rfind(b"settings.json")                                  # central directory entry
    cd_start = data.rfind(b"PK\x01\x02", 0, idx)
    for off in (20, 24):                                                # compressed + uncompressed size
        assert data[cd_start + off:cd_start + off + 4] == real
        data[cd_start + off:cd_start + off + 4] = fake
    path.write_bytes(bytes(data))
    with pytest.raises(ProjectError):
        load_project(path)


@pytest.mark.parametrize("change, message", [
    ({"project.json": b'{"format": "something-else", "schema_version": 1}'}, "not a FaceEditor project"),
    ({"project.json": b'{"format": "faceeditor-project", "schema_version": 99}'}, "newer FaceEditor"),
    ({"project.json": b'{"format": "faceeditor-project"}'}, "schema_version"),
    ({"project.json": b'[1, 2]'}, "JSON object"),
    ({"project.json": None}, "no project.json"),
    ({"image.png": None}, "no image.png"),
    ({"image.png": b"\x89PNG\r\n\x1a\nbroken"}, "image.png is unreadable"),
    ({"mask.png": b"not a png"}, "mask.png is unreadable"),
    ({"edits.json": b'{"attributes": '}, "edits.json: not valid JSON"),
    ({"settings.json": b'"just a string"'}, "settings.json must hold a JSON object"),
    ({"landmarks.json": b'{"landmarks": [[1, 2]]}'}, "68"),
])
def test_damaged_members_give_named_errors(tmp_path, change, message):
    members = _members()
    for name, value in change.items():
        if value is None:
            members.pop(name)
        else:
            members[name] = value
    with pytest.raises(ProjectError, match=message):
        load_project(write_members(tmp_path / "p.fep", members))


def test_mask_with_unknown_class_is_refused(tmp_path):
    project = _project()
    project.mask = np.full((32, 32), 40, np.uint8)
    with pytest.raises(ProjectError, match="class index 40"):
        load_project(save_project(tmp_path / "p.fep", project))


def test_unknown_members_from_newer_versions_are_ignored(tmp_path):
    members = _members()
    members["thumbnails/preview.png"] = b"whatever"
    loaded = load_project(write_members(tmp_path / "p.fep", members))
    assert loaded.image.shape == (48, 64, 3)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.fep")
    with pytest.raises(ProjectError, match="folder, not a file"):
        load_project(tmp_path)


# --- documents --------------------------------------------------------------------------------


def test_document_round_trips_through_a_project(tmp_path):
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (90, 120, 3)).astype(np.uint8)
    doc = Document.from_photo(photo, None, resolution=64, source="x.png")
    doc.mask.label = 17
    doc.mask.stroke([(10, 10), (50, 40)])
    doc.edits["attributes"] = {"Bald": 0.5}
    path = save_project(tmp_path / "d.fep", doc.to_project())
    again = Document.from_project(load_project(path), path)
    np.testing.assert_array_equal(again.mask.data, doc.mask.data)
    np.testing.assert_array_equal(again.photo, photo)
    assert again.edits == doc.edits and again.mode == "whole" and again.resolution == 64
    assert again.project_path == path


def test_whole_image_crop_letterboxes_and_pastes_back_exactly():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    crop = whole_image_crop(photo, 64)
    np.testing.assert_array_equal(crop.image, photo)                  # same size: identity
    doc = Document.from_photo(photo, None, resolution=64)
    edited = 255 - crop.image
    np.testing.assert_array_equal(doc.paste(edited), edited)
    wide = rng.integers(0, 256, (40, 80, 3)).astype(np.uint8)
    crop = whole_image_crop(wide, 80)
    np.testing.assert_array_equal(crop.image[20:60], wide)             # centred band


def test_open_path_reads_images_and_reports_unreadable_ones(tmp_path):
    from faceeditor.core.image_io import ImageLoadError, save_image

    rng = np.random.default_rng(1)
    save_image(tmp_path / "a.png", rng.integers(0, 256, (40, 40, 3)).astype(np.uint8))
    opened = open_path(tmp_path / "a.png", resolution=32)
    assert opened.document.mode == "whole" and opened.document.mask.shape == (32, 32)
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageLoadError, match="b.png"):
        open_path(tmp_path / "b.png")


# --- autosave and recovery --------------------------------------------------------------------


def test_clean_exit_leaves_nothing_to_recover(tmp_path):
    session = AutosaveSession(tmp_path)
    assert session.start()
    session.save(_project())
    assert find_orphans(tmp_path) == []              # our own live session is not an orphan
    session.close()
    assert find_orphans(tmp_path) == [] and not list(tmp_path.iterdir())


def test_autosave_of_a_killed_process_is_recovered(tmp_path):
    """A real crash: a child process autosaves, then dies without any clean-up."""
    code = (
        "import sys, numpy as np\n"
        "from faceeditor.core.autosave import AutosaveSession\n"
        "from faceeditor.core.project import Project\n"
        "s = AutosaveSession(sys.argv[1]); assert s.start()\n"
        "img = np.full((20, 30, 3), 77, np.uint8)\n"
        "s.save(Project(image=img, mask=np.full((16, 16), 17, np.uint8), source='crashed.png'))\n"
        "import os; os._exit(9)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, timeout=120)
    assert proc.returncode == 9
    orphans = find_orphans(tmp_path)
    assert len(orphans) == 1 and orphans[0].source == "crashed.png"
    recovered = load_project(orphans[0].path)
    assert (recovered.image == 77).all() and (recovered.mask == 17).all()
    discard_orphan(orphans[0])
    assert find_orphans(tmp_path) == [] and not list(tmp_path.iterdir())


def test_live_sessions_of_other_instances_are_not_offered(tmp_path):
    other = AutosaveSession(tmp_path)
    other.start()
    other.save(_project())
    assert find_orphans(tmp_path) == []
    other.abandon()                                  # as if that instance crashed
    assert len(find_orphans(tmp_path)) == 1


def test_autosave_folder_that_cannot_be_created_turns_autosave_off(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    session = AutosaveSession(blocker / "autosave")
    assert not session.start() and "autosave is off" in session.error
    with pytest.raises(ProjectError, match="autosave is off"):
        session.save(_project())


def test_project_json_is_readable_first(tmp_path):
    path = save_project(tmp_path / "p.fep", _project())
    with zipfile.ZipFile(path) as zf:
        head = json.loads(zf.read(PROJECT_MEMBER))
    assert head["format"] == "faceeditor-project" and head["schema_version"] == 1


def test_corrupt_deflate_data_in_a_member_is_a_project_error(tmp_path):
    """zlib.error is neither OSError nor ValueError; it once escaped load_project (found by the fuzz suite)."""
    path = tmp_path / "p.fep"
    save_project(path, Project(image=np.zeros((8, 8, 3), np.uint8), edits={"a": list(range(200))}))
    raw = path.read_bytes()
    start = raw.index(b"edits.json") + len(b"edits.json")
    seen = set()
    for k in range(start, start + 40):
        damaged = bytearray(raw)
        damaged[k] ^= 0xFF
        path.write_bytes(bytes(damaged))
        with pytest.raises(ProjectError) as info:
            load_project(path)
        seen.add(str(info.value).split(": ", 1)[1][:40])
    assert any("edits.json is damaged" in s for s in seen), seen
