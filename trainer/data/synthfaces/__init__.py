"""SynthFaces: a procedural face renderer with exact labels and ground-truth edits (issue 3).

numpy + OpenCV only (no torch, no Qt), so the app, the trainer and worker processes can all use it.
"""
from __future__ import annotations

from .params import (
    ATTR_KEYS,
    FaceParams,
    attribute_labels,
    sample_params,
    with_attribute,
    with_expression,
    with_pose,
)
from .regions import ATTRIBUTE_REGIONS, EXPRESSION_REGIONS
from .render import SynthSample, render, render_seed

__all__ = [
    "ATTR_KEYS", "ATTRIBUTE_REGIONS", "EXPRESSION_REGIONS", "FaceParams", "SynthSample", "attribute_labels",
    "render", "render_seed", "sample_params", "with_attribute", "with_expression", "with_pose",
]
