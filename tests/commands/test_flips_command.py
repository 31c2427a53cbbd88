"""faceeditor-cli flips: SG-GAN's every flip of a face as a contact sheet, on a tiny pack whose heads are
told apart by colour (tests.helpers.packs.TinyFlipper) and a bundled sample."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceeditor.cli import main
from faceeditor.core.image_io import load_image
from faceeditor.core.labels import ATTRIBUTES
from faceeditor.resources import samples_dir
from tests.helpers.packs import make_test_pack

SAMPLE = samples_dir() / "synthface_0004.png"


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "flippack", tasks=("flip_attributes",), resolution=32)
    make_test_pack(root, "parseonly", tasks=("parse",), resolution=32)
    return root


def _run(capsys, *argv):
    code = main(["flips", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sheet_and_summary(packs, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    code, stdout, _ = _run(capsys, SAMPLE, "-o", out, "--pack", packs / "flippack", "--json", "--tile", "64")
    assert code == 0
    s = json.loads(stdout)
    assert s["model"] == "flippack/G_flip" and s["forward_passes"] == 1 and s["mode"] == "whole"
    assert list(s["attributes"]) == list(ATTRIBUTES)
    # TinyFlipper reads even attributes as present: their flip removes them
    assert s["attributes"]["Bald"]["flip"] == "\u2212Bald" and s["attributes"]["Bald"]["p_present"] > 0.5
    assert s["attributes"]["Bangs"]["flip"] == "+Bangs" and s["attributes"]["Bangs"]["flip_value"] == 1
    sheet = load_image(out)
    assert sheet.ndim == 3 and sheet.shape[0] > 64 and sheet.shape[1] > 64 * 3   # 14 labelled pictures


def test_both_heads_make_a_wider_sheet(packs, tmp_path, capsys):
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    assert _run(capsys, SAMPLE, "-o", one, "--pack", "flippack", "--dir", packs, "--tile", "64",
                "--columns", "4")[0] == 0
    code, stdout, _ = _run(capsys, SAMPLE, "-o", two, "--pack", "flippack", "--dir", packs, "--tile", "64",
                           "--columns", "4", "--both")
    assert code == 0 and "+Bangs" in stdout
    a, b = load_image(one), load_image(two)
    assert b.shape[1] == 2 * a.shape[1] and b.shape[0] == a.shape[0]
    assert not np.array_equal(a, b[:, : a.shape[1]])        # the other heads sit beside the flips


def test_pack_without_a_flip_model_names_what_it_has(packs, tmp_path, capsys):
    code, stdout, stderr = _run(capsys, SAMPLE, "-o", tmp_path / "s.png", "--pack", "parseonly", "--dir", packs)
    assert code == 2 and stdout == ""
    assert stderr.strip().count("\n") == 0 and "Traceback" not in stderr
    assert "no 'flip_attributes' model" in stderr and "it has: parse" in stderr
    assert not (tmp_path / "s.png").exists()


def test_unreadable_image_is_one_line(packs, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    code, _, stderr = _run(capsys, bad, "-o", tmp_path / "s.png", "--pack", packs / "flippack")
    assert code == 2 and stderr.strip().count("\n") == 0 and "Traceback" not in stderr
    assert "bad.png" in stderr


def test_unknown_model_and_bad_tile(packs, tmp_path, capsys):
    code, _, stderr = _run(capsys, SAMPLE, "-o", tmp_path / "s.png", "--pack", packs / "flippack", "--model", "nope")
    assert code == 2 and "G_flip" in stderr
    code, _, stderr = _run(capsys, SAMPLE, "-o", tmp_path / "s.png", "--pack", packs / "flippack", "--tile", "8")
    assert code == 2 and "--tile" in stderr
