"""Packs prove what they do: a graph with the right names, shapes and sha256 but the wrong behaviour is
refused with the probe figures; an honest pack passes once per machine; tampered probes are refused."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from faceeditor.cli import main as cli_main
from faceeditor.core.labels import PARSE_CLASSES
from faceeditor.engine import probes
from faceeditor.engine.engine import Engine
from faceeditor.engine.manifest import Manifest, ManifestError
from faceeditor.engine.registry import PackRegistry
from faceeditor.engine.validate import PackError, check_pack, file_sha256
from faceeditor.resources import demo_pack_dir
from tests.helpers.packs import edit_manifest, export_onnx

HAIR = PARSE_CLASSES.index("hair")


class AllHair(nn.Module):
    """A 'parser' with the right inputs and outputs that calls every pixel hair."""

    def forward(self, image):
        zero = image[:, :1] * 0.0
        probs = torch.cat([zero + (1.0 if c == HAIR else 0.0) for c in range(len(PARSE_CLASSES))], dim=1)
        return probs, (zero[:, 0] + HAIR).long()


def swap_in_all_hair(pack_dir: Path, model: str = "parser") -> None:
    """Replace the pack's parser graph by AllHair and update its sha256, so names, shapes and hash agree."""
    entry = Manifest.load(pack_dir).model(model)
    res = next(t.shape[2] for t in entry.inputs if t.name == "image")
    path = pack_dir / entry.file
    export_onnx(AllHair(), {"image": torch.zeros(2, 3, res, res)}, ["probs", "labels"], path)
    sha = file_sha256(path)
    edit_manifest(pack_dir, lambda m: next(e for e in m["models"] if e["name"] == model).update(sha256=sha))


def test_the_wrong_behaviour_parser_is_refused_with_the_probe_figures(probed_pack, fresh_probe_cache, capsys):
    swap_in_all_hair(probed_pack)
    manifest, errors = check_pack(probed_pack, probes=False)
    assert manifest is not None and errors == []          # names, shapes, dtypes and sha256 all agree

    manifest, errors = check_pack(probed_pack)
    assert len(errors) == 1, errors
    assert re.fullmatch(r"models\[parser\]\.probes: probe mIoU 0\.\d{3}, recorded 0\.\d{3} \(tolerance 0\.02\); "
                        r"output 'probs' fingerprint differs by up to [\d.]+ \(tolerance 0\.02 \+ 2%\)", errors[0]), errors
    with pytest.raises(PackError, match=r"models\[parser\]\.probes: probe mIoU"):
        Engine([probed_pack], provider="cpu")
    info = PackRegistry([probed_pack], include_defaults=False).scan()[0]
    assert not info.valid and info.probes is None
    assert cli_main(["models", "--dir", str(probed_pack), "--no-defaults"]) == 0
    out = capsys.readouterr().out
    assert "INVALID probedpack" in out and "! models[parser].probes: probe mIoU" in out
    assert not list(fresh_probe_cache.rglob("*.json"))      # a refusal is never cached


def _parser_only_demo_pack(dest: Path) -> Path:
    """The bundled demo pack's parser (with its recorded probes) as a pack of its own."""
    demo = demo_pack_dir()
    manifest = Manifest.load(demo)
    parser = manifest.model("parser")
    if not parser.probes:
        pytest.skip("the bundled demo pack records no probes")
    dest.mkdir(parents=True)
    for name in (parser.file, parser.probes["file"]):
        shutil.copy2(demo / name, dest / name)
    Manifest(name="demo-parser", models=[parser]).save(dest)
    return dest


def test_the_demo_parser_replaced_by_all_hair_is_refused_with_its_miou(tmp_path, fresh_probe_cache):
    """The issue's failure on the real parser: the figures say how far off the graph is."""
    pack = _parser_only_demo_pack(tmp_path / "demo-parser")
    assert check_pack(pack)[1] == []
    recorded = Manifest.load(pack).model("parser").probes["value"]
    assert recorded > 0.75
    swap_in_all_hair(pack)
    _, errors = check_pack(pack)
    assert len(errors) == 1
    match = re.match(r"models\[parser\]\.probes: probe mIoU (0\.\d+), recorded (0\.\d+) \(tolerance 0\.02\)", errors[0])
    assert match, errors
    assert float(match[1]) < 0.1 and float(match[2]) == pytest.approx(recorded, abs=1e-3)


def test_an_honest_pack_passes_once_then_the_verdict_is_cached(probed_pack, fresh_probe_cache, monkeypatch,
                                                               capsys):
    manifest = Manifest.load(probed_pack)
    assert probes.probe_status(manifest) == "unverified"
    first = probes.verify_pack(probed_pack, manifest)
    assert first.status == "verified", first.errors
    assert set(first.figures) == {"parser", "G", "attr_clf"}
    for fig in first.figures.values():
        assert abs(fig["measured"] - fig["recorded"]) <= fig["tolerance"]
    cached = list((fresh_probe_cache / "faceeditor" / "probe-verdicts").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["verdict"] == "pass"

    monkeypatch.setattr(probes, "_VERIFIED_HERE", set())    # a new process: only the disk remembers
    def must_not_run(*args, **kwargs):
        raise AssertionError("the probes ran again")
    monkeypatch.setattr(probes, "run_probes", must_not_run)
    assert probes.verify_pack(probed_pack, manifest).status == "cached"
    engine = Engine([probed_pack], provider="cpu")           # loading goes through the cache too
    assert engine.has_task("parse")
    assert PackRegistry([probed_pack], include_defaults=False).scan()[0].probes == "verified"
    assert cli_main(["models", "--dir", str(probed_pack), "--no-defaults"]) == 0
    assert "probes: verified" in capsys.readouterr().out


def test_a_new_graph_is_not_covered_by_an_old_verdict(probed_pack, fresh_probe_cache):
    manifest = Manifest.load(probed_pack)
    assert probes.verify_pack(probed_pack, manifest).status == "verified"
    swap_in_all_hair(probed_pack)
    assert probes.verify_pack(probed_pack, Manifest.load(probed_pack)).status == "failed"


def test_a_tampered_probe_file_is_refused(probed_pack, fresh_probe_cache):
    path = probed_pack / probes.PROBE_FILE
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["image_32"] = arrays["image_32"][::-1].copy()       # the probes shuffled
    np.savez_compressed(path, **arrays)
    _, errors = check_pack(probed_pack)
    assert errors and all(re.match(r"models\[\w+\]\.probes\.sha256: manifest says [0-9a-f]{12}…, 'probes\.npz' "
                                   r"has [0-9a-f]{12}… \(probe file changed or tampered with\)", e)
                          for e in errors), errors
    assert len(errors) == 3

    # ... and with the manifest's sha256 updated to match, the figures give it away
    sha = file_sha256(path)
    edit_manifest(probed_pack, lambda m: [e["probes"].update(sha256=sha) for e in m["models"]])
    _, errors = check_pack(probed_pack)
    assert errors and all(re.match(r"models\[\w+\]\.probes: probe .* recorded .* fingerprint differs", e)
                          for e in errors), errors


def test_a_verdict_already_cached_does_not_excuse_a_tampered_probe_file(probed_pack, fresh_probe_cache):
    manifest = Manifest.load(probed_pack)
    assert probes.verify_pack(probed_pack, manifest).status == "verified"
    (probed_pack / probes.PROBE_FILE).write_bytes(b"not a zip")
    verdict = probes.verify_pack(probed_pack, manifest)
    assert verdict.status == "failed" and "tampered" in verdict.errors[0]


def test_a_probe_file_holding_pickled_objects_is_refused_unread(tmp_path):
    path = tmp_path / "probes.npz"
    np.savez(path, seeds=np.arange(2, dtype=np.int64), evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(probes.ProbeError, match="not a readable probe file"):
        probes.load_probe_set(path)


def test_a_pack_without_probes_still_loads_and_says_so(edit_pack, fresh_probe_cache, capsys):
    manifest, errors = check_pack(edit_pack)
    assert errors == [] and probes.verify_pack(edit_pack, manifest).status == "none"
    Engine([edit_pack], provider="cpu")
    info = PackRegistry([edit_pack], include_defaults=False).scan()[0]
    assert info.valid and info.probes == "none" and info.to_dict()["probes"] == "none"
    cli_main(["models", "--dir", str(edit_pack), "--no-defaults"])
    assert "probes: none recorded (exported before probes; not verified)" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.update(value=float("nan")), r"models\[parser\]\.probes\.value: expected a finite number"),
    (lambda p: p.update(file="../probes.npz"), r"models\[parser\]\.probes\.file: must be a relative \.npz path"),
    (lambda p: p.update(sha256="0" * 12), r"models\[parser\]\.probes\.sha256: expected 64 lowercase hex"),
    (lambda p: p.update(tolerance=-1), r"models\[parser\]\.probes\.tolerance: expected at least 0"),
    (lambda p: p["fingerprint"]["probs"].pop(), r"models\[parser\]\.probes\.fingerprint\[probs\]: expected 8"),
    (lambda p: p.pop("metric"), r"models\[parser\]\.probes: missing field\(s\) \['metric'\]"),
    (lambda p: p.update(secret=1), r"models\[parser\]\.probes: unknown field\(s\) \['secret'\]"),
])
def test_malformed_probe_records_are_refused_by_field(probed_pack, change, message):
    edit_manifest(probed_pack, lambda m: change(next(e for e in m["models"] if e["name"] == "parser")["probes"]))
    with pytest.raises(ManifestError, match=message):
        Manifest.load(probed_pack)
