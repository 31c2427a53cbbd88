"""`faceeditor-cli detect`: JSON on stdout, exit 0 with faces, 1 without, 2 for unreadable input."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from faceeditor.cli import main


def test_detect_prints_one_face_as_json(astronaut_path, capsys):
    assert main(["detect", str(astronaut_path), "--upsample", "0"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["width"] == 512 and report["height"] == 512
    assert len(report["faces"]) == 1
    face = report["faces"][0]
    assert len(face["box"]) == 4 and face["score"] > 0.5
    assert len(face["landmarks"]) == 68 and all(len(p) == 2 for p in face["landmarks"])


def test_detect_writes_aligned_crops(astronaut_path, tmp_path, capsys):
    crops = tmp_path / "crops"
    code = main(["detect", str(astronaut_path), "--upsample", "0", "--crop-out", str(crops),
                 "--resolution", "64", "--descriptors", "--indent", "0"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    entry = report["faces"][0]
    assert len(entry["descriptor"]) == 128
    path = crops / "astronaut_face0_64.png"
    assert entry["crop"]["path"] == str(path)
    assert Image.open(path).size == (64, 64)
    assert np.array(entry["crop"]["photo_to_crop"]).shape == (2, 3)


def test_detect_without_a_face(tmp_path, capsys):
    path = tmp_path / "blank.png"
    Image.new("RGB", (160, 120), (128, 128, 128)).save(path)
    assert main(["detect", str(path)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["faces"] == []
    assert "no face found" in captured.err and "Traceback" not in captured.err


def test_detect_on_unreadable_files(tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x00\x01not really a png" * 10)
    assert main(["detect", str(junk)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "junk.png" in err and "cannot load image" in err
    assert main(["detect", str(tmp_path / "missing.jpg")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["detect", str(junk), "--upsample", "9"]) == 2
    assert "--upsample" in capsys.readouterr().err
