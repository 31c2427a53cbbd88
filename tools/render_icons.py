"""Render the application icon's PNG sizes from its SVG (one-off; the outputs are committed).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python tools/render_icons.py

Writes faceeditor/resources/icons/faceeditor.png (256 px, the window icon where SVG is not read) and
packaging/linux/icons/hicolor/SIZExSIZE/apps/faceeditor.png for the desktop's icon theme.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from faceeditor.resources import icon_path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
THEME = ROOT / "packaging" / "linux" / "icons" / "hicolor"


def render(svg: Path, size: int, out: Path) -> None:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise OSError(f"cannot write {out}")


def main() -> None:
    _app = QGuiApplication([])
    svg = icon_path("svg")
    for size in SIZES:
        render(svg, size, THEME / f"{size}x{size}" / "apps" / "faceeditor.png")
    scalable = THEME / "scalable" / "apps" / "faceeditor.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    render(svg, 256, icon_path("png"))
    print(f"wrote {len(SIZES)} sizes under {THEME} and {icon_path('png')}")


if __name__ == "__main__":
    main()
