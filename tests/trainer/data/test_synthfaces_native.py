"""SynthFaces native format, its Dataset and the faceeditor-train synthfaces command."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from faceeditor.core.labels import CLASS_INDEX, EVALUATOR_ATTRIBUTES, EXPRESSIONS
from trainer.cli import main as train_main
from trainer.data.registry import DataConfig, build_dataset
from trainer.data.synthfaces import render_seed
from trainer.data.synthfaces.native import ARRAYS, open_shard, read_meta, sample_seed, write_native
from trainer.data.synthfaces_dataset import LANDMARK_FLIP


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    root = tmp_path_factory.mktemp("sf") / "one"
    write_native(root, 23, size=48, seed=3, workers=1, progress=False, shard_size=10)
    return root


def test_native_is_byte_identical_for_any_worker_count(native, tmp_path):
    two = write_native(tmp_path / "two", 23, size=48, seed=3, workers=2, progress=False, shard_size=10)
    assert (native / "meta.json").read_bytes() == (two / "meta.json").read_bytes()
    meta = read_meta(native)
    assert [s["count"] for s in meta["shards"]] == [10, 10, 3]
    for shard in meta["shards"]:
        for k in ARRAYS:
            a = (native / shard["name"] / f"{k}.npy").read_bytes()
            assert a == (two / shard["name"] / f"{k}.npy").read_bytes(), (shard["name"], k)


def test_native_rows_are_the_renders_of_their_seeds(native):
    meta = read_meta(native)
    arr = open_shard(native, meta["shards"][1])
    s = render_seed(sample_seed(3, 12), 48)
    assert arr["seed"][2] == sample_seed(3, 12)
    assert np.array_equal(arr["images"][2], s.image) and np.array_equal(arr["masks"][2], s.mask)
    assert np.array_equal(arr["landmarks"][2], s.landmarks)
    assert list(arr["attrs"][2]) == [int(s.attributes[a]) for a in EVALUATOR_ATTRIBUTES]
    assert EXPRESSIONS[arr["expression"][2]] == s.expression
    assert meta["splits"] == {"train": [0, 18], "val": [18, 20], "test": [20, 23]}
    assert meta["attributes"] == list(EVALUATOR_ATTRIBUTES)


def test_dataset_yields_the_registry_sample(native):
    ds = build_dataset(DataConfig(name="synthfaces", root=str(native), resolution=48), "train")
    assert len(ds) == 18
    s = ds[5]
    assert s["image"].dtype == torch.float32 and s["image"].shape == (3, 48, 48)
    assert -1.0 <= float(s["image"].min()) and float(s["image"].max()) <= 1.0
    assert s["mask"].dtype == torch.int64 and s["mask"].shape == (48, 48) and int(s["mask"].max()) < 19
    assert s["attrs"].dtype == torch.float32 and s["attrs"].shape == (15,)
    assert set(s["attrs"].unique().tolist()) <= {0.0, 1.0}
    assert s["attrs_known"].dtype == torch.bool and bool(s["attrs_known"].all())
    assert s["expression"].dtype == torch.int64 and 0 <= int(s["expression"]) < 8
    assert s["landmarks"].dtype == torch.float32 and s["landmarks"].shape == (68, 2)
    assert s["identity"].dtype == torch.int64 and int(s["index"]) == 5
    render = render_seed(sample_seed(3, 5), 48)
    assert np.array_equal(((s["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8), render.image)
    test = build_dataset(DataConfig(name="synthfaces", root=str(native), resolution=48, limit=2), "test")
    assert len(test) == 2 and int(test[0]["index"]) == 20


def test_dataset_resizes_with_labels(native):
    ds = build_dataset(DataConfig(name="synthfaces", root=str(native), resolution=96), "val")
    s = ds[0]
    r = render_seed(sample_seed(3, 18), 48)
    assert s["image"].shape == (3, 96, 96) and s["mask"].shape == (96, 96)
    assert np.array_equal(s["mask"].numpy()[::2, ::2], r.mask.astype(np.int64))
    assert np.allclose(s["landmarks"].numpy(), (r.landmarks + 0.5) * 2 - 0.5)


def test_flipped_samples_swap_sides(native):
    assert sorted(LANDMARK_FLIP) == list(range(68)) and list(LANDMARK_FLIP[LANDMARK_FLIP]) == list(range(68))
    assert LANDMARK_FLIP[36] == 45 and LANDMARK_FLIP[48] == 54 and LANDMARK_FLIP[8] == 8
    plain = build_dataset(DataConfig(root=str(native), resolution=48), "train")[0]
    flip = build_dataset(DataConfig(root=str(native), resolution=48, flip=True), "train")
    torch.manual_seed(0)
    seen = set()
    for _ in range(12):
        s = flip[0]
        if torch.equal(s["image"], plain["image"]):
            seen.add("plain")
            continue
        seen.add("flip")
        assert torch.equal(s["image"], plain["image"].flip(-1))
        m, pm = s["mask"].numpy(), plain["mask"].numpy()[:, ::-1]
        assert np.array_equal(m == CLASS_INDEX["l_eye"], pm == CLASS_INDEX["r_eye"])
        assert np.allclose(s["landmarks"][36, 0], 47 - plain["landmarks"][45, 0])
    assert seen == {"plain", "flip"}


def test_dataset_refuses_what_is_not_synthfaces(tmp_path):
    with pytest.raises(ValueError, match="no meta.json"):
        build_dataset(DataConfig(root=str(tmp_path)), "train")
    (tmp_path / "meta.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a SynthFaces"):
        build_dataset(DataConfig(root=str(tmp_path)), "train")


def test_writer_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_native(tmp_path, 2, size=48, workers=1, progress=False)
    with pytest.raises(FileExistsError):
        write_native(tmp_path, 2, size=48, workers=1, progress=False, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_cli_writes_a_dataset_and_a_preview(tmp_path, capsys):
    out, png = tmp_path / "data", tmp_path / "preview.png"
    rc = train_main(["synthfaces", "--out", str(out), "--count", "4", "--size", "48", "--workers", "1",
                     "--preview", str(png), "--no-progress"])
    assert rc == 0
    assert read_meta(out)["count"] == 4 and read_meta(out)["size"] == 48
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] == 8 * 48 + 7 * 4 and img.shape[1] == 2 * 3 * 48 + 4
    assert "wrote preview" in capsys.readouterr().out


def test_cli_reports_bad_arguments_in_one_line(tmp_path, capsys):
    assert train_main(["synthfaces", "--out", str(tmp_path / "x"), "--count", "0"]) == 2
    assert "--count must be positive" in capsys.readouterr().err
    assert train_main(["synthfaces", "--preview", str(tmp_path / "p.jpg")]) == 2
    assert train_main(["synthfaces"]) == 2
    assert "nothing to do" in capsys.readouterr().err


def test_edited_fraction_flips_one_attribute_in_about_that_share(tmp_path):
    from faceeditor.core.labels import ATTRIBUTES
    from trainer.data.synthfaces import render
    from trainer.data.synthfaces.native import edit_of_sample, sample_face

    root = write_native(tmp_path / "ed", 40, size=32, seed=3, workers=1, progress=False, edited_fraction=0.5)
    meta = read_meta(root)
    assert meta["edited_fraction"] == 0.5
    arr = open_shard(root, meta["shards"][0])
    edited = 0
    for i in range(40):
        natural = render_seed(sample_seed(3, i), 32)
        k = edit_of_sample(sample_seed(3, i), 0.5)
        if k is None:
            assert np.array_equal(arr["images"][i], natural.image)
            continue
        edited += 1
        col = EVALUATOR_ATTRIBUTES.index(ATTRIBUTES[k])
        flipped = bool(arr["attrs"][i, col]) != natural.attributes[ATTRIBUTES[k]]
        hidden = ATTRIBUTES[k] in ("Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair") and natural.attributes["Bald"]
        assert flipped or hidden, (i, ATTRIBUTES[k])     # hair edits on a bald head show nothing
        assert arr["identity"][i] == natural.identity
        # the stored row is exactly what sample_face renders (ground-truth edits re-derive it this way)
        assert np.array_equal(arr["images"][i], render(sample_face(3, i, 0.5), 32).image)
    assert 10 <= edited <= 30


def test_cli_edited_fraction_checks(tmp_path, capsys):
    assert train_main(["synthfaces", "--out", str(tmp_path / "x"), "--edited-fraction", "1.5"]) == 2
    assert train_main(["synthfaces", "--out", str(tmp_path / "y"), "--format", "celeba",
                       "--edited-fraction", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--edited-fraction must be between 0 and 1" in err and "only available with --format native" in err
