"""faceeditor-cli classify, on tiny packs made in the test (the bundled evaluators are checked in
tests/test_demo_pack.py)."""
import json

import numpy as np
import pytest

from faceeditor.cli import main
from faceeditor.core.image_io import save_image
from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS
from tests.helpers.packs import make_test_pack


@pytest.fixture(scope="module")
def judge_packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "judges", tasks=("classify_attributes", "classify_expression"), resolution=32)
    make_test_pack(root, "attronly", tasks=("classify_attributes",), resolution=32, seed=1)
    make_test_pack(root, "parseonly", tasks=("parse",), resolution=32)
    return root


@pytest.fixture
def square_image(tmp_path):
    path = tmp_path / "pic.png"
    save_image(path, np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    return path


def _run(capsys, *argv):
    code = main(["classify", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_reading_is_the_evaluators_on_the_crop(judge_packs, square_image, capsys):
    from faceeditor.core.document import make_crop
    from faceeditor.core.image_io import load_image
    from faceeditor.engine.engine import Engine
    from faceeditor.engine.requests import ClassifyAttributesRequest, ClassifyExpressionRequest

    code, stdout, _ = _run(capsys, square_image, "--whole", "--pack", "judges", "--dir", judge_packs, "--json")
    assert code == 0
    s = json.loads(stdout)
    assert s["pack"] == "judges" and s["mode"] == "whole" and s["size"] == [64, 64]
    assert list(s["attributes"]) == list(ATTRIBUTES) and list(s["expression"]) == list(EXPRESSIONS)
    crop = make_crop(load_image(square_image), None, "whole", 32).image
    engine = Engine([judge_packs / "judges"], provider="cpu")
    attrs = engine.run(ClassifyAttributesRequest([crop])).probs[0]
    expr = engine.run(ClassifyExpressionRequest([crop])).probs[0]
    np.testing.assert_allclose(list(s["attributes"].values()), attrs, atol=1e-4)
    np.testing.assert_allclose(list(s["expression"].values()), expr, atol=1e-4)
    assert s["present"] == [n for n, p in zip(ATTRIBUTES, attrs, strict=True) if p > 0.5]
    assert s["expression_top"] == EXPRESSIONS[int(np.argmax(expr))]


def test_text_reading_without_an_expression_model(judge_packs, square_image, capsys):
    code, stdout, _ = _run(capsys, square_image, "--whole", "--pack", "attronly", "--dir", judge_packs)
    assert code == 0
    assert all(name in stdout for name in ATTRIBUTES)
    assert "present (p > 0.5):" in stdout and "expression" not in stdout


def test_bad_requests_are_clear_errors(judge_packs, square_image, tmp_path, capsys):
    code, _, err = _run(capsys, square_image, "--whole", "--pack", "parseonly", "--dir", judge_packs)
    assert code == 2 and "has no 'classify_attributes' model" in err
    code, _, err = _run(capsys, tmp_path / "missing.png", "--pack", "judges", "--dir", judge_packs)
    assert code == 2 and "missing.png" in err
    code, _, err = _run(capsys, square_image, "--whole", "--pack", "judges", "--dir", judge_packs, "--mode", "face")
    assert code == 2 and "no face found" in err
    # a picture without a face has no attributes to read: refused unless the user asks for the whole picture
    code, out, err = _run(capsys, square_image, "--pack", "judges", "--dir", judge_packs)
    assert code == 2 and "no face found" in err and "--whole" in err and not out
