"""Detail: high-frequency energy relative to the input."""
import math

import cv2
import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX
from trainer.metrics.detail import detail, detail_ratio, face_region, high_frequency_energy


def _image() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (3, 64, 64)).astype(np.float32)


def test_the_input_has_detail_one_and_a_blur_less():
    image = _image()
    assert detail(image, image) == pytest.approx(1.0)
    blurred = cv2.GaussianBlur(image.transpose(1, 2, 0), (0, 0), 1.5).transpose(2, 0, 1)
    assert detail(blurred, image) < 0.5
    assert detail(np.zeros_like(image) + 0.3, image) == pytest.approx(0.0)


def test_face_excludes_background_and_cloth():
    mask = np.full((4, 4), CLASS_INDEX["skin"], np.uint8)
    mask[0] = CLASS_INDEX["background"]
    mask[3] = CLASS_INDEX["cloth"]
    face = face_region(mask)
    assert face.sum() == 8 and not face[0].any() and not face[3].any()
    image = _image()
    where = np.zeros((64, 64), bool)
    where[:, :32] = True
    flat = image.copy()
    flat[:, :, 32:] = 0.0                     # detail lost outside the face does not count
    assert detail(flat, image, where) == pytest.approx(1.0, abs=0.05)
    assert math.isnan(high_frequency_energy(image, np.zeros((64, 64), bool)))


def test_ratio_pools_the_faces():
    assert detail_ratio([1.0, 3.0, math.nan], [2.0, 2.0, 1.0]) == pytest.approx(1.0)
    assert math.isnan(detail_ratio([1.0], [0.0]))
