"""The canvas's graphics items: the photo and result images (drawn from a pyramid level matched to the
zoom), the mask overlay (repainting only dirty rectangles), the crop outline, the brush cursor and the
before/after divider. Scene coordinates are photo pixels; crop-pixel items carry the crop -> photo
transform (crop_to_scene_transform)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QStyleOptionGraphicsItem,
    QWidget,
)

from faceeditor.core.mask_layer import MaskLayer, Rect
from faceeditor.core.palette import PALETTE
from faceeditor.ui.qt_image import Pyramid


def overlay_lut() -> np.ndarray:
    """(19, 4) premultiplied RGBA per class; background is transparent."""
    lut = np.concatenate([PALETTE, np.full((len(PALETTE), 1), 255, np.uint8)], axis=1)
    lut[0] = 0
    return lut


def crop_to_scene_transform(crop_to_photo: np.ndarray) -> QTransform:
    """QTransform from crop item coordinates (pixel corners) to scene (photo pixel corners)."""
    m = np.asarray(crop_to_photo, np.float64)
    dx = m[0, 2] + 0.5 - 0.5 * (m[0, 0] + m[0, 1])
    dy = m[1, 2] + 0.5 - 0.5 * (m[1, 0] + m[1, 1])
    return QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], dx, dy)


class ImageItem(QGraphicsItem):
    """A photo-sized image drawn from a pyramid level matched to the zoom; optionally only right of
    `clip_x` (the after-side of the before/after split)."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.pyramid: Pyramid | None = None
        self.clip_x: float | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_pyramid(self, pyramid: Pyramid | None) -> None:
        self.prepareGeometryChange()
        self.pyramid = pyramid
        self.update()

    def set_clip(self, x: float | None) -> None:
        self.clip_x = x
        self.update()

    def boundingRect(self) -> QRectF:
        if self.pyramid is None:
            return QRectF()
        return QRectF(0, 0, self.pyramid.width, self.pyramid.height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.pyramid is None:
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        image = self.pyramid.level_for(lod)
        bounds = self.boundingRect()
        exposed = option.exposedRect.intersected(bounds)
        if self.clip_x is not None:
            exposed = exposed.intersected(QRectF(self.clip_x, 0, bounds.width() - self.clip_x, bounds.height()))
        if exposed.isEmpty():
            return
        sx, sy = image.width() / bounds.width(), image.height() / bounds.height()
        source = QRectF(exposed.x() * sx, exposed.y() * sy, exposed.width() * sx, exposed.height() * sy)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, lod < 2.0)
        painter.drawImage(exposed, image, source)


class MaskOverlayItem(QGraphicsItem):
    """The mask layer's colours over the photo, in crop pixels; repaints only dirty rectangles."""

    def __init__(self, layer: MaskLayer, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.layer = layer
        self._lut = overlay_lut()
        h, w = layer.shape
        self._rgba = np.zeros((h, w, 4), np.uint8)
        self._image = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888_Premultiplied)
        self.repaints: list[Rect] = []          # dirty rectangles handled (for tests and diagnostics)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.refresh(layer.full_rect)
        layer.on_changed(self.refresh)

    def refresh(self, rect: Rect) -> None:
        ys, xs = rect.slices
        self._rgba[ys, xs] = self._lut[self.layer.data[ys, xs]]
        self.repaints.append(rect)
        if len(self.repaints) > 256:
            del self.repaints[:128]
        self.update(QRectF(rect.x0, rect.y0, rect.width, rect.height))

    def pixel_rgba(self, x: int, y: int) -> tuple[int, int, int, int]:
        return tuple(int(v) for v in self._rgba[y, x])  # type: ignore[return-value]

    def boundingRect(self) -> QRectF:
        h, w = self.layer.shape
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        r = exposed.toAlignedRect().intersected(self._image.rect())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(r), self._image, QRectF(r))


REGION_RGBA = (255, 200, 0, 110)         # the attribute-region overlay's colour (straight alpha)


class RegionOverlayItem(QGraphicsItem):
    """A translucent colour over a boolean region (crop pixels): where the pointed slider's edit acts."""

    def __init__(self, region: np.ndarray, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.region = np.asarray(region, bool)
        h, w = self.region.shape
        r, g, b, a = REGION_RGBA
        premultiplied = np.array([r * a // 255, g * a // 255, b * a // 255, a], np.uint8)
        self._rgba = np.zeros((h, w, 4), np.uint8)
        self._rgba[self.region] = premultiplied
        self._image = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888_Premultiplied)

    def pixel_rgba(self, x: int, y: int) -> tuple[int, int, int, int]:
        return tuple(int(v) for v in self._rgba[y, x])  # type: ignore[return-value]

    def boundingRect(self) -> QRectF:
        h, w = self.region.shape
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(self.boundingRect(), self._image)


class CropOutlineItem(QGraphicsItem):
    """A dashed outline of the crop square: where the mask and the models apply."""

    def __init__(self, size: int, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.size = size

    def boundingRect(self) -> QRectF:
        return QRectF(-1, -1, self.size + 2, self.size + 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        pen = QPen(QColor(255, 255, 255, 110), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(0, 0, self.size, self.size))


class BrushCursorItem(QGraphicsItem):
    """A circle of the brush's size in the class colour (crop pixels), with a dark halo for contrast."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.diameter = 9.0
        self.color = QColor(255, 255, 255)
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_style(self, diameter: float, color: QColor) -> None:
        self.prepareGeometryChange()
        self.diameter = max(1.0, float(diameter))
        self.color = color
        self.update()

    def boundingRect(self) -> QRectF:
        r = self.diameter / 2 + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.diameter / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        halo = QPen(QColor(0, 0, 0, 170), 3.0)
        halo.setCosmetic(True)
        painter.setPen(halo)
        painter.drawEllipse(QPointF(0, 0), r, r)
        pen = QPen(self.color, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawEllipse(QPointF(0, 0), r, r)


class SplitDivider(QGraphicsObject):
    """The before/after divider: a vertical line with a handle, dragged horizontally."""

    moved = Signal(float)

    def __init__(self, height: float, width: float):
        super().__init__()
        self.height = height
        self.limit = width
        self.view_scale = 1.0
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setCursor(QCursor(Qt.CursorShape.SplitHCursor))
        self.setZValue(50)

    def set_view_scale(self, scale: float) -> None:
        self.prepareGeometryChange()
        self.view_scale = max(scale, 1e-6)

    def boundingRect(self) -> QRectF:
        half = 14.0 / self.view_scale
        return QRectF(-half, 0, 2 * half, self.height)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(255, 255, 255, 230), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(0, 0), QPointF(0, self.height))
        r = 11.0 / self.view_scale
        c = QPointF(0, self.height / 2)
        painter.setBrush(QBrush(QColor(30, 30, 34, 220)))
        painter.drawEllipse(c, r, r)
        a = 5.0 / self.view_scale
        painter.drawLine(QPointF(-a, c.y()), QPointF(-a / 2, c.y() - a / 2))
        painter.drawLine(QPointF(-a, c.y()), QPointF(-a / 2, c.y() + a / 2))
        painter.drawLine(QPointF(a, c.y()), QPointF(a / 2, c.y() - a / 2))
        painter.drawLine(QPointF(a, c.y()), QPointF(a / 2, c.y() + a / 2))

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            x = min(max(value.x(), 0.0), self.limit)
            return QPointF(x, 0.0)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.moved.emit(self.pos().x())
        return super().itemChange(change, value)


class LandmarksItem(QGraphicsItem):
    """The 68 landmarks as dots (crop pixel coordinates; the item carries the crop-to-scene transform)."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.points: np.ndarray | None = None

    def set_points(self, points: np.ndarray | None) -> None:
        self.prepareGeometryChange()
        self.points = None if points is None else np.asarray(points, np.float64)
        self.update()

    def boundingRect(self) -> QRectF:
        if self.points is None:
            return QRectF()
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        return QRectF(lo[0] - 4, lo[1] - 4, hi[0] - lo[0] + 9, hi[1] - lo[1] + 9)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.points is None:
            return
        painter.setPen(QPen(QColor(20, 20, 20), 0))
        painter.setBrush(QColor(90, 220, 255))
        r = max(0.8, 3.0 / max(painter.worldTransform().m11(), 1e-6))
        for x, y in self.points:
            painter.drawEllipse(QPointF(x + 0.5, y + 0.5), r, r)
