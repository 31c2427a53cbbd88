"""tools/contact_sheet.py: a grid of held-out faces x [input, 13 flips] through the pack's editor."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.packs import make_test_pack

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("contact_sheet", ROOT / "tools" / "contact_sheet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    return write_native(tmp_path_factory.mktemp("sf") / "sf", count=30, size=32, seed=3, workers=1,
                        progress=False)


def test_sheet_of_a_masks_reading_editor_with_truth(data, tmp_path):
    tool = _tool()
    assert len(tool.FACES) == 8
    pack = make_test_pack(tmp_path, "m", tasks=("parse", "edit_attributes"), resolution=32, edit_mask_input=True)
    sheet = tool.contact_sheet(pack.path, data, faces=(0, 1), with_truth=True)
    cell = 64                                             # 32 px enlarged twice
    header = sheet.shape[0] - 4 * cell
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 14 * cell and 0 < header < cell
    # the header row carries the column names (light text on the dark strip)
    assert sheet[:header].max() > 200


def test_too_few_faces_is_one_line(data, tmp_path, capsys):
    tool = _tool()
    pack = make_test_pack(tmp_path, "e", tasks=("edit_attributes",), resolution=32)
    assert tool.main([str(pack.path), "--data-root", str(data), "-o", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "the test split has" in err


def test_sheet_of_a_flip_model_has_its_attributes_columns(data, tmp_path):
    tool = _tool()
    pack = make_test_pack(tmp_path, "f", tasks=("flip_attributes",), resolution=32)
    sheet = tool.contact_sheet(pack.path, data, faces=(0,), with_truth=True, model="G_flip")
    cell = 64
    header = sheet.shape[0] - 2 * cell
    assert sheet.shape[1] == (1 + 13) * cell and 0 < header < cell
    # input row then truth row; the flip cells are the heads' flat colours over the half-bright face
    first_flip = sheet[header:header + cell, cell:2 * cell].astype(float)
    assert abs(first_flip.mean() - sheet[header:header + cell, :cell].mean()) > 1.0


def test_sheet_of_an_expression_model_on_a_rafd_layout_set(rafd_root, tmp_path):
    """An edit_expression pack: neutral input, the 7 other expressions, the identity's true pictures below."""
    tool = _tool()
    pack = make_test_pack(tmp_path, "x", tasks=("edit_expression",), resolution=32)
    assert tool._is_expression_model(pack.path, None)
    sheet = tool.expression_sheet(pack.path, rafd_root, with_truth=True, n_faces=1)
    cell = 64
    header = sheet.shape[0] - 2 * cell
    assert sheet.shape[1] == 8 * cell and 0 < header < cell
    edits, truths = sheet[header:header + cell], sheet[header + cell:]
    assert np.array_equal(edits[cell // 3:, :cell], truths[cell // 3:, :cell])  # the same neutral input (below the tags)
    assert not np.array_equal(truths[:, cell:2 * cell], truths[:, :cell])     # angry is another picture
    assert tool.main([str(pack.path), "--data-root", str(tmp_path / "none"), "-o", str(tmp_path / "s.png")]) == 2
