"""faceeditor-cli synth on a tiny real synthesize pack (random weights, 32x32): output size, dependence
on seed and attributes, masks from index/colour PNGs and from landmarks, and the user errors."""
import json

import numpy as np
import pytest
from PIL import Image

from faceeditor.cli import main
from faceeditor.commands._synthesis import sample_files
from faceeditor.core.face_geometry import load_landmarks_scaled
from faceeditor.core.head_layout import portrait_layout
from faceeditor.core.image_io import load_image, save_image
from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.landmark_mask import landmarks_to_mask
from faceeditor.core.mask_io import load_mask
from faceeditor.core.palette import PALETTE, colorize
from tests.helpers.packs import edit_manifest, make_test_pack

RES = 32


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "tinysynth", tasks=("synthesize",), resolution=RES)
    make_test_pack(root, "parseonly", tasks=("parse",), resolution=RES)
    defaults = make_test_pack(root, "withdefaults", tasks=("synthesize",), resolution=RES)
    edit_manifest(defaults.path, lambda m: m["models"][0]["extra"].update(
        attribute_defaults={"Young": 1, "No_Beard": 1, "NotAnAttribute": 1, "Male": "yes"}))
    return root


@pytest.fixture(scope="module")
def face_mask(tmp_path_factory):
    """A 64x64 index PNG of a SynthFaces sample (twice the model's size)."""
    mask = load_mask(sample_files(None)[0])[::2, ::2]
    path = tmp_path_factory.mktemp("masks") / "face.png"
    save_image(path, mask, palette=[tuple(c) for c in PALETTE])
    return path


def synth(capsys, packs, *argv):
    code = main(["synth", *map(str, argv), "--dir", str(packs), "--pack", "tinysynth"])
    out = capsys.readouterr()
    return code, out.out, out.err


def render(capsys, packs, tmp_path, mask, *argv, name="face.png"):
    out = tmp_path / name
    code, stdout, err = synth(capsys, packs, mask, "-o", out, *argv)
    assert code == 0, err
    return load_image(out), json.loads(stdout), err


def test_writes_an_image_at_the_model_size_that_depends_on_seed_and_attributes(packs, face_mask, tmp_path,
                                                                               capsys):
    base, summary, err = render(capsys, packs, tmp_path, face_mask, "--seed", "7", "--set", "Male=1")
    assert base.shape == (RES, RES, 3)
    assert summary["size"] == [RES, RES] and summary["pack"] == "tinysynth" and summary["seed"] == 7
    assert summary["attributes"]["Male"] == 1.0 and summary["attributes"]["Young"] == 0.0  # unset = 0
    assert "resized (nearest)" in err and "64x64" in err
    again, _, _ = render(capsys, packs, tmp_path, face_mask, "--seed", "7", "--set", "Male=1", name="b.png")
    other_seed, _, _ = render(capsys, packs, tmp_path, face_mask, "--seed", "8", "--set", "Male=1", name="c.png")
    other_attr, _, _ = render(capsys, packs, tmp_path, face_mask, "--seed", "7", "--set", "Male=0", name="d.png")
    diff = lambda a, b: np.abs(a.astype(int) - b.astype(int)).mean()  # noqa: E731
    assert diff(base, again) == 0
    assert diff(base, other_seed) > 1.0
    assert diff(base, other_attr) > 1.0


def test_unset_attributes_take_the_packs_defaults(packs, face_mask, tmp_path, capsys):
    argv = ["synth", str(face_mask), "--dir", str(packs), "--pack", "withdefaults", "--seed", "2"]
    assert main([*argv, "-o", str(tmp_path / "a.png")]) == 0
    attrs = json.loads(capsys.readouterr().out)["attributes"]
    assert attrs["Young"] == 1 and attrs["No_Beard"] == 1 and attrs["Male"] == 0 and "NotAnAttribute" not in attrs
    assert main([*argv, "-o", str(tmp_path / "b.png"), "--set", "Young=0", "--set", "No_Beard=0"]) == 0
    assert json.loads(capsys.readouterr().out)["attributes"]["Young"] == 0
    # all-zero attributes on this pack draw what the plain pack (same weights) draws with no --set
    assert main(["synth", str(face_mask), "--dir", str(packs), "--pack", "tinysynth", "--seed", "2",
                 "-o", str(tmp_path / "c.png")]) == 0
    assert np.array_equal(load_image(tmp_path / "b.png"), load_image(tmp_path / "c.png"))
    assert not np.array_equal(load_image(tmp_path / "a.png"), load_image(tmp_path / "c.png"))


def test_content_follows_the_mask(packs, face_mask, tmp_path, capsys):
    face, _, _ = render(capsys, packs, tmp_path, face_mask, "--seed", "1")
    blank = tmp_path / "blank.png"
    save_image(blank, np.zeros((RES, RES), np.uint8))
    empty, _, _ = render(capsys, packs, tmp_path, blank, "--seed", "1", name="e.png")
    assert np.abs(face.astype(int) - empty.astype(int)).mean() > 1.0


def test_colour_mask_in_the_project_palette_reads_like_the_index_mask(packs, face_mask, tmp_path, capsys):
    colour = tmp_path / "colour.png"
    save_image(colour, colorize(load_mask(face_mask)))
    with Image.open(colour) as im:
        assert im.mode == "RGB"
    a, _, _ = render(capsys, packs, tmp_path, face_mask, "--seed", "3")
    b, _, _ = render(capsys, packs, tmp_path, colour, "--seed", "3", name="f.png")
    assert np.array_equal(a, b)


def test_landmarks_alone_build_a_whole_portrait(packs, tmp_path, capsys):
    lm = sample_files(None)[1]
    mask_out = tmp_path / "used.png"
    code, stdout, err = synth(capsys, packs, "--landmarks", lm, "-o", tmp_path / "lm.png", "--save-mask", mask_out)
    assert code == 0, err
    used = load_mask(mask_out)
    assert used.shape == (RES, RES)
    assert np.array_equal(used, portrait_layout(load_landmarks_scaled(lm, RES), RES))
    present = set(np.unique(used).tolist())
    assert {CLASS_INDEX[n] for n in ("background", "skin", "nose", "hair", "neck", "cloth")} <= present
    assert set(json.loads(stdout)["classes"]) >= {"hair", "neck", "cloth"}
    assert load_image(tmp_path / "lm.png").shape == (RES, RES, 3)


def test_face_only_draws_just_the_landmark_parts(packs, face_mask, tmp_path, capsys):
    lm = sample_files(None)[1]
    mask_out = tmp_path / "used.png"
    code, _, err = synth(capsys, packs, "--landmarks", lm, "--face-only", "-o", tmp_path / "lm.png",
                         "--save-mask", mask_out)
    assert code == 0, err
    used = load_mask(mask_out)
    assert np.array_equal(used, landmarks_to_mask(load_landmarks_scaled(lm, RES), RES))
    assert CLASS_INDEX["hair"] not in np.unique(used)  # nothing but the landmark-drawn parts on background
    for argv in ((face_mask, "--landmarks", lm, "--face-only"), (face_mask, "--face-only")):
        code, _, err = synth(capsys, packs, *argv, "-o", tmp_path / "o.png")
        assert code == 2 and "--face-only goes with --landmarks and no MASK" in err
    assert not (tmp_path / "o.png").exists()


def test_landmarks_over_a_mask_keep_its_hair(packs, face_mask, tmp_path, capsys):
    # the sample's landmarks file says "size": [128, 128]; the 64x64 mask is the same face
    mask_out = tmp_path / "used.png"
    code, _, err = synth(capsys, packs, face_mask, "--landmarks", sample_files(None)[1], "-o", tmp_path / "x.png",
                         "--save-mask", mask_out)
    assert code == 0, err
    assert CLASS_INDEX["hair"] in np.unique(load_mask(mask_out))


def test_unknown_class_index_is_refused(packs, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    arr = np.zeros((RES, RES), np.uint8)
    arr[3:6, 3:6] = 25
    Image.fromarray(arr, "L").save(bad)
    code, _, err = synth(capsys, packs, bad, "-o", tmp_path / "o.png")
    assert code == 2 and "unknown class index 25" in err and "bad.png" in err
    assert not (tmp_path / "o.png").exists()


def test_wrong_sizes_are_refused(packs, tmp_path, capsys):
    wide = tmp_path / "wide.png"
    save_image(wide, np.zeros((32, 48), np.uint8))
    code, _, err = synth(capsys, packs, wide, "-o", tmp_path / "o.png")
    assert code == 2 and "48x32 is not square" in err
    tiny = tmp_path / "tiny.png"
    save_image(tiny, np.zeros((8, 8), np.uint8))
    code, _, err = synth(capsys, packs, tiny, "-o", tmp_path / "o.png")
    assert code == 2 and "too small" in err
    assert not (tmp_path / "o.png").exists()


def test_non_image_and_foreign_colours_are_refused(packs, tmp_path, capsys):
    junk = tmp_path / "junk.png"
    junk.write_text("this is not a picture")
    code, _, err = synth(capsys, packs, junk, "-o", tmp_path / "o.png")
    assert code == 2 and "junk.png" in err and "Traceback" not in err
    photo = tmp_path / "photo.png"
    save_image(photo, np.random.default_rng(0).integers(0, 255, (RES, RES, 3), dtype=np.uint8))
    code, _, err = synth(capsys, packs, photo, "-o", tmp_path / "o.png")
    assert code == 2 and "outside the palette" in err and "class colours" in err
    code, _, err = synth(capsys, packs, tmp_path / "missing.png", "-o", tmp_path / "o.png")
    assert code == 2 and "missing.png" in err


def test_attribute_errors(packs, face_mask, tmp_path, capsys):
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.png", "--set", "Smiling=1")
    assert code == 2 and "unknown attribute 'Smiling'" in err and "Male" in err
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.png", "--set", "Male")
    assert code == 2 and "NAME=VALUE" in err
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.png", "--set", "Male=1", "--set", "Male=0")
    assert code == 2 and "given twice" in err and not (tmp_path / "o.png").exists()
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.png", "--set", "Male=yes")
    assert code == 2 and "not a number" in err


def test_pack_without_synthesis_and_other_usage_errors(packs, face_mask, tmp_path, capsys):
    code = main(["synth", str(face_mask), "-o", str(tmp_path / "o.png"), "--dir", str(packs), "--pack", "parseonly"])
    err = capsys.readouterr().err
    assert code == 2 and "has no 'synthesize' model" in err
    code, _, err = synth(capsys, packs, "-o", tmp_path / "o.png")
    assert code == 2 and "--landmarks" in err
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.xyz")
    assert code == 2 and "unknown image type" in err
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "nowhere" / "o.png")
    assert code == 2 and "does not exist" in err
    code, _, err = synth(capsys, packs, face_mask, "-o", tmp_path / "o.png", "--seed", "-1")
    assert code == 2 and "--seed" in err
    bad_lm = tmp_path / "lm.json"
    bad_lm.write_text(json.dumps({"landmarks": [[1, 2]] * 5}))
    code, _, err = synth(capsys, packs, "--landmarks", bad_lm, "-o", tmp_path / "o.png")
    assert code == 2 and "68" in err
    far = tmp_path / "far.json"
    far.write_text(json.dumps({"landmarks": [[500 + i, 400 + i] for i in range(68)]}))
    code, _, err = synth(capsys, packs, "--landmarks", far, "-o", tmp_path / "o.png")
    assert code == 2 and "\"size\"" in err
    assert not (tmp_path / "o.png").exists()


@pytest.fixture(scope="module")
def bald_glasses_mask(tmp_path_factory):
    """An index PNG of a bald SynthFaces face with eyeglasses and a closed mouth (128 px)."""
    from trainer.data.synthfaces.params import sample_params, with_attribute
    from trainer.data.synthfaces.render import render

    p = with_attribute(with_attribute(sample_params(25), "Bald", 1.0), "Eyeglasses", 1.0)
    path = tmp_path_factory.mktemp("masks") / "bald.png"
    save_image(path, render(p, 128).mask, palette=[tuple(c) for c in PALETTE])
    return path


def test_unset_attributes_the_mask_decides_follow_it_and_are_named(packs, bald_glasses_mask, tmp_path, capsys):
    _, summary, err = render(capsys, packs, tmp_path, bald_glasses_mask, "--seed", "1")
    attrs, sources = summary["attributes"], summary["attribute_sources"]
    assert attrs["Bald"] == 1.0 and attrs["Eyeglasses"] == 1.0 and attrs["Mouth_Slightly_Open"] == 0.0
    assert sources["Bald"] == sources["Eyeglasses"] == "mask" and sources["Male"] == "default"
    line = next(x for x in err.splitlines() if x.startswith("derived"))
    assert line == "derived from the mask: Bald=1, Bangs=0, Eyeglasses=1, Mouth_Slightly_Open=0"
    # the user's value wins and is not called derived
    _, summary, err = render(capsys, packs, tmp_path, bald_glasses_mask, "--seed", "1", "--set", "Bald=0",
                             name="set.png")
    assert summary["attributes"]["Bald"] == 0.0 and summary["attribute_sources"]["Bald"] == "set"
    assert "derived from the mask: Bangs=0, Eyeglasses=1, Mouth_Slightly_Open=0" in err


def test_nothing_derived_prints_no_line(packs, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    save_image(blank, np.zeros((RES, RES), np.uint8))
    _, summary, err = render(capsys, packs, tmp_path, blank, "--seed", "1")
    assert set(summary["attribute_sources"].values()) == {"default"} and "derived" not in err
