"""Widgets bound to the session model: the widget writes a user's change into the session, and shows the
session's value whenever it changes (an undo, a project opened, another widget) without echoing it back.

A binding lives as long as its widget: it unsubscribes from the session when the widget is destroyed, so
panels may rebuild their widgets (another model loaded) without leaving callbacks behind.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QAbstractButton, QComboBox, QSpinBox, QWidget

from faceeditor.core.session import Session


def watch(session: Session, widget: QWidget, keys: tuple[str, ...] | str, callback: Callable[[], None]) -> None:
    """Call `callback()` when one of `keys` changes or another document's values are loaded, for as long as
    `widget` lives (a view of session values that is not a single input)."""
    subscription = session.subscribe(keys, callback, on_load=True)
    widget.destroyed.connect(lambda *_: session.changed.disconnect(subscription))


def _follow(session: Session, key: str, widget: QWidget, show: Callable[[Any], None]) -> None:
    """Show the session's `key` in `widget` now and on every change, with the widget's signals blocked."""

    def update() -> None:
        blocked = widget.blockSignals(True)
        try:
            show(session[key])
        finally:
            widget.blockSignals(blocked)

    watch(session, widget, key, update)
    update()


def bind_toggle(session: Session, key: str, button: QAbstractButton, *, name: str | None = None,
                record: bool = True) -> None:
    """A checkable button <-> a bool value."""
    _follow(session, key, button, lambda v: button.setChecked(bool(v)))
    button.toggled.connect(lambda on: session.set(key, bool(on), record=record, name=name))


def bind_spin(session: Session, key: str, spin: QSpinBox, *, name: str | None = None) -> None:
    """An integer spin box <-> an int value; a run of changes (arrows held, typing) is one undo step."""
    _follow(session, key, spin, lambda v: spin.setValue(int(v)))
    spin.valueChanged.connect(lambda v: session.set(key, int(v), name=name, merge=True))


def bind_combo_data(session: Session, key: str, combo: QComboBox, *, record: bool = False) -> None:
    """A combo box whose items carry data <-> that data (a view choice: not an undo step by default)."""
    _follow(session, key, combo, lambda v: combo.setCurrentIndex(max(0, combo.findData(v))))
    combo.currentIndexChanged.connect(lambda _i: session.set(key, combo.currentData(), record=record))
