"""EditingEvaluation's SG-GAN Table 2 figures (§4.3) on constructed data whose labels are written into the
images, so that a judge reads them exactly: attribute subsets, unrelated-attribute accuracy against the
input's, background MS-SSIM, per-attribute IS; and a model pack's classifier as the judge."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from faceeditor.core.labels import ATTRIBUTES
from trainer.metrics.editing_accuracy import EditingEvaluation, attribute_indices, flip_target

pytestmark = pytest.mark.usefixtures("one_torch_thread")
RES, N = 32, 12
MALE, YOUNG = ATTRIBUTES.index("Male"), ATTRIBUTES.index("Young")


def _samples():
    """Noise images whose bottom row carries the 13 labels (pixel (H-1, k) = +1 / -1)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(N):
        y = (rng.random(len(ATTRIBUTES)) < 0.5).astype(np.float32)
        hair = [ATTRIBUTES.index(a) for a in ("Black_Hair", "Blond_Hair", "Brown_Hair")]
        y[hair] = 0.0
        y[hair[i % 3]] = float(i % 2)                      # at most one hair colour, as the data has
        img = rng.uniform(-1, 1, (3, RES, RES)).astype(np.float32)
        img[:, -1, :len(ATTRIBUTES)] = y * 2 - 1
        out.append({"image": torch.from_numpy(img), "attrs": torch.from_numpy(y), "index": torch.tensor(i)})
    return out


class _Reader(nn.Module):
    """Reads the labels off the bottom row; `wrong` attributes always read as 0."""

    def __init__(self, wrong=()):
        super().__init__()
        self.wrong = list(wrong)

    def forward(self, x):
        logits = 10 * x[:, 0, -1, :len(ATTRIBUTES)].clone()
        logits[:, self.wrong] = -10.0
        return logits, x.mean(dim=(2, 3))


class _Writer:
    """Writes the target labels into the bottom row (a perfect editor); `invert` attributes are written
    inverted whatever is asked, `noise` repaints the whole image."""

    def __init__(self, invert=(), noise=0.0):
        self.invert, self.noise = list(invert), noise

    def edit(self, x, y_diff):
        out = x.clone()
        y_trg = (x[:, 0, -1, :len(ATTRIBUTES)] > 0).float() + y_diff
        out[:, :, -1, :len(ATTRIBUTES)] = (y_trg * 2 - 1)[:, None]
        out[:, :, -1, self.invert] *= -1
        if self.noise:
            out = out + self.noise * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        return out.clamp(-1, 1)


class _Identity:
    def edit(self, x, y_diff):
        return x


def _run(editor, judge=None, **kw):
    loader = DataLoader(_samples(), batch_size=5)
    return EditingEvaluation(editor, judge or _Reader(), loader, resolution=RES, ground_truth=False,
                             **kw).run()


def test_a_subset_reports_only_its_attributes():
    out = _run(_Writer(), attributes=["Young", "Male"])
    per = [k for k in out if k.startswith("edit_acc/")]
    assert per == ["edit_acc/Young", "edit_acc/Male"] and out["edit_acc"] == 1.0
    for key in ("unrelated_acc", "unrelated_acc_input", "background_msssim", "is_evaluator"):
        assert f"{key}/Young" in out and f"{key}/Male" in out and f"{key}/Bald" not in out
    assert {k for k in out if k.startswith("unrelated_acc/")} == {
        "unrelated_acc/Young", "unrelated_acc/Male", "unrelated_acc/Young/Male", "unrelated_acc/Male/Young"}
    all13 = _run(_Writer())
    assert out["edit_acc/Male"] == all13["edit_acc/Male"]
    assert out["unrelated_acc/Male"] == all13["unrelated_acc/Male"]     # the mean over the 12 others either way


def test_unknown_or_repeated_attributes_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown Smile") as err:
        _run(_Identity(), attributes=["Male", "Smile"])
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="repeated Male"):
        attribute_indices(["Male", "Male"])
    assert attribute_indices(None) == list(range(13)) and attribute_indices("Young") == [YOUNG]


def test_identity_keeps_what_the_input_shows():
    out = _run(_Identity())
    assert out["unrelated_acc"] == pytest.approx(1.0) == out["unrelated_acc_input"]
    assert out["background_msssim"] == pytest.approx(1.0)
    assert all(out[f"background_msssim/{a}"] == pytest.approx(1.0) for a in ATTRIBUTES)
    assert all(out[f"is_evaluator/{a}"] >= 1.0 for a in ATTRIBUTES)


def test_the_ceiling_is_the_judges_agreement_with_the_labels():
    y = np.stack([s["attrs"].numpy() for s in _samples()])
    out = _run(_Identity(), judge=_Reader(wrong=[YOUNG]))
    share = float((y[:, YOUNG] == 0).mean())                   # reading Young as 0 is right on those only
    assert out["unrelated_acc_input/Male/Young"] == pytest.approx(share)
    assert out["unrelated_acc/Male/Young"] == pytest.approx(share)      # identity: the same as the input
    assert out["unrelated_acc_input/Male"] == pytest.approx((11 + share) / 12)


def test_an_editor_that_inverts_an_unrelated_attribute_is_caught():
    out = _run(_Writer(invert=[MALE]))
    assert out["unrelated_acc_input"] == pytest.approx(1.0)
    for a in ATTRIBUTES:
        if a != "Male":
            assert out[f"unrelated_acc/{a}/Male"] == 0.0
            assert out[f"unrelated_acc/{a}"] == pytest.approx(11 / 12)
            assert out[f"edit_acc/{a}"] == 1.0
    assert out["unrelated_acc/Male"] == pytest.approx(1.0) and out["edit_acc/Male"] == 0.0


def test_hair_colours_turned_off_by_the_flip_are_not_unrelated():
    """Turning Blond on turns Black and Brown off (flip_target): a perfect editor does so and loses nothing."""
    samples = _samples()
    y = torch.stack([s["attrs"] for s in samples])
    assert (flip_target(y, ATTRIBUTES.index("Blond_Hair")) != y).sum(dim=1).max() == 2    # such faces exist
    out = _run(_Writer())
    assert out["unrelated_acc/Blond_Hair"] == 1.0 and out["unrelated_acc/Blond_Hair/Black_Hair"] == 1.0


def test_background_msssim_falls_with_a_repainted_corner():
    out = _run(_Writer(noise=0.3))
    assert out["background_msssim"] < 0.9 and out["unrelated_acc"] == 1.0


def test_a_pack_classifier_judges(tmp_path):
    """The bundled demo pack's attribute classifier (64²) is the judge of 32² edits, resized; no nn.Module."""
    import torch.nn.functional as F

    from faceeditor.resources import demo_pack_dir
    from trainer.checkpoint import load_attribute_judge

    judge = load_attribute_judge(demo_pack_dir(), RES)
    assert not isinstance(judge, nn.Module) and judge.resolution == 64
    x = torch.stack([s["image"] for s in _samples()[:3]])
    logits, feats = judge(x)
    assert logits.shape == (3, 13) and feats.ndim == 2 and feats.shape[0] == 3
    big = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(judge(big)[0], logits, atol=1e-5)
    out = _run(_Identity(), judge=judge, attributes=["Male"])
    assert 0.0 <= out["edit_acc/Male"] <= 1.0 and out["unrelated_acc/Male"] == out["unrelated_acc_input/Male"]


def test_a_pack_without_attribute_classifier_is_a_one_line_error(tmp_path):
    from tests.helpers.packs import make_test_pack
    from trainer.checkpoint import load_attribute_judge
    from trainer.config import ConfigError

    pack = make_test_pack(tmp_path, "e", tasks=("edit_attributes",)).path
    with pytest.raises(ConfigError, match="no classify_attributes model") as err:
        load_attribute_judge(pack, RES)
    assert "\n" not in str(err.value)
