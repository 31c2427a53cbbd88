"""CelebA loader on hand-made files in CelebA's layout (see test_synth_layouts.py for the round trip
through the SynthFaces writers)."""
import logging

import numpy as np
import pytest
import torch

from faceeditor.core.labels import CELEBA_ATTRIBUTES_40, EVALUATOR_ATTRIBUTES
from tests.trainer.data import handmade
from trainer.data.celeba import CelebADataset, proportional_split
from trainer.data.errors import DatasetError
from trainer.data.registry import DataConfig, build_dataset

PARTS = [0] * 8 + [1] * 2 + [2] * 2


def cfg(root, **kw):
    kw.setdefault("resolution", 32)
    return DataConfig(name="celeba", root=str(root), **kw)


@pytest.fixture()
def celeba(tmp_path):
    values = handmade.write_celeba(tmp_path, PARTS)
    return tmp_path, values


def test_official_split_and_labels(celeba):
    root, values = celeba
    ds = build_dataset(cfg(root), "train")
    assert len(ds) == 8
    s = ds[3]
    assert set(s) == {"image", "attrs", "attrs_known", "landmarks5", "index"}
    assert s["image"].shape == (3, 32, 32) and s["image"].dtype == torch.float32
    cols = [CELEBA_ATTRIBUTES_40.index(a) for a in EVALUATOR_ATTRIBUTES]
    np.testing.assert_array_equal(s["attrs"].numpy(), (values[3, cols] > 0).astype(np.float32))
    assert s["attrs_known"].all()
    assert [len(build_dataset(cfg(root), sp)) for sp in ("val", "test")] == [2, 2]
    test = build_dataset(cfg(root), "test")
    img = ((test[1]["image"] + 1) * 127.5).numpy()
    np.testing.assert_allclose(img.reshape(3, -1).mean(1), handmade.colour_of(11), atol=3)


def test_centre_crop_drops_the_top_and_bottom_20_rows(celeba):
    root, _ = celeba
    img = build_dataset(cfg(root, resolution=64), "train")[0]["image"]
    rgb = ((img + 1) * 127.5).numpy()
    # the magenta bands are outside the 178x178 centre crop: only JPEG's chroma bleed at the edge rows is left
    diff = np.abs(rgb - np.asarray(handmade.colour_of(0), np.float32)[:, None, None])
    assert diff[:, 2:-2].max() < 6 and diff.max() < 40


def test_landmarks5_at_output_resolution(celeba):
    root, _ = celeba
    s = build_dataset(cfg(root, resolution=89), "train")[0]     # 178 -> 89: scale 1/2
    lm = s["landmarks5"].numpy()
    # (69, 111) in 178x218 -> (69, 91) in the crop -> pixel-centre scaling by 1/2
    np.testing.assert_allclose(lm[0], ((69 + 0.5) / 2 - 0.5, (91 + 0.5) / 2 - 0.5), atol=1e-4)


def test_attributes_are_picked_by_name_not_position(tmp_path):
    names = list(reversed(CELEBA_ATTRIBUTES_40))
    values = handmade.write_celeba(tmp_path, PARTS, names=names)
    s = build_dataset(cfg(tmp_path), "train")[2]
    expected = [values[2, names.index(a)] > 0 for a in EVALUATOR_ATTRIBUTES]
    np.testing.assert_array_equal(s["attrs"].numpy().astype(bool), expected)


def test_attgan_split_sizes():
    assert proportional_split(202599, 202599, 182000, 637) == (182000, 637, 19962)
    assert proportional_split(12, 202599, 182000, 637) == (10, 1, 1)
    assert proportional_split(2000, 202599, 182000, 637) == (1797, 6, 197)
    for n in range(3, 300):
        tr, va, te = proportional_split(n, 202599, 182000, 637)
        assert tr + va + te == n and va >= 1 and te >= 1 and tr >= 1


def test_attgan_split_is_sorted_file_order(tmp_path):
    handmade.write_celeba(tmp_path, [2] * 12)     # the official partition must be ignored
    sets = {sp: build_dataset(cfg(tmp_path, split_scheme="attgan"), sp) for sp in ("train", "val", "test")}
    assert [len(sets[s]) for s in ("train", "val", "test")] == [10, 1, 1]
    files = [r.files[0] for s in ("train", "val", "test") for r in sets[s].records]
    assert files == sorted(files) and len(set(files)) == 12


def test_no_landmark_file_means_no_landmark_key(tmp_path):
    handmade.write_celeba(tmp_path, PARTS, landmarks=False)
    assert "landmarks5" not in build_dataset(cfg(tmp_path), "train")[0]


def test_unknown_split_scheme(celeba):
    with pytest.raises(DatasetError, match="split_scheme"):
        CelebADataset(cfg(celeba[0], split_scheme="foo"), "train")


# -- broken files ------------------------------------------------------------------------------------
def _edit_line(path, lineno, new):
    lines = path.read_text().splitlines()
    lines[lineno - 1] = new
    path.write_text("\n".join(lines) + "\n")


def test_corrupt_jpeg_names_file_and_line(celeba):
    root, _ = celeba
    p = root / "img_align_celeba" / "000002.jpg"
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])          # truncated
    with pytest.raises(DatasetError, match=r"000002\.jpg: the file is truncated.*list_attr_celeba\.txt line 4"):
        build_dataset(cfg(root), "train")
    ds = build_dataset(cfg(root, skip_bad=True), "train")
    assert len(ds) == 7 and ds.skips.bad == 1


def test_zero_byte_image(celeba):
    root, _ = celeba
    (root / "img_align_celeba" / "000001.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"000001\.jpg: the file is empty.*line 3"):
        build_dataset(cfg(root), "train")
    assert len(build_dataset(cfg(root, skip_bad=True), "train")) == 7


def test_zero_byte_image_without_cache(celeba):
    root, _ = celeba
    (root / "img_align_celeba" / "000001.jpg").write_bytes(b"")
    ds = build_dataset(cfg(root, cache=False), "train")
    with pytest.raises(DatasetError, match=r"000001\.jpg.*line 3"):
        ds[0]
    ds = build_dataset(cfg(root, cache=False, skip_bad=True), "train")
    assert ds[0]["index"] == 0 and ds.skips.bad == 1     # replaced by the next sample, counted


def test_missing_image_listed_in_attribute_file(celeba):
    root, _ = celeba
    (root / "img_align_celeba" / "000005.jpg").unlink()
    with pytest.raises(DatasetError, match=r"000005\.jpg: file listed in list_attr_celeba\.txt line 7 is missing"):
        build_dataset(cfg(root), "train")
    assert len(build_dataset(cfg(root, skip_bad=True), "train")) == 7


def test_attribute_row_with_wrong_column_count(celeba):
    root, _ = celeba
    _edit_line(root / "list_attr_celeba.txt", 5, "000003.jpg 1 -1 1")
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt:5: expected 41 columns"):
        build_dataset(cfg(root), "train")
    assert len(build_dataset(cfg(root, skip_bad=True), "train")) == 7


def test_attribute_value_not_plus_minus_one(celeba):
    root, _ = celeba
    _edit_line(root / "list_attr_celeba.txt", 6, "000004.jpg " + " ".join(["1"] * 39 + ["0"]))
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt:6: value '0' of Young is not 1 or -1"):
        build_dataset(cfg(root), "train")
    ds = build_dataset(cfg(root, skip_bad=True), "train")
    assert len(ds) == 7 and "list_attr_celeba.txt:6" in ds.skips.reasons[0]


def test_bad_partition_line(celeba):
    root, _ = celeba
    _edit_line(root / "list_eval_partition.txt", 2, "000002.jpg 7")
    with pytest.raises(DatasetError, match=r"list_eval_partition\.txt:2: partition '7' is not 0, 1 or 2"):
        build_dataset(cfg(root), "train")
    ds = build_dataset(cfg(root, skip_bad=True), "train")
    assert len(ds) == 7 and ds.skips.bad == 2     # the bad line, then the image left without a partition


def test_bad_header_and_count_lines(celeba, caplog):
    root, _ = celeba
    path = root / "list_attr_celeba.txt"
    original = path.read_text()
    _edit_line(path, 1, "many")
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt:1: expected the number of images"):
        build_dataset(cfg(root, skip_bad=True), "train")
    path.write_text(original.replace("Smiling", "Smiley"))
    with pytest.raises(DatasetError, match=r":2: attribute column\(s\) Smiling missing"):
        build_dataset(cfg(root), "train")
    path.write_text(original.replace("12\n", "13\n", 1))
    with caplog.at_level(logging.WARNING, logger="trainer.data"):
        build_dataset(cfg(root), "train")
    assert "declares 13 images but 12 rows follow" in caplog.text


def test_malformed_landmark_line(celeba):
    root, _ = celeba
    _edit_line(root / "list_landmarks_align_celeba.txt", 4, "000002.jpg 69 111 108 111 89 x 73 152 105 152")
    with pytest.raises(DatasetError, match=r"list_landmarks_align_celeba\.txt:4: landmark coordinates"):
        build_dataset(cfg(root), "train")


def test_missing_root_and_missing_label_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        build_dataset(cfg(tmp_path / "nope"), "train")
    with pytest.raises(DatasetError, match=r"list_attr_celeba\.txt: label file is missing"):
        build_dataset(cfg(tmp_path), "train")


def test_flip_mirrors_landmarks5(celeba):
    root, _ = celeba
    plain = build_dataset(cfg(root, flip=False), "train")[0]["landmarks5"]
    flipped_ds = build_dataset(cfg(root, flip=True), "train")
    torch.manual_seed(0)
    seen = set()
    for _ in range(20):
        lm = flipped_ds[0]["landmarks5"]
        if torch.allclose(lm, plain):
            seen.add("plain")
        else:
            np.testing.assert_allclose(lm[0, 0], 31 - plain[1, 0], atol=1e-5)   # right eye -> left eye
            np.testing.assert_allclose(lm[3], torch.stack([31 - plain[4, 0], plain[4, 1]]), atol=1e-5)
            seen.add("flipped")
    assert seen == {"plain", "flipped"}
    # no flip outside the train split
    test = build_dataset(cfg(root, flip=True), "test")
    assert all(torch.equal(test[0]["image"], test[0]["image"]) for _ in range(5))


def test_original_distribution_subfolders(celeba):
    root, _ = celeba
    for name, folder in (("list_attr_celeba.txt", "Anno"), ("list_landmarks_align_celeba.txt", "Anno"),
                         ("list_eval_partition.txt", "Eval"), ("img_align_celeba", "Img")):
        (root / folder).mkdir(exist_ok=True)
        (root / name).rename(root / folder / name)
    ds = build_dataset(cfg(root), "train")
    assert len(ds) == 8 and ds.records[0].files[0] == "Img/img_align_celeba/000001.jpg"
    assert "landmarks5" in ds[0]


# -- round trip through the SynthFaces CelebA writer ----------------------------------------------------
SYNTH_SEED, SYNTH_COUNT, SYNTH_RENDER = 3, 24, 128


@pytest.fixture(scope="module")
def synth_celeba(tmp_path_factory):
    from trainer.data.synthfaces.formats import write_celeba
    root = tmp_path_factory.mktemp("synth_celeba")
    write_celeba(root, SYNTH_COUNT, seed=SYNTH_SEED, workers=0, progress=False, render_size=SYNTH_RENDER)
    return root


def test_synthfaces_celeba_round_trip(synth_celeba):
    from faceeditor.core.face_align import CELEBA_CANONICAL_POINTS, five_points, transform_points, warp
    from trainer.data.synthfaces import render_seed
    from trainer.data.synthfaces.formats import celeba_alignment, official_partition, sample_seed
    from trainer.data.transforms import crop_resize_points, resize_image

    res = 64
    seen = 0
    for split, code in (("train", 0), ("val", 1), ("test", 2)):
        ds = build_dataset(cfg(synth_celeba, resolution=res), split)
        expected_files = [i for i in range(SYNTH_COUNT) if official_partition(i, SYNTH_COUNT) == code]
        assert [int(r.files[0][-10:-4]) - 1 for r in ds.records] == expected_files
        for pos, i in enumerate(expected_files):
            s = render_seed(sample_seed(SYNTH_SEED, i), SYNTH_RENDER)
            got = ds[pos]
            assert got["attrs"].numpy().astype(bool).tolist() == [s.attributes[a] for a in EVALUATOR_ATTRIBUTES]
            assert int(got["identity"]) == s.identity
            m = celeba_alignment(s.landmarks)
            pts = transform_points(five_points(s.landmarks), m)
            # the alignment puts the five points near CelebA's mean positions (the eyes closest; a
            # turned head moves the nose tip off the midline, as in CelebA)
            err = np.abs(pts - CELEBA_CANONICAL_POINTS)
            assert err[:2].max() < 4 and err.max() < 10
            exp_lm = crop_resize_points(pts, (0, 20, 178, 198), res)
            np.testing.assert_allclose(got["landmarks5"].numpy(), exp_lm, atol=0.5 * res / 178 + 1e-4)
            aligned = warp(s.image, m, (178, 218), border="reflect")
            exp_img = resize_image(aligned[20:198], res)
            assert handmade.psnr(handmade.sample_rgb(got["image"]), exp_img) > 33     # JPEG quality 95
            seen += 1
    assert seen == SYNTH_COUNT


def test_synthfaces_celeba_attgan_split(synth_celeba):
    sizes = [len(build_dataset(cfg(synth_celeba, split_scheme="attgan"), sp)) for sp in ("train", "val", "test")]
    assert sizes == list(proportional_split(SYNTH_COUNT, 202599, 182000, 637)) == [22, 1, 1]
