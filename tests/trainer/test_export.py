"""Export: a parity-checked pack that loads in ONNX Runtime, and refusal of models whose ONNX differs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from faceeditor.engine.manifest import Manifest
from tests.trainer.toy_method import toy_config
from trainer import export as export_mod
from trainer.checkpoint import load_trained_method
from trainer.cli import main as train_cli
from trainer.export import ExportError, ParityError, export_run, sha256_file
from trainer.loop import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two short toy runs: a faithful one and one whose traced graph adds 0.05 to one class's logits."""
    base = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for name, mismatch in (("good", False), ("bad", True)):
            train(toy_config(base / name, iters=6, ckpt_every=0, eval_every=0, export_mismatch=mismatch),
                  progress=False)
            out[name] = base / name
        return out
    finally:
        torch.set_num_threads(threads)


def test_pack_loads_in_onnxruntime_with_a_faithful_manifest(runs, tmp_path: Path, capsys) -> None:
    pack = tmp_path / "pack"
    assert train_cli(["export", str(runs["good"]), "--out", str(pack), "--name", "toys"]) == 0
    assert "parity ok" in capsys.readouterr().out
    m = Manifest.load(pack)
    assert m.name == "toys" and [e.name for e in m.models] == ["toy_parser"]
    e = m.models[0]
    assert (e.task, e.method, e.backbone, e.resolution, e.data_domain) == ("parse", "toy", "toynet", 8, "toy")
    assert e.classes == ["dark", "bright"]
    assert [(t.name, t.shape, t.dtype) for t in e.inputs] == [("image", ["batch", 3, 8, 8], "float32")]
    assert [(t.name, t.shape, t.dtype) for t in e.outputs] == [("probs", ["batch", 2, 8, 8], "float32"),
                                                               ("labels", ["batch", 8, 8], "int64")]
    assert e.sha256 == sha256_file(pack / e.file)
    assert e.config["method"] == "toy" and e.config["iters"] == 6
    assert json.loads((pack / "toy_parser.config.json").read_text()) == e.config
    assert e.metrics["val"]["step"] == 6 and "pixel_accuracy" in e.metrics["val"]
    parity = e.metrics["export_parity_max_abs_diff"]
    assert set(parity["probs"]) == {"random", "real"} and parity["labels"] == {"random": 0.0, "real": 0.0}

    # the ONNX graph in onnxruntime, with a batch size that differs from the export example
    session = ort.InferenceSession(str(pack / e.file), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"
    x = np.random.default_rng(0).uniform(-1, 1, (5, 3, 8, 8)).astype(np.float32)
    probs, labels = session.run(["probs", "labels"], {"image": x})
    method, _ = load_trained_method(runs["good"])
    with torch.no_grad():
        expected = torch.softmax(method.nets["net"](torch.from_numpy(x)), 1).numpy()
    assert np.abs(probs - expected).max() < 1e-5 and labels.shape == (5, 8, 8)
    assert sorted(p.name for p in pack.iterdir()) == ["manifest.json", "toy_parser.config.json",
                                                      "toy_parser.onnx"]


def test_refuses_a_model_whose_onnx_output_differs(runs, tmp_path: Path, capsys) -> None:
    pack = tmp_path / "pack"
    with pytest.raises(ParityError) as err:
        export_run(runs["bad"], pack, log=lambda *_: None)
    message = str(err.value)
    assert re.search(r"toy_parser: probs: random 0\.0[1-9]\d*, real 0\.0[1-9]", message), message
    assert "no pack written" in message
    assert not pack.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pack")]      # no temp folder left
    # through the command: one line, exit 2, still no pack
    assert train_cli(["export", str(runs["bad"]), "--out", str(pack)]) == 2
    assert "parity check failed" in capsys.readouterr().err
    assert not pack.exists()


def test_integer_outputs_must_match_exactly(runs, tmp_path: Path, monkeypatch) -> None:
    real_run = export_mod.run_onnx

    def one_label_off(path, inputs, names):
        out = real_run(path, inputs, names)
        out[1] = out[1].copy()
        out[1].flat[0] = 1 - out[1].flat[0]
        return out

    monkeypatch.setattr(export_mod, "run_onnx", one_label_off)
    with pytest.raises(ParityError, match=r"labels: random 1, real 1"):
        export_run(runs["good"], tmp_path / "pack", log=lambda *_: None)
    assert not (tmp_path / "pack").exists()


def test_append_replaces_same_name_models_and_keeps_others(runs, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    export_run(runs["good"], pack, log=lambda *_: None)
    with pytest.raises(ExportError, match="already exists; use --append"):
        export_run(runs["good"], pack, log=lambda *_: None)
    # a second model in the pack (as another run would add), then append the toy run again
    m = Manifest.load(pack)
    other = json.loads(json.dumps(m.to_dict()["models"][0]))
    other.update(name="other", file="other.onnx")
    (pack / "other.onnx").write_bytes((pack / "toy_parser.onnx").read_bytes())
    data = m.to_dict()
    data["models"].append(other)
    Manifest.from_dict(data).save(pack)
    before = (pack / "toy_parser.onnx").stat().st_ino
    export_run(runs["good"], pack, append=True, log=lambda *_: None)
    after = Manifest.load(pack)
    assert [e.name for e in after.models] == ["other", "toy_parser"]
    assert (pack / "other.onnx").is_file() and (pack / "toy_parser.onnx").stat().st_ino != before
    # a failed append leaves the existing pack as it was
    snapshot = {p.name: p.read_bytes() for p in pack.iterdir()}
    with pytest.raises(ParityError):
        export_run(runs["bad"], pack, append=True, log=lambda *_: None)
    assert {p.name: p.read_bytes() for p in pack.iterdir()} == snapshot


def test_clear_errors_for_missing_runs(tmp_path: Path, capsys) -> None:
    assert train_cli(["export", str(tmp_path / "nope"), "--out", str(tmp_path / "p")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert train_cli(["evaluate", str(tmp_path / "empty")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_evaluate_command_writes_split_metrics(runs, capsys) -> None:
    assert train_cli(["evaluate", str(runs["good"]), "--split", "test", "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["split"] == "test" and printed["step"] == 6
    metrics = json.loads((runs["good"] / "metrics.json").read_text())
    assert metrics["test"]["pixel_accuracy"] == printed["pixel_accuracy"]
    assert "val" in metrics                       # the training-time val metrics are kept


def test_evaluate_on_another_dataset_is_keyed_by_its_folder() -> None:
    from trainer.commands.evaluate import metrics_key

    assert metrics_key("test", None, "data/sf") == "test"
    assert metrics_key("test", "/elsewhere/sf", "data/sf") == "test"          # the same data, moved
    assert metrics_key("train", "/work/data/sf128_heldout", "data/sf") == "train@sf128_heldout"
    assert metrics_key("train", "/w/sf128_heldout", "data/sf", "/w/runs/judge-2") == "train@sf128_heldout#judge-2"
    assert metrics_key("val", None, "data/sf", "runs/judge-2") == "val#judge-2"


def test_evaluate_refuses_an_evaluator_for_a_method_without_one(runs, tmp_path: Path, capsys) -> None:
    # the toy run is a parser: it has no evaluator to replace
    assert train_cli(["evaluate", str(runs["good"]), "--evaluator", str(runs["good"]), "--device", "cpu"]) == 2
    assert "is not judged by an evaluator" in capsys.readouterr().err
    assert train_cli(["evaluate", str(runs["good"]), "--spatial-judge", str(runs["good"]), "--device", "cpu"]) == 2
    assert "has no spatial-consistency judge" in capsys.readouterr().err


def test_export_records_probes_that_the_engine_reproduces(tmp_path: Path, monkeypatch, capsys) -> None:
    """After the parity check the export renders the probes into the pack and records the parser's
    figures from the exported graph; the engine then re-runs them and agrees (docs/engine.md, Probes)."""
    from faceeditor.engine.probes import probe_status
    from faceeditor.engine.validate import check_pack

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = tmp_path / "run19"
    train(toy_config(run, iters=2, ckpt_every=0, eval_every=0, classes=19), progress=False)
    pack = tmp_path / "pack"
    assert train_cli(["export", str(run), "--out", str(pack)]) == 0
    assert "probes: toy_parser mIoU" in capsys.readouterr().out
    m = Manifest.load(pack)
    rec = m.models[0].probes
    assert rec["metric"] == "miou" and rec["count"] == 8 and rec["sha256"] == sha256_file(pack / "probes.npz")
    assert len(rec["fingerprint"]["probs"]) == 8 and "labels" not in rec["fingerprint"]
    with np.load(pack / "probes.npz", allow_pickle=False) as data:
        assert data["image_8"].shape == (8, 8, 8, 3) and data["mask_8"].shape == (8, 8, 8)
    assert probe_status(m) == "unverified"
    assert check_pack(pack)[1] == []
    assert probe_status(m) == "verified"


def test_preview_models_are_exported_only_when_asked(runs, tmp_path: Path, monkeypatch) -> None:
    """--preview adds the method's preview_specs as entries whose preview_of names their model."""
    from tests.trainer.toy_method import ToyMethod

    def preview_specs(self):
        spec = self.export_specs()[0]
        spec.name, spec.preview_of = "toy_parser_preview", "toy_parser"
        return [spec]

    monkeypatch.setattr(ToyMethod, "preview_specs", preview_specs)
    assert [e.name for e in export_run(runs["good"], tmp_path / "plain", log=lambda *_: None).models] == [
        "toy_parser"]
    assert train_cli(["export", str(runs["good"]), "--out", str(tmp_path / "pack"), "--preview"]) == 0
    m = Manifest.load(tmp_path / "pack")
    assert [(e.name, e.preview_of) for e in m.models] == [("toy_parser", ""), ("toy_parser_preview", "toy_parser")]
    assert (tmp_path / "pack" / m.model("toy_parser_preview").file).is_file()
