import math

import numpy as np
import pytest
import torch

from trainer.metrics.inception_score import LABEL, inception_style_score


def test_confident_and_diverse_predictions_score_the_class_count():
    probs = np.tile(np.eye(4), (2, 1))                # each split of 4 holds one sample per class
    mean, std = inception_style_score(probs, splits=2)
    assert mean == pytest.approx(4.0) and std == pytest.approx(0.0, abs=1e-9)


def test_identical_predictions_score_one():
    mean, _ = inception_style_score(torch.full((6, 3), 1 / 3), splits=3)
    assert mean == pytest.approx(1.0)


def test_hand_computed_two_samples():
    # p(y) = (0.75, 0.25); KL1 = ln(4/3), KL2 = ½ ln(2/3) + ½ ln 2 = ½ ln(4/3); IS = exp(¾ ln 4/3)
    mean, _ = inception_style_score([[1.0, 0.0], [0.5, 0.5]], splits=1)
    assert mean == pytest.approx(math.exp(0.75 * math.log(4 / 3)))
    assert "evaluator space" in LABEL


def test_rejects_logits_and_too_few_samples():
    with pytest.raises(ValueError, match="softmax"):
        inception_style_score(np.array([[2.0, -1.0], [0.3, 0.1]]), splits=1)
    with pytest.raises(ValueError):
        inception_style_score(np.eye(3), splits=5)
