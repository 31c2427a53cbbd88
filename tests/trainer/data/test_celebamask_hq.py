"""CelebAMask-HQ loader on hand-made files in its layout."""
import numpy as np
import pytest
import torch

from faceeditor.core.labels import CELEBA_ATTRIBUTES_40, CLASS_INDEX, EVALUATOR_ATTRIBUTES
from tests.trainer.data import handmade
from trainer.data.errors import DatasetError
from trainer.data.registry import DataConfig, build_dataset

# orig_idx of the 10 images: 0-5 before 162770 (train), 6-7 val, 8-9 test
MAPPING = [5, 100, 162769, 7, 9, 11, 162770, 182636, 182637, 202598]


def cfg(root, **kw):
    kw.setdefault("resolution", 32)
    return DataConfig(name="celebamask_hq", root=str(root), **kw)


@pytest.fixture()
def hq(tmp_path):
    values, masks = handmade.write_celebamask_hq(tmp_path, 10, mapping=MAPPING)
    return tmp_path, values, masks


def test_masks_are_composed_in_the_official_order(hq):
    root, values, masks = hq
    ds = build_dataset(cfg(root), "train")
    assert [r.files[0] for r in ds.records] == [f"CelebA-HQ-img/{k}.jpg" for k in range(6)]
    for i in range(6):
        s = ds[i]
        assert s["mask"].dtype == torch.int64 and s["mask"].shape == (32, 32)
        np.testing.assert_array_equal(s["mask"].numpy(), masks[i])     # 32 -> 32: exact
    m = ds[0]["mask"].numpy()
    assert m[0, 16] == CLASS_INDEX["hat"]          # hat drawn after hair
    assert m[10, 16] == CLASS_INDEX["hair"]        # hair drawn after skin
    assert m[16, 5] == CLASS_INDEX["l_eye"]
    assert m[30, 16] == CLASS_INDEX["skin"] and m[30, 1] == 0
    assert ds[1]["mask"][0, 16] == CLASS_INDEX["hair"]        # odd k: no hat file
    cols = [CELEBA_ATTRIBUTES_40.index(a) for a in EVALUATOR_ATTRIBUTES]
    np.testing.assert_array_equal(ds[4]["attrs"].numpy(), (values[4, cols] > 0))


def test_mask_downscale_is_nearest(hq):
    root, _, masks = hq
    m = build_dataset(cfg(root, resolution=16), "train")[0]["mask"].numpy()
    assert set(np.unique(m)) <= set(np.unique(masks[0]))
    np.testing.assert_array_equal(m, masks[0][::2, ::2])


def test_mapping_split_uses_celeba_partition_boundaries(hq):
    root = hq[0]
    idx = {sp: [int(r.files[0].split("/")[1][:-4]) for r in build_dataset(cfg(root), sp).records]
           for sp in ("train", "val", "test")}
    assert idx == {"train": [0, 1, 2, 3, 4, 5], "val": [6, 7], "test": [8, 9]}


def test_fallback_and_attgan_split_by_image_number(hq):
    root = hq[0]
    attgan = [len(build_dataset(cfg(root, split_scheme="attgan"), sp)) for sp in ("train", "val", "test")]
    assert attgan == [8, 1, 1]
    (root / "CelebA-HQ-to-CelebA-mapping.txt").unlink()
    ds = {sp: build_dataset(cfg(root), sp) for sp in ("train", "val", "test")}
    assert [len(d) for d in ds.values()] == [8, 1, 1]
    assert ds["test"].records[0].files[0] == "CelebA-HQ-img/9.jpg"


def test_flip_swaps_left_and_right_classes(hq):
    root, _, masks = hq
    ds = build_dataset(cfg(root, flip=True), "train")
    torch.manual_seed(1)
    flipped = None
    for _ in range(30):
        m = ds[0]["mask"].numpy()
        if not np.array_equal(m, masks[0]):
            flipped = m
            break
    assert flipped is not None
    # l_eye at columns 4..7 reappears mirrored at 24..27 as r_eye; r_eye at 22..25 as l_eye at 6..9
    assert flipped[16, 24:28].tolist() == [CLASS_INDEX["r_eye"]] * 4
    assert flipped[16, 6:10].tolist() == [CLASS_INDEX["l_eye"]] * 4
    assert flipped[16, 4:6].tolist() == [CLASS_INDEX["skin"]] * 2
    img = ds[0]["image"]
    assert img.shape == (3, 32, 32)


def test_without_masks_or_attributes(tmp_path):
    handmade.write_celebamask_hq(tmp_path, 6)
    import shutil
    shutil.rmtree(tmp_path / "CelebAMask-HQ-mask-anno")
    s = build_dataset(cfg(tmp_path), "train")[0]
    assert "mask" not in s and "attrs" in s
    (tmp_path / "CelebAMask-HQ-attribute-anno.txt").unlink()
    ds = build_dataset(cfg(tmp_path), "train")
    assert set(ds[0]) == {"image", "index"} and len(ds) == 4


def test_broken_mask_png_names_the_file(hq):
    root = hq[0]
    (root / "CelebAMask-HQ-mask-anno/0/00003_hair.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DatasetError, match=r"00003_hair\.png: unreadable image header.*CelebAMask-HQ-attribute-anno\.txt line 6"):
        build_dataset(cfg(root), "train")
    ds = build_dataset(cfg(root, skip_bad=True), "train")
    assert len(ds) == 5 and ds.skips.bad == 1


def test_sample_without_any_mask_file(hq):
    root = hq[0]
    for p in (root / "CelebAMask-HQ-mask-anno/0").glob("00002_*.png"):
        p.unlink()
    with pytest.raises(DatasetError, match=r"no mask PNG for image 2"):
        build_dataset(cfg(root), "train")
    assert len(build_dataset(cfg(root, skip_bad=True), "train")) == 5


def test_mask_of_another_size(hq):
    root = hq[0]
    from PIL import Image
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "CelebAMask-HQ-mask-anno/0/00001_hat.png")
    with pytest.raises(DatasetError, match=r"00001_hat\.png: mask is 16x16"):
        build_dataset(cfg(root), "train")


def test_bad_mapping_line(hq):
    root = hq[0]
    path = root / "CelebA-HQ-to-CelebA-mapping.txt"
    lines = path.read_text().splitlines()
    lines[3] = "2 abc 000003.jpg"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"CelebA-HQ-to-CelebA-mapping\.txt:4: idx '2' / orig_idx 'abc'"):
        build_dataset(cfg(root), "train")
    ds = build_dataset(cfg(root, skip_bad=True), "train")
    assert len(ds) == 5 and ds.skips.bad == 2      # the line, and image 2 left without a split


# -- round trip through the SynthFaces CelebAMask-HQ writer ---------------------------------------------
SYNTH_SEED, SYNTH_COUNT, SYNTH_SIZE = 5, 12, 64


@pytest.fixture(scope="module")
def synth_hq(tmp_path_factory):
    from trainer.data.synthfaces.formats import write_celebamask_hq
    root = tmp_path_factory.mktemp("synth_hq")
    write_celebamask_hq(root, SYNTH_COUNT, size=SYNTH_SIZE, seed=SYNTH_SEED, workers=0, progress=False)
    return root


def test_synthfaces_celebamask_hq_layout(synth_hq):
    from PIL import Image
    assert Image.open(synth_hq / "CelebA-HQ-img" / "0.jpg").size == (2 * SYNTH_SIZE, 2 * SYNTH_SIZE)
    pngs = sorted((synth_hq / "CelebAMask-HQ-mask-anno" / "0").glob("00000_*.png"))
    assert pngs and all(Image.open(p).size == (SYNTH_SIZE, SYNTH_SIZE) for p in pngs)
    assert set(np.unique(np.asarray(Image.open(pngs[0])))) <= {0, 255}


def test_synthfaces_celebamask_hq_round_trip(synth_hq):
    from trainer.data.synthfaces import render_seed
    from trainer.data.synthfaces.formats import sample_seed
    from trainer.data.transforms import resize_mask

    seen = []
    for split in ("train", "val", "test"):
        full = build_dataset(cfg(synth_hq, resolution=SYNTH_SIZE), split)
        half = build_dataset(cfg(synth_hq, resolution=SYNTH_SIZE // 2), split)
        for pos, rec in enumerate(full.records):
            k = int(rec.files[0].split("/")[1][:-4])
            seen.append((split, k))
            s = render_seed(sample_seed(SYNTH_SEED, k), SYNTH_SIZE)
            got = full[pos]
            np.testing.assert_array_equal(got["mask"].numpy(), s.mask)          # exact at the mask size
            np.testing.assert_array_equal(half[pos]["mask"].numpy(), resize_mask(s.mask, SYNTH_SIZE // 2))
            assert got["attrs"].numpy().astype(bool).tolist() == [s.attributes[a] for a in EVALUATOR_ATTRIBUTES]
            # 2x up, JPEG (quality 95), 2x down
            assert handmade.psnr(handmade.sample_rgb(got["image"]), s.image) > 33
    # the mapping puts the images at CelebA's proportions: 10 train, 1 val, 1 test of 12
    assert [k for sp, k in seen if sp == "train"] == list(range(10))
    assert [(sp, k) for sp, k in seen if sp != "train"] == [("val", 10), ("test", 11)]
