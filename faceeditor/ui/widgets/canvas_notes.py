"""Small notes laid over the canvas, not modal: which result the canvas shows (a badge), a dismissible
warning banner, and the first-run card. They sit in two stacks pinned to the viewport's top-left and
bottom-left corners (`note_stack`), each as large as its visible notes, so the rest of the canvas still
takes the mouse. A stack is a child of the scroll area, not of its viewport, which scrolling would move."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

MARGIN = 8
MAX_WIDTH = 520
_SHOWN_OR_HIDDEN = (QEvent.Type.ShowToParent, QEvent.Type.HideToParent)
_STYLE = "background: rgba(32, 34, 38, 225); color: #e8e8e8; border-radius: 5px;"


class NoteStack(QWidget):
    """Notes stacked at one corner of a viewport ("top" or "bottom")."""

    def __init__(self, viewport: QWidget, edge: str):
        super().__init__(viewport.parentWidget())
        self.setObjectName(f"note_stack_{edge}")
        self.edge, self.viewport = edge, viewport
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(6)
        viewport.installEventFilter(self)
        self.hide()

    def add(self, note: QWidget) -> None:
        self.box.addWidget(note)
        note.installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if (kind in (QEvent.Type.Resize, QEvent.Type.Move) and watched is self.viewport) or kind in _SHOWN_OR_HIDDEN:
            self.place()
        return False

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:
            self.place()
        return handled

    def place(self) -> None:
        """Size the stack to its visible notes and pin it to its corner (hidden when none is shown)."""
        viewport = self.viewport
        notes = (self.box.itemAt(i).widget() for i in range(self.box.count()))
        shown = [n for n in notes if n is not None and not n.isHidden()]
        self.setVisible(bool(shown))
        if not shown:
            return
        limit = max(1, min(MAX_WIDTH, viewport.width() - 2 * MARGIN))
        width = min(limit, max(max(n.sizeHint().width(), getattr(n, "preferred_width", 0)) for n in shown))
        heights = []
        for n in shown:
            n.setMaximumWidth(width)
            heights.append(n.heightForWidth(width) if n.hasHeightForWidth() else n.sizeHint().height())
        height = sum(heights) + self.box.spacing() * (len(shown) - 1)
        y = MARGIN if self.edge == "top" else viewport.height() - height - MARGIN
        at = viewport.geometry().topLeft()
        self.setGeometry(at.x() + MARGIN, at.y() + max(0, y), width, max(1, height))
        self.raise_()


def note_stack(viewport: QWidget, edge: str) -> NoteStack:
    """The viewport's stack of notes at `edge` ("top" or "bottom"), made on first use."""
    found = viewport.parentWidget().findChild(NoteStack, f"note_stack_{edge}")
    return found if found is not None else NoteStack(viewport, edge)


class ResultBadge(QLabel):
    """"Showing: …": which result the canvas shows."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("result_badge")
        self.setStyleSheet(_STYLE + " padding: 3px 8px;")
        self.setToolTip("Which result the canvas shows. Using the Attributes or Synthesis panel switches it; "
                        "Layers \u25b8 Result chooses it too")
        self.hide()


class Banner(QFrame):
    """A dismissible warning: a paragraph and a close button."""

    dismissed = Signal()
    preferred_width = 460

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("domain_banner")
        self.setStyleSheet("QFrame#domain_banner { background: rgba(110, 78, 10, 235); border-radius: 5px; }"
                           " QLabel { color: #fff4d6; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.close_button = QToolButton()
        self.close_button.setText("Dismiss")
        self.close_button.setToolTip("Hide this warning for this picture")
        self.close_button.clicked.connect(self.dismissed)
        row.addWidget(self.text, 1)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()


class FirstRunCard(QFrame):
    """The first start: open a photo, open a sample, and what the demo models can do and on what."""

    open_photo = Signal()
    open_sample = Signal()
    dismissed = Signal()
    preferred_width = 420

    def __init__(self, about_models: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("first_run")
        self.setStyleSheet("QFrame#first_run { background: rgba(32, 34, 38, 235); border-radius: 6px; }"
                           " QLabel { color: #e8e8e8; }")
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 8, 8, 10)
        head = QHBoxLayout()
        title = QLabel("<b>Welcome to FaceEditor</b>")
        self.close_button = QToolButton()
        self.close_button.setText("\u2715")
        self.close_button.setToolTip("Hide this panel (it does not come back)")
        self.close_button.clicked.connect(self.dismissed)
        head.addWidget(title, 1)
        head.addWidget(self.close_button)
        self.about = QLabel(about_models)
        self.about.setWordWrap(True)
        buttons = QHBoxLayout()
        self.photo_button = QPushButton("Open a photo\u2026")
        self.sample_button = QPushButton("Open a sample")
        self.photo_button.clicked.connect(self.open_photo)
        self.sample_button.clicked.connect(self.open_sample)
        buttons.addWidget(self.photo_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        box.addLayout(head)
        box.addWidget(self.about)
        box.addLayout(buttons)
        self.hide()
