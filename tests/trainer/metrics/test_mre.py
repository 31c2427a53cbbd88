import numpy as np
import pytest
import torch

from trainer.metrics.mre import influence_masks, mask_aware_reconstruction_error


def test_hand_computed_mre():
    x = np.zeros((1, 3, 2, 2))
    edited = np.zeros((1, 2, 3, 2, 2))
    edited[0, 0] = 1.0                        # attribute 0 changes every value by 1: 12 in all
    edited[0, 1] = -0.5                       # attribute 1 by 0.5: 6 in all
    masks = np.zeros((1, 2, 2, 2))
    masks[0, 0, 0, 0] = 1.0                   # one pixel (3 values) of attribute 0 may change -> 9 remain
    masks[0, 1] = 0.5                         # half of attribute 1's change counts -> 3
    # (9 + 3) / (H·W·C = 2·2·2)
    assert mask_aware_reconstruction_error(x, edited, masks) == pytest.approx(1.5)
    # averaged over images: a second, unchanged image halves it
    x2 = np.concatenate([x, x])
    e2 = np.concatenate([edited, np.zeros_like(edited)])
    m2 = np.concatenate([masks, masks])
    assert mask_aware_reconstruction_error(torch.from_numpy(x2), e2, m2) == pytest.approx(0.75)


def test_influence_masks_pick_sign_and_clip():
    probs = np.zeros((1, 2, 1, 2))
    probs[0, 0] = [[0.8, 0.3]]
    probs[0, 1] = [[0.2, 0.7]]
    ar_plus = np.array([[1, 0], [0, 1]])
    ar_minus = np.array([[0, 1], [1, 1]])
    m = influence_masks(probs, np.array([1.0, -1.0]), ar_plus, ar_minus)
    assert m[0, 0] == pytest.approx(probs[0, 0])        # strengthened: AR+ row 0 = part 0
    assert m[0, 1] == pytest.approx(np.ones((1, 2)))    # weakened: AR- row 1 = both parts, sum 1
    m = influence_masks(probs, np.array([-1.0, 1.0]), ar_plus, ar_minus)
    assert m[0, 0] == pytest.approx(probs[0, 1]) and m[0, 1] == pytest.approx(probs[0, 1])


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="edited"):
        mask_aware_reconstruction_error(np.zeros((1, 3, 2, 2)), np.zeros((1, 2, 3, 2, 3)), np.zeros((1, 2, 2, 2)))
