"""Paired expressions (trainer/data/paired_expressions.py): each face of a RaFD-layout split with the same
identity's picture in another expression, mirrored together; sets without identities are refused. The
hiergan term that reads them is tested in tests/trainer/methods/test_hiergan.py."""
from __future__ import annotations

import pytest
import torch

from tests.trainer.data import handmade
from trainer.data.paired_expressions import PairedExpressions, PairedExpressionsError, split_labels
from trainer.data.registry import DataConfig, build_dataset

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rafd(root, flip=False, **kw):
    return build_dataset(DataConfig(name="rafd", root=str(root), resolution=32, num_workers=0, flip=flip, **kw),
                         "train")


@pytest.mark.parametrize("cache", [True, False])
def test_each_face_comes_with_its_identity_in_another_expression(rafd_root, cache):
    plain = _rafd(rafd_root, cache=cache)
    paired = PairedExpressions(_rafd(rafd_root, cache=cache))
    assert len(paired) == len(plain) == 5 * 8          # 5 train identities x 8 expressions
    by_label = {(int(s["identity"]), int(s["expression"])): s for s in (plain[n] for n in range(len(plain)))}
    targets = set()
    for n in range(len(paired)):
        torch.manual_seed(n)
        s = paired[n]
        assert torch.equal(s["image"], plain[n]["image"])
        ident, e_src, e_trg = int(s["identity"]), int(s["expression"]), int(s["pair_expression"])
        assert s["pair_expression"].dtype == torch.int64 and e_trg != e_src
        truth = by_label[(ident, e_trg)]                  # the split's picture of that identity in e_trg
        assert int(truth["index"]) == int(s["pair_index"])
        assert torch.equal(s["pair_image"], truth["image"]) and s["pair_image"].shape == (3, 32, 32)
        targets.add((e_src, e_trg))
    assert len({t for _, t in targets}) == 8 and len(targets) > 20      # drawn per sample, over all targets
    # drawn with the global torch RNG: the same seed, the same pair
    torch.manual_seed(7)
    a = paired[3]
    torch.manual_seed(7)
    assert int(paired[3]["pair_index"]) == int(a["pair_index"])


def test_the_index_is_read_from_the_labels_not_the_images(rafd_root, monkeypatch):
    ds = _rafd(rafd_root, cache=False)
    monkeypatch.setattr(type(ds), "decode", lambda *_: pytest.fail("decoded an image to index the split"))
    ident, expr, views = split_labels(ds)
    assert len(ident) == len(expr) == len(views) == len(ds) and set(expr.tolist()) == set(range(8))
    assert views[0] == ("090", "frontal")
    cached = _rafd(rafd_root)
    c_ident, c_expr, _ = split_labels(cached)
    assert c_ident.tolist() == ident.tolist() and c_expr.tolist() == expr.tolist()


def test_input_and_pair_are_mirrored_together(rafd_root):
    unflipped = PairedExpressions(_rafd(rafd_root))
    flipping = PairedExpressions(_rafd(rafd_root, flip=True))
    assert flipping.flip and not unflipped.flip
    mirrored = 0
    for seed in range(12):
        torch.manual_seed(seed)
        a = unflipped[5]
        torch.manual_seed(seed)
        b = flipping[5]
        assert int(a["pair_index"]) == int(b["pair_index"])      # the target is drawn before the mirror
        if torch.equal(b["image"], a["image"].flip(-1)):
            mirrored += 1
            assert torch.equal(b["pair_image"], a["pair_image"].flip(-1))
        else:
            assert torch.equal(b["image"], a["image"]) and torch.equal(b["pair_image"], a["pair_image"])
    assert 0 < mirrored < 12


def test_sets_without_identities_are_refused_in_one_line(rafd_root, tmp_path):
    from trainer.data.synthfaces.native import write_native

    handmade.write_affectnet(tmp_path / "affectnet", [0, 1, 2, 3, 4, 5, 6, 7], [0, 1])
    write_native(tmp_path / "sf", count=4, size=32, seed=1, workers=1, progress=False)
    for cfg in (DataConfig(name="affectnet", root=str(tmp_path / "affectnet"), resolution=24, num_workers=0),
                DataConfig(name="synthfaces", root=str(tmp_path / "sf"), resolution=32, num_workers=0)):
        with pytest.raises(PairedExpressionsError, match="no identity shown in several expressions") as info:
            PairedExpressions(build_dataset(cfg, "train"))
        assert "\n" not in str(info.value) and cfg.name in str(info.value).lower()      # names the set
    # an identity the split shows in one expression only (limit: the first picture of the split)
    with pytest.raises(PairedExpressionsError, match="one expression only") as info:
        PairedExpressions(_rafd(rafd_root, limit=1, cache=False))
    assert "\n" not in str(info.value)
