"""Engine: same numbers as PyTorch, request pre/post-processing, batching, caching, providers."""
from __future__ import annotations

import logging
import shutil
import threading

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS, NUM_CLASSES
from faceeditor.engine import session as session_module
from faceeditor.engine.engine import Cancelled, Engine, EngineError
from faceeditor.engine.processing import RequestError
from faceeditor.engine.requests import (
    ClassifyAttributesRequest,
    ClassifyExpressionRequest,
    ClassifyResult,
    EditAttributesRequest,
    EditExpressionRequest,
    EditResult,
    ParseRequest,
    ParseResult,
    SynthesizeRequest,
    SynthesizeResult,
)
from faceeditor.engine.session import SessionCache
from faceeditor.engine.validate import PackError
from tests.helpers.packs import edit_manifest, export_model, make_test_pack


def _rng_image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _random_feeds(model, n, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in model.entry.inputs:
        shape = [n if isinstance(d, str) else d for d in spec.shape]
        if spec.name == "mask":
            idx = rng.integers(0, shape[1], (n, *shape[2:]))
            feeds[spec.name] = np.eye(shape[1], dtype=np.float32)[idx].transpose(0, 3, 1, 2).copy()
        else:
            feeds[spec.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    return feeds


@pytest.fixture(scope="module")
def all_engine(built_all_pack):
    return Engine([built_all_pack.path], provider="cpu", intra_op_threads=1)


def test_engine_matches_pytorch_for_every_task(built_all_pack, all_engine):
    for model in all_engine.models():
        feeds = _random_feeds(model, 3, seed=len(model.key))
        got = all_engine.forward(model, feeds)
        module = built_all_pack.modules[model.entry.name]
        with torch.no_grad():
            want = module(*[torch.from_numpy(v) for v in feeds.values()])
        want = want if isinstance(want, tuple) else (want,)
        for spec, w in zip(model.entry.outputs, want, strict=True):
            g, w = got[spec.name], w.numpy()
            assert g.shape == w.shape, (model.key, spec.name)
            if spec.name == "labels":
                p = np.sort(want[0].numpy(), axis=1)
                clear = (p[:, -1] - p[:, -2]) > 1e-4   # argmax ties may legitimately differ
                assert np.array_equal(g[clear], w[clear]), model.key
            else:
                np.testing.assert_allclose(g, w, atol=1e-4, rtol=0, err_msg=f"{model.key}.{spec.name}")


def test_edit_request_equals_pytorch_pipeline(built_edit_pack):
    """uint8 in -> uint8 out at the input's size, equal to doing the same steps by hand with PyTorch."""
    engine = Engine([built_edit_pack.path], provider="cpu")
    img = _rng_image(48, 40, seed=5)
    y = {"Bald": 1.0, "Young": -0.5, "Male": 1.7}
    result = engine.run(EditAttributesRequest([img], y))
    assert isinstance(result, EditResult) and result.masks is None
    assert result.model == "editpack/G" and result.provider == "CPUExecutionProvider"
    assert result.inference_ms > 0 and engine.last_inference_ms == result.inference_ms
    (out,) = result.images
    assert out.dtype == np.uint8 and out.shape == (48, 40, 3)

    x = cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1
    c = np.zeros((1, len(ATTRIBUTES)), np.float32)
    for name, v in y.items():
        c[0, ATTRIBUTES.index(name)] = v
    with torch.no_grad():
        t = built_edit_pack.modules["G"](torch.from_numpy(x.transpose(2, 0, 1)[None].copy()), torch.from_numpy(c))
    ref = (t[0].numpy().transpose(1, 2, 0) + 1) * 127.5
    ref = np.clip(np.rint(cv2.resize(ref, (40, 48), interpolation=cv2.INTER_LINEAR)), 0, 255)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_batching_mixed_sizes_and_chunks(built_edit_pack):
    engine = Engine([built_edit_pack.path], provider="cpu", max_batch=2)
    images = [_rng_image(32 + 7 * i, 30 + 5 * i, seed=i) for i in range(5)]
    y = np.linspace(-1, 1, 5 * len(ATTRIBUTES), dtype=np.float32).reshape(5, -1)
    together = engine.run(EditAttributesRequest(images, y)).images
    alone = [engine.run(EditAttributesRequest([im], y[i])).images[0] for i, im in enumerate(images)]
    for a, b, im in zip(together, alone, images, strict=True):
        assert a.shape == im.shape
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_fixed_batch_graph_is_padded(tmp_path, built_edit_pack):
    """A graph exported with a fixed batch of 2 gets 3 images as 2 + (1 padded to 2)."""
    pack = tmp_path / "fixed"
    module = built_edit_pack.modules["G"]
    entry = export_model(pack, "G", "edit_attributes", module,
                         {"image": torch.zeros(2, 3, 32, 32), "y_diff": torch.zeros(2, len(ATTRIBUTES))},
                         ["edited"], dynamic_batch=False, resolution=32, attributes=list(ATTRIBUTES))
    from faceeditor.engine.manifest import Manifest

    Manifest(name="fixed", models=[entry]).save(pack)
    engine = Engine([pack], provider="cpu")
    assert engine.models()[0].batch_size(16) == (2, True)
    images = [_rng_image(32, 32, seed=i) for i in range(3)]
    out = engine.run(EditAttributesRequest(images, {"Bangs": 1.0})).images
    ref = Engine([built_edit_pack.path], provider="cpu").run(EditAttributesRequest(images, {"Bangs": 1.0})).images
    assert len(out) == 3
    for a, b in zip(out, ref, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_every_task_through_requests(all_engine):
    img = _rng_image(40, 36)
    parsed = all_engine.run(ParseRequest([img, img[:20]], want_probs=True))
    assert isinstance(parsed, ParseResult) and len(parsed.classes) == NUM_CLASSES
    assert [m.shape for m in parsed.masks] == [(40, 36), (20, 36)]
    assert all(m.dtype == np.uint8 and m.max() < NUM_CLASSES for m in parsed.masks)
    assert parsed.probs[0].shape == (NUM_CLASSES, 32, 32)
    np.testing.assert_allclose(parsed.probs[0].sum(axis=0), 1, atol=1e-5)

    expr = all_engine.run(EditExpressionRequest([img], "happy", intensity=0.7))
    assert expr.images[0].shape == img.shape
    by_vector = all_engine.run(EditExpressionRequest([img], np.eye(8)[EXPRESSIONS.index("happy")] * 0.7))
    assert np.array_equal(expr.images[0], by_vector.images[0])

    masks = [parsed.masks[0], np.zeros((64, 64), np.uint8)]
    synth = all_engine.run(SynthesizeRequest(masks, {"Male": 1.0}, seeds=[1, 2]))
    assert isinstance(synth, SynthesizeResult) and [s.shape for s in synth.images] == [(40, 36, 3), (64, 64, 3)]
    again = all_engine.run(SynthesizeRequest(masks, {"Male": 1.0}, z=synth.z))
    assert all(np.array_equal(a, b) for a, b in zip(synth.images, again.images, strict=True))
    other = all_engine.run(SynthesizeRequest(masks, {"Male": 1.0}, seeds=7))
    assert np.array_equal(other.z[0], other.z[1]) and not np.array_equal(other.z[0], synth.z[0])

    attrs = all_engine.run(ClassifyAttributesRequest([img, img], want_features=True))
    assert isinstance(attrs, ClassifyResult) and attrs.names == ATTRIBUTES
    assert attrs.logits.shape == (2, 13) and attrs.features.shape == (2, 8)
    assert ((attrs.probs > 0) & (attrs.probs < 1)).all()
    ex = all_engine.run(ClassifyExpressionRequest([img]))
    assert ex.features is None and ex.names == EXPRESSIONS
    np.testing.assert_allclose(ex.probs.sum(axis=1), 1, atol=1e-6)


def test_editor_with_mask_input(tmp_path):
    pack = make_test_pack(tmp_path, "maskpack", edit_mask_input=True)
    engine = Engine([pack.path], provider="cpu")
    img = _rng_image(32, 32)
    mask = np.zeros((50, 50), np.uint8)
    mask[10:40, 10:40] = 1
    out = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[mask]))
    assert out.images[0].shape == (32, 32, 3)
    other = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[np.zeros((50, 50), np.uint8)]))
    assert not np.array_equal(out.images[0], other.images[0])  # the mask really reaches the network
    with pytest.raises(RequestError, match="masks: maskpack/G reads a semantic mask"):
        engine.run(EditAttributesRequest([img], {"Bangs": 1.0}))
    with pytest.raises(RequestError, match="masks: 2 masks for 1 images"):
        engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[mask, mask]))


def test_request_errors(all_engine):
    img = _rng_image(32, 32)
    with pytest.raises(RequestError, match=r"images\[1\]: expected a uint8 \(H, W, 3\) RGB array"):
        all_engine.run(ParseRequest([img, img.astype(np.float32)]))
    with pytest.raises(RequestError, match=r"y_diff: unknown name\(s\) \['Smiling'\]"):
        all_engine.run(EditAttributesRequest([img], {"Smiling": 1.0}))
    with pytest.raises(RequestError, match="expression: unknown 'joyful'"):
        all_engine.run(EditExpressionRequest([img], "joyful"))
    with pytest.raises(RequestError, match="model: no loaded model 'nope'"):
        all_engine.run(ParseRequest([img], model="nope"))
    with pytest.raises(RequestError, match="model: allpack/G does 'edit_attributes', not 'parse'"):
        all_engine.run(ParseRequest([img], model="allpack/G"))
    with pytest.raises(RequestError, match="z: give a latent vector z or seeds"):
        all_engine.run(SynthesizeRequest([np.zeros((8, 8), np.uint8)], {}))
    with pytest.raises(RequestError, match=r"z: expected finite values of shape \(4,\)"):
        all_engine.run(SynthesizeRequest([np.zeros((8, 8), np.uint8)], {}, z=np.zeros(5)))
    with pytest.raises(RequestError, match="not an engine request"):
        all_engine.run("parse this")
    assert not Engine().has_task("parse")
    with pytest.raises(RequestError, match="no loaded model can do 'parse'"):
        Engine().run(ParseRequest([img]))


def test_refuses_an_invalid_pack(edit_pack):
    edit_manifest(edit_pack, lambda m: m["models"][0]["inputs"][0].update(name="input"))
    with pytest.raises(PackError, match=r"models\[G\].inputs\[0\].name: manifest says 'input'"):
        Engine([edit_pack])


def test_session_cache_reuse(built_edit_pack, edit_pack):
    cache = SessionCache()
    a = Engine([built_edit_pack.path], provider="cpu", cache=cache)
    img = _rng_image(32, 32)
    a.run(EditAttributesRequest([img], {}))
    a.run(EditAttributesRequest([img, img], {"Bald": 1}))
    assert cache.builds == 1 and len(cache) == 1
    b = Engine([built_edit_pack.path], provider="cpu", cache=cache)
    assert b.session("editpack/G") is a.session("editpack/G")
    assert cache.builds == 1
    b.set_threads(intra_op_threads=1)
    b.run(EditAttributesRequest([img], {}))
    assert cache.builds == 2                       # different thread count -> its own session
    c = Engine([edit_pack], provider="cpu", cache=cache)
    c.run(EditAttributesRequest([img], {}))
    assert cache.builds == 3                       # another file -> its own session
    c.unload_pack("editpack")
    assert len(cache) == 2 and not c.has_task("edit_attributes")   # the copy's session is freed
    opts = b.session("editpack/G").get_session_options()
    assert opts.intra_op_num_threads == 1
    import onnxruntime as ort

    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_cuda_asked_for_on_a_cpu_machine_falls_back_with_reason(built_edit_pack, caplog, monkeypatch):
    monkeypatch.setattr(session_module, "available_providers", lambda: ["CPUExecutionProvider"])
    engine = Engine([built_edit_pack.path], provider="cuda")
    assert engine.providers == ["CPUExecutionProvider"]
    with caplog.at_level(logging.WARNING, logger="faceeditor.engine.session"):
        result = engine.run(EditAttributesRequest([_rng_image(32, 32)], {}))
    assert result.provider == "CPUExecutionProvider"
    assert engine.provider_note.startswith("CUDA was asked for but this onnxruntime build has no "
                                           "CUDAExecutionProvider")
    assert any("CUDA was asked for" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider':UserWarning")
def test_cuda_listed_but_unusable_falls_back_with_reason(built_edit_pack, caplog, monkeypatch):
    """onnxruntime may list CUDA yet fail to use it (no GPU/libraries): detected, logged, CPU used."""
    monkeypatch.setattr(session_module, "available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    engine = Engine([built_edit_pack.path], provider="cuda", cache=SessionCache())
    with caplog.at_level(logging.WARNING, logger="faceeditor.engine.session"):
        result = engine.run(EditAttributesRequest([_rng_image(32, 32)], {}))
    assert result.provider == "CPUExecutionProvider"
    assert engine.provider_note.startswith("CUDA was asked for but")
    assert any(r.levelno == logging.WARNING and "CUDA was asked for" in r.getMessage() for r in caplog.records)


def test_auto_without_cuda_is_quiet(built_edit_pack, caplog, monkeypatch):
    monkeypatch.setattr(session_module, "available_providers", lambda: ["CPUExecutionProvider"])
    engine = Engine([built_edit_pack.path], provider="auto", cache=SessionCache())
    with caplog.at_level(logging.INFO, logger="faceeditor.engine.session"):
        engine.run(EditAttributesRequest([_rng_image(32, 32)], {}))
    assert engine.provider_note is None and not caplog.records


class _CancellingSession:
    """Wraps a real session; cancels the engine just before the real run starts."""

    def __init__(self, sess, engine):
        self.sess, self.engine = sess, engine

    def get_providers(self):
        return self.sess.get_providers()

    def run(self, outputs, feeds, run_options):
        self.engine.cancel()
        assert run_options.terminate
        return self.sess.run(outputs, feeds, run_options)


def test_cancel_terminates_the_onnxruntime_run(built_edit_pack, monkeypatch):
    engine = Engine([built_edit_pack.path], provider="cpu", cache=SessionCache())
    real = engine.session("editpack/G")
    monkeypatch.setattr(engine, "session", lambda model: _CancellingSession(real, engine))
    with pytest.raises(Cancelled):
        engine.run(EditAttributesRequest([_rng_image(32, 32)], {}))
    monkeypatch.undo()
    # A cancel affects only requests in flight: the next one runs.
    engine.cancel()
    assert engine.run(EditAttributesRequest([_rng_image(32, 32)], {})).images


def test_inference_failure_is_an_engine_error(built_edit_pack, monkeypatch):
    engine = Engine([built_edit_pack.path], provider="cpu", cache=SessionCache())
    real = engine.session("editpack/G")

    class Broken(_CancellingSession):
        def run(self, outputs, feeds, run_options):
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : bad allocation\nmore")

    monkeypatch.setattr(engine, "session", lambda model: Broken(real, engine))
    with pytest.raises(EngineError, match=r"editpack/G: inference failed \(\[ONNXRuntimeError\].*bad allocation\)$"):
        engine.run(EditAttributesRequest([_rng_image(32, 32)], {}))


def test_concurrent_requests_share_sessions(built_edit_pack):
    engine = Engine([built_edit_pack.path], provider="cpu", cache=SessionCache())
    img = _rng_image(32, 32)
    expected = engine.run(EditAttributesRequest([img], {"Bald": 1})).images[0]
    results, errors = [], []

    def work():
        try:
            results.append(engine.run(EditAttributesRequest([img], {"Bald": 1})).images[0])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4
    assert all(np.array_equal(r, expected) for r in results)
    assert engine.cache.builds == 1


def test_keep_outside_restores_the_input_outside_the_edited_regions(all_engine):
    """keep_outside: the edit inside its attributes' regions (from the given mask and the parser's mask of
    the output), the input pixels away from them, and the raw output kept for reports."""
    img = _rng_image(48, 48, seed=3)
    mask = np.zeros((48, 48), np.uint8)               # background, with hair in the top band
    mask[:12] = 17
    raw = all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0}))
    kept = all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[mask], keep_outside=True))
    assert np.array_equal(kept.raw_images[0], raw.images[0])
    region = kept.regions[0]
    assert region.dtype == bool and region[:12].all()
    assert np.array_equal(kept.images[0][region], raw.images[0][region])
    far = ~cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert far.any() and np.array_equal(kept.images[0][far], img[far])
    assert not np.array_equal(raw.images[0][far], img[far])   # the editor itself changed them
    # Without a mask the parser reads the input too; an attribute-free edit (all zeros) keeps nothing
    nothing = all_engine.run(EditAttributesRequest([img], {}, keep_outside=True))
    assert not nothing.regions[0].any() and np.array_equal(nothing.images[0], img)


def test_keep_detail_adds_the_editors_change_to_the_input(all_engine):
    """keep_detail: the input plus the editor's change (its output minus its output with y_diff = 0), the
    change resized to the input. Nothing asked gives back the input itself, where the plain output is the
    editor's low-resolution reconstruction; the predicted mask is the edit's."""
    from faceeditor.engine import processing as P

    img = _rng_image(80, 80, seed=5)
    model = all_engine.find_model("edit_attributes", None)
    nothing = all_engine.run(EditAttributesRequest([img], {}, keep_detail=True))
    assert np.array_equal(nothing.images[0], img)
    assert not np.array_equal(all_engine.run(EditAttributesRequest([img], {})).images[0], img)

    got = all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0, "Young": -0.5}, keep_detail=True))
    x = P.images_to_tensor([img], model.resolution, model.entry.normalization)
    y = P.condition_matrix("y_diff", {"Bangs": 1.0, "Young": -0.5}, model.entry.attributes, 1)
    edited = all_engine.forward(model, {"image": x, "y_diff": y})["edited"]
    rec = all_engine.forward(model, {"image": x, "y_diff": np.zeros_like(y)})["edited"]
    change = cv2.resize((edited - rec)[0].transpose(1, 2, 0) * 127.5, (80, 80), interpolation=cv2.INTER_LINEAR)
    want = np.clip(np.rint(img + change), 0, 255)
    assert np.abs(got.images[0].astype(int) - want).max() <= 1
    assert np.abs(got.images[0].astype(int) - img).mean() > 0.5
    plain = all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0, "Young": -0.5}))
    assert (got.masks is None) == (plain.masks is None)
    if plain.masks is not None:
        assert np.array_equal(got.masks[0], plain.masks[0])


def test_keep_outside_needs_a_parser(built_edit_pack, all_engine):
    img = _rng_image(32, 32)
    engine = Engine([built_edit_pack.path], provider="cpu")
    with pytest.raises(RequestError, match="keep_outside: no face parser is loaded"):
        engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, keep_outside=True))
    with pytest.raises(RequestError, match="model: allpack/G does 'edit_attributes', not 'parse'"):
        all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, keep_outside=True, parser="allpack/G"))
    mask = np.zeros((32, 32), np.uint8)
    with pytest.raises(RequestError, match="masks: 2 masks for 1 images"):
        all_engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[mask, mask], keep_outside=True))


def test_parse_results_are_in_the_19_whatever_the_parsers_classes(tmp_path):
    """A parser that predicts SeCGAN's 12 segments still answers in the 19 (labels.to_parse_classes)."""
    from faceeditor.core.labels import PARSE_CLASSES, SECGAN_SEGMENTS, to_parse_classes
    from faceeditor.engine.manifest import Manifest
    from tests.helpers.packs import TinyParser

    segments = [name for name, _ in SECGAN_SEGMENTS]
    torch.manual_seed(0)
    entry = export_model(tmp_path / "seg", "parser", "parse", TinyParser(12).eval(),
                         {"image": torch.rand(2, 3, 32, 32) * 2 - 1}, ["probs", "labels"], resolution=32,
                         classes=segments, data_domain="none", method="test", backbone="tiny")
    Manifest(name="seg", models=[entry]).save(tmp_path / "seg")
    img = _rng_image(32, 32)
    parsed = Engine([tmp_path / "seg"], provider="cpu").run(ParseRequest([img], want_probs=True))
    assert parsed.classes == PARSE_CLASSES and parsed.model_classes == tuple(segments)
    assert parsed.probs[0].shape == (NUM_CLASSES, 32, 32)
    np.testing.assert_allclose(parsed.probs[0].sum(axis=0), 1, atol=1e-5)
    assert np.array_equal(parsed.masks[0], parsed.probs[0].argmax(axis=0))
    # "others" (background, neck_l, cloth, hat) comes back as background; every other segment as itself
    reachable = {i for i, n in enumerate(PARSE_CLASSES) if n not in ("neck_l", "cloth", "hat")}
    assert set(np.unique(parsed.masks[0]).tolist()) <= reachable
    assert to_parse_classes(np.zeros((1, 1), np.uint8), segments)[0, 0] == PARSE_CLASSES.index("skin")


class _ReadsParseProbs(nn.Module):
    """An editor with MagGAN's inputs (image, y_diff, masks = parse probabilities (N, 19, H, W))."""

    def __init__(self):
        super().__init__()
        from trainer.nets.stargan import StarGANGenerator

        self.g = StarGANGenerator(n_attrs=len(ATTRIBUTES), in_channels=3 + NUM_CLASSES, base_width=8, n_res=1)

    def forward(self, image, y_diff, masks):
        return self.g(torch.cat([image, masks], dim=1), y_diff)


@pytest.fixture(scope="module")
def masks_pack(tmp_path_factory):
    """A pack with a tiny parser and a tiny editor with a `masks` input (as MagGAN's export)."""
    from faceeditor.core.labels import EXPRESSIONS, PARSE_CLASSES
    from faceeditor.engine.manifest import Manifest
    from tests.helpers.packs import TinyParser

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("masks") / "magpack"
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    probs = torch.softmax(torch.randn(2, NUM_CLASSES, 32, 32), dim=1)
    common = dict(resolution=32, classes=list(PARSE_CLASSES), attributes=list(ATTRIBUTES),
                  expressions=list(EXPRESSIONS), data_domain="none", method="test", backbone="tiny")
    editor = export_model(root, "G", "edit_attributes", _ReadsParseProbs().eval(),
                          {"image": image, "y_diff": torch.randn(2, len(ATTRIBUTES)), "masks": probs}, ["edited"],
                          extra={"masks_input": "parse probabilities"}, **common)
    parser = export_model(root, "parser", "parse", TinyParser(NUM_CLASSES).eval(), {"image": image},
                          ["probs", "labels"], **common)
    Manifest(name="magpack", models=[editor, parser]).save(root)
    only_editor = tmp_path_factory.mktemp("masks") / "magonly"
    only_editor.mkdir()
    shutil.copy(root / "G.onnx", only_editor / "G.onnx")
    Manifest(name="magonly", models=[editor]).save(only_editor)
    return root, only_editor


def test_editor_with_parse_probabilities_input(masks_pack, monkeypatch):
    """A `masks` input gets the parser's probabilities (one parse of the input, reused by keep_outside),
    or the painted masks one-hot with use_painted_mask."""
    from faceeditor.core.attribute_parts import one_hot
    from faceeditor.engine import processing as P

    engine = Engine([masks_pack[0]], provider="cpu", intra_op_threads=1)
    img = _rng_image(32, 32, seed=5)
    parse = engine.run(ParseRequest([img], want_probs=True))
    x = P.images_to_tensor([img], 32, "minus1_1")
    y = np.zeros((1, len(ATTRIBUTES)), np.float32)
    y[0, ATTRIBUTES.index("Mustache")] = 1.0

    def expected(probs):
        out = engine.forward("magpack/G", {"image": x, "y_diff": y, "masks": probs[None]})["edited"]
        return P.tensor_to_images(out, [(32, 32)], "minus1_1")[0]

    got = engine.run(EditAttributesRequest([img], {"Mustache": 1.0}))
    assert np.array_equal(got.images[0], expected(parse.probs[0]))
    painted = np.zeros((32, 32), np.uint8)
    painted[16:, :] = 1
    mine = engine.run(EditAttributesRequest([img], {"Mustache": 1.0}, masks=[painted], use_painted_mask=True))
    assert np.array_equal(mine.images[0], expected(one_hot(painted)))
    assert not np.array_equal(mine.images[0], got.images[0])
    calls = []
    real_parse = engine._parse
    monkeypatch.setattr(engine, "_parse", lambda req, *a: calls.append(req) or real_parse(req, *a))
    kept = engine.run(EditAttributesRequest([img], {"Mustache": 1.0}, keep_outside=True))
    # the input's parse is remembered from the edits above (a slider drag re-edits the same crop): only
    # the output is parsed; a new input is parsed once (probs + mask) and its output once
    assert len(calls) == 1 and not calls[0].want_probs
    assert kept.regions[0].shape == (32, 32)
    other = _rng_image(32, 32, seed=6)
    again = engine.run(EditAttributesRequest([other], {"Mustache": 1.0}, keep_outside=True))
    assert len(calls) == 3 and calls[1].want_probs and calls[1].images[0] is other
    assert np.array_equal(again.images[0], engine.run(EditAttributesRequest([other], {"Mustache": 1.0},
                                                                            keep_outside=True)).images[0])
    assert len(calls) == 4                                 # the output only: the same pixels, the same parse
    engine._clear_parse_cache()
    engine.run(EditAttributesRequest([other.copy()], {"Mustache": 1.0}))
    assert len(calls) == 5 and calls[4].want_probs
    with pytest.raises(RequestError, match="use_painted_mask: pass the painted mask"):
        engine.run(EditAttributesRequest([img], {"Mustache": 1.0}, use_painted_mask=True))


def test_the_input_parse_cache_is_bounded_and_forgets_on_pack_changes(masks_pack):
    from faceeditor.engine.engine import PARSE_CACHE_SIZE

    engine = Engine([masks_pack[0]], provider="cpu", intra_op_threads=1)
    for seed in range(PARSE_CACHE_SIZE + 3):
        engine.run(EditAttributesRequest([_rng_image(32, 32, seed=seed)], {"Bangs": 1.0}))
    assert len(engine._parse_cache) == PARSE_CACHE_SIZE
    # a preview model's resolution while dragging, then the full model's on release: one parse, two resizes
    from faceeditor.engine.engine import _RunToken

    calls = []
    real_parse = engine._parse
    engine._parse = lambda req, *a: calls.append(req) or real_parse(req, *a)
    parser, img = engine.find_model("parse"), _rng_image(32, 32, seed=99)
    small, _ = engine._input_parse(parser, [img], 16, _RunToken())
    full, parsed = engine._input_parse(parser, [img], 32, _RunToken())
    assert len(calls) == 1 and small.shape[-1] == 16 and full.shape[-1] == 32
    assert engine._input_parse(parser, [img], 16, _RunToken())[0] is small and len(calls) == 1
    np.testing.assert_allclose(full[0], parsed.probs[0], atol=1e-6)       # the parser's own size: unchanged
    engine.unload_pack(next(iter(engine.packs)))
    assert not engine._parse_cache


def test_editor_with_parse_probabilities_needs_a_parser_or_the_painted_mask(masks_pack):
    engine = Engine([masks_pack[1]], provider="cpu", intra_op_threads=1)
    img = _rng_image(32, 32)
    with pytest.raises(RequestError, match=r"masks: magonly/G needs a face parser's probabilities; load a pack"):
        engine.run(EditAttributesRequest([img], {"Bangs": 1.0}))
    out = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[np.zeros((40, 40), np.uint8)],
                                           use_painted_mask=True))
    assert out.images[0].shape == (32, 32, 3)


def test_fake_engine_takes_the_painted_mask_option():
    from faceeditor.engine.fake import FakeEngine

    fake = FakeEngine(resolution=32, masks_input=True)
    assert fake.find_model("edit_attributes").input("masks") is not None
    img = _rng_image(32, 32)
    background = fake.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[np.zeros((32, 32), np.uint8)],
                                                use_painted_mask=True))
    skin = fake.run(EditAttributesRequest([img], {"Bangs": 1.0}, masks=[np.ones((32, 32), np.uint8)],
                                          use_painted_mask=True))
    assert not np.array_equal(background.images[0], skin.images[0])
    assert fake.calls[-1].use_painted_mask
    parsed = fake.run(EditAttributesRequest([img], {"Bangs": 1.0}))      # the fake parser's probabilities
    assert parsed.images[0].shape == (32, 32, 3)
