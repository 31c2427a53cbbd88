"""The CelebA-aligned crop and the feathered paste-back, on the astronaut photo."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceeditor.core.face_align import (
    CELEBA_CANONICAL_POINTS,
    AlignedCrop,
    align_face,
    alignment_matrix,
    blend_mask,
    canonical_points,
    five_points,
    invert_affine,
    mask_to_crop,
    mask_to_photo,
    paste_back,
    similarity_transform,
    transform_points,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def aligned(astronaut, astronaut_face) -> AlignedCrop:
    return align_face(astronaut, astronaut_face, 128)


# ------------------------------------------------------------------------------------- the geometry

def test_canonical_points_follow_celeba_preprocessing():
    # At 178 the crop is CelebA's centre crop itself: rows 20..197 of the 178 x 218 aligned image.
    assert np.allclose(canonical_points(178), CELEBA_CANONICAL_POINTS - [0, 20])
    # Resizing 178 -> 128 maps pixel centres: x' = (x + 0.5) * 128 / 178 - 0.5.
    eye = canonical_points(128)[0]
    assert np.allclose(eye, [(69 + 0.5) * 128 / 178 - 0.5, (91 + 0.5) * 128 / 178 - 0.5])
    pts = canonical_points(256)
    assert pts[0, 1] == pts[1, 1] and pts[3, 1] == pts[4, 1]  # eyes level, mouth level


def test_similarity_transform_recovers_a_known_one():
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 50, (7, 2))
    angle, scale, shift = 0.4, 1.7, np.array([12.0, -3.5])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], rot) and np.allclose(m[:, 2], shift)
    # A mirror image is not a similarity: the fit must not reflect.
    mirrored = similarity_transform(src, dst * [-1, 1])
    assert np.linalg.det(mirrored[:, :2]) > 0
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.zeros((5, 2)), dst[:5])


def test_five_points_land_on_the_canonical_ones(aligned, astronaut_face):
    assert aligned.image.shape == (128, 128, 3) and aligned.image.dtype == np.uint8
    err = np.linalg.norm(five_points(aligned.landmarks) - canonical_points(128), axis=1)
    assert err.max() < 4.0  # a least-squares fit of 5 points with 4 degrees of freedom
    eyes = five_points(aligned.landmarks)[:2]
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1.5  # the face is levelled
    assert np.allclose(transform_points(astronaut_face.landmarks, aligned.matrix), aligned.landmarks)
    m3 = np.vstack([aligned.matrix, [0, 0, 1]]) @ np.vstack([aligned.inverse, [0, 0, 1]])
    assert np.allclose(m3, np.eye(3))
    assert np.allclose(alignment_matrix(astronaut_face.landmarks, 128), aligned.matrix)


def test_crop_content_is_one_warp_of_the_photo(astronaut, astronaut_face, aligned):
    # The crop is the photo sampled through the single composed matrix (upscaling: no prefilter).
    direct = cv2.warpAffine(astronaut, aligned.matrix, (128, 128), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101)
    assert np.array_equal(direct, aligned.image)
    big = align_face(astronaut, astronaut_face, 256)
    # Same frame at twice the resolution: shrinking the 256 crop gives back the 128 one.
    half = cv2.resize(big.image, (128, 128), interpolation=cv2.INTER_AREA)
    assert psnr(half, aligned.image) > 30


def test_big_photos_are_not_aliased(astronaut, astronaut_face, aligned):
    big = cv2.resize(astronaut, (3072, 3072), interpolation=cv2.INTER_CUBIC)
    lm = (astronaut_face.landmarks + 0.5) * 6 - 0.5
    from_big = align_face(big, lm, 128)
    assert from_big.scale < 0.5
    plain = cv2.warpAffine(big, from_big.matrix, (128, 128), flags=cv2.INTER_LINEAR)
    # With area prefiltering the crop from the 6x photo matches the crop from the original;
    # plain bilinear sampling skips 5 of 6 pixels and comes out measurably worse.
    good, aliased = psnr(from_big.image, aligned.image), psnr(plain, aligned.image)
    assert good > 30 and good > aliased + 1.0


# ------------------------------------------------------------------------------------- paste-back

def test_identity_edit_leaves_the_photo_unchanged_outside_the_region(astronaut, aligned, astronaut_face):
    assert np.array_equal(paste_back(astronaut, aligned.image, aligned), astronaut)   # nothing changed: bitwise
    out = paste_back(astronaut, aligned.image, aligned, only_changed=False)          # the whole crop pasted
    weights = blend_mask(aligned)
    assert out.dtype == np.uint8 and out.shape == astronaut.shape
    outside = weights == 0
    assert np.array_equal(out[outside], astronaut[outside])  # bitwise
    assert 0.02 < (~outside).mean() < 0.3                      # the region is the face's neighbourhood
    x0, y0, x1, y1 = (int(v) for v in astronaut_face.box)
    assert weights[y0:y1, x0:x1].min() > 0.99                     # the whole face box is replaced
    assert psnr(out, astronaut) > 38  # 41.6 dB measured: a resampling round trip of the face only
    assert (out != astronaut).any()  # the round trip resamples: a real paste happened


def test_a_local_edit_is_pasted_only_where_the_crop_changed(astronaut, aligned):
    """A change to a small part of the crop (a mouth, glasses) reaches the photo there, exactly as the whole
    paste puts it; the rest of the face keeps the photo's own pixels, not their resampling."""
    edited = aligned.image.copy()
    edited[80:100, 50:80] = 255 - edited[80:100, 50:80]
    out = paste_back(astronaut, edited, aligned)
    whole = paste_back(astronaut, edited, aligned, only_changed=False)
    patch = np.zeros((128, 128), np.uint8)
    patch[82:98, 52:78] = 1                                    # the patch's inside, clear of the feather
    inside = mask_to_photo(patch, aligned) > 0
    assert np.abs(out[inside].astype(int) - whole[inside].astype(int)).max() <= 1
    near = np.zeros((128, 128), np.uint8)
    near[75:105, 45:85] = 1                                    # the patch grown by 5 crop px
    far = (mask_to_photo(near, aligned) == 0)
    assert np.array_equal(out[far], astronaut[far])           # the rest of the photo bitwise, face included
    assert not np.array_equal(whole[far], astronaut[far])     # which the whole paste resamples


def test_a_modified_crop_changes_only_the_blend_region(astronaut, aligned):
    out = paste_back(astronaut, 255 - aligned.image, aligned)
    weights = blend_mask(aligned)
    changed = (out != astronaut).any(axis=2)
    assert not (changed & (weights == 0)).any()
    full = weights == 1.0
    diff = np.abs(out.astype(int) - astronaut.astype(int)).mean(axis=2)
    assert diff[full].mean() > 60  # inverted colours really arrived
    assert diff[full].mean() > 2 * diff[(weights > 0) & (weights < 0.5)].mean()  # and fade out


def test_feathered_seam_is_smooth(aligned):
    weights = blend_mask(aligned)
    # Feather = 8% of 128 crop px, about 15 photo px here: the ramp rises by at most ~1/10 per pixel.
    step = max(np.abs(np.diff(weights, axis=0)).max(), np.abs(np.diff(weights, axis=1)).max())
    assert step < 0.15
    hard = blend_mask(aligned, feather=0.0)
    assert set(np.unique(hard)) == {0.0, 1.0}
    assert np.array_equal(hard > 0, weights > 0)  # feathering happens inside the region


def test_face_region_restricts_the_blend(astronaut, aligned, astronaut_face):
    square = blend_mask(aligned)
    face = blend_mask(aligned, region="face")
    assert ((face > 0) <= (square > 0)).all()
    assert (face > 0).sum() < 0.8 * (square > 0).sum()
    lm = np.round(astronaut_face.landmarks).astype(int)
    assert (face[lm[:, 1], lm[:, 0]] > 0).all()  # every landmark is inside the grown hull
    out = paste_back(astronaut, 255 - aligned.image, aligned, region="face")
    changed = (out != astronaut).any(axis=2)
    assert not (changed & (face == 0)).any()


def test_region_mask_in_crop_coordinates(aligned):
    top_half = np.zeros((64, 64), np.uint8)  # any square size; mapped onto the 128 crop
    top_half[:32] = 1
    weights = blend_mask(aligned, region=top_half)
    upper = transform_points(np.array([[64.0, 20.0]]), aligned.inverse)[0]
    lower = transform_points(np.array([[64.0, 100.0]]), aligned.inverse)[0]
    assert weights[int(round(upper[1])), int(round(upper[0]))] == 1.0
    assert weights[int(round(lower[1])), int(round(lower[0]))] == 0.0
    with pytest.raises(ValueError, match="square"):
        blend_mask(aligned, region=np.ones((3, 5)))


def test_blend_weights_are_remembered_per_crop_and_region(astronaut, aligned):
    """A slider drag pastes the same crop back at every step: the weights are computed once per crop and
    region, a different region or margin is a different entry, and the blend is w·edit + (1−w)·photo
    to within one level."""
    from faceeditor.core import face_align

    face_align._weights_cache.clear()
    edited = 255 - aligned.image
    first = paste_back(astronaut, edited, aligned)
    assert len(face_align._weights_cache) == 1
    assert np.array_equal(paste_back(astronaut, edited, aligned), first)
    assert len(face_align._weights_cache) == 1
    top_half = np.zeros((64, 64), np.uint8)
    top_half[:32] = 1
    bottom_half = 1 - top_half
    a = blend_mask(aligned, region=top_half)
    b = blend_mask(aligned, region=bottom_half)
    assert len(face_align._weights_cache) == 3 and not np.array_equal(a, b)
    assert not np.array_equal(blend_mask(aligned, margin=0.1), blend_mask(aligned))
    weights = blend_mask(aligned)[..., None]
    warped = face_align.warp(edited, face_align._compose(aligned.inverse, face_align._resize_matrix(128, 128)),
                             (astronaut.shape[1], astronaut.shape[0]), border="replicate").astype(np.float64)
    expected = weights * warped + (1 - weights) * astronaut
    assert np.abs(first.astype(np.float64) - expected).max() <= 1.0


def test_edited_crop_at_another_resolution(astronaut, aligned):
    upscaled = cv2.resize(aligned.image, (256, 256), interpolation=cv2.INTER_CUBIC)
    out = paste_back(astronaut, upscaled, aligned)
    weights = blend_mask(aligned)
    assert np.array_equal(out[weights == 0], astronaut[weights == 0])
    assert psnr(out, astronaut) > 35


def test_face_at_the_photo_edge(astronaut, astronaut_face):
    # Cut the photo through the face: much of the crop lies outside the photo.
    photo = np.ascontiguousarray(astronaut[110:, 215:])
    lm = astronaut_face.landmarks - [215, 110]
    for border in ("reflect", "replicate", "constant"):
        crop = align_face(photo, lm, 128, border=border)
        assert crop.image.shape == (128, 128, 3)
    out = paste_back(photo, 255 - crop.image, crop)
    weights = blend_mask(crop)
    assert out.shape == photo.shape
    assert np.array_equal(out[weights == 0], photo[weights == 0])
    assert weights[0, 0] > 0.99  # no feather ramp along the photo's own edge
    assert (out[:20, :20].astype(int) - photo[:20, :20]).any()


def test_masks_move_with_nearest_neighbour(astronaut, aligned):
    mask = np.zeros(astronaut.shape[:2], np.uint8)
    mask[100:180, 170:280] = 7
    mask[120:140, 190:210] = 3
    crop_mask = mask_to_crop(mask, aligned)
    assert crop_mask.shape == (128, 128) and set(np.unique(crop_mask)) <= {0, 3, 7}
    back = mask_to_photo(crop_mask, aligned, fill=0)
    assert back.shape == mask.shape and set(np.unique(back)) <= {0, 3, 7}
    inner = np.zeros_like(mask, bool)
    inner[105:175, 175:275] = True
    inner[115:145, 185:215] = False
    assert (back[inner] == 7).mean() > 0.98
    twice = mask_to_photo(cv2.resize(crop_mask, (256, 256), interpolation=cv2.INTER_NEAREST), aligned)
    assert (twice == back).mean() > 0.99


def test_bad_arguments(astronaut, aligned, astronaut_face):
    with pytest.raises(ValueError, match="68"):
        align_face(astronaut, np.zeros((5, 2)), 128)
    with pytest.raises(ValueError, match="uint8 RGB photo"):
        align_face(astronaut[..., 0], astronaut_face, 128)
    with pytest.raises(ValueError, match="resolution"):
        align_face(astronaut, astronaut_face, 4)
    with pytest.raises(ValueError, match="the crop came from"):
        paste_back(astronaut[:100], aligned.image, aligned)
    with pytest.raises(ValueError, match="square uint8 RGB"):
        paste_back(astronaut, aligned.image[:, :100], aligned)
    with pytest.raises(ValueError, match="region"):
        blend_mask(aligned, region="hair")
    with pytest.raises(ValueError, match="border"):
        align_face(astronaut, astronaut_face, 128, border="wrap")
    assert np.allclose(invert_affine(invert_affine(aligned.matrix)), aligned.matrix)
