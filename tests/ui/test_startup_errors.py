"""How the app reports errors: a refused file is one log line (its traceback only in the debug log), an
unexpected error keeps its traceback; the screenshot mode fails cleanly on a file it cannot open; a named
pipe in the user's models folder does not stop the app from starting."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceeditor.core.project import ProjectError
from tests.helpers.ui import open_and_wait

ROOT = Path(__file__).resolve().parents[2]


def app(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    try:
        return subprocess.run([sys.executable, "-m", "faceeditor", "--offscreen", *args], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"faceeditor {' '.join(args)} did not finish")


def test_screenshot_of_a_missing_file_fails_cleanly(tmp_path):
    out, missing = tmp_path / "shot.png", tmp_path / "missing.png"
    proc = app(tmp_path, "--engine", "fake", "--screenshot", str(out), str(missing))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"faceeditor: cannot open {str(missing)!r}: no such file"
    assert "screenshot written" not in proc.stdout
    assert not out.exists()


def test_screenshot_of_an_unreadable_file_fails_cleanly(tmp_path):
    out, bad = tmp_path / "shot.png", tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    proc = app(tmp_path, "--engine", "fake", "--screenshot", str(out), str(bad))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("faceeditor: Cannot open bad.png: cannot load image")
    assert "screenshot written" not in proc.stdout
    assert not out.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_the_app_starts_with_a_named_pipe_manifest_in_the_user_models_folder(tmp_path):
    pack = tmp_path / "d" / "faceeditor" / "models" / "piped"
    pack.mkdir(parents=True)
    os.mkfifo(pack / "manifest.json")
    out = tmp_path / "shot.png"
    proc = app(tmp_path, "--size", "640x480", "--screenshot", str(out), timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file() and "Traceback" not in proc.stderr


def test_a_refused_project_is_one_warning_line(window, qtbot, tmp_path, caplog):
    bad = tmp_path / "broken.fep"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with caplog.at_level(logging.INFO, logger="faceeditor"):
        open_and_wait(window, qtbot, bad)
    assert window.doc is None
    failed = [r for r in caplog.records if "job failed" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelno == logging.WARNING
    message = failed[0].getMessage()
    assert "\n" not in message and "Traceback" not in caplog.text
    assert "broken.fep" in message and "not a FaceEditor project" in message


def test_the_handled_errors_traceback_is_in_the_debug_log(window, qtbot, caplog):
    def refuse():
        raise ProjectError("project 'x.fep': refused for the test")

    channel = window.workers.channel("test")
    with caplog.at_level(logging.DEBUG, logger="faceeditor"):
        channel.submit(refuse)
        assert window.workers.wait_idle(10)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and "traceback" in r.getMessage()]
    assert debug and "Traceback" in debug[0].getMessage()


def test_an_unexpected_job_error_keeps_its_traceback(window, qtbot, caplog):
    def crash():
        raise ZeroDivisionError("a bug")

    channel = window.workers.channel("test")
    with caplog.at_level(logging.INFO, logger="faceeditor"):
        with qtbot.waitSignal(channel.failed, timeout=10000):
            channel.submit(crash)
    (record,) = [r for r in caplog.records if "job failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "Traceback" in record.getMessage() and "ZeroDivisionError: a bug" in record.getMessage()
