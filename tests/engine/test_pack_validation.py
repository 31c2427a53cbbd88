"""Pack validation: every kind of disagreement between manifest, files and ONNX graphs is named."""
from __future__ import annotations

import os
from pathlib import Path

import onnxruntime
import pytest

from faceeditor.engine.manifest import Manifest
from faceeditor.engine.validate import PackError, check_pack, file_sha256, validate_pack
from tests.helpers.packs import edit_manifest


def _errors(pack: Path) -> list[str]:
    return check_pack(pack)[1]


def _only_error(pack: Path) -> str:
    errors = _errors(pack)
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_pack(edit_pack):
    manifest = validate_pack(edit_pack)
    assert manifest.name == "editpack"
    assert manifest.model("G").task == "edit_attributes"


def test_all_tasks_pack_is_valid(built_all_pack):
    assert _errors(built_all_pack.path) == []


def test_wrong_input_name(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][0].update(name="input"))
    errors = _errors(edit_pack)
    assert "models[G].inputs[0].name: manifest says 'input', ONNX graph has 'image'" in errors


def test_wrong_fixed_dims(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["outputs"][0].update(shape=["batch", 3, 64, 32]))
    assert _only_error(edit_pack) == "models[G].outputs[0].shape[2]: manifest says 64, ONNX graph has 32"


def test_wrong_rank(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][1].update(shape=["batch", 13, 1]))
    errors = _errors(edit_pack)
    assert any(e.startswith("models[G].inputs[1].shape: manifest says rank 3") for e in errors), errors


def test_wrong_dtype(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["outputs"][0].update(dtype="float16"))
    errors = _errors(edit_pack)
    assert "models[G].outputs[0].dtype: manifest says 'float16', ONNX graph has 'float32'" in errors


def test_dynamic_in_manifest_but_fixed_in_graph(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][0].update(shape=["batch", 3, "h", "w"]))
    errors = _errors(edit_pack)
    assert "models[G].inputs[0].shape[2]: manifest says dynamic 'h', ONNX graph fixes it to 32" in errors


def test_wrong_hash_is_refused_before_any_session(edit_pack, monkeypatch):
    onnx_file = edit_pack / "G.onnx"
    with open(onnx_file, "ab") as fh:
        fh.write(b"\0")  # tampered: still loads, but is not the file the manifest describes
    built = []
    monkeypatch.setattr(onnxruntime, "InferenceSession", lambda *a, **k: built.append(a) or 1 / 0)
    error = _only_error(edit_pack)
    assert error.startswith("models[G].sha256: manifest says ")
    assert "tampered" in error
    assert built == []


def test_missing_file(edit_pack):
    (edit_pack / "G.onnx").unlink()
    assert _only_error(edit_pack) == "models[G].file: 'G.onnx' is missing from the pack"


def test_symlink_escaping_the_pack(edit_pack, tmp_path):
    outside = tmp_path / "outside.onnx"
    os.replace(edit_pack / "G.onnx", outside)
    (edit_pack / "G.onnx").symlink_to(outside)
    assert _only_error(edit_pack) == "models[G].file: 'G.onnx' points outside the pack"


def test_parent_path_in_manifest(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0].update(file="../G.onnx"))
    error = _only_error(edit_pack)
    assert "models[G].file: must be a relative .onnx path inside the pack" in error


def test_manifest_json_error(edit_pack):
    path = edit_pack / "manifest.json"
    path.write_text(path.read_text()[:-40])
    error = _only_error(edit_pack)
    assert error.startswith("manifest.json: not valid JSON (line ")
    with pytest.raises(PackError, match="not valid JSON"):
        validate_pack(edit_pack)


def test_no_manifest(tmp_path):
    assert _only_error(tmp_path).startswith("manifest.json: ")


def test_corrupt_onnx_with_matching_hash(edit_pack):
    (edit_pack / "G.onnx").write_bytes(b"this is not an onnx graph")
    edit_manifest(edit_pack, lambda m: m["models"][0].update(sha256=file_sha256(edit_pack / "G.onnx")))
    error = _only_error(edit_pack)
    assert error.startswith("models[G].file: onnxruntime cannot load 'G.onnx'")


def test_output_count_mismatch(edit_pack):
    extra = {"name": "mask_probs", "shape": ["batch", 19, 32, 32], "dtype": "float32"}
    edit_manifest(edit_pack, lambda m: (m["models"][0]["outputs"].append(extra),
                                        m["models"][0].update(classes=["x"] * 19)))
    errors = _errors(edit_pack)
    assert any(e.startswith("models[G].outputs: manifest lists 2 (['edited', 'mask_probs']), ONNX graph has 1")
               for e in errors), errors


def test_task_conventions(edit_pack):
    """A manifest that agrees with its graph but not with the task's tensor names is refused too."""
    edit_manifest(edit_pack, lambda m: m["models"][0].update(task="edit_expression"))
    errors = _errors(edit_pack)
    assert "models[G].inputs: task 'edit_expression' needs a tensor named 'expression' " \
           "(found ['image', 'y_diff'])" in errors
    assert any(e.startswith("models[G].inputs[1].name: 'y_diff' is not an input of task") for e in errors)


def test_condition_size_must_match_attribute_list(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0].update(attributes=m["models"][0]["attributes"][:12]))
    assert _only_error(edit_pack) == "models[G].inputs[1].shape[1]: 13, but len(attributes) is 12"


def test_resolution_must_match_graph(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0].update(resolution=64))
    assert _only_error(edit_pack) == "models[G].resolution: manifest says 64, inputs[0] is 32x32"


def test_unknown_normalization(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0].update(normalization="imagenet"))
    assert _only_error(edit_pack).startswith("models[G].normalization: expected one of")


def test_every_problem_is_reported_at_once(edit_pack):
    edit_manifest(edit_pack, lambda m: (m["models"][0]["inputs"][0].update(name="input"),
                                        m["models"][0]["outputs"][0].update(shape=["batch", 3, 16, 16])))
    with pytest.raises(PackError) as info:
        validate_pack(edit_pack)
    assert len(info.value.errors) >= 3
    assert str(edit_pack) in str(info.value)


def test_manifest_round_trip(built_all_pack, tmp_path):
    m = Manifest.load(built_all_pack.path)
    m.save(tmp_path)
    assert Manifest.load(tmp_path) == m
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == 0o644
