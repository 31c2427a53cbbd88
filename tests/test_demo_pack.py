"""The bundled demo pack: valid, and its models do their jobs on SynthFaces renders they never saw.

Thresholds sit a margin below the figures measured at export (docs/results.md), so a broken export, a
pre/post-processing bug or a renderer change that the models no longer fit shows up here.
"""
import json

import cv2
import numpy as np
import pytest
import torch

from faceeditor.cli import main as cli_main
from faceeditor.core.labels import ATTRIBUTES, EVALUATOR_ATTRIBUTES, EXPRESSIONS, NUM_CLASSES
from faceeditor.engine.engine import Engine
from faceeditor.engine.registry import PackRegistry
from faceeditor.engine.requests import (
    ClassifyAttributesRequest,
    ClassifyExpressionRequest,
    EditAttributesRequest,
    FlipAttributesRequest,
    ParseRequest,
    SynthesizeRequest,
)
from trainer.data.synthfaces import render_seed
from trainer.methods.editing import flip_target
from trainer.metrics.miou import MeanIoU

DEMO = "synthfaces-demo"
HELD_OUT_SEEDS = [7_000_000_000 + i for i in range(24)]   # the training set used seeds 0 .. 11999
# Measured on these 24 faces through the engine: parser mIoU 0.850, expression accuracy 22/24 (the 1,000
# held-out faces of docs/results.md: 0.851 and 0.962); the thresholds leave room for ONNX Runtime builds.
MIN_MIOU = 0.80
MIN_ATTR_ACC = 0.85
MIN_EXPR_ACC = 0.80


@pytest.fixture(scope="module")
def demo():
    registry = PackRegistry(include_defaults=True)
    registry.scan()
    info = next((p for p in registry.packs if p.name == DEMO and p.source == "bundled"), None)
    assert info is not None, "the bundled demo pack is missing from faceeditor/resources/models/"
    assert info.valid, info.reason
    return Engine([info.path], provider="cpu")


@pytest.fixture(scope="module")
def renders():
    return [render_seed(s, 128) for s in HELD_OUT_SEEDS]


def test_demo_pack_has_a_parser_trained_on_synthfaces(demo):
    assert demo.has_task("parse")
    for model in demo.models():
        assert model.entry.data_domain == "synthfaces"


def test_parser_on_unseen_faces(demo, renders):
    result = demo.run(ParseRequest(images=[r.image for r in renders]))
    miou = MeanIoU(NUM_CLASSES)
    miou.update(np.stack(result.masks), np.stack([r.mask for r in renders]))
    assert miou.mean() >= MIN_MIOU, miou.per_class()


def test_attribute_evaluator_on_unseen_faces(demo, renders):
    if not demo.has_task("classify_attributes"):
        pytest.skip("this demo pack ships no attribute evaluator")
    images = [r.image for r in renders]
    attrs = demo.run(ClassifyAttributesRequest(images=images))
    order = [attrs.names.index(a) for a in EVALUATOR_ATTRIBUTES]
    truth = np.array([[r.attributes[a] for a in EVALUATOR_ATTRIBUTES] for r in renders])
    assert ((attrs.logits[:, order] > 0) == truth).mean() >= MIN_ATTR_ACC


def test_expression_evaluator_on_unseen_faces(demo, renders):
    if not demo.has_task("classify_expression"):
        pytest.skip("this demo pack ships no expression evaluator")
    images = [r.image for r in renders]
    expr = demo.run(ClassifyExpressionRequest(images=images))
    order = [expr.names.index(e) for e in EXPRESSIONS]
    truth = np.array([EXPRESSIONS.index(r.expression) for r in renders])
    assert (expr.logits[:, order].argmax(1) == truth).mean() >= MIN_EXPR_ACC


def test_cli_parse_on_a_bundled_sample(tmp_path, capsys):
    from PIL import Image

    from faceeditor.resources import samples_dir

    sample = samples_dir() / "synthface_0011.png"
    out = tmp_path / "mask.png"
    assert cli_main(["parse", str(sample), "-o", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.split("\nnote:")[0])
    assert summary["pack"] == DEMO and summary["mode"] == "whole"
    with Image.open(out) as im:
        mask = np.asarray(im)
    truth = render_seed(11, 256).mask
    miou = MeanIoU(NUM_CLASSES)
    miou.update(mask, truth)
    assert miou.mean() >= MIN_MIOU - 0.05, miou.per_class()


def test_cli_parse_aligns_a_photo_like_the_app(tmp_path, capsys):
    """scikit-image's astronaut (512², the face a fifth of the frame) is a photo: parsed whole, as if it
    were an aligned face, the parser read 6.6 % of the picture as eyeglasses and 27 % as hair (her suit);
    on the aligned crop that the app and every command now take, 0.2 % and 2 %."""
    import skimage.data

    from faceeditor.core.image_io import save_image

    photo = tmp_path / "astronaut.png"
    save_image(photo, skimage.data.astronaut())
    fractions = {}
    for mode in ("auto", "whole"):
        assert cli_main(["parse", str(photo), "-o", str(tmp_path / f"{mode}.png"), "--mode", mode]) == 0
        out = capsys.readouterr().out
        summary = json.loads(out[: out.rindex("}") + 1])
        fractions[summary["mode"]] = summary["classes"]
    assert set(fractions) == {"face", "whole"}
    assert fractions["face"].get("eye_g", 0) < 0.01 and fractions["face"].get("hair", 0) < 0.05
    assert fractions["whole"]["eye_g"] > 0.03 and fractions["whole"]["hair"] > 0.15      # the old misreading


# The bundled SeCGAN editor (64², 26,000 CPU iterations; docs/results.md) judged by the bundled decorrelated
# 64² evaluator measured 0.744 editing accuracy and 21.7 dB reconstruction PSNR on these 12 faces through
# the engine (the 16,000-iteration editor: 0.750 and 20.9 dB; 6,000: 0.699 and 19.1 dB; 3,000: 0.577 and
# 17.9 dB). The thresholds sit below the new figures; reconstruction is above the 16,000-iteration
# editor's, so a step back fails.
MIN_EDIT_ACC = 0.72
MIN_REC_PSNR = 21.2


SECGAN = "secgan_stargan"


def test_attribute_editor_on_unseen_faces(demo, renders):
    """The bundled SeCGAN editor, run through the engine like the app runs it: y_diff = 0 reconstructs the
    face, and flipping attributes moves the bundled evaluator the asked way on faces it never saw."""
    if not (demo.has_task("edit_attributes") and demo.has_task("classify_attributes")):
        pytest.skip("this demo pack ships no attribute editor")
    res = demo.find_model("edit_attributes", SECGAN).entry.resolution
    images = [cv2.resize(r.image, (res, res), interpolation=cv2.INTER_AREA) for r in renders[:12]]
    rec = demo.run(EditAttributesRequest(images=images, y_diff=np.zeros((len(images), len(ATTRIBUTES))),
                                         model=SECGAN))
    diff = np.stack(rec.images).astype(np.float64) - np.stack(images)
    psnr = 10 * np.log10(255.0 ** 2 / (diff ** 2).mean())
    assert psnr >= MIN_REC_PSNR
    src = np.array([[float(r.attributes[a]) for a in ATTRIBUTES] for r in renders[:12]], np.float32)
    correct = []
    for k, name in enumerate(ATTRIBUTES):
        y = flip_target(torch.from_numpy(src), k).numpy()       # as the evaluation protocol flips
        out = demo.run(EditAttributesRequest(images=images, y_diff=y - src, model=SECGAN))
        judged = demo.run(ClassifyAttributesRequest(images=out.images))
        col = judged.names.index(name)
        correct.append(((judged.logits[:, col] > 0) == (y[:, k] > 0.5)).mean())
        if out.masks is not None:
            assert out.masks[0].shape == (res, res) and len(out.mask_classes) == 12
    assert np.mean(correct) >= MIN_EDIT_ACC, dict(zip(ATTRIBUTES, correct, strict=True))


# Kept to the attributes' regions (the app's and the CLI's default), the same edits measured 0.737 editing
# accuracy and 40.0 dB PSNR outside the regions on these 12 faces (the 16,000-iteration editor: 0.692 and
# 38.9 dB; 6,000: 0.660 and 36.6 dB; docs/results.md, "Keeping the rest"). Both thresholds are above the
# 16,000-iteration editor's figures.
MIN_KEPT_EDIT_ACC = 0.71
MIN_KEPT_PSNR_OUTSIDE = 39.4


def test_attribute_edits_kept_to_their_regions(demo, renders):
    """With keep_outside the faces keep their pixels outside the asked attribute's regions (by the bundled
    parser), and the evaluator still sees most of the asked changes."""
    if not (demo.has_task("edit_attributes") and demo.has_task("classify_attributes") and demo.has_task("parse")):
        pytest.skip("this demo pack ships no attribute editor, evaluator and parser")
    from faceeditor.core.attribute_regions import edit_region, masked_psnr

    images = [r.image for r in renders[:12]]
    before = demo.run(ParseRequest(images=images)).masks
    src = np.array([[float(r.attributes[a]) for a in ATTRIBUTES] for r in renders[:12]], np.float32)
    correct, psnr = [], []
    for k, name in enumerate(ATTRIBUTES):
        y = flip_target(torch.from_numpy(src), k).numpy()
        out = demo.run(EditAttributesRequest(images=images, y_diff=y - src, masks=before, keep_outside=True,
                                             model=SECGAN))
        judged = demo.run(ClassifyAttributesRequest(images=out.images))
        correct.append(((judged.logits[:, judged.names.index(name)] > 0) == (y[:, k] > 0.5)).mean())
        after = demo.run(ParseRequest(images=out.images)).masks
        for image, kept, m0, m1 in zip(images, out.images, before, after, strict=True):
            value = masked_psnr(image, kept, ~edit_region(m0, m1, [name]))
            if not np.isnan(value):
                psnr.append(min(value, 60.0))
    assert np.mean(psnr) >= MIN_KEPT_PSNR_OUTSIDE
    assert np.mean(correct) >= MIN_KEPT_EDIT_ACC, dict(zip(ATTRIBUTES, correct, strict=True))


# The bundled SCGAN (scgan128-warm: the 128² SPADE generator with a style encoder, 3,000 CPU iterations, then
# 2,400 more from its exported weights with the small-part L1 and jittered texture windows; docs/results.md
# "Mask-to-face synthesis at 128²"), measured through the engine on these 12 faces (2026-12-07): the
# bundled parser reads its faces at 0.969 pixel agreement, real renders at 0.988 and the shuffled floor at
# 0.809; the smallest recall of eyes, brows, nose and lips is 0.93 (the nose; lips 0.94 / 0.98, eyes 0.98 /
# 0.99); another seed changes the faces by 0.65 of what two real renders of the same masks differ by.
# Thresholds sit a margin below; the small-part one is issue 23's bar.
MIN_SPATIAL_ACC = 0.955
MIN_SPATIAL_OVER_FLOOR = 0.12
MIN_SMALL_PART_RECALL = 0.85
MIN_DIVERSITY_RATIO = 0.5
SMALL_PARTS = ("l_eye", "r_eye", "l_brow", "r_brow", "nose", "u_lip", "l_lip")
MIN_CLIP_CHANGE = {"left2right": 15.0, "neutral2happy": 8.0}   # mean grey levels, first to last frame
MIN_MOUTH_OPEN_LOGIT_RISE = 1.0


def _synth_resolution(demo) -> int:
    return next(m.entry.resolution for m in demo.models() if m.entry.task == "synthesize")


def _same_mask_distance(seeds: list[int], res: int) -> float:
    """Mean |a - b| (0-1) between each face and the same face drawn with another face's scene: what two
    real renders of one mask differ by (trainer/data/synthfaces/restyle.py)."""
    from trainer.data.synthfaces.params import sample_params
    from trainer.data.synthfaces.restyle import same_mask_pair

    d = [np.abs(a.astype(float) - b.astype(float)).mean() / 255 for a, b, _ in
         (same_mask_pair(sample_params(s), sample_params(s + 1), res) for s in seeds)]
    return float(np.mean(d))


def test_mask_to_face_synthesis_on_unseen_masks(demo, renders):
    """Faces drawn from held-out masks lie on those masks (the parser reads the masks back nearly as well
    as from real renders, far better than from another face's render, small parts included); the seed
    changes the face; and with z and the mask fixed, changing the attributes changes what the evaluator
    sees."""
    if not demo.has_task("synthesize"):
        pytest.skip("this demo pack ships no mask-to-face model")
    from faceeditor.core.labels import CLASS_INDEX

    res = _synth_resolution(demo)
    faces = renders[:12]
    masks = [cv2.resize(r.mask, (res, res), interpolation=cv2.INTER_NEAREST) for r in faces]
    real = [cv2.resize(r.image, (res, res), interpolation=cv2.INTER_AREA) for r in faces]
    attrs = np.array([[float(r.attributes[a]) for a in ATTRIBUTES] for r in faces], np.float32)
    out = demo.run(SynthesizeRequest(masks=masks, attrs=attrs, seeds=list(range(len(faces)))))
    assert out.images[0].shape == (res, res, 3)

    def parsed(images):
        return demo.run(ParseRequest(images=images)).masks

    def agreement(images, targets):
        return float(np.mean([(p == t).mean() for p, t in zip(parsed(images), targets, strict=True)]))

    acc = agreement(out.images, masks)
    floor = agreement(real, masks[1:] + masks[:1])
    assert acc >= MIN_SPATIAL_ACC and acc >= floor + MIN_SPATIAL_OVER_FLOOR, (acc, floor)
    labels, truth = np.stack(parsed(out.images)), np.stack(masks)
    recall = {c: float((labels[truth == CLASS_INDEX[c]] == CLASS_INDEX[c]).mean()) for c in SMALL_PARTS}
    assert min(recall.values()) >= MIN_SMALL_PART_RECALL, recall

    other = demo.run(SynthesizeRequest(masks=masks, attrs=attrs, seeds=[s + 100 for s in range(len(faces))]))
    spread = float(np.mean([np.abs(a.astype(float) - b.astype(float)).mean() / 255
                            for a, b in zip(out.images, other.images, strict=True)]))
    reference = _same_mask_distance(HELD_OUT_SEEDS[:12], res)
    assert spread >= MIN_DIVERSITY_RATIO * reference, (spread, reference)
    assert agreement(other.images, masks) >= acc - 0.03              # another seed keeps the layout

    if demo.has_task("classify_attributes"):
        k = ATTRIBUTES.index("Male")
        flipped = attrs.copy()
        flipped[:, k] = 1.0 - flipped[:, k]
        again = demo.run(SynthesizeRequest(masks=masks, attrs=flipped, z=out.z))
        before = demo.run(ClassifyAttributesRequest(images=out.images))
        after = demo.run(ClassifyAttributesRequest(images=again.images))
        col = before.names.index("Male")
        moved = np.sign(after.logits[:, col] - before.logits[:, col]) == np.where(flipped[:, k] > 0.5, 1, -1)
        assert moved.mean() >= 0.75, (before.logits[:, col], after.logits[:, col])
        assert agreement(again.images, masks) >= acc - 0.05          # the faces stay on their masks


BALD_SEEDS = [7_000_000_000 + i for i in (42, 52)]     # held-out faces with Bald = 1 and no hat


def test_a_bald_mask_with_no_attribute_set_draws_no_hair(demo, tmp_path, capsys):
    """The mask decides Bald when the user leaves it unset (faceeditor.core.mask_attributes), so the model
    is not asked for hair over a bald head: the parser finds almost no hair on the faces."""
    if not demo.has_task("synthesize"):
        pytest.skip("this demo pack ships no mask-to-face model")
    from faceeditor.core.image_io import save_image
    from faceeditor.core.labels import CLASS_INDEX

    res = _synth_resolution(demo)
    for seed in BALD_SEEDS:
        face = render_seed(seed, res)
        mask_png, out_png = tmp_path / f"{seed}_mask.png", tmp_path / f"{seed}.png"
        save_image(mask_png, face.mask)
        assert cli_main(["synth", str(mask_png), "--pack", DEMO, "--seed", "3", "-o", str(out_png)]) == 0
        assert "Bald=1" in capsys.readouterr().err
        from faceeditor.core.image_io import load_image

        labels = demo.run(ParseRequest(images=[load_image(out_png)])).masks[0]
        head = np.isin(face.mask, [CLASS_INDEX["skin"], CLASS_INDEX["hair"]])
        assert (labels[head] == CLASS_INDEX["hair"]).mean() < 0.03


def test_landmarks_alone_give_a_whole_portrait(demo, tmp_path, capsys):
    """From 68 landmarks alone the CLI fits the head template (faceeditor.core.head_layout) and the model
    draws a whole portrait: the parser reads hair, skin, neck and cloth where the layout has them."""
    if not demo.has_task("synthesize"):
        pytest.skip("this demo pack ships no mask-to-face model")
    from faceeditor.commands._synthesis import sample_files
    from faceeditor.core.image_io import load_image
    from faceeditor.core.labels import CLASS_INDEX
    from faceeditor.core.mask_io import load_mask

    out_png, used_png = tmp_path / "face.png", tmp_path / "used.png"
    landmarks = sample_files("heldout0853")[1]
    assert cli_main(["synth", "--landmarks", str(landmarks), "--pack", DEMO, "-o", str(out_png),
                     "--save-mask", str(used_png)]) == 0, capsys.readouterr().err
    used = load_mask(used_png)
    labels = demo.run(ParseRequest(images=[load_image(out_png)])).masks[0]
    for name in ("hair", "skin", "neck", "cloth"):
        where = used == CLASS_INDEX[name]
        assert where.mean() > 0.02, name                                   # the layout has the part
        assert (labels[where] == CLASS_INDEX[name]).mean() > 0.6, name     # and the face draws it there
    assert (labels == used).mean() > 0.85


def _mouth_box(sample: str, res: int) -> tuple[slice, slice]:
    """The sample's mouth (its outer lip contour) at the model's resolution, with a quarter of its width
    around."""
    from faceeditor.commands._synthesis import read_landmarks, sample_files
    from faceeditor.core.face_geometry import group

    mouth = group(read_landmarks(sample_files(sample)[1], res), "outer_lips")
    (x0, y0), (x1, y1) = mouth.min(0), mouth.max(0)
    pad = 0.25 * (x1 - x0)
    return (slice(max(int(y0 - pad), 0), int(np.ceil(y1 + pad)) + 1),
            slice(max(int(x0 - pad), 0), int(np.ceil(x1 + pad)) + 1))


@pytest.mark.parametrize("preset", ["left2right", "neutral2happy"])
def test_interpolate_presets_with_the_bundled_model(demo, tmp_path, capsys, preset):
    """The two clips of the issue, rendered by the bundled SCGAN from a bundled sample, open as H.264 and
    move smoothly (no frame jumps by more than a fraction of the whole clip's change). The head turn moves
    the whole frame; the smile is judged where it happens, around the mouth."""
    if not demo.has_task("synthesize"):
        pytest.skip("this demo pack ships no mask-to-face model")
    import av

    sample = "heldout0139"
    out = tmp_path / f"{preset}.mp4"
    assert cli_main(["interpolate", "--preset", preset, "--sample", sample, "--frames", "16", "--fps", "8",
                     "--pack", DEMO, "-o", str(out)]) == 0, capsys.readouterr().err
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    res = _synth_resolution(demo)
    assert decoded.shape[0] == 16 and decoded.shape[1:3] == (res, res)
    frames = decoded.astype(np.float64)
    if preset == "neutral2happy":
        if demo.has_task("classify_attributes"):   # the evaluator sees the mouth open as the lips part
            judged = demo.run(ClassifyAttributesRequest(images=[decoded[0], decoded[-1]]))
            opened = judged.logits[:, judged.names.index("Mouth_Slightly_Open")]
            assert opened[1] - opened[0] > MIN_MOUTH_OPEN_LOGIT_RISE, opened
        rows, cols = _mouth_box(sample, res)
        frames = frames[:, rows, cols]
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    overall = np.abs(frames[-1] - frames[0]).mean()
    assert overall > MIN_CLIP_CHANGE[preset] and steps.max() < 0.5 * overall, (steps, overall)


# The bundled MagGAN (docs/results.md, "Weighing each edit by its own region"), measured through the engine
# on these 12 faces x 13 flips against SynthFaces' ground-truth re-renders (2026-12-07, session 9): pixel gain
# 0.294 (positive for 9 of 13 attributes here, Mustache by 0.017), preservation 42.4 dB, detail 0.85. Its
# preview, distilled from it at 64² (method preview_distill): 0.266, within 0.028 of the full pass (the same
# weights traced at 64², the kind of preview before it, keep about 0.13 less). The thresholds sit a margin
# below, so a broken export, a lost `masks` feed or a regions-table change the editor no longer fits shows up
# here; the preview's gap is the bar (0.05).
MAGGAN = "maggan"
MIN_MAGGAN = {"gain_pixel": 0.24, "positive": 8, "preservation_db": 39.0, "detail": 0.78}
MIN_PREVIEW_GAIN = 0.21
MAX_PREVIEW_GAIN_GAP = 0.05


def _ground_truth_figures(demo, *, preview: bool) -> dict[str, float]:
    """Pixel gain, preservation (dB) and detail of the pack's MagGAN (or its preview) on 12 held-out faces."""
    from trainer.metrics.detail import detail_ratio, face_region, high_frequency_energy
    from trainer.metrics.editing_accuracy import GroundTruthEdits
    from trainer.metrics.ground_truth_gain import gain, pixel_errors, true_change_region
    from trainer.metrics.preservation import outside_squared_error, psnr_from_squared_error

    gt = GroundTruthEdits({"seed": 7, "size": 128}, 128, "parse19")       # render_seed(7e9 + i) is face i
    src = np.stack([gt.source_labels(i) for i in range(12)])
    faces = [gt.rendered(i, src[i], src[i]) for i in range(12)]
    images = [f[0] for f in faces]
    to_x = lambda im: im.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0      # noqa: E731
    per_attr, sq, n, energy = [], 0.0, 0, [0.0, 0.0]
    for k in range(len(ATTRIBUTES)):
        y = flip_target(torch.from_numpy(src), k).numpy()
        out = demo.run(EditAttributesRequest(images=images, y_diff=y - src, model=MAGGAN, preview=preview))
        errs = []
        for i in range(12):
            x, e, t = to_x(images[i]), to_x(out.images[i]), to_x(gt.rendered(i, src[i], y[i])[0])
            region = true_change_region(x, t)
            errs.append(pixel_errors(e, x, t, region))
            s, c = outside_squared_error(e, x, region)
            sq, n = sq + s, n + c
            face = face_region(faces[i][1])
            energy[0] += high_frequency_energy(e, face)
            energy[1] += high_frequency_energy(x, face)
        per_attr.append(gain(*np.array(errs, np.float64).reshape(-1, 2).T))
    return {"gain_pixel": float(np.nanmean(per_attr)), "positive": int(np.sum(np.array(per_attr) > 0)),
            "preservation_db": psnr_from_squared_error(sq, n), "detail": detail_ratio(*energy),
            **{f"gain_pixel/{a}": float(v) for a, v in zip(ATTRIBUTES, per_attr, strict=True)}}


def test_maggan_against_the_ground_truth(demo):
    """The bundled MagGAN, through the engine as the app runs it (the pack's parser feeds its masks):
    closer to the true edit than the input for most attributes, the rest of the picture kept, sharp."""
    if MAGGAN not in {m.entry.name for m in demo.models("edit_attributes")}:
        pytest.skip("this demo pack ships no MagGAN editor")
    assert demo.find_model("edit_attributes").entry.name == MAGGAN      # the app's default editor
    full = _ground_truth_figures(demo, preview=False)
    print("maggan", full)
    assert full["gain_pixel"] >= MIN_MAGGAN["gain_pixel"], full
    assert full["positive"] >= MIN_MAGGAN["positive"], full
    assert full["preservation_db"] >= MIN_MAGGAN["preservation_db"], full
    assert full["detail"] >= MIN_MAGGAN["detail"], full
    fast = _ground_truth_figures(demo, preview=True)
    print("maggan preview", fast)
    assert fast["gain_pixel"] >= MIN_PREVIEW_GAIN, fast
    assert abs(fast["gain_pixel"] - full["gain_pixel"]) <= MAX_PREVIEW_GAIN_GAP, (fast, full)


SGGAN = "sggan"
# Measured on these 24 faces through the engine (docs/results.md, "SG-GAN"): flips judged right Male 0.375,
# Blond_Hair 0.708, Mouth_Slightly_Open 0.042 (the bundled model does not open or close mouths: no bar for
# it); the head of the value a face has keeps it at 30.1 / 32.6 / 31.8 dB; the model's own reading is right
# for Male 0.92, Blond_Hair 1.00 (Mouth_Slightly_Open 0.25). The thresholds leave room for ONNX Runtime builds.
MIN_FLIP_ACC = {"Male": 0.30, "Blond_Hair": 0.60}
MIN_FLIP_PSNR_OTHER = 28.0
MIN_READING_ACC = {"Male": 0.85, "Blond_Hair": 0.95}


def test_all_flips_of_unseen_faces_from_one_pass(demo, renders, monkeypatch):
    """The bundled SG-GAN, through the engine as the app and `faceeditor-cli flips` run it: one forward pass
    gives every attribute both ways; the flip toward the value a face does not have moves the bundled
    evaluator that way, and the head of the value it has keeps the face."""
    if not demo.has_task("flip_attributes"):
        pytest.skip("this demo pack ships no flip_attributes model")
    model = demo.find_model("flip_attributes", SGGAN)
    res = model.entry.resolution
    images = [cv2.resize(r.image, (res, res), interpolation=cv2.INTER_AREA) for r in renders]
    import onnxruntime as ort

    calls = []
    real_run = ort.InferenceSession.run
    monkeypatch.setattr(ort.InferenceSession, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    out = demo.run(FlipAttributesRequest(images=images, model=SGGAN, paste="none"))
    # every flip of every face from one forward pass per chunk of faces the engine batches (16)
    assert len(calls) == -(-len(images) // demo.max_batch) and len(out.sheets) == len(images)
    monkeypatch.undo()
    attrs = out.sheets[0].attributes
    truth = np.array([[float(r.attributes[a]) for a in attrs] for r in renders])
    reading = np.array([s.probs for s in out.sheets]) >= 0.5
    read_acc = dict(zip(attrs, (reading == (truth > 0.5)).mean(0), strict=True))
    print("sggan reading accuracy", read_acc)
    for name, bar in MIN_READING_ACC.items():
        assert read_acc[name] >= bar, read_acc
    figures = {}
    for a, name in enumerate(attrs):
        flips = [s.head(name, int(1 - truth[i, a])) for i, s in enumerate(out.sheets)]   # toward the other value
        kept = np.stack([s.head(name, int(truth[i, a])) for i, s in enumerate(out.sheets)]).astype(np.float64)
        judged = demo.run(ClassifyAttributesRequest(images=flips))
        col = judged.names.index(name)
        acc = float(((judged.logits[:, col] > 0) == (truth[:, a] < 0.5)).mean())
        psnr_kept = float(10 * np.log10(255.0 ** 2 / ((kept - np.stack(images)) ** 2).mean()))
        figures[name] = (acc, psnr_kept)
    print("sggan flips (accuracy, PSNR of the kept head)", figures)
    for name, (acc, psnr_kept) in figures.items():
        assert acc >= MIN_FLIP_ACC.get(name, 0.0), figures
        assert psnr_kept >= MIN_FLIP_PSNR_OTHER, figures


# The expression editor (hiergan), through the engine on 8 held-out identities rendered as the RaFD layout's
# faces are (frontal, 256 px, resized to 128), each neutral face to the 7 other expressions. Measured on
# the bundled model (3,100 iterations, then 1,600 from its exported graph and 400 without mirroring;
# weights stored as float16): pixel gain 0.367 toward the true pictures (7 of 7 targets > 0), 41 of 56
# edits judged right (0.732). On the 42 held-out identities of its test split, every face to the 7 others:
# 0.386 and 0.665 (docs/hiergan.md).
EXPR_SEEDS = [7_100_000_000 + i for i in range(8)]
MIN_EXPR_PIXEL_GAIN = 0.30
MIN_EXPR_POSITIVE = 6               # of the 7 targets, pixel gain > 0 (7 measured)
MIN_EXPR_EDIT_ACC = 0.65


def expression_faces(seeds=EXPR_SEEDS, size=128):
    """{seed: {expression: uint8 (size, size, 3)}}: each identity in all 8 expressions, frontal."""
    from trainer.data.synthfaces import render, sample_params, with_expression
    from trainer.data.synthfaces.formats import frontal

    out = {}
    for s in seeds:
        p = frontal(sample_params(s))
        out[s] = {e: cv2.resize(render(with_expression(p, e, 1.0), 256).image, (size, size),
                                interpolation=cv2.INTER_AREA) for e in EXPRESSIONS}
    return out


def expression_measures(engine, faces) -> tuple[float, float, dict[str, float]]:
    """(pixel gain toward the true pictures over all edits, editing accuracy by the pack's expression
    evaluator, pixel gain per target), each neutral face edited to the 7 other expressions."""
    from faceeditor.engine.requests import EditExpressionRequest
    from trainer.metrics.ground_truth_gain import gain, pixel_errors, true_change_region

    chw = lambda im: im.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0       # noqa: E731
    targets = [e for e in EXPRESSIONS if e != "neutral"]
    neutral = [f["neutral"] for f in faces.values()]
    per, errs, right = {}, ([], []), 0
    for t in targets:
        edited = engine.run(EditExpressionRequest(images=neutral, expression=t, intensity=1.0)).images
        read = engine.run(ClassifyExpressionRequest(images=edited))
        right += int(sum(EXPRESSIONS[int(i)] == t for i in np.argmax(read.logits, axis=1)))
        e_t, x_t = [], []
        for face, out in zip(faces.values(), edited, strict=True):
            x, truth, y = chw(face["neutral"]), chw(face[t]), chw(out)
            ee, xx = pixel_errors(y, x, truth, true_change_region(x, truth))
            e_t.append(ee)
            x_t.append(xx)
        per[t] = gain(e_t, x_t)
        errs[0].extend(e_t)
        errs[1].extend(x_t)
    return gain(*errs), right / (len(targets) * len(neutral)), per


def test_expression_editor_moves_unseen_faces_toward_their_true_expressions(demo):
    if not demo.has_task("edit_expression"):
        pytest.skip("this demo pack ships no expression editor")
    pixel, acc, per = expression_measures(demo, expression_faces())
    assert pixel >= MIN_EXPR_PIXEL_GAIN, per
    assert sum(v > 0 for v in per.values()) >= MIN_EXPR_POSITIVE, per
    assert acc >= MIN_EXPR_EDIT_ACC
