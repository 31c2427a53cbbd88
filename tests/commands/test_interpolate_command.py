"""faceeditor-cli interpolate: the presets on the bundled samples to MP4 (decoded back with PyAV),
keyframes files and keyframe lists to PNG frames and GIF, errors, and Ctrl-C leaving nothing behind.

Smoothness is judged on a pack whose synthesize model paints the mask in the class colours (a 1x1
convolution, slightly blurred) with a tint from z and the attributes: a random-weight generator turns a
one-pixel mask change into noise anywhere in its receptive field, which says nothing about the clip.
"""
import json
import os
import signal

import av
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from faceeditor.cli import main
from faceeditor.commands._synthesis import sample_files
from faceeditor.core.image_io import load_image, save_image
from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX, EXPRESSIONS, PARSE_CLASSES
from faceeditor.core.mask_io import load_mask
from faceeditor.core.palette import PALETTE
from faceeditor.engine.engine import Engine
from faceeditor.engine.manifest import Manifest
from tests.helpers.packs import export_model, make_test_pack

SMOOTH_RES, RES, NZ = 128, 32, 4


class PaletteSynthesizer(nn.Module):
    """G(mask, z, attrs): the mask's class colours, blurred over 3x3, plus a tint from z and attrs."""

    def __init__(self):
        super().__init__()
        self.paint = nn.Conv2d(len(PARSE_CLASSES), 3, 1, bias=False)
        self.paint.weight.data = torch.tensor(PALETTE, dtype=torch.float32).T[:, :, None, None] / 127.5 - 1
        self.tint = nn.Linear(NZ + len(ATTRIBUTES), 3)

    def forward(self, mask, z, attrs):
        img = nn.functional.avg_pool2d(self.paint(mask), 3, 1, 1, count_include_pad=False)
        tint = 0.2 * torch.tanh(self.tint(torch.cat([z, attrs], dim=1)))
        return torch.clamp(0.8 * img + tint[:, :, None, None], -1.0, 1.0)


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "tinysynth", tasks=("synthesize",), resolution=RES)
    torch.manual_seed(0)
    res, nc = SMOOTH_RES, len(PARSE_CLASSES)
    onehot = nn.functional.one_hot(torch.randint(0, nc, (2, res, res)), nc).permute(0, 3, 1, 2).float()
    inputs = {"mask": onehot, "z": torch.randn(2, NZ), "attrs": torch.randn(2, len(ATTRIBUTES))}
    entry = export_model(root / "smooth", "G_paint", "synthesize", PaletteSynthesizer(), inputs, ["image"],
                         backbone="test", resolution=res, classes=list(PARSE_CLASSES),
                         attributes=list(ATTRIBUTES), expressions=list(EXPRESSIONS), data_domain="none",
                         method="test")
    Manifest(name="smooth", models=[entry], description="paints masks in the class colours").save(root / "smooth")
    return root


def interpolate(capsys, packs, *argv, pack="smooth"):
    code = main(["interpolate", *map(str, argv), "--dir", str(packs), "--pack", pack])
    out = capsys.readouterr()
    return code, out.out, out.err


def decode(path):
    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return codec, np.stack(frames).astype(np.float64)


def smoothness(frames):
    """(largest mean abs difference between consecutive frames, mean abs difference first-to-last)."""
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    return float(steps.max()), float(np.abs(frames[-1] - frames[0]).mean())


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("preset, frames", [("left2right", 24), ("neutral2happy", 24)])
def test_presets_render_smooth_mp4_clips_from_the_bundled_samples(packs, tmp_path, capsys, preset, frames):
    out = tmp_path / f"{preset}.mp4"
    # The smile raises Mouth_Slightly_Open with the parting lips; this pack tints the whole frame from the
    # attributes, so that would be judged by the uint8 rounding of a global tint: pinned here (--set
    # wins over the preset's channel), and checked in the summary test below.
    code, stdout, err = interpolate(capsys, packs, "--preset", preset, "--frames", frames, "--fps", 12, "-o", out,
                                    "--set", "Mouth_Slightly_Open=0")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["attributes_at_end"]["Mouth_Slightly_Open"] == 0.0
    assert summary["frames"] == frames and summary["size"] == [SMOOTH_RES, SMOOTH_RES]
    assert f"rendering: {frames}/{frames} frames" in err
    codec, decoded = decode(out)
    assert codec == "h264" and decoded.shape == (frames, SMOOTH_RES, SMOOTH_RES, 3)
    biggest_step, overall = smoothness(decoded)
    assert overall > 0.5                   # the face did move (head turn / smile)
    assert biggest_step < 0.3 * overall   # ... in small steps, with no jump
    assert leftovers(tmp_path) == []


def test_a_turn_of_the_head_changes_the_frames_more_than_a_smile(packs, tmp_path, capsys):
    """The two presets move different amounts of the face: a check that each does what it says."""
    results = {}
    for preset in ("left2right", "neutral2happy"):
        code, _, err = interpolate(capsys, packs, "--preset", preset, "--frames", 8, "-o", tmp_path / f"{preset}.mp4",
                                   "--set", "Mouth_Slightly_Open=0")   # this pack tints the whole frame from it
        assert code == 0, err
        frames = decode(tmp_path / f"{preset}.mp4")[1]
        results[preset] = smoothness(frames)[1]
        # the smile only changes the lower face; the top rows (hair, forehead) stay
        if preset == "neutral2happy":
            assert np.abs(frames[-1, :24] - frames[0, :24]).mean() < 0.3 * np.abs(frames[-1] - frames[0]).mean()
    assert results["left2right"] > 2 * results["neutral2happy"]


def test_keyframes_file_to_png_frames_hits_each_keyframe_exactly(packs, tmp_path, capsys):
    mask_a = load_mask(sample_files("heldout0139")[0])
    mask_b = load_mask(sample_files("heldout0853")[0])
    save_image(tmp_path / "a.png", mask_a)
    save_image(tmp_path / "b.png", mask_b)
    spec = {"fps": 10, "curve": "linear", "keyframes": [
        {"time": 1.2, "mask": "b.png", "seed": 5},
        {"time": 0.0, "mask": "a.png", "seed": 3, "attributes": {"Male": 1}},
    ]}
    (tmp_path / "clip.json").write_text(json.dumps(spec))
    out = tmp_path / "frames"
    code, stdout, err = interpolate(capsys, packs, tmp_path / "clip.json", "-o", out, pack="tinysynth")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["keyframes"] == [0, 12] and summary["fps"] == 10 and summary["curve"] == "linear"
    files = sorted(out.iterdir())
    assert [p.name for p in files] == [f"frame_{i:05d}.png" for i in range(13)]
    frames = [load_image(p) for p in files]
    assert frames[0].shape == (RES, RES, 3)
    # frame 0 and frame 12 are exactly what synth draws for the keyframes (Male=1 is held to the end)
    for mask, seed, frame in (("a.png", 3, frames[0]), ("b.png", 5, frames[-1])):
        code = main(["synth", str(tmp_path / mask), "--seed", str(seed), "--set", "Male=1", "-o",
                     str(tmp_path / "ref.png"), "--dir", str(packs), "--pack", "tinysynth"])
        assert code == 0
        assert np.array_equal(load_image(tmp_path / "ref.png"), frame)
    capsys.readouterr()
    # --frames stretches the keyframe times
    code, stdout, err = interpolate(capsys, packs, tmp_path / "clip.json", "-o", tmp_path / "f2", "--frames", 5,
                                    pack="tinysynth")
    assert code == 0, err and json.loads(stdout)["keyframes"] == [0, 4]
    assert len(list((tmp_path / "f2").iterdir())) == 5


@pytest.mark.parametrize("face_only", [False, True])
def test_landmark_keyframes_alone_draw_what_synth_draws_from_them(packs, tmp_path, capsys, face_only):
    """Without masks the frames' masks come from the landmarks as synth's do: a whole portrait, or with
    --face-only the face parts alone."""
    lm = sample_files("heldout0853")[1]
    spec = {"fps": 10, "keyframes": [{"time": 0.0, "landmarks": str(lm), "seed": 3},
                                     {"time": 0.2, "landmarks": str(lm)}]}
    (tmp_path / "clip.json").write_text(json.dumps(spec))
    flag = ("--face-only",) if face_only else ()
    code, _, err = interpolate(capsys, packs, tmp_path / "clip.json", *flag, "-o", tmp_path / "frames",
                               pack="tinysynth")
    assert code == 0, err
    first = load_image(tmp_path / "frames" / "frame_00000.png")
    code = main(["synth", "--landmarks", str(lm), *flag, "--seed", "3", "-o", str(tmp_path / "ref.png"),
                 "--save-mask", str(tmp_path / "mask.png"), "--dir", str(packs), "--pack", "tinysynth"])
    assert code == 0
    assert np.array_equal(load_image(tmp_path / "ref.png"), first)
    hair = CLASS_INDEX["hair"] in np.unique(load_mask(tmp_path / "mask.png"))
    assert hair != face_only


def test_mask_files_with_one_seed_each_to_gif(packs, tmp_path, capsys):
    a, b = sample_files("heldout0139")[0], sample_files("heldout0866")[0]
    out = tmp_path / "morph.gif"
    code, stdout, err = interpolate(capsys, packs, a, b, "--seeds", "1,2", "--frames", 6, "-o", out,
                                    "--set", "Young=1", pack="tinysynth")
    assert code == 0, err
    with Image.open(out) as im:
        assert im.n_frames == 6 and im.size == (RES, RES)
        im.seek(0)
        first = np.asarray(im.convert("RGB"), np.float64)
        im.seek(5)
        last = np.asarray(im.convert("RGB"), np.float64)
    assert np.abs(first - last).mean() > 1.0


@pytest.mark.parametrize("spec, message", [
    ("not json at all", "not valid JSON"),
    ({"frames": []}, "\"keyframes\" list"),
    ({"keyframes": [], "speed": 2}, "unknown field 'speed'"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}]}, "at least 2 keyframes"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}, {"time": 1, "mask": "a.png", "zoom": 1}]}, "unknown field 'zoom'"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}, {"time": "1s", "mask": "a.png"}]}, "\"time\" (seconds)"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}, {"time": 0.01, "mask": "a.png"}]}, "same frame"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}, {"time": 1, "mask": "gone.png"}]}, "gone.png"),
    ({"keyframes": [{"time": 0, "mask": "a.png"}, {"time": 1, "seed": -2}]}, "non-negative"),
    ({"keyframes": [{"time": 0, "seed": 1}, {"time": 1, "seed": 2}]}, "no keyframe gives a mask"),
    ({"keyframes": [{"time": 0, "mask": "a.png", "attributes": {"Smiling": 1}}, {"time": 1, "mask": "a.png"}]},
     "unknown attribute 'Smiling'"),
    ({"keyframes": [{"time": 0, "mask": "bad.png"}, {"time": 1, "mask": "a.png"}]}, "unknown class index 30"),
    ({"fps": 0, "keyframes": [{"time": 0, "mask": "a.png"}, {"time": 1, "mask": "a.png"}]}, "\"fps\""),
])
def test_keyframes_file_errors(packs, tmp_path, capsys, spec, message):
    save_image(tmp_path / "a.png", np.zeros((RES, RES), np.uint8))
    bad = np.zeros((RES, RES), np.uint8)
    bad[0, 0] = 30
    save_image(tmp_path / "bad.png", bad)
    path = tmp_path / "clip.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    code, _, err = interpolate(capsys, packs, path, "-o", tmp_path / "out.mp4", pack="tinysynth")
    assert code == 2 and message in err, err
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []


def test_usage_errors(packs, tmp_path, capsys):
    mask, lm = sample_files(None)
    cases = [
        ((), "--preset"),
        ((mask, "--preset", "left2right"), "not both"),
        ((mask, lm), "mix masks and landmarks"),
        ((mask, mask, "--seeds", "1"), "1 seeds for 2 keyframes"),
        ((mask,), "keyframes JSON file"),
        (("--preset", "left2right", "--sample", "nobody"), "no sample 'nobody'"),
        (("--preset", "left2right", "--mask", mask), "--mask needs --landmarks"),
        (("--preset", "left2right", "--frames", 1), "--frames"),
        (("--preset", "left2right", "--set", "Male"), "NAME=VALUE"),
    ]
    for argv, message in cases:
        code, _, err = interpolate(capsys, packs, *argv, "-o", tmp_path / "o.mp4", pack="tinysynth")
        assert code == 2 and message in err, (argv, err)
    code, _, err = interpolate(capsys, packs, "--preset", "left2right", "-o", tmp_path / "o.avi", pack="tinysynth")
    assert code == 2 and "unknown output type" in err
    code = main(["interpolate", "--preset", "left2right", "-o", str(tmp_path / "o.mp4"), "--dir",
                 str(tmp_path / "none"), "--pack", "absent"])
    assert code == 2 and "no pack called 'absent'" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_preset_takes_the_samples_attributes_unless_set(packs, tmp_path, capsys):
    code, stdout, err = interpolate(capsys, packs, "--preset", "left2right", "--sample", "heldout0866", "--frames", 2,
                                    "--set", "Mustache=0", "-o", tmp_path / "a.mp4", pack="tinysynth")
    assert code == 0, err
    attrs = json.loads(stdout)["attributes_at_start"]
    assert attrs["Bald"] == 1 and attrs["Male"] == 1 and attrs["Mustache"] == 0 and attrs["Bangs"] == 0
    code = main(["interpolate", "--sample", "list"])
    assert code == 0 and "heldout0866" in capsys.readouterr().out.split()


def test_the_smile_preset_opens_the_mouth_attribute_with_the_lips(packs, tmp_path, capsys):
    """A model conditioned on Mouth_Slightly_Open is not asked for a closed mouth over the open mouth of the
    smile's last masks; --set still wins."""
    code, stdout, err = interpolate(capsys, packs, "--preset", "neutral2happy", "--sample", "heldout0853",
                                    "--frames", 3, "-o", tmp_path / "a.mp4", pack="tinysynth")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["attributes_at_start"]["Mouth_Slightly_Open"] == 0.0
    assert summary["attributes_at_end"]["Mouth_Slightly_Open"] == 1.0
    # the sample's own attributes (heldout0853 has bangs; the model's default is 0) hold to the end
    assert summary["attributes_at_start"]["Bangs"] == summary["attributes_at_end"]["Bangs"] == 1.0
    code, stdout, err = interpolate(capsys, packs, "--preset", "neutral2happy", "--sample", "heldout0853",
                                    "--frames", 3, "--set", "Mouth_Slightly_Open=0.25", "-o", tmp_path / "b.mp4",
                                    pack="tinysynth")
    assert code == 0, err
    assert json.loads(stdout)["attributes_at_end"]["Mouth_Slightly_Open"] == 0.25


def test_preset_on_the_users_own_face(packs, tmp_path, capsys):
    mask, lm = sample_files("heldout0853")
    code, stdout, err = interpolate(capsys, packs, "--preset", "neutral2happy", "--mask", mask, "--landmarks", lm,
                                    "--frames", 4, "-o", tmp_path / "s.mp4", pack="tinysynth")
    assert code == 0, err
    assert decode(tmp_path / "s.mp4")[1].shape[0] == 4


def _interrupting_run(monkeypatch, action, after_calls=1):
    calls = []
    original = Engine.run

    def run(self, request):
        calls.append(1)
        if len(calls) > after_calls:
            action()
        return original(self, request)

    monkeypatch.setattr(Engine, "run", run)
    return calls


def test_ctrl_c_cancels_cleanly_and_keeps_an_earlier_file(packs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "turn.mp4"
    out.write_bytes(b"an earlier export")
    calls = _interrupting_run(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGINT))
    before = signal.getsignal(signal.SIGINT)
    code, stdout, err = interpolate(capsys, packs, "--preset", "left2right", "--frames", 40, "--batch", 4,
                                    "-o", out, pack="tinysynth")
    assert code == 130 and "cancelling..." in err and "was not written" in err and stdout == ""
    assert len(calls) < 10                       # stopped early, not after the whole clip
    assert out.read_bytes() == b"an earlier export" and leftovers(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is before


def test_keyboard_interrupt_mid_render_leaves_no_partial_file(packs, tmp_path, capsys, monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    _interrupting_run(monkeypatch, interrupt, after_calls=2)
    for name in ("clip.mp4", "clip.gif", "frames"):
        code, _, err = interpolate(capsys, packs, "--preset", "neutral2happy", "--frames", 20, "--batch", 4,
                                   "-o", tmp_path / name, pack="tinysynth")
        assert code == 130 and "cancelled" in err
        assert not (tmp_path / name).exists()
    assert leftovers(tmp_path) == []


def test_keyframes_with_inline_landmarks_render_like_landmark_files(packs, tmp_path, capsys):
    """The keyframes format (faceeditor.core.keyframes) also takes 68 points inline, in the mask's pixels."""
    mask, lm = sample_files("heldout0139")
    points = json.loads(lm.read_text())["landmarks"]
    by_file = {"keyframes": [{"time": 0, "mask": str(mask), "landmarks": str(lm), "seed": 1},
                             {"time": 0.2, "mask": str(mask), "seed": 2}]}
    inline = json.loads(json.dumps(by_file))
    inline["keyframes"][0]["landmarks"] = points
    outs = []
    for name, spec in (("file", by_file), ("inline", inline)):
        (tmp_path / f"{name}.json").write_text(json.dumps(spec))
        outs.append(tmp_path / f"frames_{name}")
        code, _, err = interpolate(capsys, packs, tmp_path / f"{name}.json", "-o", outs[-1], pack="tinysynth")
        assert code == 0, err
    a, b = (sorted(o.iterdir()) for o in outs)
    assert len(a) == len(b) == 6
    assert all(np.array_equal(load_image(x), load_image(y)) for x, y in zip(a, b, strict=True))
