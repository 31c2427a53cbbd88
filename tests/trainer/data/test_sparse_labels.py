"""Sparse labels: the balanced, seeded labelled set; hidden labels never leave the wrapper; the labelled
batches; the file a run saves and reads back; the editors' labeled_only subset is SG-GAN's pool."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from faceeditor.core.labels import EVALUATOR_ATTRIBUTES
from trainer.data.registry import DataConfig, build_dataset
from trainer.data.sparse_labels import (
    LABELED_FILE,
    LabeledSet,
    LabelSetError,
    MixedBatches,
    SparseLabels,
    label_table,
    labeled_set,
    parse_attributes,
    per_value_count,
    select_labeled,
)

ATTRS = ["Male", "Eyeglasses", "Mouth_Slightly_Open"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=60, size=32, seed=5, workers=1, progress=False)
    return root


def _data(root, **kw):
    return DataConfig(root=str(root), resolution=32, num_workers=0, **kw)


def test_balanced_deterministic_and_seeded():
    rng = np.random.default_rng(0)
    labels = (rng.random((1000, 15)) < 0.2).astype(np.float32)        # every attribute a 20 % minority
    a = select_labeled(labels, ATTRS, 0.05, seed=1)
    b = select_labeled(labels, ATTRS, 0.05, seed=1)
    c = select_labeled(labels, ATTRS, 0.05, seed=2)
    assert a.known == b.known and a.known != c.known
    want = per_value_count(0.05, 1000)
    assert want == 25
    assert a.counts(labels) == {n: [want, want] for n in ATTRS}       # the majority value undersampled
    # the draw of one attribute does not depend on which others are labelled
    assert select_labeled(labels, ["Eyeglasses"], 0.05, seed=1).known["Eyeglasses"] == a.known["Eyeglasses"]
    # capped by the pool
    few = labels.copy()
    col = EVALUATOR_ATTRIBUTES.index("Male")
    few[:, col] = 0
    few[:3, col] = 1
    assert select_labeled(few, ["Male"], 0.5, seed=0).counts(few)["Male"] == [250, 3]
    with pytest.raises(LabelSetError, match=r"keeps no image of Male=0 .*round\(0.0009 x 1000 / 2\) = 0"):
        select_labeled(labels, ["Male"], 0.0009, seed=0)


def test_names_and_file_format(tmp_path):
    assert parse_attributes("Male, Eyeglasses") == ["Male", "Eyeglasses"]
    with pytest.raises(LabelSetError, match="^attributes: unknown attribute 'Smiling'"):
        parse_attributes("Male,Smiling")
    with pytest.raises(LabelSetError, match="named twice"):
        parse_attributes(["Male", "Male"])
    s = LabeledSet(ATTRS, 10, {"Male": [1, 4], "Eyeglasses": [4], "Mouth_Slightly_Open": []})
    back = LabeledSet.from_text(s.to_text(), ATTRS, 10, "f")
    assert back.known == s.known and back.pool() == [1, 4]
    full = LabeledSet.from_text("# c\n3\n5 Male  # only Male\n", ATTRS, 10, "f")
    assert full.known == {"Male": [3, 5], "Eyeglasses": [3], "Mouth_Slightly_Open": [3]}
    for text, msg in (("x\n", "line 1: expected an image index, got 'x'"), ("10\n", "outside the training split"),
                      ("1 Bald\n", "'Bald' is not one of the labelled attributes"), ("# none\n", "no labelled image")):
        with pytest.raises(LabelSetError, match=msg):
            LabeledSet.from_text(text, ATTRS, 10, "f")


def test_hidden_labels_never_leave_the_wrapper(synth_root, tmp_path):
    ds = build_dataset(_data(synth_root), "train")
    labels, known = label_table(ds)
    assert labels.shape == (len(ds), 15) and known.all()
    assert np.array_equal(labels[7], ds[7]["attrs"].numpy())
    chosen = labeled_set(ds, _data(synth_root, labeled_fraction=0.1), ATTRS, tmp_path / "run")
    view = SparseLabels(ds, chosen.mask())
    for i in range(len(ds)):
        s = view[i]
        k = s["attrs_known"].numpy()
        assert np.array_equal(np.flatnonzero(k), sorted(EVALUATOR_ATTRIBUTES.index(a) for a in ATTRS
                                                       if i in chosen.known[a]))
        assert np.array_equal(s["attrs"].numpy()[k], labels[i][k])
        assert not s["attrs"].numpy()[~k].any()                       # hidden = 0, whatever the truth
        assert torch.equal(s["image"], ds[i]["image"])
    # saved in the run folder, read back the same; a different draw for that run is refused
    saved = tmp_path / "run" / LABELED_FILE
    assert LabeledSet.from_text(saved.read_text(), ATTRS, len(ds), "f").known == chosen.known
    assert labeled_set(ds, _data(synth_root, labeled_ids=str(saved)), ATTRS, None).known == chosen.known
    with pytest.raises(LabelSetError, match="another labelled set"):
        labeled_set(ds, _data(synth_root, labeled_fraction=0.1, labeled_seed=9), ATTRS, tmp_path / "run")
    assert labeled_set(ds, _data(synth_root), ATTRS, tmp_path / "all") is None     # ALL: nothing hidden
    # a labelled-ids file that is not a readable text file: one line naming it, nothing waited on
    with pytest.raises(LabelSetError, match=r"^data.labeled_ids: cannot read labelled-ids file .*missing"):
        labeled_set(ds, _data(synth_root, labeled_ids=str(tmp_path / "missing.txt")), ATTRS, None)
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(LabelSetError, match=r"^data.labeled_ids: cannot read labelled-ids file .*dir.txt"):
        labeled_set(ds, _data(synth_root, labeled_ids=str(tmp_path / "dir.txt")), ATTRS, None)
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(LabelSetError, match="is not UTF-8 text"):
        labeled_set(ds, _data(synth_root, labeled_ids=str(tmp_path / "bin.txt")), ATTRS, None)


def test_mixed_batches_hold_labelled_images_and_resume():
    pool = [3, 17, 40]
    mb = MixedBatches(100, 8, pool, 0.5, seed=4)
    it = iter(mb)
    batches = [next(it) for _ in range(30)]
    for b in batches:
        idx = [i for i, _ in b]
        assert len(idx) == 8 and all(i in pool for i in idx[:4])
    # every pool image comes round, the rest covers the split
    assert {i for b in batches for i, _ in b[:4]} == set(pool)
    assert len({i for b in batches for i, _ in b[4:]}) == 100
    resumed = iter(MixedBatches(100, 8, pool, 0.5, seed=4, start=17))
    assert next(resumed) == batches[17]


def test_stargan_labeled_only_trains_on_sggan_pool(synth_root, tmp_path):
    from trainer.config import ConfigError
    from trainer.methods.base import method_class

    ds = build_dataset(_data(synth_root), "train")
    frac = 0.1
    sg_cls = method_class("sggan")
    sg = sg_cls(sg_cls.config_class(run_dir=str(tmp_path / "sg"), attributes=tuple(ATTRS),
                                    data=_data(synth_root, labeled_fraction=frac), g_width=4, n_res=1, d_width=4),
                torch.device("cpu"))
    sg.train_data(ds)
    st_cls = method_class("stargan")
    st_cfg = st_cls.config_class(run_dir=str(tmp_path / "st"), d_layers=3,
                                 data=_data(synth_root, labeled_fraction=frac, labeled_only=True,
                                            labeled_attributes=",".join(ATTRS)))
    st_cfg.check()
    subset = st_cls(st_cfg, torch.device("cpu")).train_data(ds)
    assert list(subset.indices) == sg.labeled.pool()
    assert torch.equal(subset[0]["attrs"], ds[sg.labeled.pool()[0]]["attrs"])   # with all its labels
    assert (tmp_path / "st" / LABELED_FILE).read_text() == (tmp_path / "sg" / LABELED_FILE).read_text()
    for kw, msg in (({"labeled_fraction": 0.1}, "labeled-only true"),
                    ({"labeled_only": True}, "data.labeled_attributes: name the attributes")):
        with pytest.raises(ConfigError, match=msg):
            st_cls.config_class(d_layers=3, data=_data(synth_root, **kw)).check()
