import numpy as np
import pytest

from trainer.metrics.identity import (
    NoFaceFound,
    descriptor_similarity,
    dlib_descriptor_fn,
    identity_similarity,
    to_uint8_images,
)


def mean_colour(image: np.ndarray) -> np.ndarray:
    """A hand-made 'descriptor': the mean red and green of the image."""
    if image[..., 2].mean() > 200:
        raise NoFaceFound("blue means no face")
    return image[..., :2].reshape(-1, 2).mean(axis=0)


def _solid(r, g, b=0):
    im = np.zeros((4, 4, 3), np.uint8)
    im[...] = (r, g, b)
    return im


def test_hand_computed_similarities():
    src = np.stack([_solid(100, 0), _solid(3, 4)])
    out = np.stack([_solid(0, 100), _solid(3, 4)])
    # pair 0: (100, 0) vs (0, 100): cosine 0, distance 100·√2; pair 1 identical: cosine 1, distance 0
    r = identity_similarity(src, out, mean_colour)
    assert r["cosine"] == pytest.approx(0.5)
    assert r["euclidean"] == pytest.approx(100 * np.sqrt(2) / 2)
    assert r["same_person_rate"] == pytest.approx(0.5) and r["pairs"] == 2 and r["skipped"] == 0


def test_pairs_without_face_are_skipped_and_counted():
    src = np.stack([_solid(3, 4), _solid(3, 4, 255)])
    r = identity_similarity(src, src, mean_colour)
    assert r["pairs"] == 1 and r["skipped"] == 1 and r["cosine"] == pytest.approx(1.0)
    with pytest.raises(NoFaceFound):
        identity_similarity(src, src, mean_colour, skip_no_face=False)


def test_float_images_map_minus_one_one_to_uint8():
    imgs = to_uint8_images(np.stack([np.full((3, 2, 2), -1.0), np.full((3, 2, 2), 1.0)]))
    assert imgs[0].shape == (2, 2, 3) and imgs[0].max() == 0 and imgs[1].min() == 255
    cos, dist = descriptor_similarity([[3.0, 4.0]], [[6.0, 8.0]])
    assert cos[0] == pytest.approx(1.0) and dist[0] == pytest.approx(5.0)


def test_real_dlib_descriptor_on_a_photo():
    pytest.importorskip("dlib")
    data = pytest.importorskip("skimage.data")
    photo = data.astronaut()                              # a real portrait bundled with scikit-image
    fn = dlib_descriptor_fn()
    d = fn(photo)
    assert d.shape == (128,) and np.isfinite(d).all()
    brighter = np.clip(photo.astype(int) + 25, 0, 255).astype(np.uint8)
    r = identity_similarity(photo[None], brighter[None], fn)
    assert r["pairs"] == 1 and r["euclidean"] < 0.6 and r["cosine"] > 0.9
    with pytest.raises(NoFaceFound):
        fn(np.full((120, 120, 3), 128, np.uint8))
