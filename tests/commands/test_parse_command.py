"""faceeditor-cli parse, on tiny packs made in the test (the bundled parser is checked in
tests/test_demo_pack.py)."""
import json

import numpy as np
import pytest
from PIL import Image

from faceeditor.cli import main
from faceeditor.core.image_io import save_image
from tests.helpers.packs import make_test_pack


@pytest.fixture(scope="module")
def parse_pack(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "tinyparser", tasks=("parse",), resolution=32)
    return root


@pytest.fixture
def square_image(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "pic.png"
    save_image(path, rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    return path


def _run(capsys, *argv):
    code = main(["parse", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_writes_index_and_colour_masks_at_the_image_size(parse_pack, square_image, tmp_path, capsys):
    out, color = tmp_path / "m.png", tmp_path / "c.png"
    code, stdout, _ = _run(capsys, square_image, "-o", out, "--color", color, "--dir", parse_pack,
                           "--mode", "whole")
    assert code == 0
    summary = json.loads(stdout[: stdout.rindex("}") + 1])
    assert summary["pack"] == "tinyparser" and summary["mode"] == "whole"
    with Image.open(out) as im:
        assert im.mode == "P" and im.size == (64, 64)
        mask = np.asarray(im)
    assert mask.max() < 19
    assert abs(sum(summary["classes"].values()) - 1.0) < 1e-3
    with Image.open(color) as im:
        assert im.mode == "RGB" and im.size == (64, 64)


def test_no_parser_pack_is_a_clear_error(square_image, tmp_path, capsys):
    make_test_pack(tmp_path / "p", "editonly", tasks=("edit_attributes",))
    code, _, err = _run(capsys, square_image, "-o", tmp_path / "m.png", "--pack", "editonly",
                        "--dir", tmp_path / "p")
    assert code == 2 and "has no 'parse' model" in err


def test_unknown_pack_name(parse_pack, square_image, tmp_path, capsys):
    code, _, err = _run(capsys, square_image, "-o", tmp_path / "m.png", "--pack", "nope", "--dir", parse_pack)
    assert code == 2 and "no pack called 'nope'" in err


def test_unreadable_image_and_bad_output(parse_pack, tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    code, _, err = _run(capsys, junk, "-o", tmp_path / "m.png", "--dir", parse_pack)
    assert code == 2 and "junk.png" in err
    code, _, err = _run(capsys, junk, "-o", tmp_path / "m.jpg", "--dir", parse_pack)
    assert code == 2 and ".png" in err


def test_face_mode_without_a_face_says_so(parse_pack, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    save_image(blank, np.full((80, 120, 3), 200, np.uint8))
    code, _, err = _run(capsys, blank, "-o", tmp_path / "m.png", "--dir", parse_pack, "--mode", "face")
    assert code == 2 and "no face" in err
