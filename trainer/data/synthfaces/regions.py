"""Which parsing classes an edit may change.

A ground-truth edit (``with_attribute`` / ``with_expression``) changes only pixels whose class, in the
mask before OR after the edit, is one of the listed classes (judged after dilating that union by a few
pixels, for anti-aliased fringes). Occlusion is handled by the union: removing hair reveals forehead,
but those pixels were ``hair`` before the edit.
"""
from __future__ import annotations

# The table lives in faceeditor.core (the app's edit report uses it too); the renderer honours it.
from faceeditor.core.attribute_regions import ATTRIBUTE_REGIONS  # noqa: F401  (re-export)

# Expressions move brows, eyelids, nose wrinkles, cheeks and the mouth; the jaw line stays put.
EXPRESSION_REGIONS: tuple[str, ...] = (
    "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "nose", "mouth", "u_lip", "l_lip",
)
