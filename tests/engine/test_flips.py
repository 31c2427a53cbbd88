"""flip_attributes (SG-GAN): every attribute flip of a face from ONE forward pass, with the heads pasted
back into the picture by the attribute editor's rule (faceeditor.core.document.Placement)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from faceeditor.core.document import Placement, make_crop
from faceeditor.core.labels import ATTRIBUTES
from faceeditor.engine.engine import Cancelled, Engine, RequestError
from faceeditor.engine.fake import FakeEngine
from faceeditor.engine.processing import tensor_to_images
from faceeditor.engine.requests import FlipAttributesRequest, FlipResult
from faceeditor.engine.validate import validate_pack
from tests.helpers.packs import make_test_pack


@pytest.fixture(scope="module")
def flip_pack(tmp_path_factory):
    return make_test_pack(tmp_path_factory.mktemp("flips"), "flippack", tasks=("flip_attributes",),
                          probes=True)


@pytest.fixture
def photo():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)


def _count_runs(monkeypatch) -> list[int]:
    import onnxruntime as ort

    calls = [0]
    original = ort.InferenceSession.run

    def counting(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ort.InferenceSession, "run", counting)
    return calls


def test_pack_validates_with_probes(flip_pack):
    manifest = validate_pack(flip_pack.path)
    entry = manifest.model("G_flip")
    assert entry.task == "flip_attributes"
    assert entry.probes                                 # probed at export like every model


def test_one_forward_pass_gives_every_flip(flip_pack, photo, monkeypatch):
    engine = Engine([flip_pack.path], provider="cpu")
    crop = make_crop(photo, None, "whole", 32)
    calls = _count_runs(monkeypatch)
    result = engine.all_flips(FlipAttributesRequest([crop.image], placements=[Placement(photo, crop, "whole")]))
    assert calls[0] == 1                                # one session.run for all 13 attributes, both heads
    assert isinstance(result, FlipResult) and result.model == "flippack/G_flip"
    sheet = result.sheet
    assert sheet.attributes == tuple(ATTRIBUTES)
    # the heads are the network's, in (attribute, value) order, at the crop's size
    x = torch.from_numpy(crop.image.astype(np.float32).transpose(2, 0, 1)[None] / 127.5 - 1)
    with torch.no_grad():
        flips, probs = flip_pack.modules["G_flip"](x)
    for a, name in enumerate(ATTRIBUTES):
        for v in (0, 1):
            want = tensor_to_images(flips[0, a, v].numpy()[None], [crop.image.shape[:2]], "minus1_1")[0]
            assert np.abs(sheet.head(name, v).astype(int) - want).max() <= 1
    np.testing.assert_allclose(sheet.probs, probs[0].numpy(), atol=1e-5)
    # even attributes read present (the flip removes them), odd ones absent
    assert sheet.flip_values == tuple(0 if a % 2 == 0 else 1 for a in range(len(ATTRIBUTES)))
    assert sheet.label("Bald") == "\u2212Bald" and sheet.label("Bangs") == "+Bangs"
    assert sheet.flip("Bangs") is sheet.head("Bangs", 1) and sheet.other("Bangs") is sheet.head("Bangs", 0)
    # pasted back as the attribute editor pastes (the one rule, Placement.paste)
    placement = Placement(photo, crop, "whole")
    for name in ("Bald", "Bangs"):
        assert sheet.flip_photo(name).shape == photo.shape
        np.testing.assert_array_equal(sheet.flip_photo(name), placement.paste(sheet.flip(name)))
        np.testing.assert_array_equal(sheet.other_photo(name), placement.paste(sheet.other(name)))


def test_a_batch_of_faces_is_still_one_pass(flip_pack, photo, monkeypatch):
    engine = Engine([flip_pack.path], provider="cpu")
    calls = _count_runs(monkeypatch)
    result = engine.run(FlipAttributesRequest([photo, photo[:32, :32]]))
    assert calls[0] == 1
    assert [s.heads[0][0].shape for s in result.sheets] == [photo.shape, (32, 32, 3)]
    assert result.sheets[0].pasted is None              # no placements: crops only


def test_paste_only_the_flips(photo):
    engine = FakeEngine(resolution=32)
    crop = make_crop(photo, None, "whole", 32)
    sheet = engine.all_flips(FlipAttributesRequest([crop.image], placements=[Placement(photo, crop, "whole")],
                                                   paste="flips")).sheet
    for name in ATTRIBUTES:
        assert sheet.flip_photo(name) is not None and sheet.other_photo(name) is None


def test_bad_requests_name_the_field(photo):
    engine = FakeEngine(resolution=32)
    crop = make_crop(photo, None, "whole", 32)
    with pytest.raises(RequestError, match="placements"):
        engine.run(FlipAttributesRequest([crop.image, crop.image], placements=[Placement(photo, crop, "whole")]))
    with pytest.raises(RequestError, match="paste"):
        engine.run(FlipAttributesRequest([crop.image], placements=[Placement(photo, crop, "whole")], paste="x"))
    with pytest.raises(RequestError, match="FlipAttributesRequest"):
        engine.all_flips(object())
    with pytest.raises(RequestError, match="flip_attributes"):
        FakeEngine(flips=False).run(FlipAttributesRequest([crop.image]))


def test_cancel_stops_only_that_request(photo):
    engine = FakeEngine(resolution=32, delay_s=5.0)
    request = FlipAttributesRequest([photo])
    errors = []

    def work():
        try:
            engine.run(request)
        except Cancelled as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    assert engine.started.wait(5)
    engine.cancel(FlipAttributesRequest([photo]))       # another request: nothing happens
    thread.join(0.2)
    assert thread.is_alive()
    engine.cancel(request)
    thread.join(5)
    assert not thread.is_alive() and len(errors) == 1


def test_fake_heads_differ():
    engine = FakeEngine(resolution=16)
    image = np.full((16, 16, 3), 128, np.uint8)
    sheet = engine.all_flips(FlipAttributesRequest([image])).sheet
    means = {(a, v): sheet.head(a, v).mean(axis=(0, 1)).round(1).tobytes() for a in ATTRIBUTES for v in (0, 1)}
    assert len(set(means.values())) == 2 * len(ATTRIBUTES)
    assert set(sheet.flip_values) <= {0, 1} and sheet.probs.shape == (len(ATTRIBUTES),)
