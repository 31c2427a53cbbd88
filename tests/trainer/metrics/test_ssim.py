import numpy as np
import pytest
from skimage.metrics import structural_similarity

from trainer.metrics.ssim import K1, K2, gaussian_window, ssim, ssim_per_image


def test_constant_images_closed_form():
    x = np.full((1, 16, 16), 0.5)
    y = np.full((1, 16, 16), -0.5)
    c1 = (K1 * 2) ** 2                                   # zero variances: SSIM = (2ab + C1) / (a² + b² + C1)
    assert ssim(x, y) == pytest.approx((2 * 0.5 * -0.5 + c1) / (0.25 + 0.25 + c1))
    assert ssim(x, x) == pytest.approx(1.0)


def test_single_window_matches_the_weighted_formula():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (11, 11))
    y = np.clip(x + rng.normal(0, 0.3, (11, 11)), -1, 1)
    g = gaussian_window()
    w = np.outer(g, g)
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    cxy = (w * (x - mx) * (y - my)).sum()
    c1, c2 = (K1 * 2) ** 2, (K2 * 2) ** 2
    expected = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    assert ssim(x, y) == pytest.approx(expected, rel=1e-9)
    assert gaussian_window().sum() == pytest.approx(1.0) and g[5] == g.max()


def test_agrees_with_scikit_image_on_uint8_batch():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (2, 3, 32, 40), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    per = ssim_per_image(a, b)
    for i in range(2):
        ref = structural_similarity(a[i], b[i], channel_axis=0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=255)
        assert per[i] == pytest.approx(ref, abs=1e-9)


def test_rejects_small_or_mismatched_images():
    with pytest.raises(ValueError, match="11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        ssim(np.zeros((16, 16)), np.zeros((16, 17)))
