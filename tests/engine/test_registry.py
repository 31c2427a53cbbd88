"""Pack registry: finds packs in every search folder; broken packs are listed with reasons."""
from __future__ import annotations

from pathlib import Path

from faceeditor.engine import registry as registry_module
from faceeditor.engine.registry import PackRegistry, user_models_dir
from tests.helpers.packs import copy_pack, edit_manifest


def _by_name(packs):
    return {p.path.name: p for p in packs}


def test_lists_valid_and_invalid_packs(built_edit_pack, tmp_path):
    root = tmp_path / "models"
    copy_pack(built_edit_pack, root, "good")
    bad = copy_pack(built_edit_pack, root, "bad")
    edit_manifest(bad, lambda m: m["models"][0]["inputs"][0].update(name="input"))
    (root / "not-a-pack").mkdir()
    (root / ".hidden").mkdir()
    (root / "stray-file.txt").write_text("x")
    packs = _by_name(PackRegistry([root], include_defaults=False).scan())
    assert set(packs) == {"good", "bad", "not-a-pack"}
    assert packs["good"].valid and packs["good"].reason == ""
    assert not packs["bad"].valid and "inputs[0].name" in packs["bad"].reason
    assert not packs["not-a-pack"].valid and "no manifest.json" in packs["not-a-pack"].reason
    assert packs["not-a-pack"].name == "not-a-pack"


def test_one_crashing_pack_does_not_break_the_list(built_edit_pack, tmp_path, monkeypatch):
    root = tmp_path / "models"
    copy_pack(built_edit_pack, root, "a")
    copy_pack(built_edit_pack, root, "b")
    real = registry_module.check_pack

    def flaky(path):
        if Path(path).name == "a":
            raise RuntimeError("disk on fire")
        return real(path)

    monkeypatch.setattr(registry_module, "check_pack", flaky)
    packs = _by_name(PackRegistry([root], include_defaults=False).scan())
    assert packs["b"].valid
    assert not packs["a"].valid and "RuntimeError: disk on fire" in packs["a"].reason


def test_search_folder_that_is_a_pack(edit_pack):
    packs = PackRegistry([edit_pack], include_defaults=False).scan()
    assert [p.name for p in packs] == ["editpack"] and packs[0].valid


def test_user_data_folder_and_precedence(built_edit_pack, tmp_path):
    user_dir = user_models_dir()
    assert str(user_dir).startswith(str(tmp_path))  # isolated by the conftest
    copy_pack(built_edit_pack, user_dir, "user-copy")
    extra = copy_pack(built_edit_pack, tmp_path / "extra", "extra-copy")
    reg = PackRegistry([extra.parent])
    packs = reg.scan()
    sources = {p.path.name: p.source for p in packs}
    assert sources["user-copy"] == "user" and sources["extra-copy"] == "extra"
    # Both carry the manifest name "editpack"; the extra folder comes first.
    assert reg.get("editpack").path == extra
    assert reg.get("missing") is None
    assert len(reg.valid()) >= 2


def test_same_folder_twice_is_listed_once(edit_pack):
    packs = PackRegistry([edit_pack.parent, edit_pack.parent], include_defaults=False).scan()
    assert len(packs) == 1


def test_missing_search_folders_are_skipped(tmp_path):
    assert PackRegistry([tmp_path / "nope"], include_defaults=False).scan() == []


def test_to_dict(edit_pack):
    info = PackRegistry([edit_pack], include_defaults=False).scan()[0].to_dict()
    assert info["valid"] is True and info["models"][0]["task"] == "edit_attributes"
