"""Pixel and semantic gain against the ground truth on constructed images."""
import math

import cv2
import numpy as np
import pytest

from trainer.metrics.ground_truth_gain import (
    gain,
    pixel_errors,
    pixel_gain,
    semantic_errors,
    true_change_region,
)


def _faces(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An input (3, 128, 128) in [-1, 1] with texture, and a 'truth' that tints a square of it (a new
    colour with the texture kept, as a hair colour flip does)."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(-0.6, 0.6, (3, 128, 128)).astype(np.float32)
    truth = image.copy()
    truth[:, 40:70, 50:90] += np.array([0.3, -0.2, 0.1], np.float32)[:, None, None]
    return image, truth


def _blur(a: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    return cv2.GaussianBlur(a.transpose(1, 2, 0), (0, 0), sigma).transpose(2, 0, 1)


def test_region_is_the_difference_grown_by_two_pixels_at_128():
    image, truth = _faces()
    region = true_change_region(image, truth)
    assert region[40:70, 50:90].all()
    assert region[38, 60] and region[40, 48] and not region[37, 60] and not region[40, 47]
    assert region.sum() < 40 * 50
    assert not true_change_region(image, image).any()


def test_perfect_edit_gains_one_and_the_input_zero():
    image, truth = _faces()
    assert pixel_gain(truth, image, truth) == pytest.approx(1.0)
    assert pixel_gain(image, image, truth) == pytest.approx(0.0)
    # half way there (in colour) is half the gain
    assert pixel_gain((image + truth) / 2, image, truth) == pytest.approx(0.5)


def test_a_blurred_edit_that_changed_nothing_is_worse_than_nothing():
    """A blur of the input is not an edit: it moves no pixel toward the tinted truth and loses the
    texture the truth keeps, so its gain is below 0 (an evaluator might still be fooled by it). (A blur of
    the truth itself could still beat the input: the gain credits the way gone, not the sharpness, which
    detail measures.)"""
    image, truth = _faces()
    assert pixel_gain(_blur(image), image, truth) < 0


def test_gain_pools_the_faces_and_skips_empty_regions():
    image, truth = _faces()
    region = true_change_region(image, truth)
    perfect = pixel_errors(truth, image, truth, region)
    nothing = pixel_errors(image, image, truth, region)
    assert pixel_errors(image, image, image, true_change_region(image, image)) == (pytest.approx(math.nan,
                                                                                                nan_ok=True),) * 2
    # equal input errors: one perfect and one null edit make 0.5; an empty-region face changes nothing
    assert gain([perfect[0], nothing[0], math.nan], [perfect[1], nothing[1], math.nan]) == pytest.approx(0.5)
    assert math.isnan(gain([math.nan], [math.nan]))
    assert math.isnan(gain([0.1], [0.0]))
    with pytest.raises(ValueError, match="as many"):
        gain([0.1, 0.2], [0.1])


def test_semantic_errors_count_classes_that_differ_from_the_truth():
    x = np.zeros((8, 8), np.uint8)
    t = x.copy()
    t[2:4, 2:6] = 17                       # the truth grows hair on 8 pixels
    region = t != x
    assert semantic_errors(t, x, t, region) == (0.0, 1.0)
    half = x.copy()
    half[2:3, 2:6] = 17
    e_edit, e_input = semantic_errors(half, x, t, region)
    assert gain(e_edit, e_input) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes differ"):
        semantic_errors(x, x, t, region[:4])
