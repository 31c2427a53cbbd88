"""Helpers for the UI tests: a main window on the fake engine, opening a file and waiting."""
from __future__ import annotations


def make_window(qtbot, tmp_path, engine=None, **kw):
    from faceeditor.core.preferences import Preferences
    from faceeditor.engine.fake import FakeEngine
    from faceeditor.ui.main_window import MainWindow

    engine = engine if engine is not None else FakeEngine(resolution=64)
    kw.setdefault("autosave_dir", tmp_path / "autosave")
    kw.setdefault("preferences", Preferences(tmp_path / "prefs.json"))
    window = MainWindow(engine, interactive=False, **kw)
    qtbot.addWidget(window)
    window.resize(1100, 750)
    window.show()
    qtbot.waitExposed(window)
    return window


def open_and_wait(window, qtbot, path, timeout_ms=20000):
    """Open a file and wait until the document is shown and every worker is idle."""
    before = window.doc
    errors = len(window.errors)
    window.documents.open_file(path)
    qtbot.waitUntil(lambda: (window.doc is not before or len(window.errors) > errors) and not window.workers.busy,
                    timeout=timeout_ms)
    return window.doc
