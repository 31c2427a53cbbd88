"""The face parser: "Mask from parser" (P, the mask panel's button) and the automatic parse of a picture
when it is opened. The result replaces the mask as one undo step; the automatic one never replaces a mask
the user has already started to paint (a slow parser answering after the first stroke)."""
from __future__ import annotations

from PySide6.QtCore import QObject

from faceeditor.engine.requests import ParseRequest
from faceeditor.ui.controllers import FollowsDocument, Outcome
from faceeditor.ui.workspace import Workspace


class ParseController(FollowsDocument, QObject):
    def __init__(self, ws: Workspace, parent: QObject | None = None):
        super().__init__(parent)
        self.ws = ws
        self.session = ws.session
        self.channel = ws.channel("parse", inference=True, what="Face parsing")
        self.channel.finished.connect(self._parsed)
        self._mask_touched = False          # the open document's mask was edited since it was opened
        self.follow_documents(self.session)
        ws.document_opened.connect(self._opened)

    def document_changed(self, doc) -> None:
        self._mask_touched = False

    def mask_edited(self, _name: str) -> None:
        self._mask_touched = True

    def _opened(self, _doc, is_project: bool) -> None:
        """A picture is parsed when it is opened (a project keeps its mask)."""
        if not is_project and self.model is not None and self.ws.prefs.get("parse_on_open", True):
            self.run(on_open=True)

    @property
    def model(self):
        return self.ws.model("parse")

    def run(self, on_open: bool = False) -> None:
        """Replace the mask with the face parser's (one undo step). `on_open`: the automatic parse of a
        freshly opened picture, which does not count as an unsaved change."""
        doc, model = self.session.document, self.model
        if doc is None or model is None:
            if model is None:
                self.ws.flash("No face parser pack is loaded", error=True)
            return
        if not on_open:             # the user asked for the parser's mask: show it
            self.ws.overlay_wanted.emit()
        engine, crop, key = self.ws.engine, doc.crop_image, model.key
        self.channel.submit(lambda: Outcome(doc, engine.run(ParseRequest([crop], model=key))), tag=on_open)

    def _parsed(self, on_open: bool, out: Outcome) -> None:
        doc = out.document
        if doc is not self.session.document:
            return
        self.ws.timing.emit(out.result)
        if on_open and self._mask_touched:
            self.ws.flash("The face parser's mask arrived after you started painting, so it was not applied; "
                          "Mask from parser (P) applies it")
            return
        pristine = on_open and not self.session.modified
        if doc.mask.replace(out.result.masks[0], "Mask from parser") is None:    # the engine answers in the 19
            self.ws.flash("The parser's mask is the same as the current one")
        if pristine:
            self.session.mark_clean()
