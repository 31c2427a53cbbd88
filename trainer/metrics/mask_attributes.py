"""How often the attributes a mask decides (faceeditor.core.mask_attributes) agree with true labels.

For each attribute the mask can decide: `accuracy` over the masks where it decides, and `decided`, the share
of masks where it does (a hat leaves Bald undecided, for instance). On SynthFaces the labels are exact, so
this is the judge of the derivation's thresholds (docs/scgan.md reports it on 1000 held-out faces).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from faceeditor.core.mask_attributes import MASK_ATTRIBUTES, attributes_from_mask


def mask_attribute_accuracy(masks: Iterable[np.ndarray], labels: Mapping[str, Iterable[float]]
                            ) -> dict[str, dict[str, float]]:
    """{attribute: {"accuracy", "decided", "correct", "count"}} for each of MASK_ATTRIBUTES in `labels`
    (0/1 per mask, in the masks' order). `accuracy` is NaN where the mask never decides."""
    derived = [attributes_from_mask(m) for m in masks]
    out: dict[str, dict[str, float]] = {}
    for name in MASK_ATTRIBUTES:
        if name not in labels:
            continue
        truth = np.asarray(list(labels[name]), dtype=np.float64) >= 0.5
        if truth.size != len(derived):
            raise ValueError(f"{name}: {truth.size} labels for {len(derived)} masks")
        decided = np.array([name in d for d in derived], dtype=bool)
        guess = np.array([d.get(name, 0.0) >= 0.5 for d in derived], dtype=bool)
        correct = int((decided & (guess == truth)).sum())
        n_dec = int(decided.sum())
        out[name] = {"accuracy": correct / n_dec if n_dec else float("nan"),
                     "decided": n_dec / max(len(derived), 1), "correct": correct, "count": n_dec}
    return out
