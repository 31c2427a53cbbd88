"""faceeditor-cli edit, on tiny packs whose networks follow fixed rules, so every figure can be checked:

- a "colour-rule" parser: hair where red > 0.3, background where red < -0.3, skin elsewhere;
- an editor that shifts green up / blue down by 0.5 x y_diff: for the hair attributes only on hair
  pixels, for the others everywhere; red never changes, so the parser's masks stay put;
- the same editor with SeCGAN's semantic output (mask_probs over the 12 segments, by the colour rule);
- an evaluator whose logits are 8 x the mean green of the picture.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from faceeditor.cli import main
from faceeditor.commands.edit import MAX_INTENSITY, parse_sets
from faceeditor.core.image_io import load_image, save_image
from faceeditor.core.labels import (
    ATTRIBUTES,
    CLASS_INDEX,
    EVALUATOR_ATTRIBUTES,
    PARSE_CLASSES,
    SECGAN_SEGMENTS,
)
from faceeditor.core.palette import colorize
from faceeditor.engine.manifest import Manifest
from faceeditor.resources import samples_dir
from tests.helpers.packs import export_model, make_test_pack

RES = 64
SAMPLES = samples_dir()
HAIR_ATTRS = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair")
SEGMENTS = [name for name, _ in SECGAN_SEGMENTS]


def _labels(image: torch.Tensor, hair: int, background: int, skin: int) -> torch.Tensor:
    red = image[:, 0]
    return skin + (hair - skin) * (red > 0.3).long() + (background - skin) * (red < -0.3).long()


def _onehot(labels: torch.Tensor, n: int) -> torch.Tensor:
    return (labels[:, None] == torch.arange(n).view(1, n, 1, 1)).float()


class ColourRuleParser(nn.Module):
    def forward(self, image):
        labels = _labels(image, CLASS_INDEX["hair"], CLASS_INDEX["background"], CLASS_INDEX["skin"])
        return _onehot(labels, len(PARSE_CLASSES)), labels


class RegionShiftEditor(nn.Module):
    def __init__(self):
        super().__init__()
        hair = torch.tensor([0.5 if a in HAIR_ATTRS else 0.0 for a in ATTRIBUTES])
        self.register_buffer("w_hair", hair)
        self.register_buffer("w_all", 0.5 - hair)

    def forward(self, image, y_diff):
        hair = (image[:, :1] > 0.3).float()
        shift = hair * (y_diff * self.w_hair).sum(1).view(-1, 1, 1, 1) + (y_diff * self.w_all).sum(1).view(-1, 1, 1, 1)
        green = torch.clamp(image[:, 1:2] + shift, -1.0, 1.0)
        blue = torch.clamp(image[:, 2:3] - shift, -1.0, 1.0)
        return torch.cat([image[:, :1], green, blue], dim=1)


class SegmentingEditor(RegionShiftEditor):
    def forward(self, image, y_diff):
        labels = _labels(image, SEGMENTS.index("hair"), SEGMENTS.index("others"), SEGMENTS.index("skin"))
        return super().forward(image, y_diff), _onehot(labels, len(SEGMENTS))


class GreenEvaluator(nn.Module):
    def forward(self, image):
        g = image[:, 1].mean(dim=(1, 2))
        return 8.0 * g[:, None].repeat(1, len(EVALUATOR_ATTRIBUTES))


def _pack(root: Path, name: str, models: list[tuple]) -> None:
    image = torch.rand(2, 3, RES, RES) * 2 - 1
    y = torch.randn(2, len(ATTRIBUTES))
    entries = []
    for mname, task, module, inputs, outs, extra in models:
        feeds = {"image": image, "y_diff": y} if inputs == "edit" else {"image": image}
        entries.append(export_model(root / name, mname, task, module, feeds, outs, resolution=RES,
                                    data_domain="none", method="test", backbone="rule", **extra))
    Manifest(name=name, models=entries, description="rule-based test networks").save(root / name)


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("packs")
    attrs = {"attributes": list(ATTRIBUTES)}
    editor = ("G", "edit_attributes", RegionShiftEditor(), "edit", ["edited"], attrs)
    parser = ("parser", "parse", ColourRuleParser(), "image", ["probs", "labels"], {"classes": list(PARSE_CLASSES)})
    _pack(root, "edit", [editor])
    _pack(root, "seg", [("G_secgan", "edit_attributes", SegmentingEditor(), "edit", ["edited", "mask_probs"],
                         {**attrs, "classes": SEGMENTS})])
    _pack(root, "full", [editor, parser, ("evaluator", "classify_attributes", GreenEvaluator(), "image",
                                          ["logits"], {"attributes": list(EVALUATOR_ATTRIBUTES)})])
    _pack(root, "parseonly", [parser])
    return root


def _rule_picture(size: int = RES, seed: int = 0) -> np.ndarray:
    """Hair on the top third (red > 0.3), background at the left edge (red < -0.3), skin elsewhere."""
    rng = np.random.default_rng(seed)
    img = rng.integers(60, 196, (size, size, 3), dtype=np.uint8)
    img[:, :, 0] = 128                                  # skin: red = 0.0
    img[: size // 3, :, 0] = 230                        # hair
    img[:, : size // 8, 0] = 20                         # background
    return img


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "pic.png"
    save_image(path, _rule_picture())
    return path


def _run(capsys, *argv):
    code = main(["edit", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _json_run(capsys, *argv) -> dict:
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# --- editing --------------------------------------------------------------------------------------

def test_asked_edit_changes_its_region_and_zero_keeps_the_picture(packs, picture, tmp_path, capsys):
    src = load_image(picture)
    hair = src[..., 0] > 166
    keep = tmp_path / "keep.png"
    summary = _json_run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=0", "-o", keep)
    assert summary["mode"] == "whole" and summary["model"] == "edit/G" and summary["set"] == {"Bangs": 0.0}
    assert np.array_equal(load_image(keep), src)

    out = tmp_path / "bangs.png"
    _json_run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "-o", out)
    edited = load_image(out).astype(int)
    diff = edited - src.astype(int)
    assert (diff[hair, 1] > 0).mean() > 0.9 and (diff[hair, 2] < 0).mean() > 0.9   # green up, blue down
    assert not diff[~hair].any() and not diff[..., 0].any()                         # nothing else moved

    weaker = tmp_path / "half.png"
    _json_run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=-0.5", "-o", weaker)
    d2 = load_image(weaker).astype(int) - src.astype(int)
    assert (d2[hair, 1] < 0).mean() > 0.9 and np.abs(d2[hair, 1]).mean() < np.abs(diff[hair, 1]).mean()


def test_two_attributes_add_up_and_text_summary(packs, picture, tmp_path, capsys):
    src = load_image(picture).astype(int)
    out = tmp_path / "two.jpg"
    code, stdout, _ = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                           "--set", "Young=-0.5", "-o", out)
    assert code == 0 and "edited" in stdout and "whole image" in stdout
    edited = load_image(out).astype(int)
    skin = src[..., 0] == 128
    # Young=-0.5 shifts green by -0.25 (about -32 levels) everywhere; JPEG adds a little noise
    assert -40 < np.median(edited[skin, 1] - src[skin, 1]) < -24


def test_mask_out_writes_the_predicted_mask_in_class_colours(packs, picture, tmp_path, capsys):
    out, mask = tmp_path / "o.png", tmp_path / "mask.png"
    summary = _json_run(capsys, picture, "--whole", "--pack", "seg", "--dir", packs, "--set", "Bangs=1", "-o", out,
                        "--mask-out", mask)
    assert summary["mask_out"] == str(mask)
    src = load_image(picture)
    expected = np.full(src.shape[:2], CLASS_INDEX["skin"], np.uint8)
    expected[src[..., 0] > 166] = CLASS_INDEX["hair"]
    expected[src[..., 0] < 90] = CLASS_INDEX["background"]          # segment "others" -> background
    assert np.array_equal(load_image(mask), colorize(expected))


def test_mask_out_needs_a_mask_predicting_editor(packs, picture, tmp_path, capsys):
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png", "--mask-out", tmp_path / "m.png")
    assert code == 2 and "mask_probs" in err and not (tmp_path / "o.png").exists()


def test_mask_reading_editor_gets_the_parse_of_the_crop(tmp_path, picture, capsys):
    make_test_pack(tmp_path / "p", "concat", tasks=("parse", "edit_attributes"), edit_mask_input=True)
    make_test_pack(tmp_path / "p", "concat_noparser", tasks=("edit_attributes",), edit_mask_input=True)
    out = tmp_path / "o.png"
    summary = _json_run(capsys, picture, "--whole", "--pack", "concat", "--dir", tmp_path / "p", "--set", "Male=1", "-o", out)
    assert summary["model"] == "concat/G" and load_image(out).shape == (RES, RES, 3)
    code, _, err = _run(capsys, picture, "--whole", "--pack", "concat_noparser", "--dir", tmp_path / "p", "--set", "Male=1",
                        "-o", tmp_path / "o2.png")
    assert code == 2 and "reads a semantic mask" in err and "no parser" in err


# --- report ---------------------------------------------------------------------------------------

def test_report_probabilities_and_psnr_outside_the_regions(packs, picture, tmp_path, capsys):
    summary = _json_run(capsys, picture, "--whole", "--pack", "full", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png", "--report")
    report = summary["report"]
    assert report["evaluator"] == "full/evaluator" and report["parser"] == "full/parser"
    bangs = report["attributes"]["Bangs"]
    assert bangs["set"] == 1.0 and bangs["after"] > bangs["before"]
    # the edit touched hair only: identical outside the (dilated) hair region, changed inside
    assert report["psnr_outside_db"] == "inf" and isinstance(report["psnr_crop_db"], float)
    assert 0.4 < report["outside_fraction"] < 0.7

    summary = _json_run(capsys, picture, "--whole", "--pack", "full", "--dir", packs, "--set", "Young=-1",
                        "-o", tmp_path / "o.png", "--report", "--no-keep-outside")
    report = summary["report"]
    assert summary["keep_outside"] is False and "psnr_outside_raw_db" not in report
    young = report["attributes"]["Young"]
    assert young["after"] < young["before"]
    # Young may change skin and hair, but this editor also changes the background: finite PSNR there
    frac = report["outside_fraction"]
    assert 0.0 < frac < 0.2 and math.isfinite(report["psnr_outside_db"])


def test_keep_outside_restores_what_the_editor_was_not_asked_to_change(packs, picture, tmp_path, capsys):
    """The rule editor shifts the background too on Young; with the parser's regions the written image
    keeps the input there (the report still shows the editor's own figure)."""
    raw_out, kept_out = tmp_path / "raw.png", tmp_path / "kept.png"
    raw = _json_run(capsys, picture, "--whole", "--pack", "full", "--dir", packs, "--set", "Young=-1", "-o", raw_out,
                    "--report", "--no-keep-outside")["report"]
    summary = _json_run(capsys, picture, "--whole", "--pack", "full", "--dir", packs, "--set", "Young=-1", "-o", kept_out,
                        "--report")
    report = summary["report"]
    assert summary["keep_outside"] is True
    assert report["psnr_outside_raw_db"] == raw["psnr_outside_db"]
    assert report["psnr_outside_db"] == "inf" or report["psnr_outside_db"] > raw["psnr_outside_db"] + 20
    kept, unkept, original = load_image(kept_out), load_image(raw_out), load_image(picture)
    # the background band (columns 0-7, red < -0.3), away from its seam with the skin at column 8
    inner = (original[:, :, 0] < 0.2 * 255) & (np.arange(RES)[None, :] < 4)
    assert inner.sum() == 4 * RES
    assert np.abs(kept[inner].astype(int) - original[inner]).max() <= 1
    assert np.abs(unkept[inner].astype(int) - original[inner]).max() > 10
    assert report["attributes"]["Young"]["after"] < report["attributes"]["Young"]["before"]
    # no parser: off by default, refused when asked for
    assert _json_run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Young=-1",
                     "-o", tmp_path / "e.png")["keep_outside"] is False
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Young=-1",
                        "-o", tmp_path / "e.png", "--keep-outside")
    assert code == 2 and "--keep-outside: pack 'edit' has no face parser" in err


def test_a_large_picture_keeps_its_own_detail(packs, tmp_path, capsys):
    """A picture edited whole is cut at its own side, not the editor's (64 px): kept pixels are the
    picture's own, and --keep-detail adds the editor's change to the picture instead of its blurred output."""
    big = tmp_path / "big.png"
    original = _rule_picture(256, seed=4)
    save_image(big, original)
    kept_out, detail_out, plain_out = tmp_path / "kept.png", tmp_path / "detail.png", tmp_path / "plain.png"
    summary = _json_run(capsys, big, "--whole", "--pack", "full", "--dir", packs, "--set", "Young=-1", "-o", kept_out)
    assert summary["crop_resolution"] == 256 and summary["resolution"] == RES and summary["keep_outside"]
    background = (np.arange(256)[None, :] < 16) & np.ones((256, 1), bool)   # well away from its seam at 32
    kept = load_image(kept_out).astype(int)
    assert np.abs(kept[background] - original[background]).max() <= 1

    summary = _json_run(capsys, big, "--whole", "--pack", "edit", "--dir", packs, "--set", "Young=-1", "--keep-detail",
                        "-o", detail_out)
    assert summary["keep_detail"] is True and summary["keep_outside"] is False
    _json_run(capsys, big, "--whole", "--pack", "edit", "--dir", packs, "--set", "Young=-1", "-o", plain_out)
    skin = np.zeros((256, 256), bool)
    skin[120:240, 60:240] = True                       # the rule editor shifts skin by a constant
    detail = load_image(detail_out).astype(int) - original
    plain = load_image(plain_out).astype(int) - original
    assert np.abs(detail[skin][:, 1].mean()) > 3        # the edit is there ...
    assert detail[skin][:, 1].std() < 2.0               # ... on the picture's own texture
    assert plain[skin][:, 1].std() > 10.0               # the editor's 64 px output lost it


def test_report_in_text_form(packs, picture, tmp_path, capsys):
    code, stdout, _ = _run(capsys, picture, "--whole", "--pack", "full", "--dir", packs, "--set", "Bangs=0.5",
                           "-o", tmp_path / "o.png", "--report")
    assert code == 0
    assert "Bangs" in stdout and "p before" in stdout and "PSNR outside the regions of Bangs: inf" in stdout
    code, stdout, _ = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=0.5",
                           "-o", tmp_path / "o.png", "--report")
    assert code == 0 and "no classify_attributes model" in stdout and "no parse model" in stdout


# --- photos ---------------------------------------------------------------------------------------

def test_bundled_samples_are_edited_whole(packs, tmp_path, capsys):
    for sample in sorted(SAMPLES.glob("synthface_*.png")):
        summary = _json_run(capsys, sample, "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                            "-o", tmp_path / "o.png")
        assert summary["mode"] == "whole" and summary["faces_found"] >= 1, sample.name


def test_square_photo_that_is_not_a_face_crop_is_aligned(packs, tmp_path, capsys):
    import skimage.data

    astronaut = Path(skimage.data.__file__).parent / "astronaut.png"   # 512 x 512, face ~90 px wide
    summary = _json_run(capsys, astronaut, "--pack", "edit", "--dir", packs, "--set", "Young=1",
                        "-o", tmp_path / "o.png")
    assert summary["mode"] == "face" and summary["face"] == 0
    summary = _json_run(capsys, astronaut, "--pack", "edit", "--dir", packs, "--set", "Young=1",
                        "-o", tmp_path / "o.png", "--no-align")
    assert summary["mode"] == "whole"


def test_photo_is_aligned_edited_and_pasted_back(packs, tmp_path, capsys):
    face = load_image(SAMPLES / "synthface_0008.png")
    canvas = np.full((600, 800, 3), 90, np.uint8)
    canvas[150:406, 300:556] = face
    photo = tmp_path / "photo.png"
    save_image(photo, canvas)
    out = tmp_path / "o.png"
    summary = _json_run(capsys, photo, "--pack", "edit", "--dir", packs, "--set", "Pale_Skin=1", "-o", out)
    assert summary["mode"] == "face" and summary["face"] == 0 and summary["size"] == [800, 600]
    edited = load_image(out).astype(int)
    diff = np.abs(edited - canvas.astype(int)).sum(-1) > 0
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 5000                                # the face area changed ...
    assert 100 < ys.min() and ys.max() < 460 and 250 < xs.min() and xs.max() < 610   # ... and only there
    assert not diff[:80].any() and not diff[:, :200].any()

    # --no-align edits the whole canvas instead (letterboxed into the square)
    summary = _json_run(capsys, photo, "--pack", "edit", "--dir", packs, "--set", "Pale_Skin=1", "-o", out,
                        "--no-align")
    assert summary["mode"] == "whole" and summary["face"] is None
    assert (np.abs(load_image(out).astype(int) - canvas.astype(int)).sum(-1) > 0)[:80].any()


def test_face_index_out_of_range(packs, tmp_path, capsys):
    face = load_image(SAMPLES / "synthface_0011.png")
    canvas = np.full((300, 500, 3), 90, np.uint8)
    canvas[20:276, 200:456] = face
    photo = tmp_path / "photo.png"
    save_image(photo, canvas)
    code, _, err = _run(capsys, photo, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "--face", "3",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "--face 3: 1 face found" in err


# --- clear errors ---------------------------------------------------------------------------------

def test_no_face_is_a_clear_error(packs, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    save_image(blank, np.full((80, 120, 3), 200, np.uint8))
    code, _, err = _run(capsys, blank, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "-o", tmp_path / "o.png")
    assert code == 2 and "no face found" in err and "--whole" in err and "Traceback" not in err
    square = tmp_path / "square.png"
    save_image(square, np.full((64, 64, 3), 200, np.uint8))
    code, _, err = _run(capsys, square, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "--mode", "face",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "no face found" in err
    assert not (tmp_path / "o.png").exists()
    # a blank square and a 1 x 1 picture are not face crops either: refused unless the user asks (--whole)
    tiny = tmp_path / "tiny.png"
    save_image(tiny, np.full((1, 1, 3), 255, np.uint8))
    for path in (square, tiny):
        code, _, err = _run(capsys, path, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "-o", tmp_path / "o.png")
        assert code == 2 and "no face found" in err and "--whole" in err, err
        assert not (tmp_path / "o.png").exists()
    code, _, err = _run(capsys, square, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "--whole",
                        "-o", tmp_path / "o.png")
    assert code == 0 and (tmp_path / "o.png").is_file(), err


@pytest.mark.parametrize("name, hint", [("bangs", "did you mean 'Bangs'"), ("Bangz", "did you mean 'Bangs'"),
                                        ("Smiling", "it knows: Bald, Bangs")])
def test_unknown_attribute(packs, picture, tmp_path, capsys, name, hint):
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", f"{name}=1",
                        "-o", tmp_path / "o.png")
    assert code == 2 and f"unknown attribute {name!r}" in err and hint in err


def test_pack_without_an_editor_and_missing_pack(packs, picture, tmp_path, capsys):
    code, _, err = _run(capsys, picture, "--whole", "--pack", "parseonly", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "has no 'edit_attributes' model" in err
    code, _, err = _run(capsys, picture, "--whole", "--pack", "nope", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "no pack called 'nope'" in err
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--model", "G2", "--set", "Bangs=1",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "no editor of that name" in err


def test_unreadable_image(packs, tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    code, _, err = _run(capsys, junk, "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "-o", tmp_path / "o.png")
    assert code == 2 and "junk.png" in err
    code, _, err = _run(capsys, tmp_path / "absent.png", "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("item, message", [
    ("Bangs", "expected NAME=VALUE"), ("=1", "expected NAME=VALUE"), ("Bangs=", "expected NAME=VALUE"),
    ("Bangs=lots", "'lots' is not a number"), ("Bangs=nan", "finite"), ("Bangs=3.5", "beyond ±3"),
])
def test_bad_set_syntax(packs, picture, tmp_path, capsys, item, message):
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", item, "-o", tmp_path / "o.png")
    assert code == 2 and message in err


def test_set_parsing_rules():
    assert parse_sets(["Bangs=1", " Young = -0.5 ", f"Male={-MAX_INTENSITY}"]) == {
        "Bangs": 1.0, "Young": -0.5, "Male": -MAX_INTENSITY}
    from faceeditor.cli import CLIError

    with pytest.raises(CLIError, match="given twice"):
        parse_sets(["Bangs=1", "Bangs=0.5"])
    with pytest.raises(CLIError, match="at least one --set"):
        parse_sets([])


def test_refuses_to_overwrite_the_input_and_bad_outputs(packs, picture, tmp_path, capsys):
    before = picture.read_bytes()
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1", "-o", picture)
    assert code == 2 and "is the input image" in err and picture.read_bytes() == before
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.xyz")
    assert code == 2 and "unknown image extension" in err
    code, _, err = _run(capsys, picture, "--whole", "--pack", "edit", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "missing" / "o.png")
    assert code == 2 and "does not exist" in err
    code, _, err = _run(capsys, picture, "--whole", "--pack", "seg", "--dir", packs, "--set", "Bangs=1",
                        "-o", tmp_path / "o.png", "--mask-out", tmp_path / "m.jpg")
    assert code == 2 and ".png" in err
    with Image.open(picture) as im:
        assert im.size == (RES, RES)
