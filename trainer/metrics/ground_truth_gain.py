"""Gain against the ground truth (DESIGN.md §6): on SynthFaces every attribute flip has a true answer, the
same face re-rendered with the attribute flipped, so an edit can be scored by how much of the way from the
input to that truth it went:

    gain = 1 − err(edit, truth) / err(input, truth)      inside the TRUE change region

1 = perfect, 0 = did nothing, < 0 = worse than doing nothing. Unlike an evaluator's accuracy it cannot be
fooled by blur or a tint. The *pixel* gain measures err as the mean absolute difference of the colours; the
*semantic* gain as the share of pixels whose parse class differs (the same parser reads edit, truth and
input). The true change region is where truth and input differ, grown by 1/64 of the side (2 px at 128)
for anti-aliased fringes. Over many faces the gain is the ratio of the summed errors (1 − Σ err_edit /
Σ err_input), which a face with a tiny region cannot swing; a face whose region is empty (a flip that
cannot show) carries no information and is skipped.

Images are (C, H, W) arrays in one value range (the project's [-1, 1]); class maps (H, W) integers.
"""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from faceeditor.core.attribute_regions import DEFAULT_DILATION
from trainer.metrics._array import to_numpy

# Two images "differ" at a pixel when a channel differs by more than this (in [-1, 1]: half a uint8 level).
DEFAULT_THRESHOLD = 1.0 / 255.0


def growth_kernel(side: int, dilation: float = DEFAULT_DILATION) -> np.ndarray | None:
    """The ellipse (uint8, 2r+1 square) that grows a change region of an image of this side by
    ``dilation`` x the side (r at least 1 px); None for no growth. Shared with the training loss that
    reads the same regions (trainer/losses/change_region.py)."""
    if dilation <= 0:
        return None
    r = max(1, math.ceil(dilation * side))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def true_change_region(image: Any, truth: Any, *, threshold: float = DEFAULT_THRESHOLD,
                       dilation: float = DEFAULT_DILATION) -> np.ndarray:
    """Boolean (H, W): where the ground-truth re-render differs from the input (any channel by more than
    ``threshold``), grown by ``dilation`` x the side (at least 1 px) — the pixels a perfect edit changes."""
    a, b = to_numpy(image, np.float32), to_numpy(truth, np.float32)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"expected two (C, H, W) images of one shape, got {a.shape} and {b.shape}")
    region = (np.abs(a - b) > threshold).any(axis=0)
    kernel = growth_kernel(max(region.shape), dilation)
    if kernel is not None and region.any():
        region = cv2.dilate(region.astype(np.uint8), kernel).astype(bool)
    return region


def pixel_errors(edit: Any, image: Any, truth: Any, region: Any) -> tuple[float, float]:
    """(err(edit, truth), err(input, truth)): mean absolute colour difference over ``region`` (H, W) of
    the (C, H, W) images. NaN for both when the region is empty."""
    e, x, t = (to_numpy(a, np.float64) for a in (edit, image, truth))
    where = to_numpy(region).astype(bool)
    if not (e.shape == x.shape == t.shape) or e.shape[1:] != where.shape:
        raise ValueError(f"shapes differ: edit {e.shape}, input {x.shape}, truth {t.shape}, region {where.shape}")
    if not where.any():
        return math.nan, math.nan
    return float(np.abs(e - t)[:, where].mean()), float(np.abs(x - t)[:, where].mean())


def semantic_errors(edit_classes: Any, image_classes: Any, truth_classes: Any, region: Any) -> tuple[float, float]:
    """(err(edit, truth), err(input, truth)) of parse class maps (H, W): the share of ``region``'s pixels
    whose class differs from the truth's. NaN for both when the region is empty."""
    e, x, t = (to_numpy(a) for a in (edit_classes, image_classes, truth_classes))
    where = to_numpy(region).astype(bool)
    if not (e.shape == x.shape == t.shape == where.shape):
        raise ValueError(f"shapes differ: edit {e.shape}, input {x.shape}, truth {t.shape}, region {where.shape}")
    if not where.any():
        return math.nan, math.nan
    return float((e[where] != t[where]).mean()), float((x[where] != t[where]).mean())


def gain(err_edit: Any, err_input: Any) -> float:
    """1 − Σ err_edit / Σ err_input over the faces with a value (NaN entries, empty regions, are skipped);
    NaN when no face is left or the input's summed error is 0 (nothing to gain)."""
    e, x = np.atleast_1d(to_numpy(err_edit, np.float64)), np.atleast_1d(to_numpy(err_input, np.float64))
    if e.shape != x.shape:
        raise ValueError(f"expected as many edit as input errors, got {e.shape} and {x.shape}")
    keep = np.isfinite(e) & np.isfinite(x)
    total = float(x[keep].sum())
    if not keep.any() or total <= 0.0:
        return math.nan
    return 1.0 - float(e[keep].sum()) / total


def pixel_gain(edit: Any, image: Any, truth: Any, region: Any | None = None) -> float:
    """The pixel gain of one face: 1 perfect, 0 did nothing, < 0 worse (region: the true change region
    of input and truth unless given)."""
    if region is None:
        region = true_change_region(image, truth)
    return gain(*pixel_errors(edit, image, truth, region))
