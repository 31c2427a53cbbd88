"""The uint8 memory-mapped cache the real-dataset loaders read through, and the prepare command."""
import json
import os
import pickle

import numpy as np
import pytest
import torch

from tests.trainer.data import handmade
from trainer.cli import main as train_cli
from trainer.data import cache as cache_mod
from trainer.data.errors import DatasetError
from trainer.data.registry import DataConfig, build_dataset

PARTS = [0] * 10 + [1] * 2 + [2] * 2


def cfg(root, **kw):
    kw.setdefault("resolution", 32)
    return DataConfig(name="celeba", root=str(root), **kw)


@pytest.fixture()
def celeba(tmp_path):
    handmade.write_celeba(tmp_path, PARTS)
    return tmp_path


@pytest.fixture()
def count_builds(monkeypatch):
    calls = []
    real = cache_mod.build

    def counting(ds, path, *a, **kw):
        calls.append(path)
        return real(ds, path, *a, **kw)

    monkeypatch.setattr(cache_mod, "build", counting)
    return calls


def test_built_once_then_reused(celeba, count_builds):
    ds = build_dataset(cfg(celeba), "train")
    path = ds.cache.path
    assert path == celeba / ".cache" / "celeba-train-32"
    assert len(count_builds) == 1
    again = build_dataset(cfg(celeba), "train")
    assert len(count_builds) == 1 and again.cache.path == path
    for i in range(len(ds)):
        assert torch.equal(ds[i]["image"], again[i]["image"])
    # another resolution or scheme is another cache
    build_dataset(cfg(celeba, resolution=16), "train")
    build_dataset(cfg(celeba, split_scheme="attgan"), "train")
    assert [p.name for p in count_builds[1:]] == ["celeba-train-16", "celeba-attgan-train-32"]


def test_memmap_dtype_and_shape(celeba):
    ds = build_dataset(cfg(celeba), "train")
    images = ds.cache.array("image")
    assert isinstance(images, np.memmap) and images.dtype == np.uint8 and images.shape == (10, 32, 32, 3)
    assert ds.cache.array("attrs").shape == (10, 15) and ds.cache.array("landmarks5").dtype == np.float32
    meta = json.loads((ds.cache.path / "meta.json").read_text())
    assert meta["count"] == 10 and meta["fingerprint"]["samples_listed"] == 10
    assert np.load(ds.cache.path / "images.npy", mmap_mode="r").shape == (10, 32, 32, 3)


def test_rebuilt_when_an_image_or_label_file_changes(celeba, count_builds):
    build_dataset(cfg(celeba), "train")
    img = celeba / "img_align_celeba" / "000003.jpg"
    st = img.stat()
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    build_dataset(cfg(celeba), "train")
    assert len(count_builds) == 2
    attr = celeba / "list_attr_celeba.txt"
    attr.write_text(attr.read_text().replace("000004.jpg  1", "000004.jpg -1", 1).replace(
        "000004.jpg -1", "000004.jpg  1", 1) + "\n")
    build_dataset(cfg(celeba), "train")
    assert len(count_builds) == 3
    build_dataset(cfg(celeba), "train")
    assert len(count_builds) == 3
    leftovers = [p.name for p in (celeba / ".cache").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_a_failed_build_leaves_no_cache_and_no_temp_folder(celeba):
    (celeba / "img_align_celeba" / "000002.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DatasetError):
        build_dataset(cfg(celeba), "train")
    names = [p.name for p in (celeba / ".cache").iterdir() if not p.name.endswith(".lock")]
    assert names == []


def test_skipped_samples_shrink_the_arrays(celeba):
    (celeba / "img_align_celeba" / "000002.jpg").write_bytes(b"")
    ds = build_dataset(cfg(celeba, skip_bad=True), "train")
    assert len(ds) == 9 and ds.cache.array("image").shape[0] == 9
    assert ds.cache.array("source_index").tolist() == [0] + list(range(2, 10))
    assert json.loads((ds.cache.path / "meta.json").read_text())["skipped_bad"] == 1
    # the same data without skip_bad is another fingerprint: it rebuilds and fails on the bad file
    with pytest.raises(DatasetError, match="000002.jpg"):
        build_dataset(cfg(celeba), "train")


def test_worker_processes_build_the_same_cache(celeba, tmp_path):
    one = build_dataset(cfg(celeba, cache_dir=str(tmp_path / "a")), "train")
    ds = build_dataset(cfg(celeba, cache=False, cache_dir=str(tmp_path / "b")), "train")
    ds.attach_cache(workers=2, progress=False)
    assert np.array_equal(np.asarray(one.cache.array("image")), np.asarray(ds.cache.array("image")))
    assert np.array_equal(np.asarray(one.cache.array("landmarks5")), np.asarray(ds.cache.array("landmarks5")))


def test_uncached_and_cached_samples_agree(celeba):
    cached = build_dataset(cfg(celeba), "test")
    raw = build_dataset(cfg(celeba, cache=False), "test")
    assert raw.cache is None and not (celeba / ".cache" / "celeba-test-32-x").exists()
    for i in range(len(raw)):
        a, b = cached[i], raw[i]
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k


def test_pickled_dataset_carries_no_pixels_and_loads_in_workers(celeba):
    ds = build_dataset(cfg(celeba), "train")
    ds[0]                                             # opens the memmaps in this process
    assert len(pickle.dumps(ds)) < 20000              # 10 images of 32x32x3 would be 30 kB
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batch = next(iter(loader))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["attrs"].shape == (4, 15)


def test_limit_and_cache_dir(celeba, tmp_path):
    ds = build_dataset(cfg(celeba, limit=3, cache_dir=str(tmp_path / "elsewhere")), "train")
    assert len(ds) == 3 and ds.cache.path == tmp_path / "elsewhere" / "celeba-train-32-limit3"


def test_unwritable_cache_dir_is_a_clear_error(celeba, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((DatasetError, OSError)):
        build_dataset(cfg(celeba, cache_dir=str(blocker / "sub")), "train")
    if os.geteuid() != 0:                             # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(DatasetError, match="cannot write the dataset cache"):
            build_dataset(cfg(celeba, cache_dir=str(ro)), "train")


def test_prepare_command(celeba, capsys):
    assert train_cli(["prepare", "celeba", str(celeba), "--resolution", "16", "--workers", "0"]) == 0
    out = capsys.readouterr().out
    assert "celeba train: 10 samples at 16px" in out and "celeba test: 2 samples" in out
    assert (celeba / ".cache" / "celeba-val-16" / "meta.json").exists()
    (celeba / "img_align_celeba" / "000001.jpg").write_bytes(b"")
    assert train_cli(["prepare", "celeba", str(celeba), "--resolution", "16", "--splits", "train"]) == 2
    err = capsys.readouterr().err
    assert "000001.jpg: the file is empty" in err and "Traceback" not in err
    assert train_cli(["prepare", "celeba", str(celeba), "--resolution", "16", "--splits", "train",
                      "--skip-bad"]) == 0
    assert "9 samples" in capsys.readouterr().out
    assert train_cli(["prepare", "celeba", str(celeba), "--splits", "nope"]) == 2
