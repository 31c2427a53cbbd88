"""MagGAN's mask-aware reconstruction error (MRE, eq. 2 of shared/papers/maggan.md): how much an editor
changes the regions that flipping one attribute should leave alone.

    MRE = 1/(H·W·C) Σ_i || (1 − M_i^sgn(d_i)) ⊙ (G(x, d_i e_i) − x) ||_1

C is the number of attributes, each flipped alone (d = 1 − 2·att_s for binary attributes), and
M_i^+ / M_i^- are the influence regions of attribute i when it is strengthened / weakened. The L1 norm sums
over the colour channels as well as the pixels (the paper's normalisation is literally H·W·C); the result
is averaged over images. Images in [-1, 1] as everywhere in the project.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainer.metrics._array import to_numpy


def influence_masks(parse_probs: Any, att_diff: Any, ar_plus: Any, ar_minus: Any) -> np.ndarray:
    """M_i^sgn(d_i) for every attribute: (N, C, H, W) in [0, 1].

    parse_probs (N, P, H, W) are the face parser's class probabilities; att_diff (N, C) or (C,) the
    per-attribute change (its sign picks AR+ for d_i >= 0, AR- for d_i < 0); ar_plus, ar_minus (C, P) the
    attribute-part matrices (1 = the part may change). M_i = min(1, Σ_p probs_p · AR_i,p).
    """
    probs = to_numpy(parse_probs).astype(np.float64)
    ap, am = to_numpy(ar_plus).astype(np.float64), to_numpy(ar_minus).astype(np.float64)
    if probs.ndim != 4 or ap.shape != am.shape or ap.ndim != 2 or ap.shape[1] != probs.shape[1]:
        raise ValueError(f"expected parse_probs (N, P, H, W) and AR matrices (C, P); got {probs.shape}, "
                         f"{ap.shape}, {am.shape}")
    d = np.broadcast_to(to_numpy(att_diff).astype(np.float64), (probs.shape[0], ap.shape[0]))
    ar = np.where(d[:, :, None] >= 0, ap[None], am[None])          # (N, C, P)
    return np.minimum(1.0, np.einsum("ncp,nphw->nchw", ar, probs))


def mask_aware_reconstruction_error(x: Any, edited: Any, masks: Any) -> float:
    """x (N, 3, H, W) sources; edited (N, C, 3, H, W) with edited[:, i] = G(x, d_i e_i); masks (N, C, H, W)
    = influence_masks(...). Returns MRE averaged over the N images."""
    src = to_numpy(x).astype(np.float64)
    out = to_numpy(edited).astype(np.float64)
    m = to_numpy(masks).astype(np.float64)
    if src.ndim != 4 or out.ndim != 5 or out.shape[:1] + out.shape[2:] != src.shape \
            or m.shape != out.shape[:2] + out.shape[3:]:
        raise ValueError(f"expected x (N, 3, H, W), edited (N, C, 3, H, W), masks (N, C, H, W); got "
                         f"{src.shape}, {out.shape}, {m.shape}")
    n, c, _, h, w = out.shape
    err = np.abs((1.0 - m[:, :, None]) * (out - src[:, None])).reshape(n, -1).sum(axis=1)
    return float(np.mean(err / (h * w * c)))
