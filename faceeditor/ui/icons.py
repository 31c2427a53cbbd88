"""Toolbar icons drawn with QPainter (no image files to ship, crisp at any device pixel ratio)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from faceeditor.core.palette import PALETTE

FG = QColor(222, 222, 226)
ACCENT = QColor(96, 160, 235)
SIZE = 48   # drawn at 2x, shown at 24 px


def _icon(draw: Callable[[QPainter], None]) -> QIcon:
    pix = QPixmap(SIZE, SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(SIZE / 24.0, SIZE / 24.0)
    draw(p)
    p.end()
    return QIcon(pix)


def _pen(color: QColor = FG, width: float = 1.6) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def brush() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen())
        p.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath(QPointF(4, 19))
        path.cubicTo(QPointF(8, 10), QPointF(13, 20), QPointF(19, 6))
        p.setPen(_pen(ACCENT, 3.2))
        p.drawPath(path)
        p.setPen(_pen(FG, 1.2))
        p.drawEllipse(QPointF(19, 6), 2.6, 2.6)
    return _icon(draw)


def eraser() -> QIcon:
    def draw(p: QPainter) -> None:
        p.translate(12, 12)
        p.rotate(-35)
        p.setPen(_pen())
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(-8, -4.5, 16, 9), 1.5, 1.5)
        p.setBrush(QBrush(ACCENT))
        p.drawRoundedRect(QRectF(-8, -4.5, 6.5, 9), 1.5, 1.5)
    return _icon(draw)


def fill() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen())
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.translate(10, 12)
        p.rotate(-30)
        p.drawRoundedRect(QRectF(-6, -6, 12, 12), 2, 2)
        p.resetTransform()
        p.scale(SIZE / 24.0, SIZE / 24.0)
        drop = QPainterPath(QPointF(19, 11))
        drop.cubicTo(QPointF(22, 16), QPointF(22, 19.5), QPointF(19, 19.5))
        drop.cubicTo(QPointF(16, 19.5), QPointF(16, 16), QPointF(19, 11))
        p.setBrush(QBrush(ACCENT))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawPath(drop)
    return _icon(draw)


def picker() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen(FG, 1.6))
        p.drawLine(QPointF(5, 19), QPointF(15, 9))
        p.setPen(_pen(FG, 3.4))
        p.drawLine(QPointF(15, 9), QPointF(18, 6))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(ACCENT))
        p.drawEllipse(QPointF(5, 19), 2.2, 2.2)
    return _icon(draw)


def landmarks() -> QIcon:
    """Dots on a face's outline, eyes and mouth; the dragged one in the accent colour."""
    import math

    def draw(p: QPainter) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(FG))
        for k in range(7):                                     # the jaw, a half ellipse
            a = math.pi * k / 6
            p.drawEllipse(QPointF(12 - 8 * math.cos(a), 9 + 11 * math.sin(a) * 0.9), 1.3, 1.3)
        for x in (8.5, 15.5):
            p.drawEllipse(QPointF(x, 9.5), 1.4, 1.4)
        for x in (9.5, 14.5):
            p.drawEllipse(QPointF(x, 15.5), 1.2, 1.2)
        p.setBrush(QBrush(ACCENT))
        p.drawEllipse(QPointF(12, 17.5), 2.4, 2.4)
    return _icon(draw)


def mirror() -> QIcon:
    def draw(p: QPainter) -> None:
        dash = _pen(FG, 1.2)
        dash.setStyle(Qt.PenStyle.DashLine)
        p.setPen(dash)
        p.drawLine(QPointF(12, 3), QPointF(12, 21))
        p.setPen(_pen())
        left = QPainterPath(QPointF(10, 6))
        left.lineTo(3, 18)
        left.lineTo(10, 18)
        left.closeSubpath()
        right = QPainterPath(QPointF(14, 6))
        right.lineTo(21, 18)
        right.lineTo(14, 18)
        right.closeSubpath()
        p.setBrush(QBrush(ACCENT))
        p.drawPath(left)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(right)
    return _icon(draw)


def parse() -> QIcon:
    """A face split into coloured parts: the parser's mask."""
    def draw(p: QPainter) -> None:
        colours = [PALETTE[17], PALETTE[1], PALETTE[4], PALETTE[10], PALETTE[12]]
        q = [QColor(int(c[0]), int(c[1]), int(c[2])) for c in colours]
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(q[0])
        p.drawEllipse(QRectF(4, 2, 16, 14))
        p.setBrush(q[1])
        p.drawEllipse(QRectF(6, 6, 12, 15))
        p.setBrush(q[2])
        p.drawEllipse(QRectF(8, 11, 2.6, 2))
        p.drawEllipse(QRectF(13.4, 11, 2.6, 2))
        p.setBrush(q[3])
        p.drawRect(QRectF(11.3, 12.5, 1.4, 3.5))
        p.setBrush(q[4])
        p.drawRoundedRect(QRectF(9.5, 17, 5, 1.6), 0.8, 0.8)
    return _icon(draw)


def fit() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen())
        for x, y, dx, dy in ((4, 4, 1, 1), (20, 4, -1, 1), (4, 20, 1, -1), (20, 20, -1, -1)):
            p.drawLine(QPointF(x, y), QPointF(x + 5 * dx, y))
            p.drawLine(QPointF(x, y), QPointF(x, y + 5 * dy))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(ACCENT))
        p.drawRect(QRectF(8, 8, 8, 8))
    return _icon(draw)


def actual_size() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen())
        font = p.font()
        font.setPixelSize(10)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(0, 0, 24, 24), Qt.AlignmentFlag.AlignCenter, "1:1")
    return _icon(draw)


def split() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(150, 150, 158)))
        p.drawRect(QRectF(3, 5, 9, 14))
        p.setBrush(QBrush(ACCENT))
        p.drawRect(QRectF(12, 5, 9, 14))
        p.setPen(_pen(FG, 1.6))
        p.drawLine(QPointF(12, 3), QPointF(12, 21))
    return _icon(draw)


def compare() -> QIcon:
    def draw(p: QPainter) -> None:
        p.setPen(_pen())
        eye = QPainterPath(QPointF(3, 12))
        eye.quadTo(QPointF(12, 3), QPointF(21, 12))
        eye.quadTo(QPointF(12, 21), QPointF(3, 12))
        p.drawPath(eye)
        p.setBrush(QBrush(ACCENT))
        p.drawEllipse(QPointF(12, 12), 3.2, 3.2)
    return _icon(draw)
