import numpy as np
import pytest
import torch

from trainer.metrics.miou import MeanIoU, confusion_matrix, mean_iou

PRED = np.array([[0, 0, 1], [1, 2, 2]])
TARGET = np.array([[0, 1, 1], [1, 2, 0]])


def test_hand_computed_iou():
    # (target, pred) pairs: (0,0) (1,0) (1,1) (1,1) (2,2) (0,2)
    # class 0: TP 1, FP 1, FN 1 -> 1/3; class 1: TP 2, FN 1 -> 2/3; class 2: TP 1, FP 1 -> 1/2; class 3 absent
    per, mean = mean_iou(PRED, TARGET, num_classes=4)
    assert per[:3] == pytest.approx([1 / 3, 2 / 3, 1 / 2]) and np.isnan(per[3])
    assert mean == pytest.approx(0.5)


def test_confusion_rows_are_ground_truth():
    cm = confusion_matrix(PRED, TARGET, 3)
    assert cm.tolist() == [[1, 0, 1], [1, 2, 0], [0, 0, 1]]


def test_accumulation_over_batches_equals_one_pass_and_ignore_index():
    m = MeanIoU(4)
    m.update(torch.from_numpy(PRED[:1]), torch.from_numpy(TARGET[:1]))
    m.update(PRED[1:], TARGET[1:])
    assert m.mean() == pytest.approx(0.5) and m.pixel_accuracy() == pytest.approx(4 / 6)
    target = TARGET.copy()
    target[1, 2] = 255                   # the (0, 2) error is ignored: class 0 -> 1/2, class 2 -> 1
    per, _ = mean_iou(PRED, target, 4)
    assert per[:3] == pytest.approx([1 / 2, 2 / 3, 1.0])


def test_predicted_but_absent_class_counts_as_zero():
    per, mean = mean_iou(np.array([0, 3]), np.array([0, 0]), 4)
    assert per[0] == pytest.approx(0.5) and per[3] == 0.0 and mean == pytest.approx(0.25)
    with pytest.raises(ValueError, match="outside"):
        mean_iou(np.array([5]), np.array([0]), 4)
