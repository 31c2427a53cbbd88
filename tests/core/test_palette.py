import numpy as np
import pytest

from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES
from faceeditor.core.palette import CLASS_COLORS, PALETTE, colorize


def test_one_distinct_colour_per_class():
    assert PALETTE.shape == (NUM_CLASSES, 3) and PALETTE.dtype == np.uint8
    assert len({tuple(c) for c in PALETTE}) == NUM_CLASSES
    assert tuple(PALETTE[CLASS_INDEX["hair"]]) == CLASS_COLORS["hair"]
    assert tuple(PALETTE[0]) == (0, 0, 0)


def test_colorize_maps_each_index_to_its_colour():
    mask = np.array([[0, 1], [17, 18]], dtype=np.uint8)
    rgb = colorize(mask)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[1, 0] == PALETTE[17]).all() and (rgb[0, 1] == PALETTE[1]).all()
    batch = colorize(np.stack([mask, mask]).astype(np.int64))
    assert batch.shape == (2, 2, 2, 3)


@pytest.mark.parametrize("bad", [19, 255, -1])
def test_colorize_refuses_out_of_range_indices(bad):
    with pytest.raises(ValueError, match=str(bad)):
        colorize(np.array([[0, bad]], dtype=np.int64))


def test_colorize_refuses_float_masks():
    with pytest.raises(ValueError, match="integer"):
        colorize(np.zeros((2, 2), np.float32))
