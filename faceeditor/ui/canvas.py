"""The canvas: photo, result and mask layers in a QGraphicsView, with painting, zoom and pan.

Scene coordinates are photo pixels (pixel (row i, col j) covers [j, j+1) x [i, i+1)). The mask overlay
and the brush cursor live in crop pixels and carry the crop -> photo similarity as their item transform,
so a stroke painted on a rotated, scaled face lands in the aligned crop where the models work. All
painting logic is in faceeditor.core.mask_layer; this module only turns mouse events into stroke points.
"""
from __future__ import annotations

import enum

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QMouseEvent,
    QPainter,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from faceeditor.core.labels import class_label
from faceeditor.core.mask_layer import MaskLayer
from faceeditor.core.palette import PALETTE
from faceeditor.ui.canvas_items import (
    BrushCursorItem,
    CropOutlineItem,
    ImageItem,
    LandmarksItem,
    MaskOverlayItem,
    RegionOverlayItem,
    SplitDivider,
    crop_to_scene_transform,
)
from faceeditor.ui.qt_image import Pyramid

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
BACKGROUND = QColor(38, 38, 42)
HINT_MS = 3000
OUTSIDE_CROP_HINT = ("Outside the editable crop: only the area inside the dashed square can be painted "
                     "(Face \u25b8 Whole image edits the whole picture)")


class Tool(enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    PICKER = "picker"
    LANDMARKS = "landmarks"



class CanvasView(QGraphicsView):
    """Shows a document and turns mouse input into mask-layer strokes, fills and picks."""

    picked = Signal(int)                    # a class picked with the picker (or Ctrl+click)
    hovered = Signal(object)                # (x, y, class) in crop pixels, or None off the crop
    zoom_changed = Signal(float)
    files_dropped = Signal(list)
    compare_changed = Signal(bool)          # hold-to-compare pressed / released
    hint_shown = Signal(str)                # a brief on-canvas hint (a stroke outside the crop, ...)
    painting = Signal()                     # a stroke or a fill starts (the user paints the mask)
    landmarks_dragged = Signal(object, object)   # (old, new) 68 crop-pixel points after a landmark drag

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(BACKGROUND)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.image_rect = QRectF()
        self.tool = Tool.BRUSH
        self.layer: MaskLayer | None = None
        self.photo_item = ImageItem()
        self.result_item = ImageItem()
        self.result_item.setZValue(1)
        self.photo_item.setZValue(0)
        self.scene().addItem(self.photo_item)
        self.scene().addItem(self.result_item)
        self.overlay: MaskOverlayItem | None = None
        self.outline: CropOutlineItem | None = None
        self.cursor_item = BrushCursorItem()
        self.cursor_item.setVisible(False)
        self.scene().addItem(self.cursor_item)
        self.divider: SplitDivider | None = None
        self.region_item: RegionOverlayItem | None = None
        self.split_enabled = False
        self.result_visible = True
        self.comparing = False
        self.overlay_visible = True
        self.overlay_opacity = 0.5
        self._crop_transform = QTransform()
        self._space = False
        self._pan_from: QPointF | None = None
        self._stroking = False
        self.empty_text = "Open a photo or a project (Ctrl+O), or drop one here"
        self.hint = ""
        self._hint_timer = QTimer(self)
        self._hint_timer.setSingleShot(True)
        self._hint_timer.timeout.connect(lambda: self.show_hint(""))
        self.fitted = True                      # refit on resize until the user zooms or pans
        self.landmarks: np.ndarray | None = None   # crop pixels, shown and dragged with the landmarks tool
        self.landmark_mirror = False
        self._landmark_drag: tuple[int, QPointF, np.ndarray, bool] | None = None
        self.landmarks_item = LandmarksItem()
        self.landmarks_item.setZValue(5)
        self.landmarks_item.setVisible(False)
        self.scene().addItem(self.landmarks_item)

    # --- document ---------------------------------------------------------------------------------
    def set_document(self, photo_pyramid: Pyramid, layer: MaskLayer, crop_to_photo: np.ndarray) -> None:
        scene = self.scene()
        self.set_region(None)
        if self.overlay is not None:
            self.overlay.layer.remove_callback(self.overlay.refresh)     # the old layer may come back (undo)
            scene.removeItem(self.overlay)
            scene.removeItem(self.outline)
        self.layer = layer
        self.photo_item.set_pyramid(photo_pyramid)
        self.result_item.set_pyramid(None)
        self._crop_transform = crop_to_scene_transform(crop_to_photo)
        self.overlay = MaskOverlayItem(layer)
        self.overlay.setTransform(self._crop_transform)
        self.overlay.setZValue(2)
        self.overlay.setOpacity(self.overlay_opacity)
        self.overlay.setVisible(self.overlay_visible)
        scene.addItem(self.overlay)
        self.outline = CropOutlineItem(layer.shape[1])
        self.outline.setTransform(self._crop_transform)
        self.outline.setZValue(3)
        scene.addItem(self.outline)
        self.cursor_item.setTransform(self._crop_transform)
        if self.divider is not None:
            scene.removeItem(self.divider)
        self.divider = SplitDivider(photo_pyramid.height, photo_pyramid.width)
        self.divider.setPos(photo_pyramid.width / 2, 0)
        self.divider.moved.connect(self._divider_moved)
        scene.addItem(self.divider)
        self.image_rect = QRectF(0, 0, photo_pyramid.width, photo_pyramid.height)
        margin = 2.0 * max(photo_pyramid.width, photo_pyramid.height)   # room to pan past the edges
        scene.setSceneRect(self.image_rect.adjusted(-margin, -margin, margin, margin))
        self._apply_split()
        self.fit()

    def set_result(self, pyramid: Pyramid | None) -> None:
        self.result_item.set_pyramid(pyramid)
        self._apply_split()

    @property
    def has_result(self) -> bool:
        return self.result_item.pyramid is not None

    # --- layers ---------------------------------------------------------------------------------
    def set_region(self, region: np.ndarray | None) -> None:
        """Show a boolean region of the crop (bool (h, w) in mask pixels) as a translucent overlay above the
        mask; None hides it."""
        if self.region_item is not None:
            self.scene().removeItem(self.region_item)
            self.region_item = None
        if region is None or self.layer is None:
            return
        self.region_item = RegionOverlayItem(region)
        self.region_item.setTransform(self._crop_transform)
        self.region_item.setZValue(2.5)
        self.scene().addItem(self.region_item)

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_visible = visible
        if self.overlay is not None:
            self.overlay.setVisible(visible)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = float(min(max(opacity, 0.0), 1.0))
        if self.overlay is not None:
            self.overlay.setOpacity(self.overlay_opacity)

    def set_result_visible(self, visible: bool) -> None:
        self.result_visible = visible
        self._apply_split()

    def set_split(self, enabled: bool) -> None:
        self.split_enabled = enabled
        self._apply_split()

    def set_comparing(self, on: bool) -> None:
        """Hold-to-compare: show the original photo while on."""
        if on != self.comparing:
            self.comparing = on
            self._apply_split()
            self.compare_changed.emit(on)

    def split_position(self) -> float | None:
        return self.divider.pos().x() if self.divider is not None else None

    def set_split_position(self, x: float) -> None:
        if self.divider is not None:
            self.divider.setPos(x, 0)

    def _divider_moved(self, x: float) -> None:
        if self.split_enabled:
            self.result_item.set_clip(x)

    def _apply_split(self) -> None:
        show = self.result_visible and not self.comparing and self.has_result
        self.result_item.setVisible(show)
        self.result_item.set_clip(self.split_position() if self.split_enabled else None)
        if self.divider is not None:
            self.divider.setVisible(self.split_enabled and show)

    # --- zoom -----------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def _set_zoom_notify(self) -> None:
        if self.divider is not None:
            self.divider.set_view_scale(self.zoom)
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        target = min(max(self.zoom * factor, MIN_ZOOM), MAX_ZOOM)
        factor = target / self.zoom
        at = (anchor if anchor is not None else QPointF(self.viewport().rect().center())).toPoint()
        scene_point = self.mapToScene(at)
        saved = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(saved)
        delta = self.mapFromScene(scene_point) - at       # keep the point under the anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.fitted = False
        self._set_zoom_notify()

    def fit(self) -> None:
        rect = self.image_rect
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.fitted = True
        self._set_zoom_notify()

    def one_to_one(self) -> None:
        centre = self.mapToScene(self.viewport().rect().center())
        self.setTransform(QTransform())
        self.centerOn(centre)
        self.fitted = False
        self._set_zoom_notify()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitted:             # the window or a dock changed size: keep the whole picture in view
            self.fit()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta == 0:
            return
        self.zoom_by(1.0015 ** delta, event.position())
        event.accept()

    # --- geometry helpers -------------------------------------------------------------------------
    def crop_point(self, view_pos: QPointF) -> tuple[float, float]:
        """Crop pixel coordinates (centres at integers) under a viewport position."""
        scene = self.mapToScene(int(round(view_pos.x())), int(round(view_pos.y())))
        inv, _ = self._crop_transform.inverted()
        p = inv.map(scene)
        return p.x() - 0.5, p.y() - 0.5

    def view_point(self, crop_x: float, crop_y: float) -> QPointF:
        """Viewport position of a crop pixel coordinate (for tests and scripted input)."""
        scene = self._crop_transform.map(QPointF(crop_x + 0.5, crop_y + 0.5))
        return QPointF(self.mapFromScene(scene))

    # --- tools ----------------------------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        self.landmarks_item.setVisible(tool == Tool.LANDMARKS and self.landmarks is not None)
        self._update_cursor_shape()

    # --- landmarks --------------------------------------------------------------------------------
    def set_landmarks(self, points: np.ndarray | None) -> None:
        """The 68 points (crop pixels) the landmarks tool shows and drags; None: none."""
        self.landmarks = None if points is None else np.array(points, np.float64)
        self.landmarks_item.setTransform(self._crop_transform)
        self.landmarks_item.set_points(self.landmarks)
        self.landmarks_item.setVisible(self.tool == Tool.LANDMARKS and self.landmarks is not None)

    def landmark_at(self, view_pos: QPointF, radius_px: float = 10.0) -> int | None:
        """The landmark within ``radius_px`` screen pixels of a viewport position (the nearest)."""
        if self.landmarks is None:
            return None
        best, index = radius_px, None
        for i, (x, y) in enumerate(self.landmarks):
            p = self.view_point(x, y)
            d = float(np.hypot(p.x() - view_pos.x(), p.y() - view_pos.y()))
            if d <= best:
                best, index = d, i
        return index

    def _landmark_press(self, event: QMouseEvent) -> None:
        i = self.landmark_at(event.position())
        if i is not None:
            whole = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._landmark_drag = (i, event.position(), self.landmarks.copy(), whole)

    def _landmark_points(self, pos: QPointF) -> np.ndarray:
        from faceeditor.core.face_geometry import dragged_landmarks

        i, start, old, whole = self._landmark_drag
        x0, y0 = self.crop_point(start)
        x1, y1 = self.crop_point(pos)
        return dragged_landmarks(old, i, (x1 - x0, y1 - y0), part=whole, mirror=self.landmark_mirror)

    def update_brush_cursor(self) -> None:
        if self.layer is None:
            return
        label = self.layer.eraser_label if self.tool == Tool.ERASER else self.layer.label
        r, g, b = (int(c) for c in PALETTE[label])
        color = QColor(r, g, b) if label else QColor(235, 235, 235)
        self.cursor_item.set_style(self.layer.brush_size if self.tool in (Tool.BRUSH, Tool.ERASER) else 3,
                                   color)

    def _update_cursor_shape(self) -> None:
        if self._space or self._pan_from is not None:
            shape = Qt.CursorShape.ClosedHandCursor if self._pan_from is not None else Qt.CursorShape.OpenHandCursor
        elif self.tool in (Tool.FILL, Tool.PICKER):
            shape = Qt.CursorShape.PointingHandCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(QCursor(shape))
        self.update_brush_cursor()

    def _divider_under(self, pos) -> bool:
        if self.divider is None or not self.divider.isVisible():
            return False
        return self.divider in self.items(int(round(pos.x())), int(round(pos.y())))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = pos
            self._update_cursor_shape()
            event.accept()
            return
        if self._divider_under(pos):
            super().mousePressEvent(event)
            return
        if self.layer is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return
        if self.tool == Tool.LANDMARKS:
            if button == Qt.MouseButton.LeftButton:
                self._landmark_press(event)
            event.accept()
            return
        x, y = self.crop_point(pos)
        if not self.layer.contains(x, y):
            self.show_hint(OUTSIDE_CROP_HINT)
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if self.tool == Tool.PICKER or (ctrl and button == Qt.MouseButton.LeftButton):
            label = self.layer.pick(x, y)
            if label is not None:
                self.picked.emit(label)
        elif self.tool == Tool.FILL:
            self.painting.emit()
            self.layer.fill(x, y, erase=button == Qt.MouseButton.RightButton)
        else:
            erase = self.tool == Tool.ERASER or button == Qt.MouseButton.RightButton
            self.painting.emit()
            self.layer.begin_stroke(x, y, erase=erase)
            self._stroking = True
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.fitted = False
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(round(delta.x())))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(round(delta.y())))
            event.accept()
            return
        if self._landmark_drag is not None:
            self.landmarks_item.set_points(self._landmark_points(pos))
            event.accept()
            return
        if self.layer is not None:
            x, y = self.crop_point(pos)
            if self._stroking:
                self.layer.stroke_to(x, y)
            self.cursor_item.setPos(x + 0.5, y + 0.5)
            self.cursor_item.setVisible(self.tool in (Tool.BRUSH, Tool.ERASER) and not self._space)
            self.hovered.emit((x, y, self.layer.pick(x, y)))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor_shape()
            event.accept()
            return
        if self._landmark_drag is not None:
            new = self._landmark_points(event.position())
            old = self._landmark_drag[2]
            self._landmark_drag = None
            if not np.allclose(new, old):
                self.landmarks = new
                self.landmarks_dragged.emit(old, new)
            self.landmarks_item.set_points(self.landmarks)
            event.accept()
            return
        if self._stroking and self.layer is not None:
            self._stroking = False
            lock = self.layer.lock_label
            if self.layer.end_stroke() is None and lock is not None and not self.hint:
                self.show_hint(f"Nothing painted: \u201cPaint only over\u201d protects every class but "
                               f"{class_label(lock)}")
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.cursor_item.setVisible(False)
        self.hovered.emit(None)
        super().leaveEvent(event)

    def enterEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().enterEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = True
            self.cursor_item.setVisible(False)
            self._update_cursor_shape()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Backslash:
            self.set_comparing(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = False
            self._pan_from = None
            self._update_cursor_shape()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Backslash:
            self.set_comparing(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._space = False
        self.set_comparing(False)
        super().focusOutEvent(event)

    # --- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.files_dropped.emit(paths)
            event.acceptProposedAction()

    # --- hints and the empty state --------------------------------------------------------------
    def show_hint(self, text: str) -> None:
        """Show a brief hint over the canvas (and say it through `hint_shown`); "" hides it."""
        self.hint = text
        if text:
            self._hint_timer.start(HINT_MS)
            self.hint_shown.emit(text)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.layer is not None:
            if self.hint:
                self._draw_hint(painter)
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor(170, 170, 178))
        font = QFont(painter.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        area = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap), self.empty_text)
        painter.restore()

    def _draw_hint(self, painter: QPainter) -> None:
        painter.save()
        painter.resetTransform()
        area = self.viewport().rect().adjusted(16, 12, -16, 0)
        box = painter.boundingRect(area, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                                   | int(Qt.TextFlag.TextWordWrap), self.hint).adjusted(-10, -6, 10, 6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 24, 215))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(QColor(255, 206, 120))
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap), self.hint)
        painter.restore()
