"""MagGAN's attribute-part matrices AR+ / AR- (shared/papers/maggan.md eqs. 2-5 and 12): where an edit of
each attribute may act, in terms of the 19 parse classes.

The tables live in a data file a user can edit (``faceeditor/core/data/attribute_parts.json``; its
"about" field says what each entry means). Each attribute has a '+' row (the attribute strengthened,
att_diff > 0) and a '-' row (weakened). A row lists the ``parts`` (AR entries = 1) and may restrict them
to the pixels ``near`` other classes, within ``radius`` x the image side: "Mustache" is the skin of the
upper lip, not all skin.

The influence region of a row on a soft parse (19, H, W) is ``sum(probs[parts]) * dilate(sum(probs[near]),
radius)``; the dilation is a grey (max) dilation with a square window, which the trainer computes with
``max_pool2d`` (trainer/losses/mask_guided.py) and the exported graphs carry. This module is the numpy
reading of the same rule (the app's overlay and the painted-mask option); a test holds the two equal.
Pure numpy + OpenCV: no Qt, no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX, NUM_CLASSES

DEFAULT_PATH = Path(__file__).with_name("data") / "attribute_parts.json"
SIGNS = ("+", "-")


class AttributePartsError(ValueError):
    """The attribute-part file is unreadable or malformed (the message names the entry)."""


@dataclass(frozen=True)
class AttributeParts:
    """The tables as arrays. ``parts[s]`` and ``near[s]`` are (13, 19) 0/1 matrices for sign s (0 = '+',
    1 = '-'); ``radius[s]`` is (13,) in fractions of the image side (0 = no restriction, ``near`` unused)."""

    parts: np.ndarray        # (2, 13, 19) float32 — AR+ (index 0) and AR- (index 1)
    near: np.ndarray         # (2, 13, 19) float32
    radius: np.ndarray       # (2, 13) float32

    def to_json(self) -> dict:
        """The tables in the data file's layout (recorded in every editor's config and manifest)."""
        out: dict = {}
        for k, name in enumerate(ATTRIBUTES):
            row = {}
            for s, sign in enumerate(SIGNS):
                entry: dict = {"parts": [c for c, i in CLASS_INDEX.items() if self.parts[s, k, i]]}
                if self.radius[s, k] > 0:
                    entry["near"] = [c for c, i in CLASS_INDEX.items() if self.near[s, k, i]]
                    entry["radius"] = float(self.radius[s, k])
                row[sign] = entry
            out[name] = row
        return {"attributes": out}

    def window(self, sign: int, k: int, size: int) -> int:
        """The side (odd, in pixels) of the dilation window of row (sign, k) at an image side of ``size``;
        0 when the row has no restriction."""
        return window_pixels(float(self.radius[sign, k]), size)


def window_pixels(radius: float, size: int) -> int:
    """2r + 1 with r = ceil(radius x size) (at least 1 pixel when radius > 0); 0 for radius 0."""
    if radius <= 0:
        return 0
    return 2 * max(1, math.ceil(radius * size)) + 1


def _classes(value: object, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AttributePartsError(f"{where}: expected a non-empty list of class names")
    unknown = [v for v in value if v not in CLASS_INDEX]
    if unknown:
        raise AttributePartsError(f"{where}: unknown class {unknown[0]!r} (known: {', '.join(CLASS_INDEX)})")
    return [CLASS_INDEX[v] for v in value]


def parse_attribute_parts(raw: object, source: str = "attribute parts") -> AttributeParts:
    """The tables from the data file's JSON value; AttributePartsError names the first bad entry."""
    if not isinstance(raw, dict) or not isinstance(raw.get("attributes"), dict):
        raise AttributePartsError(f"{source}: expected an object with an 'attributes' object")
    table = raw["attributes"]
    missing = [a for a in ATTRIBUTES if a not in table]
    if missing:
        raise AttributePartsError(f"{source}: no entry for attribute {missing[0]!r}")
    parts = np.zeros((2, len(ATTRIBUTES), NUM_CLASSES), np.float32)
    near = np.zeros_like(parts)
    radius = np.zeros((2, len(ATTRIBUTES)), np.float32)
    for k, name in enumerate(ATTRIBUTES):
        row = table[name]
        for s, sign in enumerate(SIGNS):
            where = f"{source}: {name} {sign!r}"
            entry = row.get(sign) if isinstance(row, dict) else None
            if not isinstance(entry, dict):
                raise AttributePartsError(f"{where}: missing (each attribute needs a '+' and a '-' entry)")
            parts[s, k, _classes(entry.get("parts"), f"{where} parts")] = 1.0
            if "near" in entry or "radius" in entry:
                r = entry.get("radius")
                if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0 < r <= 1:
                    raise AttributePartsError(f"{where} radius: expected a number in (0, 1], got {r!r}")
                near[s, k, _classes(entry.get("near"), f"{where} near")] = 1.0
                radius[s, k] = float(r)
    return AttributeParts(parts, near, radius)


@lru_cache(maxsize=1)
def default_tables() -> AttributeParts:
    """The bundled tables, read once (the overlay and keep-the-rest ask on every slider move)."""
    return load_attribute_parts()


def load_attribute_parts(path: str | Path | None = None) -> AttributeParts:
    """The tables of ``path`` (default: the bundled data file)."""
    from faceeditor.core.safe_read import load_json_file

    p = Path(path) if path else DEFAULT_PATH
    raw = load_json_file(p, f"{p}", AttributePartsError)
    return parse_attribute_parts(raw, str(p))


def grey_dilate(image: np.ndarray, window: int) -> np.ndarray:
    """Max over a ``window`` x ``window`` square around each pixel (edges replicate nothing: the window is
    clipped, as max_pool2d with padding -inf)."""
    if window <= 1:
        return image
    kernel = np.ones((window, window), np.uint8)
    return cv2.dilate(image.astype(np.float32), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0.0)


def influence_map(probs: np.ndarray, attribute: str, strengthen: bool, tables: AttributeParts | None = None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how much each pixel belongs to where editing ``attribute`` may act, from a
    soft or one-hot parse ``probs`` (19, H, W) — MagGAN's M_i^+ (``strengthen``) or M_i^-."""
    t = tables or default_tables()
    probs = np.asarray(probs, np.float32)
    if probs.ndim != 3 or probs.shape[0] != NUM_CLASSES:
        raise ValueError(f"probs must be (19, H, W), got {probs.shape}")
    k, s = ATTRIBUTES.index(attribute), 0 if strengthen else 1
    region = np.tensordot(t.parts[s, k], probs, axes=1)
    win = t.window(s, k, max(probs.shape[1:]))
    if win:
        region = region * grey_dilate(np.tensordot(t.near[s, k], probs, axes=1), win)
    return np.clip(region, 0.0, 1.0).astype(np.float32)


def one_hot(mask: np.ndarray) -> np.ndarray:
    """(19, H, W) float32 one-hot of a class-index mask (a painted mask as 'probabilities')."""
    from faceeditor.core.mask_io import validate_mask

    mask = validate_mask(mask)
    return (np.arange(NUM_CLASSES)[:, None, None] == mask[None]).astype(np.float32)
