"""Small pieces the panels share: class colours and swatches, thumbnails, notices."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QLabel,
)

from faceeditor.core.labels import PARSE_CLASSES, to_parse_classes
from faceeditor.core.palette import PALETTE, colorize

THUMB = 128


def class_color(index: int) -> QColor:
    r, g, b = (int(c) for c in PALETTE[index])
    return QColor(r, g, b)


def swatch_icon(color: QColor, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(0, 0, 0, 140))
    painter.setBrush(color)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pix)


def pretty(name: str) -> str:
    return name.replace("_", " ")


def mask_thumbnail(mask: np.ndarray, classes: tuple[str, ...] | list[str] = PARSE_CLASSES,
                   size: int = THUMB) -> QPixmap:
    """A model's mask (in its own classes) in the class colours, through the one mapping to the 19."""
    rgb = np.ascontiguousarray(colorize(to_parse_classes(np.clip(mask, 0, len(classes) - 1), classes)))
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))


def rgb_thumbnail(rgb: np.ndarray, size: int = THUMB) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


def notice(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(False)
    label.setStyleSheet("color: palette(mid); padding: 6px;")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def model_header(model, what: str) -> str:
    """A model panel's header: the model's key, what it is, its resolution and the data it was trained on."""
    domain = f" · trained on {model.entry.data_domain}" if model.entry.data_domain else ""
    return f"<b>{model.key}</b> <span style='color:gray'>{what} · {model.resolution}px{domain}</span>"
