"""The SynthFaces writers of the real datasets' layouts: determinism, parallel == serial, file contents.
(The loaders' round trips through these files are in test_celeba/test_celebamask_hq/test_rafd.)"""
import hashlib

import numpy as np
import pytest
from PIL import Image

from faceeditor.core.labels import CELEBA_ATTRIBUTES_40, CLASS_INDEX
from trainer.data.synthfaces import render_seed
from trainer.data.synthfaces.formats import (
    FORMAT_WRITERS,
    RENDERED_MARKER,
    mask_files,
    rendered_layout,
    sample_seed,
    write_celeba,
    write_celebamask_hq,
    write_rafd,
)


def digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_format_writers_map():
    assert FORMAT_WRITERS == {"celeba": write_celeba, "celebamask-hq": write_celebamask_hq, "rafd": write_rafd}


@pytest.mark.parametrize("writer,kwargs", [
    (write_celeba, {"count": 5, "render_size": 96}),
    (write_celebamask_hq, {"count": 5, "size": 32}),
    (write_rafd, {"identities": 2, "size": 32}),
])
def test_same_seed_same_bytes_serial_or_parallel(tmp_path, monkeypatch, writer, kwargs):
    from trainer.data.synthfaces import formats
    monkeypatch.setattr(formats, "CHUNK", 2)          # several chunks, so that two workers share them
    a = writer(tmp_path / "a", seed=4, workers=0, progress=False, **kwargs)
    b = writer(tmp_path / "b", seed=4, workers=2, progress=False, **kwargs)
    c = writer(tmp_path / "c", seed=5, workers=0, progress=False, **kwargs)
    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_celeba_label_files(tmp_path):
    root = write_celeba(tmp_path, 4, seed=1, workers=0, progress=False, render_size=96)
    lines = (root / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == "4" and lines[1].split() == list(CELEBA_ATTRIBUTES_40) and len(lines) == 6
    s = render_seed(sample_seed(1, 2), 96)
    row = lines[4].split()
    assert row[0] == "000003.jpg" and len(row) == 41 and set(row[1:]) <= {"1", "-1"}
    for name, value in zip(CELEBA_ATTRIBUTES_40, row[1:], strict=True):
        assert value == ("1" if s.attributes.get(name, False) else "-1"), name
    assert Image.open(root / "img_align_celeba" / "000001.jpg").size == (178, 218)
    lm = (root / "list_landmarks_align_celeba.txt").read_text().splitlines()
    assert lm[0] == "4" and len(lm[1].split()) == 10 and len(lm[2].split()) == 11
    assert (root / "list_eval_partition.txt").read_text().splitlines()[0] == "000001.jpg 0"
    assert (root / "identity_CelebA.txt").read_text().splitlines()[3] == f"000004.jpg {sample_seed(1, 3)}"


def test_mask_files_hold_only_present_classes():
    mask = np.zeros((6, 6), np.uint8)
    mask[1:3, 1:3] = CLASS_INDEX["skin"]
    mask[4, 4] = CLASS_INDEX["hat"]
    layers = mask_files(mask)
    assert set(layers) == {"skin", "hat"}                       # background is never a file
    assert layers["hat"].dtype == np.uint8 and layers["hat"][4, 4] == 255 and layers["hat"].sum() == 255


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="count"):
        write_celeba(tmp_path, 0, progress=False)
    with pytest.raises(ValueError, match="identities"):
        write_rafd(tmp_path, 0, progress=False)


def test_refuses_to_write_over_an_existing_layout(tmp_path):
    write_rafd(tmp_path / "r", 1, size=32, workers=0, progress=False)
    with pytest.raises(FileExistsError, match="already holds a RaFD layout"):
        write_rafd(tmp_path / "r", 1, size=32, workers=0, progress=False)
    write_rafd(tmp_path / "r", 1, size=32, workers=0, progress=False, overwrite=True)
    (tmp_path / "c" / "img_align_celeba").mkdir(parents=True)
    (tmp_path / "c" / "img_align_celeba" / "000001.jpg").write_bytes(b"a real photo")
    with pytest.raises(FileExistsError, match="CelebA layout"):
        write_celeba(tmp_path / "c", 1, workers=0, progress=False)
    assert (tmp_path / "c" / "img_align_celeba" / "000001.jpg").read_bytes() == b"a real photo"
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "CelebAMask-HQ-attribute-anno.txt").write_text("30000\n")
    with pytest.raises(FileExistsError, match="CelebAMask-HQ layout"):
        write_celebamask_hq(tmp_path / "h", 1, size=32, workers=0, progress=False)


@pytest.mark.parametrize("n", [3, 6, 12, 24, 1000])
def test_written_splits_have_celeba_proportions_and_no_empty_part(n):
    from trainer.data.layouts import celeba_partition_of_index
    from trainer.data.synthfaces.formats import celeba_index_of, official_partition, partition_sizes
    sizes = partition_sizes(n)
    assert sum(sizes) == n and min(sizes) >= 1
    assert [official_partition(i, n) for i in range(n)] == [0] * sizes[0] + [1] * sizes[1] + [2] * sizes[2]
    parts = [celeba_partition_of_index(celeba_index_of(k, n)) for k in range(n)]
    assert parts == ["train"] * sizes[0] + ["val"] * sizes[1] + ["test"] * sizes[2]
    assert len({celeba_index_of(k, n) for k in range(n)}) == n


def test_full_size_mapping_is_the_identity():
    from trainer.data.synthfaces.formats import celeba_index_of, partition_sizes
    assert partition_sizes(202599) == (162770, 19867, 19962)
    assert all(celeba_index_of(k, 202599) == k for k in (0, 1, 162769, 162770, 182636, 182637, 202598))


def test_every_layout_carries_the_synthfaces_marker_and_a_real_one_does_not(tmp_path):
    from trainer.data.registry import DataConfig
    from trainer.export import data_domain

    write_rafd(tmp_path / "r", 1, size=32, workers=0, progress=False)
    write_celeba(tmp_path / "c", 2, workers=0, progress=False, render_size=32)
    write_celebamask_hq(tmp_path / "h", 2, size=32, workers=0, progress=False)
    assert [rendered_layout(tmp_path / d) for d in "rch"] == ["rafd", "celeba", "celebamask-hq"]
    assert data_domain(DataConfig(name="rafd", root=str(tmp_path / "r"))) == "synthfaces"
    # a real dataset has no marker (nor does a folder that is not there, or a marker that is not ours)
    (tmp_path / "c" / RENDERED_MARKER).unlink()
    assert rendered_layout(tmp_path / "c") is None and rendered_layout(tmp_path / "nowhere") is None
    assert data_domain(DataConfig(name="celeba", root=str(tmp_path / "c"))) == "celeba"
    (tmp_path / "c" / RENDERED_MARKER).write_text('{"rendered_by": "someone else"}')
    assert rendered_layout(tmp_path / "c") is None
    (tmp_path / "c" / RENDERED_MARKER).write_text("not json")
    assert rendered_layout(tmp_path / "c") is None
