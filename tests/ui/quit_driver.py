"""Drive one app session on the fake engine and quit; exit code 0 when the whole run, quit included, is fine.

    python tests/ui/quit_driver.py [--rounds N]

Builds the window as `faceeditor --engine fake` does, opens a bundled sample (which parses it; dlib's
face detection is skipped unless --detect-faces, and the sample is then edited whole as Face > Whole image
asks, the samples being framed to be edited whole anyway), runs the
parser again, moves attribute sliders and asks for syntheses for `--rounds` rounds, waits for the workers,
closes the window so that app.exec() ends, and lets the interpreter shut down normally (no os._exit): an
abort at shutdown shows as exit status 134 and "Fatal Python error" on stderr. tests/ui/test_quit.py runs
this 20 times.

Every round makes the app emit its signals from Python (slider moves, channel busy/finished, relays from
the worker threads) and call Qt's void setters: the paths on which PySide6 6.12.0 (Python < 3.12) took a
reference away from True and None per call. With that binding the default 900 rounds make the
interpreter deallocate True or None (it aborts every time); this script also fails (exit 1) whenever
True's or None's count falls by more than the rounds explain.

Only this file knows how to drive the window; keep it in step with MainWindow's public surface.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the checkout's faceeditor wins


def fail(message: str) -> int:
    print(f"quit_driver: {message}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=900, help="edit + synthesis rounds (default 900)")
    parser.add_argument("--detect-faces", action="store_true",
                        help="run dlib's face detection on the sample (off: ~2 s per run, and the samples open whole)")
    parser.add_argument("--trace", action="store_true", help="print sys.getrefcount(True) along the way")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="quit_driver_") as home:
        return session(args, Path(home))


def session(args: argparse.Namespace, home: Path) -> int:
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):   # no user prefs, autosaves, packs
        os.environ[var] = str(home / var.lower())

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from faceeditor.core import face_detect
    from faceeditor.core.preferences import Preferences
    from faceeditor.core.samples import bundled_samples
    from faceeditor.engine.fake import FakeEngine
    from faceeditor.ui.main_window import MainWindow
    from faceeditor.ui.startup import apply_dark_theme

    def trace(where: str) -> None:
        if args.trace:
            print(f"{time.perf_counter() - T0:6.2f} s  refcount(True) {where}: {sys.getrefcount(True)}",
                  file=sys.stderr, flush=True)

    if not args.detect_faces:   # loading dlib's models is most of a run; the bundled samples open whole
        face_detect.detect_faces = lambda photo, **kw: []
    app = QApplication.instance() or QApplication(["faceeditor"])
    apply_dark_theme(app)
    trace("start")
    window = MainWindow(FakeEngine(resolution=64), interactive=False, autosave_dir=home / "autosave",
                        preferences=Preferences(home / "prefs.json"))
    trace("window built")
    window.resize(1100, 750)
    window.show()
    samples = bundled_samples()
    if not samples:
        return fail("no bundled sample picture")
    window.documents.open_file(samples[0])
    if not window.workers.wait_idle(30) or window.doc is None:
        return fail(f"the sample did not open: {window.errors}")
    trace("opened")
    if not args.detect_faces:   # no face looked for: edit the sample whole, as Face > Whole image asks
        window.crop_actions["whole"].trigger()
    window.parse.run()
    if not window.workers.wait_idle(30):
        return fail("parse did not finish")
    trace("opened and parsed")
    opened = sys.getrefcount(True), sys.getrefcount(None)
    names = list(window.attributes.sliders)
    if not names or window.ws.model("synthesize") is None:
        return fail("the fake engine has no attribute editor or no synthesis model")
    for i in range(args.rounds):
        window.attributes.set_value(names[i % len(names)], 0.5 if i % 2 else -0.5)
        window.synthesis_ctl.run()
        if i % 10 == 9:         # let results arrive now and then (every round: repaints are most of the time)
            app.processEvents()
    if not window.workers.wait_idle(60):
        return fail("the workers did not finish")
    delivered = {name: window.workers.channels[name].delivered for name in ("parse", "edit", "synthesize")}
    if not all(delivered.values()) or window.errors:
        return fail(f"parse, edit and synthesis did not all deliver: {delivered}, errors {window.errors}")
    trace(f"after {args.rounds} rounds, results delivered {delivered}")
    fell = max(opened[0] - sys.getrefcount(True), opened[1] - sys.getrefcount(None))
    # quit as the app does: closing the last window ends app.exec(), then the interpreter shuts down
    QTimer.singleShot(0, window.close)
    QTimer.singleShot(30_000, lambda: app.exit(3))
    code = app.exec()
    trace("quit")
    if code:
        return fail(f"the event loop did not end by closing the window (exit code {code})")
    if fell > max(50, args.rounds // 4):     # each round emits several signals from Python
        return fail(f"True's or None's reference count fell by {fell} over {args.rounds} rounds: something "
                    "releases a reference it does not own (see tests/ui/test_quit.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
