"""Real renders of one mask (trainer/data/synthfaces/restyle.py): the reference of SCGAN's diversity."""
import numpy as np
import pytest

from trainer.data.synthfaces.native import sample_face, write_native
from trainer.data.synthfaces.render import render
from trainer.data.synthfaces.restyle import restyle, same_mask_l1, same_mask_pair


@pytest.mark.parametrize("index", [0, 1, 2])
def test_restyled_face_keeps_every_pixel_class_and_changes_the_colours(index):
    p, donor = sample_face(5, index), sample_face(5, index + 1)
    a, b, mask = same_mask_pair(p, donor, 64)
    assert np.array_equal(render(restyle(p, donor), 64).mask, mask)
    background = mask == 0
    assert np.abs(a.astype(int) - b.astype(int))[background].mean() > 5     # another scene behind the same head
    assert restyle(p, donor).attrs == p.attrs and restyle(p, donor).shape == p.shape


def test_same_mask_distance_is_below_that_of_different_faces(tmp_path):
    root = write_native(tmp_path / "sf", count=8, size=48, seed=2, workers=1, progress=False)
    same = same_mask_l1(root, list(range(6)), 32)
    other = np.mean([np.abs(render(sample_face(2, i), 32).image.astype(float)
                            - render(sample_face(2, i + 1), 32).image.astype(float)).mean() / 255 for i in range(6)])
    assert 0.02 < same < other, (same, other)
