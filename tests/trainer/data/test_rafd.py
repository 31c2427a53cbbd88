"""RaFD loader on hand-made files named in RaFD's convention."""
import logging

import numpy as np
import pytest

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS
from tests.trainer.data import handmade
from trainer.data.errors import DatasetError
from trainer.data.rafd import identity_split, parse_rafd_name, rafd_face_box
from trainer.data.registry import DataConfig, build_dataset

IDS = [1, 2, 3, 5, 8, 9, 12, 14, 20, 21]


def cfg(root, **kw):
    kw.setdefault("resolution", 16)
    return DataConfig(name="rafd", root=str(root), **kw)


@pytest.fixture()
def rafd(tmp_path):
    handmade.write_rafd(tmp_path, IDS)
    return tmp_path


def test_parse_names():
    assert parse_rafd_name("Rafd090_01_Caucasian_female_angry_frontal.jpg") == {
        "angle": "090", "identity": 1, "ethnicity": "Caucasian", "gender": "female", "expression": "angry",
        "gaze": "frontal"}
    assert parse_rafd_name("Rafd045_67_Moroccan_male_surprised_left.jpg")["identity"] == 67
    for bad in ("Rafd090_01_Caucasian_female_bored_frontal.jpg", "Rafd90_01_Caucasian_female_angry_frontal.jpg",
                "photo.jpg", "Rafd090_01_Caucasian_other_angry_frontal.jpg", "Rafd090_xx_Kid_male_sad_up.jpg"):
        assert parse_rafd_name(bad) is None


def test_frontal_filter_expressions_and_identity(rafd):
    parts = {sp: build_dataset(cfg(rafd), sp) for sp in ("train", "test")}
    assert sum(len(d) for d in parts.values()) == len(IDS) * 8      # the 045 and left-gaze files dropped
    for d in parts.values():
        for r in d.records:
            assert r.labels["angle"] == "090" and r.labels["gaze"] == "frontal"
    ds = parts["train"]
    seen = {(int(ds[i]["identity"]), EXPRESSIONS[int(ds[i]["expression"])]) for i in range(len(ds))}
    assert {e for _, e in seen} == set(EXPRESSIONS)
    s = ds[0]
    male = EVALUATOR_ATTRIBUTES.index("Male")
    assert s["attrs_known"].sum() == 1 and s["attrs_known"][male]
    assert bool(s["attrs"][male]) == (int(s["identity"]) % 2 == 0)    # fixture: even ids are male
    assert set(s) == {"image", "attrs", "attrs_known", "expression", "identity", "index"}


def test_view_options(rafd):
    all_gazes = build_dataset(cfg(rafd, rafd_gazes="all", split_scheme="default"), "test")
    frontal = build_dataset(cfg(rafd), "test")
    n_test_ids = len({r.labels["identity"] for r in frontal.records})
    assert len(all_gazes) == len(frontal) + n_test_ids
    both = build_dataset(cfg(rafd, rafd_angles="045,090"), "test")
    assert len(both) == len(frontal) + n_test_ids
    with pytest.raises(DatasetError, match="rafd_gazes 'up'"):
        build_dataset(cfg(rafd, rafd_gazes="up"), "train")


def test_identity_split_is_disjoint_seeded_and_sized():
    ids = list(range(1, 68))
    s = identity_split(ids, 0)
    assert len(s["train"]) == 60 and len(s["test"]) == 7 and not s["train"] & s["test"]
    assert s["val"] <= s["train"] and len(s["val"]) == 3
    assert identity_split(list(reversed(ids)), 0) == s                 # order of discovery does not matter
    assert identity_split(ids, 1)["test"] != s["test"]
    small = identity_split(IDS, 0)
    assert (len(small["train"]), len(small["test"])) == (9, 1) and len(small["val"]) == 1
    large = identity_split(list(range(1, 401)), 0)      # SynthFaces' 400: RaFD's proportion, not a fixed 60
    assert (len(large["train"]), len(large["test"]), len(large["val"])) == (358, 42, 3)


def test_dataset_splits_are_disjoint_by_identity(rafd):
    ids = {sp: {r.labels["identity"] for r in build_dataset(cfg(rafd), sp).records} for sp in ("train", "val", "test")}
    assert not ids["train"] & ids["test"] and ids["val"] <= ids["train"]
    assert ids["train"] | ids["test"] == set(IDS)
    other = {r.labels["identity"] for r in build_dataset(cfg(rafd, split_seed=3), "test").records}
    assert other != ids["test"] or len(IDS) < 2


def test_unparsable_name_is_skipped_with_a_warning(rafd, caplog):
    (rafd / "holiday.jpg").write_bytes((rafd / "Rafd090_01_Caucasian_female_angry_frontal.jpg").read_bytes())
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        ds = build_dataset(cfg(rafd), "train")
    assert "holiday.jpg: not a RaFD file name" in caplog.text and ds.skips.excluded == 1
    assert all("holiday" not in r.files[0] for r in ds.records)


def test_crop_box_is_the_head_square():
    assert rafd_face_box(681, 1024) == (40, 140, 640, 740)
    x0, y0, x1, y1 = rafd_face_box(68, 102)
    assert x1 - x0 == y1 - y0 == 60 and x0 == 4


def test_crop_and_resize_take_the_face_square(tmp_path):
    from PIL import Image
    img = np.zeros((102, 68, 3), np.uint8)
    img[:] = (255, 0, 0)
    x0, y0, x1, y1 = rafd_face_box(68, 102)
    img[y0:y1, x0:x1] = (0, 0, 255)
    for e in EXPRESSIONS:
        for ident in (1, 2):
            Image.fromarray(img).save(tmp_path / f"Rafd090_{ident:02d}_Kid_male_{e}_frontal.jpg", quality=95)
    rgb = (build_dataset(cfg(tmp_path), "train")[0]["image"] + 1) * 127.5
    assert rgb[2, 2:-2, 2:-2].min() > 230 and rgb[0, 2:-2, 2:-2].max() < 25


def test_corrupt_image(rafd):
    test_names = sorted(r.files[0] for r in build_dataset(cfg(rafd), "test").records)
    (rafd / test_names[0]).write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(DatasetError, match=test_names[0].replace(".", r"\.")):
        build_dataset(cfg(rafd, cache_dir=str(rafd / "c2")), "test")
    assert len(build_dataset(cfg(rafd, skip_bad=True), "test")) == len(test_names) - 1


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="no RaFD images"):
        build_dataset(cfg(tmp_path), "train")


# -- round trip through the SynthFaces RaFD writer ------------------------------------------------------
SYNTH_SEED, SYNTH_IDS, SYNTH_SIZE = 7, 4, 64


@pytest.fixture(scope="module")
def synth_rafd(tmp_path_factory):
    from trainer.data.synthfaces.formats import write_rafd
    root = tmp_path_factory.mktemp("synth_rafd")
    write_rafd(root, SYNTH_IDS, seed=SYNTH_SEED, size=SYNTH_SIZE, workers=0, progress=False)
    return root


def test_synthfaces_rafd_round_trip(synth_rafd):
    from trainer.data.synthfaces import render, sample_params, with_expression
    from trainer.data.synthfaces.formats import frontal, rafd_canvas, sample_seed

    files = sorted(p.name for p in synth_rafd.glob("*.jpg"))
    assert len(files) == SYNTH_IDS * 8 and all(parse_rafd_name(f)["gaze"] == "frontal" for f in files)
    from PIL import Image
    width, height, _ = rafd_canvas(SYNTH_SIZE)
    assert Image.open(synth_rafd / files[0]).size == (width, height) and height / width == pytest.approx(1024 / 681, rel=0.02)
    ids = {}
    male = EVALUATOR_ATTRIBUTES.index("Male")
    for split in ("train", "test"):
        ds = build_dataset(cfg(synth_rafd, resolution=SYNTH_SIZE), split)
        for pos, rec in enumerate(ds.records):
            j = rec.labels["identity"] - 1
            ids.setdefault(split, set()).add(j + 1)
            s = render(with_expression(frontal(sample_params(sample_seed(SYNTH_SEED, j))), rec.labels["expression"]),
                       SYNTH_SIZE)
            got = ds[pos]
            assert EXPRESSIONS[int(got["expression"])] == s.expression == rec.labels["expression"]
            assert int(got["identity"]) == j + 1
            assert bool(got["attrs"][male]) == s.attributes["Male"]
            # the crop is the render, up to JPEG (quality 95) on a small, textured image
            assert handmade.psnr(handmade.sample_rgb(got["image"]), s.image) > 33
    assert len(ids["train"]) == 3 and len(ids["test"]) == 1 and not ids["train"] & ids["test"]
