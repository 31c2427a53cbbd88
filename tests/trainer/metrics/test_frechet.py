import numpy as np
import pytest
import torch

from trainer.metrics.frechet import LABEL, frechet_distance, frechet_distance_from_features, gaussian_stats


def test_one_dimensional_closed_form():
    # (μ1 − μ2)² + σ1² + σ2² − 2 σ1 σ2 = 4 + 4 + 1 − 4
    assert frechet_distance([1.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(5.0)


def test_diagonal_covariances():
    d = frechet_distance(np.zeros(2), np.diag([4.0, 9.0]), np.array([1.0, 2.0]), np.eye(2))
    assert d == pytest.approx(5.0 + (13 + 2 - 2 * (2 + 3)))


def test_from_features_uses_unbiased_covariance():
    f1 = torch.tensor([[0.0], [2.0]])                 # mean 1, variance 2
    f2 = np.array([[3.0], [5.0]])                     # mean 4, variance 2
    assert frechet_distance_from_features(f1, f2) == pytest.approx(9.0)
    mu, sigma = gaussian_stats(np.array([[1.0, 2.0], [3.0, 6.0]]))
    assert mu == pytest.approx([2.0, 4.0]) and sigma == pytest.approx(np.array([[2.0, 4.0], [4.0, 8.0]]))


def test_same_set_is_near_zero_and_shifted_set_adds_the_squared_shift():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(500, 8))
    assert frechet_distance_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    shift = np.zeros(8)
    shift[3] = 2.0
    assert frechet_distance_from_features(f, f + shift) == pytest.approx(4.0, abs=1e-6)
    assert "evaluator feature space" in LABEL


def test_errors():
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
