"""Mask and landmark files are read by one owner each (core.mask_io, core.face_geometry), for the app and
the CLI alike."""
from __future__ import annotations

import json

import numpy as np
import pytest

from faceeditor.core.face_geometry import LandmarkError, frontal_template, load_landmarks_scaled
from faceeditor.core.image_io import save_image
from faceeditor.core.mask_io import MaskError, load_any_mask
from faceeditor.core.palette import colorize


def _mask() -> np.ndarray:
    m = np.zeros((16, 16), np.uint8)
    m[4:12, 4:12] = 1
    m[:3] = 17
    return m


def test_index_grey_as_rgb_and_colour_masks_read_alike(tmp_path):
    m = _mask()
    save_image(tmp_path / "index.png", m)
    save_image(tmp_path / "grey_rgb.png", np.repeat(m[..., None], 3, axis=2))
    save_image(tmp_path / "colour.png", colorize(m))
    for name in ("index.png", "grey_rgb.png", "colour.png"):
        assert np.array_equal(load_any_mask(tmp_path / name), m), name


def test_a_colour_mask_in_other_colours_is_refused_with_a_hint(tmp_path):
    save_image(tmp_path / "odd.png", np.full((8, 8, 3), (1, 2, 3), np.uint8))
    with pytest.raises(MaskError, match="project's class colours"):
        load_any_mask(tmp_path / "odd.png")
    with pytest.raises(MaskError, match="cannot load mask"):
        load_any_mask(tmp_path / "absent.png")


def test_landmark_files_are_scaled_by_their_picture_size(tmp_path):
    pts = frontal_template(256)
    path = tmp_path / "lm.json"
    path.write_text(json.dumps({"landmarks": pts.tolist(), "size": [256, 256]}))
    np.testing.assert_allclose(load_landmarks_scaled(path, 64), pts / 4)
    path.write_text(json.dumps({"landmarks": (pts / 2).tolist()}))
    np.testing.assert_allclose(load_landmarks_scaled(path, 64, frame=128), pts / 4)
    with pytest.raises(LandmarkError, match="far outside"):
        load_landmarks_scaled(path, 64, frame=32)
    for size, message in (([256, 128], "not square"), ([0, 0], "must be \\[width, height\\]")):
        path.write_text(json.dumps({"landmarks": pts.tolist(), "size": size}))
        with pytest.raises(LandmarkError, match=message):
            load_landmarks_scaled(path, 64)


def test_unset_attributes_take_the_models_defaults():
    from faceeditor.engine.manifest import ModelEntry

    entry = ModelEntry(name="G", task="synthesize", file="g.onnx", sha256="0" * 64, inputs=[], outputs=[],
                       attributes=["Male", "Young", "Bald"],
                       extra={"attribute_defaults": {"Male": 0.4, "Young": True, "Other": 1, "Bald": float("nan")}})
    assert entry.attribute_defaults() == {"Male": 0.4, "Young": 0.0, "Bald": 0.0}
