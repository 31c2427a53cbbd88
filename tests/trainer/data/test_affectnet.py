"""AffectNet loader on hand-made files in its layout."""
import logging

import numpy as np
import pytest

from faceeditor.core.labels import EXPRESSIONS
from tests.trainer.data import handmade
from trainer.data.affectnet import face_crop
from trainer.data.errors import DatasetError
from trainer.data.registry import DataConfig, build_dataset
from trainer.data.transforms import crop_resize_points

TRAIN_CODES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 0, 6, 7, 5, 4, 1]
VAL_CODES = [6, 7, 0, 9, 1]


def cfg(root, **kw):
    kw.setdefault("resolution", 24)
    return DataConfig(name="affectnet", root=str(root), **kw)


@pytest.fixture()
def affect(tmp_path):
    return tmp_path, handmade.write_affectnet(tmp_path, TRAIN_CODES, VAL_CODES)


def test_expression_codes_and_unused_rows(affect, caplog):
    root, rows = affect
    with caplog.at_level(logging.INFO, logger="trainer.data"):
        test = build_dataset(cfg(root), "test")
    assert [EXPRESSIONS[int(test[i]["expression"])] for i in range(len(test))] == [
        "angry", "contemptuous", "neutral", "happy"]
    assert test.skips.excluded == 1 and "expression 9 (Uncertain)" in caplog.text
    train, val = build_dataset(cfg(root), "train"), build_dataset(cfg(root), "val")
    assert len(train) + len(val) == len(TRAIN_CODES) - 3
    assert set(train[0]) == {"image", "expression", "landmarks", "index"}


def test_val_slice_is_seeded_and_disjoint(affect):
    root, _ = affect
    files = {sp: [r.files[0] for r in build_dataset(cfg(root), sp).records] for sp in ("train", "val")}
    assert not set(files["train"]) & set(files["val"])
    again = [r.files[0] for r in build_dataset(cfg(root), "val").records]
    assert again == files["val"]


def test_crop_and_landmarks(affect):
    root, rows = affect
    test = build_dataset(cfg(root), "test")
    row = rows["validation.csv"][0]
    box = face_crop(row["box"], 120, 90)
    x, y, w, h = row["box"]
    side = max(w, h) * 1.4
    assert box[2] - box[0] == round(side)
    np.testing.assert_allclose(test[0]["landmarks"].numpy(), crop_resize_points(row["landmarks"], box, 24), atol=5e-3)
    # the face colour fills the middle of the crop
    rgb = ((test[0]["image"] + 1) * 127.5).numpy()
    np.testing.assert_allclose(rgb[:, 12, 12], handmade.colour_of(0), atol=8)


def _replace_line(path, lineno, fn):
    lines = path.read_text().splitlines()
    lines[lineno - 1] = fn(lines[lineno - 1])
    path.write_text("\n".join(lines) + "\n")


def test_non_numeric_box(affect):
    root, _ = affect
    _replace_line(root / "validation.csv", 3, lambda s: s.replace(",30,20,", ",3O,20,", 1) if ",30,20," in s
                  else s.replace(",31,20,", ",3l,20,", 1))
    with pytest.raises(DatasetError, match=r"validation\.csv:3: face box .* is not numeric"):
        build_dataset(cfg(root), "test")
    ds = build_dataset(cfg(root, skip_bad=True), "test")
    assert len(ds) == 3 and ds.skips.bad == 1


def test_wrong_column_count_and_bad_landmarks_and_bad_code(affect):
    root, _ = affect
    path = root / "validation.csv"
    original = path.read_text()
    _replace_line(path, 2, lambda s: s + ",extra")
    with pytest.raises(DatasetError, match=r"validation\.csv:2: expected 9 columns, found 10"):
        build_dataset(cfg(root), "test")
    path.write_text(original)
    _replace_line(path, 4, lambda s: ",".join(p if i != 5 else "1;2;3" for i, p in enumerate(s.split(","))))
    with pytest.raises(DatasetError, match=r"validation\.csv:4: facial_landmarks has 3 numbers"):
        build_dataset(cfg(root), "test")
    path.write_text(original)
    _replace_line(path, 2, lambda s: ",".join(p if i != 6 else "12" for i, p in enumerate(s.split(","))))
    with pytest.raises(DatasetError, match=r"validation\.csv:2: expression code 12"):
        build_dataset(cfg(root), "test")
    path.write_text(original.replace("subDirectory_filePath", "path"))
    with pytest.raises(DatasetError, match=r"validation\.csv:1: column\(s\) subDirectory_filePath missing"):
        build_dataset(cfg(root), "test")


def test_path_outside_the_image_folder_is_refused(affect):
    root, _ = affect
    _replace_line(root / "validation.csv", 2, lambda s: "../../etc/passwd" + s[s.index(","):])
    with pytest.raises(DatasetError, match=r"validation\.csv:2: image path '../../etc/passwd' is not a relative path"):
        build_dataset(cfg(root), "test")


def test_box_outside_the_photo(affect):
    root, _ = affect
    _replace_line(root / "validation.csv", 2, lambda s: ",".join(
        p if i != 1 else "500" for i, p in enumerate(s.split(","))))
    with pytest.raises(DatasetError, match=r"face box .* lies outside the 120x90 image.*validation\.csv line 2"):
        build_dataset(cfg(root), "test")


def test_csvs_as_distributed_in_manually_annotated_file_lists(tmp_path):
    """AffectNet ships training.csv and validation.csv in Manually_Annotated_file_lists/."""
    handmade.write_affectnet(tmp_path, TRAIN_CODES, VAL_CODES, lists_dir="Manually_Annotated_file_lists")
    assert not (tmp_path / "training.csv").exists()
    test = build_dataset(cfg(tmp_path), "test")
    assert [EXPRESSIONS[int(test[i]["expression"])] for i in range(len(test))] == [
        "angry", "contemptuous", "neutral", "happy"]
    train, val = build_dataset(cfg(tmp_path), "train"), build_dataset(cfg(tmp_path), "val")
    assert len(train) + len(val) == len(TRAIN_CODES) - 3
    assert test.label_files() == [tmp_path / "Manually_Annotated_file_lists" / n
                                  for n in ("training.csv", "validation.csv")]


def test_missing_csvs_name_both_places(tmp_path):
    (tmp_path / "Manually_Annotated_Images").mkdir()
    with pytest.raises(DatasetError) as err:
        build_dataset(cfg(tmp_path), "train")
    message = str(err.value)
    assert "training.csv" in message and "Manually_Annotated_file_lists" in message and "\n" not in message
