"""Qt views: main window, canvas, panels, workers, dialogs."""
from faceeditor.ui.qt_fixes import install as _install_qt_fixes

# Before any view exists: every signal emitted from Python must leave True's reference count alone
# (see qt_fixes.py; without this the app aborts at quit after a long session).
_install_qt_fixes()
