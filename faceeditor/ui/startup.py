"""The `faceeditor` command: argument parsing, the Qt application and its theme, the exception guard,
the first start (recovery offer, a bundled sample), and the headless screenshot mode.

    faceeditor [IMAGE|PROJECT] [--pack DIR ...] [--provider auto|cuda|cpu]
    faceeditor --offscreen --screenshot out.png [--attr Bangs=1.2 ...] [IMAGE|PROJECT]
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from faceeditor import __version__
from faceeditor.core.errors import unexpected_message
from faceeditor.core.safe_read import file_problem
from faceeditor.core.samples import bundled_samples
from faceeditor.resources import icon_path

log = logging.getLogger(__name__)


def apply_dark_theme(app: QApplication) -> None:
    """Fusion with a dark palette: colours read truer against a neutral dark surround."""
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor(30, 30, 34), QColor(45, 45, 50), QColor(222, 222, 226)
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                         (roles.AlternateBase, window), (roles.ToolTipBase, QColor(20, 20, 24)),
                         (roles.ToolTipText, text), (roles.Text, text), (roles.Button, window),
                         (roles.ButtonText, text), (roles.BrightText, QColor(255, 90, 90)),
                         (roles.Highlight, QColor(64, 132, 214)), (roles.HighlightedText, QColor(255, 255, 255)),
                         (roles.Link, QColor(110, 170, 240)), (roles.Mid, QColor(140, 140, 150)),
                         (roles.PlaceholderText, QColor(130, 130, 138))):
        p.setColor(role, colour)
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 118))
    app.setPalette(p)


class ExceptionGuard(QObject):
    """Installed as sys.excepthook while the window runs: an unexpected error in a slot is logged and
    shown in the status bar instead of taking the window down."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.previous = sys.excepthook

    def __call__(self, etype, value, tb) -> None:
        log.error("unexpected error:\n%s%s", "".join(traceback.format_exception(etype, value, tb)),
                  unexpected_message("faceeditor", value))
        try:
            self.window.ws.flash(f"Unexpected error: {etype.__name__}: {value}", error=True)
        except Exception:  # the window itself may be half gone
            pass


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="faceeditor", description="FaceEditor: edit faces with GANs.")
    # (answered by faceeditor.app before Qt is imported; listed here for --help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("path", nargs="?", help="a photo or a .fep project to open")
    parser.add_argument("--pack", action="append", default=[], metavar="DIR",
                        help="also load model packs from DIR (a pack folder or a folder of packs)")
    parser.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="ONNX Runtime execution provider (default auto: CUDA when available)")
    parser.add_argument("--sample", action="store_true", help="open a bundled sample picture")
    parser.add_argument("--offscreen", action="store_true", help="run without a display (Qt offscreen platform)")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    parser.add_argument("--size", default="1440x900", metavar="WxH", help="window size (default 1440x900)")
    parser.add_argument("--attr", action="append", default=[], metavar="NAME=VALUE",
                        help="set an attribute slider after opening (for screenshots)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for work before a screenshot")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log debug messages (with the traceback of every handled error)")
    parser.add_argument("--engine", choices=("onnx", "fake"), default="onnx", help=argparse.SUPPRESS)
    return parser.parse_args(list(argv))


def _attr_values(items: list[str]) -> dict[str, float] | None:
    attrs = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            attrs[name] = float(value)
            if not math.isfinite(attrs[name]):
                raise ValueError
        except ValueError:
            print(f"faceeditor: --attr must look like Bangs=1.0, got {item!r}", file=sys.stderr)
            return None
    return attrs


def run(argv: Sequence[str]) -> int:
    from faceeditor.ui.main_window import MainWindow

    args = parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"faceeditor: --size must look like 1440x900, got {args.size!r}", file=sys.stderr)
        return 2
    attrs = _attr_values(args.attr)
    if attrs is None:
        return 2
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    headless = bool(args.screenshot)
    if headless and args.path is not None:
        # a file that cannot be opened is one line and exit 2, before any window (and never a screenshot)
        reason = file_problem(args.path)
        if reason:
            print(f"faceeditor: cannot open {args.path!r}: {reason}", file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "faceeditor"])
    app.setApplicationName("FaceEditor")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("faceeditor")       # matches packaging/faceeditor.desktop (taskbar icon)
    icon = QIcon(str(icon_path("png")))
    icon.addFile(str(icon_path("svg")))
    app.setWindowIcon(icon)
    apply_dark_theme(app)
    engine = None
    if args.engine == "fake":
        from faceeditor.engine.fake import FakeEngine

        engine = FakeEngine(resolution=256)
    window = MainWindow(engine, pack_dirs=args.pack, provider=args.provider, interactive=not headless)
    if headless:
        window.first_run.hide_for_now()          # screenshots show the picture, not the first-run card
    guard = ExceptionGuard(window)
    sys.excepthook = guard
    try:
        window.resize(w, h)
        window.show()
        path = args.path
        if path is None and (args.sample or (not headless and not window.ws.prefs.recent_files())):
            samples = bundled_samples()         # the first start (or --sample) shows a sample picture
            path = str(samples[0]) if samples else None
        if not headless:
            def startup():
                if window.documents.offer_recovery():
                    if args.path:
                        window.ws.flash(f"Recovered unsaved work; {args.path} was not opened", error=True)
                elif path:
                    window.documents.open_file(path)

            QTimer.singleShot(0, startup)
            return app.exec()
        if path:
            window.documents.open_file(path)
        return _screenshot(app, window, Path(args.screenshot), attrs, args.timeout, bool(path))
    finally:
        sys.excepthook = guard.previous


def _screenshot(app: QApplication, window, out: Path, attrs: dict[str, float], timeout: float,
                opened: bool) -> int:
    code = 0
    workers = window.ws.workers
    if not workers.wait_idle(timeout):
        print("faceeditor: gave up waiting for work to finish before the screenshot", file=sys.stderr)
        code = 1
    if opened and window.doc is None:
        # the file was refused (its reason is the window's last error): no screenshot of an empty window
        print(f"faceeditor: {window.errors[-1] if window.errors else 'could not open the file'}", file=sys.stderr)
        window.close()
        return 2
    sliders = window.attributes.sliders
    unknown = [n for n in attrs if n not in sliders]
    if unknown and sliders:
        print(f"faceeditor: no attribute slider named {', '.join(unknown)}", file=sys.stderr)
    for name, value in attrs.items():
        if name in sliders:
            window.attributes.set_value(name, value)
    workers.wait_idle(timeout)
    window.canvas.fit()
    for _ in range(3):
        app.processEvents()
    try:
        image = window.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise OSError("Qt could not write the PNG")
    except OSError as exc:
        print(f"faceeditor: cannot write the screenshot {out}: {exc}", file=sys.stderr)
        code = 2
    else:
        print(f"screenshot written to {out}")
    window.close()
    return code
