"""numpy <-> QImage, and image pyramids for painting large photos quickly at any zoom.

All functions here may run in worker threads (QImage, unlike QPixmap, is not tied to the GUI thread).
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

# Levels are halved until the longest side is at most this.
PYRAMID_MIN_SIDE = 1024


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A deep-copied QImage (RGB32, Qt's fast paint format) of a uint8 (H, W, 3) array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)   # converting copies the pixels


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """uint8 (H, W, 3) copy of any QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    arr = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return arr[:, : 3 * w].reshape(h, w, 3).copy()


class Pyramid:
    """An image and its successive halvings (area-averaged), as QImages; level 0 is full size."""

    def __init__(self, rgb: np.ndarray):
        self.height, self.width = rgb.shape[:2]
        self.levels: list[QImage] = [rgb_to_qimage(rgb)]
        level = rgb
        while max(level.shape[:2]) > PYRAMID_MIN_SIDE:
            h, w = level.shape[:2]
            level = cv2.resize(level, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
            self.levels.append(rgb_to_qimage(level))

    def level_for(self, screen_per_pixel: float) -> QImage:
        """The smallest level that still has at least one pixel per screen pixel."""
        index = 0
        while index + 1 < len(self.levels) and screen_per_pixel * (2 ** (index + 1)) <= 1.0:
            index += 1
        return self.levels[index]
