"""Preview models (ModelEntry.preview_of): the manifest checks them, the engine runs one for a preview
request when the pack has it and the model itself otherwise; previews stay out of the model lists."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from faceeditor.engine import processing as P
from faceeditor.engine.engine import Engine
from faceeditor.engine.fake import FakeEngine
from faceeditor.engine.manifest import Manifest, ManifestError
from faceeditor.engine.requests import EditAttributesRequest
from tests.helpers.packs import copy_pack, edit_manifest, export_model


@pytest.fixture
def preview_pack(built_edit_pack, tmp_path):
    """The one-model edit pack plus "G_preview": the same weights traced at half the resolution."""
    pack = copy_pack(built_edit_pack, tmp_path / "packs")
    g = built_edit_pack.modules["G"]
    res = built_edit_pack.manifest.model("G").resolution // 2
    entry = export_model(pack, "G_preview", "edit_attributes", g,
                         {"image": torch.rand(2, 3, res, res) * 2 - 1, "y_diff": torch.zeros(2, 13)},
                         ["edited"], resolution=res, attributes=built_edit_pack.manifest.model("G").attributes,
                         preview_of="G")
    manifest = Manifest.load(pack)
    manifest.models.append(entry)
    manifest.save(pack)
    return pack


def _img(seed: int = 0, size: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_a_preview_request_runs_the_preview_model_and_adds_its_change(preview_pack):
    engine = Engine([preview_pack], provider="cpu")
    assert [m.entry.name for m in engine.models("edit_attributes")] == ["G"], "previews are not listed"
    img = _img()
    full = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}))
    fast = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, preview=True))
    assert full.model.endswith("/G") and fast.model.endswith("/G_preview")
    # x + up(G(x') - x') at the preview's resolution
    model = engine.preview_for(engine.find_model("edit_attributes", "G"))
    x = P.images_to_tensor([img], model.resolution, model.entry.normalization)
    y = P.condition_matrix("y_diff", {"Bangs": 1.0}, model.entry.attributes, 1)
    out = engine.forward(model, {"image": x, "y_diff": y}, ["edited"])["edited"]
    expected = P.add_change([img], out - x, model.entry.normalization)[0]
    np.testing.assert_array_equal(fast.images[0], expected)
    assert not np.array_equal(fast.images[0], full.images[0])
    # the preview is reachable by name too, and naming the full model with preview=True picks its preview
    assert engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, model="G", preview=True)).model.endswith(
        "/G_preview")


def test_a_preview_request_falls_back_to_the_model_without_a_preview(edit_pack):
    engine = Engine([edit_pack], provider="cpu")
    img = _img(1)
    full = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}))
    fast = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, preview=True))
    assert fast.model == full.model and fast.model.endswith("/G")
    np.testing.assert_array_equal(fast.images[0], full.images[0])


def test_fake_engine_accepts_preview():
    engine = FakeEngine()
    img = _img(2, 64)
    result = engine.run(EditAttributesRequest([img], {"Bangs": 1.0}, preview=True))
    assert engine.calls[-1].preview and result.images[0].shape == img.shape


@pytest.mark.parametrize("target, message", [
    ("nope", "another model"), ("G_preview", "another model"), ("parser", "ordinary 'edit_attributes'"),
])
def test_manifest_refuses_a_bad_preview_of(preview_pack, target, message):
    data = {}

    def change(d):
        d["models"].append(dict(d["models"][0], name="parser", task="parse"))
        d["models"][1]["preview_of"] = target
        data.update(d)

    edit_manifest(preview_pack, change)
    with pytest.raises(ManifestError, match=message):
        Manifest.from_dict(data)


def test_manifest_refuses_a_preview_with_other_inputs(preview_pack):
    manifest = Manifest.load(preview_pack)
    d = manifest.to_dict()
    d["models"][1]["inputs"] = d["models"][1]["inputs"][:1]
    with pytest.raises(ManifestError, match="inputs differ"):
        Manifest.from_dict(d)
    assert dataclasses.asdict(Manifest.from_dict(manifest.to_dict())) == manifest.to_dict()
