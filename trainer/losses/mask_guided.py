"""MagGAN's mask guidance (shared/papers/maggan.md §3.1-3.3): influence regions from the attribute-part
matrices AR+ / AR- (faceeditor/core/attribute_parts.py), the preserve mask M(att_diff, x) of eqs. 4-5, the
mask-guided reconstruction loss of eq. 3, the mask-guided condition of eq. 12 and the blending trick of
eq. 13.

The regions are a module (AttributeRegions) because the exported editors carry them in their graph: the
engine feeds the parse probabilities (or the user's painted mask as one-hot) and the graph does the rest.

Where the paper's eq. 4 takes the union of the influenced classes and eq. 5 sums their probabilities,
rows with a ``near`` restriction are not class sets any more; the union over the changed attributes is
then the pixelwise maximum of their regions, which equals eqs. 4-5 for one-hot masks.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.attribute_parts import AttributeParts, load_attribute_parts, window_pixels


def square_max(x: torch.Tensor, window: int) -> torch.Tensor:
    """Max over a window x window square around each pixel of (N, 1, H, W), computed separably (a row then a
    column pass: 2 x window comparisons per pixel instead of window²; the same result)."""
    pad = window // 2
    x = F.max_pool2d(x, (1, window), 1, (0, pad))
    return F.max_pool2d(x, (window, 1), 1, (pad, 0))


class AttributeRegions(nn.Module):
    """probs (N, 19, H, W) -> influence maps (N, 2, 13, H, W) in [0, 1]: index 0 of dim 1 is M_i^+ (the
    attribute strengthened), 1 is M_i^- (weakened)."""

    def __init__(self, tables: AttributeParts | None = None):
        super().__init__()
        t = tables or load_attribute_parts()
        self.register_buffer("parts", torch.from_numpy(t.parts.copy()), persistent=False)
        self.register_buffer("near", torch.from_numpy(t.near.copy()), persistent=False)
        self.radius = [[float(r) for r in row] for row in t.radius]

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        probs = probs.float()
        size = int(max(probs.shape[-2:]))
        region = torch.einsum("skc,nchw->nskhw", self.parts, probs)
        near = torch.einsum("skc,nchw->nskhw", self.near, probs)
        rows = []
        for s in range(2):
            cols = []
            for k, r in enumerate(self.radius[s]):
                win = window_pixels(r, size)
                m = region[:, s, k]
                if win:
                    m = m * square_max(near[:, s, k:k + 1], win)[:, 0]
                cols.append(m)
            rows.append(torch.stack(cols, dim=1))
        return torch.stack(rows, dim=1).clamp(0.0, 1.0)


def signed_regions(y_diff: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """(N, 13, H, W): M_i^{sgn(att_diff_i)} for each attribute (M^+ where att_diff_i > 0, M^- where < 0,
    zeros where the attribute is left alone)."""
    pos = (y_diff > 0).to(maps.dtype)[:, :, None, None]
    neg = (y_diff < 0).to(maps.dtype)[:, :, None, None]
    return pos * maps[:, 0] + neg * maps[:, 1]


def mask_guided_condition(y_diff: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Eq. 12: the condition map (N, 13, H, W) with channel i = att_diff_i x M_i^{sgn(att_diff_i)}."""
    return y_diff.to(maps.dtype)[:, :, None, None] * signed_regions(y_diff, maps)


def preserve_mask(y_diff: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Eqs. 4-5: M(att_diff, x) (N, 1, H, W), the probability that a pixel must be preserved (1 minus the
    union of the changed attributes' regions)."""
    return 1.0 - signed_regions(y_diff, maps).amax(dim=1, keepdim=True)


def mask_guided_reconstruction(x: torch.Tensor, x_fake: torch.Tensor, preserve: torch.Tensor) -> torch.Tensor:
    """Eq. 3: ||M (x − G(x, att_diff))||_1, averaged over pixels and channels."""
    return (preserve * (x - x_fake)).abs().mean()


def blend(x: torch.Tensor, generated: torch.Tensor, preserve: torch.Tensor) -> torch.Tensor:
    """Eq. 13, the blending trick: M x + (1 − M) G(x, att_diff)."""
    return preserve * x + (1.0 - preserve) * generated
