import math

import numpy as np
import pytest
import torch

from trainer.metrics.psnr import psnr, psnr_per_image


def test_float_images_use_range_two():
    x = torch.zeros(1, 1, 2, 2)
    y = x.clone()
    y[0, 0, 0, 0] = 1.0                                   # MSE 1/4, range 2 -> 10 log10(4 / 0.25)
    assert psnr(x, y) == pytest.approx(10 * math.log10(16))
    assert psnr(x, y, data_range=1.0) == pytest.approx(10 * math.log10(4))


def test_uint8_images_use_range_255_and_average_per_image():
    a = np.zeros((2, 3, 4, 4), np.uint8)
    b = a.copy()
    b[0] = 255                                            # image 0: MSE 255^2 -> 0 dB
    b[1, :, :2] = 255                                     # image 1: MSE 255^2 / 2 -> 10 log10 2 dB
    per = psnr_per_image(a, b)
    assert per == pytest.approx([0.0, 10 * math.log10(2)])
    assert psnr(a, b) == pytest.approx(5 * math.log10(2))


def test_identical_images_are_infinite_and_shapes_must_match():
    x = np.ones((3, 8, 8), np.float32)
    assert psnr(x, x) == math.inf
    with pytest.raises(ValueError, match="shape"):
        psnr(x, x[:2])
