"""EditingEvaluation's measures against the ground truth on a tiny SynthFaces dataset: an editor that does
nothing gains 0, one that returns the true re-render gains 1."""
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from faceeditor.core.labels import ATTRIBUTES
from trainer.data.registry import DataConfig, build_dataset
from trainer.metrics.editing_accuracy import EditingEvaluation, GroundTruthEdits

pytestmark = pytest.mark.usefixtures("one_torch_thread")
LIMIT = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = write_native(tmp_path_factory.mktemp("sf") / "sf", count=12, size=32, seed=3, workers=1,
                        progress=False)
    return build_dataset(DataConfig(root=str(root), resolution=32, num_workers=0), "train")


class _Judge(nn.Module):
    """A stand-in evaluator: fixed logits, the mean colour as features."""

    def forward(self, x):
        return torch.zeros(x.shape[0], len(ATTRIBUTES)), x.mean(dim=(2, 3))


class _Identity:
    def edit(self, x, y_diff):
        return x


class _Oracle:
    """Returns SynthFaces' re-render of each face with the asked labels: the perfect editor."""

    def __init__(self, dataset):
        self.gt = GroundTruthEdits(dataset.meta, 32, "parse19")
        self.samples = [dataset[i] for i in range(LIMIT)]

    def edit(self, x, y_diff):
        out = []
        for img, d in zip(x, y_diff, strict=True):
            s = next(s for s in self.samples if torch.equal(s["image"], img))
            y = s["attrs"][:13].numpy()
            out.append(torch.from_numpy(self.gt(int(s["index"]), y, y + d.numpy())[0]))
        return torch.stack(out)


def _parser(x):
    """A 'parser' that reads the colour: 19 class scores from a fixed projection of the pixels."""
    w = torch.linspace(-1, 1, 19 * 3).reshape(19, 3)
    return torch.einsum("kc,nchw->nkhw", w, x * 4)


def _run(editor, dataset, parser=None):
    loader = DataLoader(dataset, batch_size=2)
    return EditingEvaluation(editor, _Judge(), loader, resolution=32, segments="parse19", limit=LIMIT,
                             parser=parser).run()


def test_identity_gains_nothing_and_preserves_everything(dataset):
    out = _run(_Identity(), dataset, _parser)
    assert out["gain_pixel"] == pytest.approx(0.0) and out["gain_semantic"] == pytest.approx(0.0)
    assert out["preservation_db"] == math.inf and out["detail"] == pytest.approx(1.0)
    for key in ("gain_pixel", "gain_semantic", "preservation_db", "detail"):
        per = [out[f"{key}/{a}"] for a in ATTRIBUTES]
        assert len(per) == 13 and np.isclose(out[key], np.nanmean(per))
    assert {"edit_acc", "rec_psnr", "rec_ssim", "gt_l1"} <= set(out)
    assert out["mre"] == 0.0 and all(out[f"mre/{a}"] == 0.0 for a in ATTRIBUTES)


class _Darken:
    """Subtracts 0.2 from every pixel: changes the regions that must be kept, by a known amount."""

    def edit(self, x, y_diff):
        return x - 0.2


def test_mre_counts_change_outside_the_regions(dataset):
    out = _run(_Darken(), dataset, _parser)
    # |change| 0.2 in each of 3 channels where nothing may change: at most 0.6 per pixel (eq. 2's H·W·C
    # normalisation with C = 1 flip at a time), less where pixels clip at -1 or lie inside the regions
    assert 0.0 < out["mre"] <= 0.6 + 1e-6


def test_oracle_gains_one(dataset):
    out = _run(_Oracle(dataset), dataset, _parser)
    assert out["gain_pixel"] == pytest.approx(1.0) and out["gain_semantic"] == pytest.approx(1.0)
    assert out["preservation_db"] == math.inf             # the re-render changes nothing outside the region
    assert out["detail"] > 0.5
    shown = [a for a in ATTRIBUTES if not math.isnan(out[f"gain_pixel/{a}"])]
    assert shown and all(out[f"gain_pixel/{a}"] == pytest.approx(1.0) for a in shown)


def test_no_parser_no_semantic_gain(dataset):
    out = _run(_Identity(), dataset)
    assert "gain_pixel" in out and "gain_semantic" not in out and "mre" not in out
