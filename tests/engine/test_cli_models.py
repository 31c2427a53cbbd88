"""faceeditor-cli models / selfcheck, called through faceeditor.cli.main."""
from __future__ import annotations

import json

import pytest

from faceeditor.cli import main
from tests.helpers.packs import copy_pack, edit_manifest


def _models(capsys, *args) -> tuple[int, str]:
    code = main(["models", "--no-defaults", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_lists_a_valid_pack(capsys, edit_pack):
    code, out = _models(capsys, "--dir", str(edit_pack.parent))
    assert code == 0
    assert f"valid   editpack 0.1.0  [extra] {edit_pack}" in out
    assert "G: edit_attributes" in out
    assert "1 pack(s): 1 valid, 0 invalid" in out


def test_wrong_input_name(capsys, edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][0].update(name="input"))
    code, out = _models(capsys, "--dir", str(edit_pack.parent))
    assert code == 0
    assert "INVALID editpack" in out
    assert "! models[G].inputs[0].name: manifest says 'input', ONNX graph has 'image'" in out


def test_wrong_dims(capsys, edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][0].update(shape=["batch", 3, 64, 64]))
    code, out = _models(capsys, "--dir", str(edit_pack.parent))
    assert "INVALID editpack" in out
    assert "! models[G].inputs[0].shape[2]: manifest says 64, ONNX graph has 32" in out
    assert "! models[G].inputs[0].shape[3]: manifest says 64, ONNX graph has 32" in out


def test_wrong_hash(capsys, edit_pack):
    data = bytearray((edit_pack / "G.onnx").read_bytes())
    data[-1] ^= 0xFF
    (edit_pack / "G.onnx").write_bytes(bytes(data))
    code, out = _models(capsys, "--dir", str(edit_pack.parent))
    assert "INVALID editpack" in out
    assert "! models[G].sha256: manifest says" in out and "tampered" in out


def test_manifest_json_error(capsys, edit_pack):
    (edit_pack / "manifest.json").write_text('{"name": "editpack", "models": [')
    code, out = _models(capsys, "--dir", str(edit_pack.parent))
    assert code == 0
    assert f"INVALID editpack  [extra] {edit_pack}" in out
    assert "! manifest.json: not valid JSON (line 1" in out


def test_broken_pack_next_to_a_good_one(capsys, built_edit_pack, tmp_path):
    root = tmp_path / "models"
    copy_pack(built_edit_pack, root, "a-good")
    bad = copy_pack(built_edit_pack, root, "b-bad")
    (bad / "G.onnx").unlink()
    code, out = _models(capsys, "--dir", str(root))
    assert code == 0
    assert "valid   editpack 0.1.0  [extra] " + str(root / "a-good") in out
    assert "! models[G].file: 'G.onnx' is missing from the pack" in out
    assert "2 pack(s): 1 valid, 1 invalid" in out


def test_json_output(capsys, edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][1].update(name="cond"))
    code, out = _models(capsys, "--dir", str(edit_pack), "--json")
    data = json.loads(out)
    assert code == 0
    (pack,) = data["packs"]
    assert pack["valid"] is False
    assert "models[G].inputs[1].name: manifest says 'cond', ONNX graph has 'y_diff'" in pack["errors"]


def test_missing_dir_is_a_clear_error(capsys, tmp_path):
    code, out = _models(capsys, "--dir", str(tmp_path / "nope"))
    assert code == 2
    assert f"faceeditor-cli models: error: --dir {tmp_path / 'nope'}: no such folder" in out
    assert "Traceback" not in out


def test_default_folders_include_the_user_folder(capsys, built_edit_pack):
    from faceeditor.engine.registry import user_models_dir

    copy_pack(built_edit_pack, user_models_dir(), "installed")
    code = main(["models"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"[user] {user_models_dir() / 'installed'}" in out


@pytest.mark.slow
def test_selfcheck_passes_here(capsys, edit_pack):
    code = main(["selfcheck", "--dir", str(edit_pack), "--json"])
    data = json.loads(capsys.readouterr().out)
    statuses = {c["check"]: c["status"] for c in data["checks"]}
    assert code == 0 and data["ok"] is True, data
    assert statuses["runs a graph on CPU"] == "OK"
    assert statuses["68-point predictor"] == "OK"
    assert statuses["editpack"] == "OK"


def test_selfcheck_fails_on_a_broken_bundled_pack(capsys, monkeypatch, built_edit_pack, tmp_path):
    from faceeditor.commands import selfcheck
    from faceeditor.engine import registry

    bundled = tmp_path / "bundled"
    bad = copy_pack(built_edit_pack, bundled, "demo")
    (bad / "G.onnx").unlink()
    monkeypatch.setattr(registry, "bundled_models_dirs", lambda: [bundled])
    monkeypatch.setattr(selfcheck, "check_dlib", lambda: [("dlib", "OK", "skipped in this test")])
    code = main(["selfcheck"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "[bundled] models[G].file: 'G.onnx' is missing" in out
    assert "selfcheck: FAILED" in out
