import numpy as np
import pytest

from trainer.metrics.ms_ssim import (
    WEIGHTS,
    background_crop_size,
    background_ms_ssim,
    ms_ssim,
    ms_ssim_per_image,
    scales_and_window,
)
from trainer.metrics.ssim import K1, K2, gaussian_window, ssim_per_image


def _reference(x, y, data_range=2.0):
    """MS-SSIM of one (H, W) pair written out loop by loop from Wang et al. 2003 (window position by window
    position, 2×2 mean + subsampling between scales), independent of the vectorised code."""
    scales, size, sigma = scales_and_window(min(x.shape))
    w2 = np.outer(gaussian_window(size, sigma), gaussian_window(size, sigma))
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    weights = np.array(WEIGHTS[:scales]) / sum(WEIGHTS[:scales])
    out = 1.0
    for j in range(scales):
        ls, css = [], []
        for r in range(x.shape[0] - size + 1):
            for c in range(x.shape[1] - size + 1):
                px, py = x[r:r + size, c:c + size], y[r:r + size, c:c + size]
                mx, my = (w2 * px).sum(), (w2 * py).sum()
                vx, vy = (w2 * (px - mx) ** 2).sum(), (w2 * (py - my) ** 2).sum()
                cxy = (w2 * (px - mx) * (py - my)).sum()
                lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
                cs = (2 * cxy + c2) / (vx + vy + c2)
                ls.append(lum * cs)
                css.append(cs)
        out *= max(np.mean(ls if j == scales - 1 else css), 0.0) ** weights[j]
        if j < scales - 1:
            x = np.pad(x, ((0, x.shape[0] % 2), (0, x.shape[1] % 2)), mode="edge")
            y = np.pad(y, ((0, y.shape[0] % 2), (0, y.shape[1] % 2)), mode="edge")
            x = (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4
            y = (y[0::2, 0::2] + y[1::2, 0::2] + y[0::2, 1::2] + y[1::2, 1::2]) / 4
    return out


def test_identical_images_score_one_at_every_size():
    rng = np.random.default_rng(0)
    for side in (3, 10, 16, 40, 200):
        x = rng.uniform(-1, 1, (2, 3, side, side))
        assert ms_ssim_per_image(x, x) == pytest.approx([1.0, 1.0])


def test_noise_lowers_it_monotonically():
    rng = np.random.default_rng(1)
    x = np.clip(rng.normal(0, 0.4, (1, 3, 64, 64)), -1, 1)
    scores = [ms_ssim(x, np.clip(x + rng.normal(0, s, x.shape), -1, 1)) for s in (0.02, 0.1, 0.4)]
    assert 1.0 > scores[0] > scores[1] > scores[2] >= 0.0


def test_agrees_with_a_loop_by_loop_reference():
    rng = np.random.default_rng(2)
    for shape in ((50, 47), (23, 23), (10, 10)):     # 3 scales (odd sides), 2 scales, the shrunk window
        x = rng.uniform(-1, 1, shape)
        y = np.clip(x + rng.normal(0, 0.3, shape), -1, 1)
        assert ms_ssim(x, y) == pytest.approx(_reference(x, y), rel=1e-9)


def test_scales_follow_the_image_size():
    assert scales_and_window(161) == (5, 11, 1.5) and scales_and_window(160)[0] == 4   # 161→81→41→21→11
    assert scales_and_window(16) == (1, 11, 1.5)                 # one scale: plain SSIM
    assert scales_and_window(10) == (1, 9, pytest.approx(1.5 * 9 / 11))
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 3, 16, 16))
    y = np.clip(x + rng.normal(0, 0.2, x.shape), -1, 1)
    assert ms_ssim_per_image(x, y) == pytest.approx(ssim_per_image(x, y))


def test_background_crop_is_the_top_left_corner():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (2, 3, 64, 64))
    y = x.copy()
    y[..., 8:, :] = rng.uniform(-1, 1, y[..., 8:, :].shape)      # everything but the 8×8 corner changes
    assert background_crop_size(64) == 8 and background_crop_size(128) == 16
    assert background_ms_ssim(y, x) == pytest.approx([1.0, 1.0])
    y[..., :8, :8] = rng.uniform(-1, 1, y[..., :8, :8].shape)   # an unrelated corner
    assert (background_ms_ssim(y, x) < 0.5).all()


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        ms_ssim(np.zeros((16, 16)), np.zeros((16, 17)))
