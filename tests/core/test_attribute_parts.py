"""MagGAN's AR+ / AR- tables (faceeditor/core/attribute_parts.py): the bundled file, malformed files refused
with the entry named, and the numpy influence map on hand-built masks."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from faceeditor.core.attribute_parts import (
    DEFAULT_PATH,
    AttributePartsError,
    influence_map,
    load_attribute_parts,
    one_hot,
    parse_attribute_parts,
    window_pixels,
)
from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX, NUM_CLASSES


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_bundled_tables_load_with_both_rows_for_every_attribute(raw):
    t = load_attribute_parts()
    assert t.parts.shape == t.near.shape == (2, 13, 19) and t.radius.shape == (2, 13)
    assert len(ATTRIBUTES) == 13 and NUM_CLASSES == 19
    assert set(raw["attributes"]) == set(ATTRIBUTES)
    for name in ATTRIBUTES:
        assert set(raw["attributes"][name]) == {"+", "-"}, name
    assert (t.parts.sum(axis=2) >= 1).all()                    # every row names at least one class
    assert set(np.unique(t.parts)) <= {0.0, 1.0}
    restricted = t.radius > 0
    assert (t.near.sum(axis=2)[restricted] >= 1).all() and (t.near.sum(axis=2)[~restricted] == 0).all()
    assert t.parts[0, ATTRIBUTES.index("Black_Hair"), CLASS_INDEX["hair"]] == 1
    # the JSON the configs and manifests record reads back to the same tables
    again = parse_attribute_parts(t.to_json())
    for a, b in ((t.parts, again.parts), (t.near, again.near), (t.radius, again.radius)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("edit,match", [
    (lambda a: a["Bangs"]["+"].__setitem__("parts", ["hair", "fringe"]), r"Bangs '\+' parts: unknown class 'fringe'"),
    (lambda a: a["Mustache"].pop("-"), r"Mustache '-': missing"),
    (lambda a: a["Male"]["+"].__setitem__("radius", 0), r"Male '\+' radius: expected a number in \(0, 1\]"),
    (lambda a: a["Male"]["-"].__setitem__("radius", 1.5), r"Male '-' radius"),
    (lambda a: a["Bald"]["-"].__setitem__("radius", "far"), r"Bald '-' radius"),
    (lambda a: a["Bald"]["-"].__setitem__("radius", True), r"Bald '-' radius"),
    (lambda a: a["Eyeglasses"]["+"].__setitem__("near", ["eyes"]), r"Eyeglasses '\+' near: unknown class 'eyes'"),
    (lambda a: a["Young"]["+"].__setitem__("parts", []), r"Young '\+' parts: expected a non-empty list"),
    (lambda a: a.pop("Pale_Skin"), r"no entry for attribute 'Pale_Skin'"),
])
def test_malformed_tables_name_the_entry(raw, edit, match):
    bad = copy.deepcopy(raw)
    edit(bad["attributes"])
    with pytest.raises(AttributePartsError, match=match):
        parse_attribute_parts(bad)


def test_malformed_files_are_refused(tmp_path, raw):
    p = tmp_path / "parts.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(AttributePartsError):
        load_attribute_parts(p)
    bad = copy.deepcopy(raw)
    bad["attributes"]["Bangs"]["-"]["radius"] = -0.1
    p.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(AttributePartsError, match=r"parts\.json: Bangs '-' radius"):
        load_attribute_parts(p)
    with pytest.raises(AttributePartsError, match="'attributes' object"):
        parse_attribute_parts({"about": []})


def test_influence_map_on_hand_built_masks():
    mask = np.full((40, 40), CLASS_INDEX["skin"], np.int64)
    mask[:4] = CLASS_INDEX["hair"]                             # a hair line along the top
    probs = one_hot(mask)
    hair = influence_map(probs, "Black_Hair", strengthen=True)
    assert hair[:4].min() == 1 and hair[4:].max() == 0
    # Bangs +: hair and skin, but only within 0.12 x 40 -> ceil(4.8) = 5 pixels of the hair
    assert window_pixels(0.12, 40) == 11
    bangs = influence_map(probs, "Bangs", strengthen=True)
    assert bangs[:9].min() == 1 and bangs[9:].max() == 0
    with pytest.raises(ValueError, match=r"\(19, H, W\)"):
        influence_map(probs[:3], "Bangs", strengthen=True)
    with pytest.raises(ValueError, match="class index 19"):
        one_hot(np.full((2, 2), 19, np.int64))
