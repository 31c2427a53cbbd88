"""The paired L1 inside the true change region (not in any paper; for SynthFaces, where every edit has a
re-render to learn from). The whole-image L1 to the re-render is dominated by large changes: a hair
colour moves thousands of pixels, glasses, a moustache or an opened mouth a few hundred, so their
gradients are small and an editor learns to leave them alone (a negative pixel gain for exactly those
attributes). Averaging the error over each face's own change region, the pixels the evaluation's
pixel gain is measured on (trainer/metrics/ground_truth_gain.py), gives every edit the same weight
whatever its size."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from faceeditor.core.attribute_regions import DEFAULT_DILATION
from trainer.metrics.ground_truth_gain import DEFAULT_THRESHOLD, growth_kernel


def true_change_mask(image: torch.Tensor, truth: torch.Tensor, *, threshold: float = DEFAULT_THRESHOLD,
                     dilation: float = DEFAULT_DILATION) -> torch.Tensor:
    """(N, 1, H, W) float 0/1: the evaluation's true change region (true_change_region) of each face of
    input and truth (N, C, H, W), computed batched on their device without gradient: where they differ in
    any channel by more than ``threshold``, grown by the metric's own ellipse (growth_kernel)."""
    with torch.no_grad():
        differs = ((image - truth).abs().amax(dim=1, keepdim=True) > threshold).float()
        kernel = growth_kernel(max(differs.shape[-2:]), dilation)
        if kernel is None:
            return differs
        weight = torch.from_numpy(kernel).to(differs)[None, None]
        r = kernel.shape[0] // 2
        return (F.conv2d(differs, weight, padding=r) > 0.5).to(differs.dtype)


def change_region_l1(output: torch.Tensor, truth: torch.Tensor, image: torch.Tensor, **mask_options) -> torch.Tensor:
    """Mean absolute error of output to truth (N, C, H, W) over each face's true change region (of image
    and truth), averaged over the faces; faces whose region is empty (a flip that cannot show) are left
    out, and a batch with none gives 0 (still attached to the graph)."""
    mask = true_change_mask(image.float(), truth.float(), **mask_options).to(output.dtype)
    err = (output - truth).abs().mean(dim=1, keepdim=True)
    area = mask.sum(dim=(1, 2, 3))
    per_face = (err * mask).sum(dim=(1, 2, 3)) / area.clamp_min(1.0)
    keep = area > 0
    if not bool(keep.any()):
        return output.sum() * 0.0
    return per_face[keep].mean()
