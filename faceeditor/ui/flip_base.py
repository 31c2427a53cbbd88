"""The face the other edits start from when an SG-GAN flip is applied (docs/app.md, "All flips").

Order of the edits: flip, then expression, then the attribute sliders. With a flip applied (the session's
`flip`), the expression editor and the attribute editor read the flip's head (the crop re-rendered with the
attribute flipped) instead of the photo's crop; without one they read the crop. The flip's heads come from
one forward pass of the flip_attributes model; the last face's sheet is kept here, so the All flips view,
the expression edit and the attribute edit share one pass per crop. Qt-free and thread-safe: the
controllers call it from their worker jobs.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from faceeditor.engine.requests import FlipAttributesRequest, FlipSheet


class FlipBase:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._crop: np.ndarray | None = None       # the crop the kept sheet is of (compared by identity)
        self._model: str | None = None
        self._sheet: FlipSheet | None = None

    def cached(self, crop: np.ndarray, model: str) -> FlipSheet | None:
        with self._lock:
            return self._sheet if self._crop is crop and self._model == model else None

    def keep(self, crop: np.ndarray, model: str, sheet: FlipSheet) -> None:
        with self._lock:
            self._crop, self._model, self._sheet = crop, model, sheet

    def sheet(self, engine, crop: np.ndarray, model: str, request: FlipAttributesRequest | None = None
              ) -> tuple[FlipSheet, Any]:
        """(the sheet of `crop`, the engine's result or None when it was kept): one forward pass per crop.
        `request` (for `crop`, unpasted) lets the caller cancel it."""
        found = self.cached(crop, model)
        if found is not None:
            return found, None
        result = engine.all_flips(request or FlipAttributesRequest([crop], model=model))
        self.keep(crop, model, result.sheet)
        return result.sheet, result

    def source(self, engine, crop: np.ndarray, model: str | None, flip: dict | None) -> np.ndarray:
        """The face an edit starts from: the crop, or with `flip` applied (and its model loaded) that flip's
        head at the crop's size."""
        if flip is None or model is None:
            return crop
        sheet, _ = self.sheet(engine, crop, model)
        if flip["attribute"] not in sheet.attributes:      # another model, without that attribute
            return crop
        return sheet.head(flip["attribute"], flip["value"])
