"""A tiny Qt-free observer: the core models announce changes through `Event`s, and the UI (or a test)
subscribes with plain callables. Qt signals stay in faceeditor/ui; the core must run without Qt."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """A list of callbacks called in subscription order with the emitted arguments."""

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Subscribe `callback`; returns it, so a caller can keep it to disconnect later."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Unsubscribe `callback` (no error when it was not subscribed)."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
