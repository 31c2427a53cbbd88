"""The model manager's core (no Qt): install from a folder or a zip only what validates, leave nothing behind
when refusing, remove only the user's packs, and the per-task choice."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from faceeditor.engine.pack_manager import (
    PackInstallError,
    PackManager,
    chosen_models,
    headline_metrics,
    pick_model,
)
from faceeditor.engine.registry import user_models_dir
from tests.helpers.packs import copy_pack, edit_manifest


def _manager(tmp_path: Path, bundled: Path | None = None) -> PackManager:
    manager = PackManager(include_defaults=False, models_dir=tmp_path / "models")
    if bundled is not None:
        manager.registry.search_dirs.append((bundled, "bundled"))
    return manager


def _zip(folder: Path, out: Path, *, top: str | None = "") -> Path:
    """Zip a pack folder, its files under `top/` (the folder's name by default) or at the top (None)."""
    prefix = folder.name if top == "" else top
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            zf.write(path, f"{prefix}/{rel}" if prefix else rel)
    return out


def _leftovers(models_dir: Path) -> list[str]:
    return sorted(os.listdir(models_dir)) if models_dir.exists() else []


def test_default_models_folder_is_the_registrys_user_folder():
    assert PackManager(include_defaults=False).models_dir == user_models_dir()


def test_install_from_a_folder_validates_and_lists(built_edit_pack, tmp_path):
    manager = _manager(tmp_path)
    info = manager.install(built_edit_pack.path)
    assert info.valid and info.source == "user" and info.path == tmp_path / "models" / "editpack"
    assert built_edit_pack.path.is_dir(), "the source folder is copied, not moved"
    packs = manager.scan()
    assert [p.name for p in packs] == ["editpack"]
    rows = manager.rows(packs[0])
    assert [(r.key, r.task, r.resolution, len(r.attributes)) for r in rows] == [("editpack/G", "edit_attributes", 32, 13)]
    assert manager.removable(packs[0])


@pytest.mark.parametrize("top", ["", None], ids=["in-a-folder", "at-the-top"])
def test_install_from_a_zip(built_edit_pack, tmp_path, top):
    manager = _manager(tmp_path)
    archive = _zip(built_edit_pack.path, tmp_path / "pack.zip", top=top)
    info = manager.install(archive)
    assert info.valid and (info.path / "G.onnx").is_file()
    assert _leftovers(tmp_path / "models") == ["editpack"]


def test_a_tampered_pack_is_refused_and_nothing_is_installed(edit_pack, tmp_path):
    (edit_pack / "G.onnx").write_bytes((edit_pack / "G.onnx").read_bytes()[:-10])
    manager = _manager(tmp_path)
    archive = _zip(edit_pack, tmp_path / "bad.zip")
    for source in (edit_pack, archive):
        with pytest.raises(PackInstallError, match=r"not a valid model pack: .*sha256"):
            manager.install(source)
    assert _leftovers(tmp_path / "models") == []


@pytest.mark.parametrize("member, message", [
    ("../evil.txt", "points outside the pack"),
    ("/etc/evil.txt", "points outside the pack"),
])
def test_a_zip_that_escapes_the_pack_is_refused(built_edit_pack, tmp_path, member, message):
    archive = _zip(built_edit_pack.path, tmp_path / "evil.zip", top=None)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(member, "x")
    with pytest.raises(PackInstallError, match=message):
        _manager(tmp_path).install(archive)
    assert _leftovers(tmp_path / "models") == []
    assert not (tmp_path / "evil.txt").exists()


def test_a_zip_with_a_symlink_is_refused(built_edit_pack, tmp_path):
    archive = _zip(built_edit_pack.path, tmp_path / "link.zip", top=None)
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PackInstallError, match="link or special file"):
        _manager(tmp_path).install(archive)


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "not a pack folder or a .zip archive"),
    (None, "no manifest.json"),
])
def test_other_files_are_refused_with_one_line(tmp_path, content, message):
    path = tmp_path / "thing.zip"
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(PackInstallError, match=message) as err:
        _manager(tmp_path).install(path)
    assert "\n" not in str(err.value)
    assert _leftovers(tmp_path / "models") == []


def test_a_damaged_zip_is_refused(built_edit_pack, tmp_path):
    archive = _zip(built_edit_pack.path, tmp_path / "pack.zip")
    data = bytearray(archive.read_bytes())
    start = data.index(b"PK\x03\x04", 100)              # the second member's data, overwritten
    data[start + 60:start + 400] = b"\0" * 340
    archive.write_bytes(bytes(data))
    with pytest.raises(PackInstallError):
        _manager(tmp_path).install(archive)
    assert _leftovers(tmp_path / "models") == []


def test_the_same_name_twice_needs_replace(built_edit_pack, tmp_path):
    manager = _manager(tmp_path)
    manager.install(built_edit_pack.path)
    with pytest.raises(PackInstallError, match="already installed"):
        manager.install(built_edit_pack.path)
    assert manager.install(built_edit_pack.path, replace=True).valid
    assert _leftovers(tmp_path / "models") == ["editpack"]


def test_remove_only_the_users_packs(built_edit_pack, tmp_path):
    bundled = tmp_path / "bundled"
    copy_pack(built_edit_pack, bundled, "shipped")
    edit_manifest(bundled / "shipped", lambda m: m.update(name="shipped"))
    manager = _manager(tmp_path, bundled)
    manager.install(built_edit_pack.path)
    packs = {p.name: p for p in manager.scan()}
    assert set(packs) == {"editpack", "shipped"}
    with pytest.raises(PackInstallError, match="bundled with the app"):
        manager.remove(packs["shipped"])
    assert (bundled / "shipped" / "manifest.json").is_file()
    manager.remove(packs["editpack"])
    assert [p.name for p in manager.scan()] == ["shipped"]
    assert _leftovers(tmp_path / "models") == []


def test_choices_and_picking():
    assert chosen_models({"parse": "a/parser", "bad": 3, "edit_attributes": "no-slash"}) == {"parse": "a/parser"}
    assert chosen_models(["not", "a", "dict"]) == {}
    a, b = SimpleNamespace(key="p/a"), SimpleNamespace(key="q/b")
    assert pick_model([a, b], "q/b") is b
    assert pick_model([a, b], "gone/x") is a, "a choice whose pack is gone falls back to the first"
    assert pick_model([], "q/b") is None


def test_headline_metrics():
    text = headline_metrics({"val": {"step": 10, "miou": 0.8512, "ok": True}, "test": {"acc": 0.9}, "x": 3})
    assert text == "val: miou 0.851; test: acc 0.9"
