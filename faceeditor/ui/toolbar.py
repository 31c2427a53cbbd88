"""The main toolbar: groups of actions, then the brush indicator (the class, size, lock and mirror the
canvas paints with) at the right. When the window is too narrow for the buttons' text (1280 px and
below with the default docks) the buttons show only their icons, so the indicator and every action stay
on the bar instead of falling into the overflow menu."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QWidget

WIDE, COMPACT = Qt.ToolButtonStyle.ToolButtonTextBesideIcon, Qt.ToolButtonStyle.ToolButtonIconOnly


class MainToolBar(QToolBar):
    """See the module docstring. `indicator` is the brush label; `groups` are separated by separators."""

    def __init__(self, parent: QWidget, groups: Sequence[Sequence[QAction]], indicator: QLabel):
        super().__init__("Main", parent)
        self.setObjectName("main_toolbar")
        self.setMovable(False)
        self.setToolButtonStyle(WIDE)
        for group in groups:
            self.addActions(list(group))
            self.addSeparator()
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.indicator = indicator
        self.addWidget(indicator)
        self._wide_width: int | None = None      # the width the bar needs with text, measured when shown so

    def needed_width(self) -> int:
        """The width every item needs in the current button style."""
        return self.layout().sizeHint().width()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.adapt()

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:      # e.g. the indicator's text grew
            self.adapt()
        return handled

    def adapt(self) -> None:
        """Icons only when the text does not fit (with room for the indicator growing a little); text again
        when the window is wide enough for it."""
        width = self.width()
        if self.toolButtonStyle() == WIDE:
            self._wide_width = self.needed_width() + 40
            if self._wide_width > width:
                self.setToolButtonStyle(COMPACT)
        elif self._wide_width is not None and self._wide_width + 60 <= width:
            self.setToolButtonStyle(WIDE)
