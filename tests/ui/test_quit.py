"""The app quits cleanly after a session of parse, edits and syntheses, 20 times in a row.

Each run is tests/ui/quit_driver.py in its own interpreter (a child of this one), offscreen, on the fake
engine. The fault it guards against: PySide6's SignalInstance.emit()/disconnect() dropping a reference to
True on every call from Python, which aborted the app at quit ("Fatal Python error: bool_dealloc", exit
134) once a session had emitted enough signals; faceeditor/ui/qt_fixes.py repairs it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("quit_driver.py")
RUNS = 20


def test_repair_is_in_place_before_any_view():
    from PySide6.QtCore import QObject, Signal

    import faceeditor.ui  # noqa: F401 - installs the repair

    class Probe(QObject):
        ping = Signal(bool)

    probe = Probe()
    before = sys.getrefcount(True)
    for _ in range(1000):
        probe.ping.emit(True)
    assert sys.getrefcount(True) - before >= 0, "SignalInstance.emit() takes references away from True"


@pytest.mark.slow   # 20 app starts: about 45 s of CPU, 55-70 s on a busy two-core machine
def test_quit_after_parse_edit_and_synthesis_20_times(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    for run in range(1, RUNS + 1):
        proc = subprocess.run([sys.executable, str(DRIVER)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        stderr = proc.stderr
        assert "Fatal Python error" not in stderr, f"run {run} of {RUNS} aborted:\n{stderr[-3000:]}"
        assert proc.returncode == 0, f"run {run} of {RUNS} exited with {proc.returncode}:\n{stderr[-3000:]}"
