"""Colours of the 19 face-parsing classes, shared by the trainer's sample grids and the app's mask painter.

The colours are in the spirit of CelebAMask-HQ's visualisation (saturated primaries on black: dark red
skin, orange hair, dark blue lips); every class has its own colour (so a colour-coded mask can be read
back to indices) and left/right pairs differ. Pure numpy: no Qt, no torch.
"""
from __future__ import annotations

import numpy as np

from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES

CLASS_COLORS: dict[str, tuple[int, int, int]] = {
    "background": (0, 0, 0),
    "skin": (204, 0, 0),
    "l_brow": (76, 153, 0),
    "r_brow": (204, 204, 0),
    "l_eye": (51, 51, 255),
    "r_eye": (204, 0, 204),
    "eye_g": (0, 255, 255),
    "l_ear": (255, 204, 204),
    "r_ear": (102, 51, 0),
    "ear_r": (255, 0, 0),
    "nose": (102, 204, 0),
    "mouth": (255, 255, 0),
    "u_lip": (0, 0, 153),
    "l_lip": (0, 0, 204),
    "neck": (255, 51, 153),
    "neck_l": (0, 204, 204),
    "cloth": (0, 51, 0),
    "hair": (255, 153, 51),
    "hat": (0, 204, 0),
}

# (19, 3) uint8, row i = colour of PARSE_CLASSES[i].
PALETTE: np.ndarray = np.array([CLASS_COLORS[name] for name in PARSE_CLASSES], dtype=np.uint8)
PALETTE.setflags(write=False)


def colorize(mask: np.ndarray) -> np.ndarray:
    """Class-index mask (..., H, W) of integers in 0..18 -> uint8 RGB (..., H, W, 3).

    Raises ValueError naming the offending value if the mask holds an index outside the 19 classes.
    """
    arr = np.asarray(mask)
    if arr.dtype.kind not in "iub":
        raise ValueError(f"mask must hold integer class indices, got dtype {arr.dtype}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= NUM_CLASSES:
            bad = lo if lo < 0 else hi
            raise ValueError(f"mask holds class index {bad}, outside 0..{NUM_CLASSES - 1}")
    return PALETTE[arr.astype(np.intp, copy=False)]
