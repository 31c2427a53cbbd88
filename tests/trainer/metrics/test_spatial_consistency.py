import numpy as np
import pytest

from trainer.metrics.spatial_consistency import SpatialConsistency, spatial_consistency


def test_mean_of_per_image_pixel_accuracy():
    ref = np.zeros((2, 2, 2), np.int64)
    pred = ref.copy()
    pred[0, 0, 0] = 1                               # image 0: 3/4 right, image 1: all right
    assert spatial_consistency(pred, ref) == pytest.approx((0.75 + 1.0) / 2)


def test_class_recall_counts_pixels_of_each_reference_class():
    ref = np.array([[[0, 0, 1, 1], [2, 2, 2, 2]]])          # 2 px of class 0, 2 of class 1, 4 of class 2
    pred = np.array([[[0, 0, 3, 1], [2, 2, 0, 0]]])          # class 1 half read, class 2 half read
    acc = SpatialConsistency(n_classes=4)
    acc.update(pred, ref)
    acc.update(ref, ref)                                     # a second, perfect image
    recall = acc.class_recall()
    assert recall[:3] == pytest.approx([1.0, 3 / 4, 6 / 8]) and np.isnan(recall[3])
    assert acc.value() == pytest.approx((5 / 8 + 1.0) / 2)


def test_class_iou_also_charges_pixels_wrongly_given_a_class():
    ref = np.array([[[0, 0, 1, 1]]])
    pred = np.array([[[0, 1, 1, 1]]])                        # class 1 drawn one pixel too large
    acc = SpatialConsistency(n_classes=3)
    acc.update(pred, ref)
    iou = acc.class_iou()
    assert iou[:2] == pytest.approx([1 / 2, 2 / 3]) and np.isnan(iou[2])
    assert acc.class_recall()[1] == pytest.approx(1.0)      # recall alone does not see it


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="label maps"):
        SpatialConsistency().update(np.zeros((1, 2, 2)), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="outside"):
        SpatialConsistency(n_classes=2).update(np.zeros((1, 2, 2)), np.full((1, 2, 2), 2))
    assert np.isnan(SpatialConsistency().value())
