"""Which face is edited, when a picture holds several: the Face menu's "Choose face…" (the face picker
dialog, faceeditor/ui/widgets/face_picker.py) and a status-bar hint when a photo opens with several faces.

The faces come with the document (the open job's detection, kept in the project), so nothing is detected
again. Faint detections (crop_policy.OFFER_MIN_SCORE) are not offered by default: the astronaut's mission
patch does not make her photo a picture of two faces. Choosing a face re-crops the document onto it as one
undo step (Document.choose_face)."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from faceeditor.core.document import DocumentError
from faceeditor.core.session import REVISION
from faceeditor.ui.widgets.face_picker import FacePickerDialog, face_label
from faceeditor.ui.workspace import Workspace


class FaceController(QObject):
    """See the module docstring. `action` goes into the Face menu; `dialog` is the picker while open."""

    def __init__(self, ws: Workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.ws = ws
        self.session = ws.session
        self.dialog: FacePickerDialog | None = None
        self.action = QAction("Choose &face\u2026", parent)
        self.action.setStatusTip("Choose which of the faces found in the picture is edited")
        self.action.triggered.connect(self.open_picker)
        self.session.document_changed.connect(lambda _doc: self._update())
        self.session.subscribe(REVISION, self._update)
        ws.document_opened.connect(self._opened)
        self._update()

    def _update(self) -> None:
        """The menu item says how many faces there are; it is enabled only when there is a choice."""
        doc = self.session.document
        faces = len(doc.faces) if doc is not None else 0
        offered = len(doc.offered_faces()) if doc is not None else 0
        if offered > 1:
            text = f"Choose &face\u2026 ({offered} faces)"
        elif faces > 1:
            faint = faces - offered
            text = f"Choose &face\u2026 ({offered} face; {faint} faint detection{'s' if faint > 1 else ''})"
        else:
            text = "Choose face (1 face)" if faces == 1 else "Choose face (no face found)"
        self.action.setText(text)
        self.action.setEnabled(faces > 1)

    def _opened(self, doc, is_project: bool) -> None:
        """A photo with several faces that are offered: say which is edited and how to take another."""
        offered = doc.offered_faces()
        if not is_project and len(offered) > 1 and doc.face_index is not None:
            self.ws.flash(f"{len(offered)} faces found; editing face {doc.face_index} (the largest). "
                          "Face \u25b8 Choose face\u2026 edits another")

    def open_picker(self) -> None:
        """Show the picker (window-modal, not blocking: the choice is applied when it is accepted)."""
        doc = self.session.document
        if doc is None or len(doc.faces) < 2:
            self.ws.flash("There is only one face to edit in this picture" if doc is not None and doc.faces
                          else "No face was found in this picture")
            return
        if self.dialog is not None:
            self.dialog.close()
        dialog = FacePickerDialog(doc.photo, doc.faces, doc.face_index, doc.offered_faces, self.ws.dialog_parent)
        dialog.accepted.connect(lambda: self._picked(doc, dialog.chosen()))
        dialog.finished.connect(lambda _result: self._closed(dialog))
        self.dialog = dialog
        dialog.open()

    def _closed(self, dialog: FacePickerDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _picked(self, doc, index: int | None) -> None:
        if doc is not self.session.document or index is None:
            return
        self.choose(index)

    def choose(self, index: int) -> bool:
        """Edit face `index` of the open document (one undo step); False when nothing changed."""
        doc = self.session.document
        if doc is None:
            return False
        old = doc.face_index
        try:
            changed = doc.choose_face(index)
        except DocumentError as exc:
            self.ws.flash(str(exc), error=True)
            return False
        if changed:
            back = f"face {old}" if old is not None else "the old crop"
            self.ws.flash(f"Editing {face_label(index, doc.faces[index].score).lower()}; Undo brings {back} back")
        return changed
