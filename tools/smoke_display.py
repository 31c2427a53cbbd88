"""Real-display smoke test: the real app (ONNX engine, bundled demo pack) under Xvfb, driven with xdotool.

    python tools/smoke_display.py [--cycles 5] [--keep DIR]

Offscreen tests cannot see a missing system library of Qt's xcb plugin or an abort at exit; this can. Each
cycle starts `python -m faceeditor --sample` on an X server (a private Xvfb, started here), then
with the mouse and keyboard only:

 1. waits for the window with the bundled sample open;
 2. opens a photo (scikit-image's astronaut, her face cut out as a PNG) through File > Open's dialog (Ctrl+O);
 3. paints a stroke of class 9 ("ear r") over the face in the canvas;
 4. drags the first attribute slider (Bald) to the right;
 5. raises the Synthesis tab and presses Generate;
 6. saves through Save As's dialog (Ctrl+Shift+S) to a path typed into it;
 7. takes a screenshot of the X screen (Pillow's ImageGrab, i.e. XGetImage on the root window);
 8. quits with Ctrl+Q.

A cycle fails on: a window or title that does not come, an exit code other than 0 (an abort is -6), a
traceback, "Fatal Python error" or a failed job in the app's output, a blank screenshot, or a saved project
that does not load or lacks the stroke, the slider value or the synthesis. The five cycles share one set of
private XDG folders, as five starts by one user would (the second start restores the window layout).

Needs: Xvfb, xdotool, the libraries of Qt's xcb plugin (.ci/run installs them all) and
the dev environment (scikit-image, Pillow). The mouse positions are offsets from the window's corners at
the default layout (POSITIONS below): when the layout changes, a step that lands nowhere fails by name;
`--measure-positions` prints today's positions, measured from the widgets.
Exit status 0 when every cycle passed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1600, 1000)
WINDOW = (1440, 900)
PAINT_DIGIT = "9"                        # "ear r" (earrings): the parser finds 4 pixels of it on the astronaut
# Where the mouse goes, in pixels from the window's top-left corner (negative x: from its right edge) at the
# default 1440x900 layout: the canvas is the central widget, the Attributes and Synthesis docks are tabbed
# on the right.
POSITIONS = {
    "stroke": [(-10, -40), (20, -20), (50, 0), (80, 20), (110, 40)],   # relative to the canvas centre
    "canvas_centre": (657, 321),           # the timeline dock now sits under the canvas and the side panels
    "attributes_tab": (-399, 572),
    "first_slider": (-216, 125),           # the Bald slider's handle at 0
    "synthesis_tab": (-316, 572),
    "generate": (-221, 367),
}
BAD_OUTPUT = re.compile(r"Traceback \(most recent call last\)|Fatal Python error|job failed|unexpected error|"
                        r"Segmentation fault|core dumped|Could not load the Qt platform plugin")
STEP_TIMEOUT = 30.0
# --inject-fault: check the checker. Each fault is code run before the app's own main, in the app's process.
FAULTS = {
    # an error in a slot: the app's exception guard logs its traceback and goes on (exit 0)
    "traceback": """
from faceeditor.ui.controllers import documents as m
_saved = m.DocumentController._saved
def _faulty(self, *a):
    _saved(self, *a)
    raise RuntimeError('injected fault after saving')
m.DocumentController._saved = _faulty
""",
    # an abort at exit, like the PySide6 6.12.0 one (exit -6, "Fatal Python error: Aborted")
    "abort": "import atexit, os; atexit.register(os.abort)",
    # the screen goes black once the project is saved (a top-level black widget over everything)
    "blank": """
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from faceeditor.ui.controllers import documents as m
_saved = m.DocumentController._saved
def _black(self, *a):
    _saved(self, *a)
    self._black = w = QWidget(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
    w.setStyleSheet('background: black')
    w.setGeometry(QGuiApplication.primaryScreen().geometry())
    w.show()
m.DocumentController._saved = _black
""",
}


class SmokeFailure(Exception):
    pass


def log(msg: str) -> None:
    print(f"[smoke {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


T0 = time.monotonic()


def xdo(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=STEP_TIMEOUT)
    if check and proc.returncode != 0:
        raise SmokeFailure(f"xdotool {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


class App:
    """One run of the real app, with its output in a log file."""

    def __init__(self, env: dict[str, str], logfile: Path, fault: str | None = None):
        self.logfile = logfile
        self.out = logfile.open("w")
        cmd = [sys.executable, "-m", "faceeditor", "--sample", "--size", "{}x{}".format(*WINDOW)]
        if fault:
            cmd[1:3] = ["-c", FAULTS[fault] + "\nimport runpy; runpy.run_module('faceeditor', run_name='__main__')"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.out, stderr=subprocess.STDOUT)
        self.win = ""

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise SmokeFailure(f"the app exited early with code {self.proc.returncode}")

    def wait_for(self, what: str, probe, timeout: float = STEP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            value = probe()
            if value:
                return value
            time.sleep(0.1)
        raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")

    def window(self, name_regex: str) -> str:
        ids = xdo("search", "--onlyvisible", "--name", name_regex, check=False).split()
        return ids[-1] if ids else ""

    def title(self) -> str:
        return xdo("getwindowname", self.win, check=False)

    def wait_title(self, regex: str, timeout: float = STEP_TIMEOUT) -> str:
        return self.wait_for(f"the window title to match {regex!r} (it is {self.title()!r})",
                             lambda: re.search(regex, self.title()) and self.title(), timeout)

    def geometry(self) -> tuple[int, int, int, int]:
        shell = dict(line.split("=", 1) for line in xdo("getwindowgeometry", "--shell", self.win).splitlines())
        return int(shell["X"]), int(shell["Y"]), int(shell["WIDTH"]), int(shell["HEIGHT"])

    def at(self, name: str) -> tuple[int, int]:
        x, y, w, h = self.geometry()
        dx, dy = POSITIONS[name]
        return x + (dx if dx >= 0 else w + dx), y + (dy if dy >= 0 else h + dy)

    def click(self, name: str) -> None:
        x, y = self.at(name)
        xdo("mousemove", "--sync", str(x), str(y), "click", "1")
        time.sleep(0.2)

    def focus(self, win: str) -> None:
        xdo("windowfocus", "--sync", win, check=False)   # no window manager: set the X input focus ourselves
        time.sleep(0.1)

    def dialog(self, title: str, keys: str, path: Path) -> None:
        """Open a file dialog with `keys`, type `path` into its file name field and accept it."""
        self.focus(self.win)
        xdo("key", keys)
        dlg = self.wait_for(f"the {title!r} dialog", lambda: self.window(f"^{re.escape(title)}$"))
        self.focus(dlg)
        xdo("key", "ctrl+a")
        xdo("type", "--delay", "2", str(path))
        xdo("key", "Return")
        self.wait_for(f"the {title!r} dialog to close", lambda: not self.window(f"^{re.escape(title)}$"))

    def quit(self, timeout: float = STEP_TIMEOUT) -> int:
        self.focus(self.win)
        xdo("key", "ctrl+q")
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            names = [xdo("getwindowname", w, check=False)
                     for w in xdo("search", "--onlyvisible", "--name", ".", check=False).split()]
            self.proc.kill()
            self.proc.wait()
            raise SmokeFailure(f"the app did not quit within {timeout:.0f} s of Ctrl+Q (windows open: {names})") from None
        finally:
            self.out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def screenshot(out: Path, box: tuple[int, int, int, int]) -> None:
    """Grab the X screen and fail when the window's part of it is blank (one flat colour, or nearly)."""
    import numpy as np
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=os.environ["DISPLAY"])
    image.save(out)
    x, y, w, h = box
    pixels = np.asarray(image.convert("RGB"))[y:y + h, x:x + w].reshape(-1, 3)
    spread = float(pixels.std(axis=0).max()) if pixels.size else 0.0
    colours = len(np.unique(pixels[:: max(1, len(pixels) // 50_000)], axis=0)) if pixels.size else 0
    log(f"screenshot {out.name}: {image.size[0]}x{image.size[1]}, window std {spread:.1f}, {colours} colours")
    if spread < 8.0 or colours < 64:
        raise SmokeFailure(f"the screenshot {out} is blank (std {spread:.1f}, {colours} colours in the window)")


def check_project(path: Path, photo: Path) -> None:
    import numpy as np

    from faceeditor.core.project import load_project

    if not path.is_file():
        raise SmokeFailure(f"the project {path} was not saved")
    project = load_project(path)               # raises ProjectError when it does not read back
    problems = []
    if project.source != photo.name:
        problems.append(f"its source is {project.source!r}, not {photo.name!r} (did Open fail?)")
    painted = int((np.asarray(project.mask) == int(PAINT_DIGIT)).sum()) if project.mask is not None else 0
    if painted < 200:
        problems.append(f"the mask has {painted} pixels of class {PAINT_DIGIT} (did the stroke land?)")
    attrs = project.edits.get("attributes") or {}
    if not any(abs(float(v)) > 0.05 for v in attrs.values()):
        problems.append(f"no attribute is set ({attrs}; did the slider drag land?)")
    if project.edits.get("result") != "synthesis":
        problems.append(f"the shown result is {project.edits.get('result')!r} (did Generate get the click?)")
    if problems:
        raise SmokeFailure(f"the saved project {path.name}: " + "; ".join(problems))
    log(f"{path.name} loads: source {project.source}, {painted} px painted, attributes {attrs}")


def cycle(n: int, work: Path, env: dict[str, str], photo: Path, fault: str | None = None) -> None:
    from faceeditor.core.samples import bundled_samples

    sample = bundled_samples()[0].name           # what --sample opens
    app = App(env, work / f"app{n}.log", fault)
    try:
        app.win = app.wait_for("the FaceEditor window", lambda: app.window(r"— FaceEditor$"), 60)
        app.wait_title(rf"^{re.escape(sample)} — ")
        if app.geometry()[2:] != WINDOW:
            raise SmokeFailure(f"the window is {app.geometry()[2:]}, not {WINDOW}: POSITIONS assume {WINDOW}")
        log(f"cycle {n}: window {app.win} {app.geometry()} shows {app.title()!r}")
        app.dialog("Open a photo or a project", "ctrl+o", photo)
        app.wait_title(rf"^{re.escape(photo.name)} — ")
        time.sleep(1.5)                         # the face parser runs on open; paint after its mask arrived
        app.focus(app.win)
        xdo("key", PAINT_DIGIT)
        cx, cy = app.at("canvas_centre")
        xdo("mousemove", "--sync", str(cx - 40), str(cy - 60), "mousedown", "1")
        for dx, dy in POSITIONS["stroke"]:
            xdo("mousemove", "--sync", str(cx + dx), str(cy + dy))
            time.sleep(0.03)
        xdo("mouseup", "1")
        app.wait_title("•", 10)
        log(f"cycle {n}: painted; title {app.title()!r}")
        app.click("attributes_tab")
        sx, sy = app.at("first_slider")
        xdo("mousemove", "--sync", str(sx), str(sy), "mousedown", "1")
        for step in range(1, 6):
            xdo("mousemove", "--sync", str(sx + 6 * step), str(sy))
            time.sleep(0.03)
        xdo("mouseup", "1")
        time.sleep(0.3)
        app.click("synthesis_tab")
        app.click("generate")
        time.sleep(1.0)
        saved = work / f"smoke{n}.fep"
        app.dialog("Save project", "ctrl+shift+s", saved)
        app.wait_title(rf"^{re.escape(saved.name)} — ")   # no modified mark: the save finished
        log(f"cycle {n}: saved; title {app.title()!r}")
        screenshot(work / f"screen{n}.png", app.geometry())
        code = app.quit()
    except BaseException:
        try:
            from PIL import ImageGrab
            ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).save(work / f"failed{n}.png")
        except Exception:
            pass
        app.kill()
        raise
    output = app.logfile.read_text(errors="replace")
    bad = [line for line in output.splitlines() if BAD_OUTPUT.search(line)]
    if code != 0:
        raise SmokeFailure(f"the app exited with code {code}\n--- its output:\n{output}")
    if bad:
        raise SmokeFailure(f"the app's output has {bad[0]!r}\n--- its output:\n{output}")
    check_project(saved, photo)
    log(f"cycle {n}: passed (exit 0, clean output)")


def start_xvfb(logfile: Path) -> subprocess.Popen:
    """A private X server on a display number it picks itself (-displayfd: no race with other servers, and
    no xauth: a server without -auth takes local clients), never the user's own display."""
    import select

    read_end, write_end = os.pipe()
    with logfile.open("w") as log_out:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                                 "-nolisten", "tcp", "-noreset"], pass_fds=(write_end,),
                                stdout=log_out, stderr=subprocess.STDOUT)
    os.close(write_end)
    number = b""
    deadline = time.monotonic() + STEP_TIMEOUT
    while not number.endswith(b"\n") and time.monotonic() < deadline and proc.poll() is None:
        if select.select([read_end], [], [], 0.5)[0]:
            chunk = os.read(read_end, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_end)
    if not number.strip().isdigit():
        proc.kill()
        raise SmokeFailure(f"Xvfb did not start (see {logfile}): {logfile.read_text(errors='replace')[-500:]}")
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    os.environ.pop("XAUTHORITY", None)
    return proc


def measure_positions() -> dict[str, tuple[int, int]]:
    """Where POSITIONS' targets are in the real window at its default 1440 x 900 (measured offscreen from
    the widgets themselves): run `--measure-positions` after a layout change and paste the table."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = Path(tempfile.mkdtemp(prefix="faceeditor-positions-"))
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionSlider, QTabBar

    from faceeditor.core.samples import bundled_samples
    from faceeditor.ui.main_window import MainWindow
    from faceeditor.ui.startup import apply_dark_theme

    app = QApplication.instance() or QApplication(["faceeditor"])
    apply_dark_theme(app)
    w = MainWindow(interactive=False)
    w.resize(1440, 900)
    w.show()
    w.documents.open_file(bundled_samples()[0])
    w.workers.wait_idle(120)
    for _ in range(5):
        app.processEvents()

    def from_right(widget, point) -> tuple[int, int]:
        p = widget.mapTo(w, point)
        return p.x() - w.width(), p.y()

    slider = w.attributes.sliders["Bald"].slider
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    first_slider = from_right(slider, handle.center())      # measured while the attributes are shown
    tabs = {tb.tabText(i): from_right(tb, tb.tabRect(i).center())
            for tb in w.findChildren(QTabBar) for i in range(tb.count())}
    w.synth_dock.raise_()
    for _ in range(5):
        app.processEvents()
    centre = w.canvas.mapTo(w, w.canvas.rect().center())
    found = {"canvas_centre": (centre.x(), centre.y()), "attributes_tab": tabs["Attributes"],
             "first_slider": first_slider, "synthesis_tab": tabs["Synthesis"],
             "generate": from_right(w.synthesis.generate, w.synthesis.generate.rect().center())}
    w.close()
    shutil.rmtree(home, ignore_errors=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-positions", action="store_true",
                        help="print where the clicked widgets are in today's layout (for POSITIONS) and exit")
    parser.add_argument("--cycles", type=int, default=5, help="app start-to-quit cycles (default 5)")
    parser.add_argument("--keep", type=Path, help="keep logs, screenshots and projects in this folder")
    parser.add_argument("--inject-fault", choices=sorted(FAULTS),
                        help="check the checker: put this fault into the app (the run must then fail)")
    args = parser.parse_args(argv)
    if args.measure_positions:
        for name, where in measure_positions().items():
            print(f"    {name!r}: {where},")
        return 0

    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        print(f"smoke: FAILED: {', '.join(missing)} not installed (Debian: apt-get install xvfb xdotool)",
              file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="faceeditor-smoke-")) if args.keep is None else args.keep.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        xvfb = start_xvfb(work / "xvfb.log")
    except SmokeFailure as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    try:
        return run_cycles(args, work)
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def run_cycles(args: argparse.Namespace, work: Path) -> int:
    home = work / "home"
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYTHONFAULTHANDLER="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_RUNTIME_DIR", "runtime")):
        (home / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        env[var] = str(home / sub)
    env.pop("QT_QPA_PLATFORMTHEME", None)

    from PIL import Image
    from skimage import data

    photo = work / "astronaut.png"
    Image.fromarray(data.astronaut()[0:256, 100:356]).save(photo)   # her face, filling the picture
    log(f"display {os.environ.get('DISPLAY')}, work folder {work}, python {sys.executable}")
    started = time.monotonic()
    n = 0
    try:
        for n in range(1, args.cycles + 1):
            cycle(n, work, env, photo, args.inject_fault)
    except SmokeFailure as exc:
        log(f"FAILED in cycle {n} of {args.cycles}: {exc}")
        log(f"logs, screenshots and projects are in {work}")
        return 1
    log(f"PASSED: {args.cycles} cycles in {time.monotonic() - started:.1f} s")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
