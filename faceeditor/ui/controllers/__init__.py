"""One controller per feature. Each owns its worker channel, builds its one request value from the
session and the document, runs it off the UI thread (latest wins), and hands the result to the session or
the view. Controllers talk to the workspace and the session, not to each other or to the window."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QDockWidget, QWidget


@dataclass
class Outcome:
    """What an inference job hands back to the UI thread: the document it ran for, the engine's result,
    and what the job computed off the UI thread (the photo with the output pasted in, its pyramid)."""

    document: Any
    result: Any
    photo: Any = None
    pyramid: Any = None
    crop: Any = None


class FollowsDocument:
    """Mixin for controllers that react to the open document: `document_changed(doc)` when another one
    opens, `mask_edited(step_name)` after each finished mask edit (a stroke, an undo, a replace), and
    `geometry_changed()` after a re-crop or its undo. It subscribes to the new document and unsubscribes
    from the old, so nothing is called twice or for a document that is gone."""

    def follow_documents(self, session) -> None:
        self._followed = None
        session.document_changed.connect(self._follow)

    def _follow(self, doc) -> None:
        old = self._followed
        if old is not None:
            old.mask_edited.disconnect(self.mask_edited)
            old.geometry_changed.disconnect(self.geometry_changed)
        self._followed = doc
        if doc is not None:
            doc.mask_edited.connect(self.mask_edited)
            doc.geometry_changed.connect(self.geometry_changed)
        self.document_changed(doc)

    def document_changed(self, doc) -> None:
        """Another document is open (or none)."""

    def mask_edited(self, step_name: str) -> None:
        """The open document's mask changed by one finished edit."""

    def geometry_changed(self) -> None:
        """The open document was re-cropped (or a re-crop undone): another crop and mask layer."""


def when_raised(panel: QWidget, callback: Callable[[], None]) -> None:
    """Call `callback()` when the user brings `panel` into view: its dock's tab raised, its dock shown
    again (QDockWidget.visibilityChanged; a tabbed dock stays "visible" to Qt under another tab)."""
    dock = panel.parentWidget()
    while dock is not None and not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    if dock is not None:
        dock.visibilityChanged.connect(lambda visible: visible and not panel.window().isMinimized() and callback())
