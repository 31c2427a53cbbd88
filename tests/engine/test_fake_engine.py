"""FakeEngine: the Engine's interface and result types, deterministic, slow/cancel/fail knobs."""
from __future__ import annotations

import inspect
import threading
import time

import numpy as np
import pytest

from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS, PARSE_CLASSES
from faceeditor.engine.engine import Cancelled, Engine, EngineError
from faceeditor.engine.fake import FakeEngine
from faceeditor.engine.processing import RequestError
from faceeditor.engine.requests import (
    ClassifyAttributesRequest,
    ClassifyExpressionRequest,
    EditAttributesRequest,
    EditExpressionRequest,
    ParseRequest,
    SynthesizeRequest,
)
from faceeditor.engine.validate import check_conventions

IMG = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
MASK = np.random.default_rng(1).integers(0, 19, (20, 24), dtype=np.uint8)


def _requests():
    return [
        ParseRequest([IMG], want_probs=True),
        EditAttributesRequest([IMG, IMG[:20]], {"Bald": 1.0}),
        EditExpressionRequest([IMG], "surprised", intensity=0.5),
        SynthesizeRequest([MASK], {"Young": -1.0}, seeds=3),
        ClassifyAttributesRequest([IMG], want_features=True),
        ClassifyExpressionRequest([IMG, IMG]),
    ]


def _public(cls) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


def test_same_public_interface_as_engine():
    fake_api = _public(FakeEngine)
    missing = {n for n in _public(Engine) - fake_api
               if n not in ("load_pack", "session", "set_threads", "set_provider")}
    assert not missing
    for name in ("run", "cancel", "models", "has_task", "model_for", "forward"):
        assert inspect.signature(getattr(FakeEngine, name)) == inspect.signature(getattr(Engine, name))
    fake = FakeEngine()
    assert fake.providers and fake.last_inference_ms is None
    assert set(fake.packs) == {"fake"}


def test_fake_models_follow_the_conventions():
    for model in FakeEngine(mask_input=True).models():
        assert check_conventions(model.entry) == [], model.key


def test_same_result_types_and_shapes_as_the_real_engine(built_all_pack):
    real = Engine([built_all_pack.path], provider="cpu")
    fake = FakeEngine(resolution=32)
    requests = _requests()
    for request in requests:
        a, b = real.run(request), fake.run(request)
        assert type(a) is type(b)
        for field in ("images", "masks"):
            if getattr(a, field, None) is not None:
                assert [x.shape for x in getattr(a, field)] == [x.shape for x in getattr(b, field)], field
                assert all(x.dtype == np.uint8 for x in getattr(b, field))
        for field in ("logits", "probs", "names"):
            if hasattr(a, field) and not isinstance(getattr(a, field), list):
                assert np.shape(getattr(a, field)) == np.shape(getattr(b, field)), field
        if hasattr(a, "z"):  # latent sizes differ between packs; one row per mask in both
            assert a.z.shape[0] == b.z.shape[0] == len(request.masks)
    assert fake.calls == requests


def test_deterministic_and_responsive_to_conditions():
    a, b = FakeEngine(), FakeEngine()
    r = EditAttributesRequest([IMG], {"Blond_Hair": 1.0})
    assert np.array_equal(a.run(r).images[0], b.run(r).images[0])
    assert not np.array_equal(a.run(r).images[0], a.run(EditAttributesRequest([IMG], {})).images[0])
    parsed = a.run(ParseRequest([IMG]))
    assert parsed.classes == PARSE_CLASSES and parsed.masks[0].shape == (40, 30)
    names = a.run(ClassifyAttributesRequest([IMG])).names, a.run(ClassifyExpressionRequest([IMG])).names
    assert names == (ATTRIBUTES, EXPRESSIONS)


def test_validates_requests_like_the_engine():
    with pytest.raises(RequestError, match=r"images\[0\]"):
        FakeEngine().run(ParseRequest([IMG.astype(np.int16)]))
    with pytest.raises(RequestError, match="masks: fake/edit_attributes reads a semantic mask"):
        FakeEngine(mask_input=True).run(EditAttributesRequest([IMG], {}))


def test_delay_and_cancel_from_another_thread():
    fake = FakeEngine(delay_s=5.0)
    outcome = []

    def work():
        try:
            fake.run(ParseRequest([IMG]))
            outcome.append("finished")
        except Cancelled:
            outcome.append("cancelled")

    t0 = time.perf_counter()
    thread = threading.Thread(target=work)
    thread.start()
    assert fake.started.wait(5)
    fake.cancel()
    thread.join(5)
    assert outcome == ["cancelled"]
    assert time.perf_counter() - t0 < 3.0
    fake.delay_s = 0.0
    assert fake.run(ParseRequest([IMG])).masks   # later requests still run


def test_delay_is_applied():
    fake = FakeEngine(delay_s=0.05)
    t0 = time.perf_counter()
    fake.run(ParseRequest([IMG]))
    assert time.perf_counter() - t0 >= 0.05


def test_fail_with_raises_once():
    fake = FakeEngine()
    fake.fail_with = MemoryError("out of memory")
    with pytest.raises(EngineError, match=r"fake/parse: inference failed \(out of memory\)"):
        fake.run(ParseRequest([IMG]))
    assert fake.run(ParseRequest([IMG])).masks
