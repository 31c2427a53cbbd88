"""Preservation: PSNR to the input outside the true change region."""
import math

import numpy as np
import pytest

from trainer.metrics.preservation import outside_squared_error, preservation_psnr, psnr_from_squared_error


def test_identical_outside_is_infinite_whatever_happens_inside():
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (3, 16, 16))
    region = np.zeros((16, 16), bool)
    region[4:8, 4:8] = True
    edit = image.copy()
    edit[:, region] = 1.0
    assert preservation_psnr(edit, image, region) == math.inf
    # a change outside lowers it: 0.2 everywhere outside is 20·log10(2 / 0.2) = 20 dB
    assert preservation_psnr(image + 0.2, image, region) == pytest.approx(20.0)
    assert preservation_psnr(image + 0.02, image, region) > preservation_psnr(image + 0.2, image, region)


def test_pooled_psnr_is_that_of_the_summed_squared_error():
    image = np.zeros((3, 4, 4))
    none = np.zeros((4, 4), bool)
    a = outside_squared_error(image + 0.2, image, none)
    b = outside_squared_error(image, image, none)
    assert b == (0.0, 48)
    # half the values err by 0.2: MSE 0.02, PSNR 10·log10(4 / 0.02)
    assert psnr_from_squared_error([a[0], b[0]], [a[1], b[1]]) == pytest.approx(10 * math.log10(200))
    assert math.isnan(psnr_from_squared_error([], []))
    assert math.isnan(preservation_psnr(image, image, np.ones((4, 4), bool)))
