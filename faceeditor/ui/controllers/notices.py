"""Notices over the canvas, not modal: the first-run card and the training-domain warning.

**First run**: a small card with Open a photo…, Open a sample and one paragraph on what the bundled demo
models do and on what they were trained. It shows while the user has opened nothing of their own (no
recent files, never dismissed), stays over the bundled sample the first start opens, and goes away for good
(preferences) once the user opens a picture or project of their own, or closes it.

**Training domain**: a dismissible banner when the loaded models were trained on another kind of picture
than the open one (faceeditor.core.domain: a SynthFaces pack on a photograph). It shows for each picture
until dismissed; a dismissal is remembered for that picture, in the project (its settings) and in the
preferences (by a fingerprint of the pixels), so it does not come back."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from faceeditor.core.domain import SYNTHFACES, domain_warning, picture_domain, picture_key
from faceeditor.core.samples import bundled_samples
from faceeditor.ui.widgets.canvas_notes import Banner, FirstRunCard, note_stack
from faceeditor.ui.workspace import Workspace

DONE_KEY = "first_run_done"
DISMISSED_KEY = "domain_warning_dismissed"      # in a document's settings (bool) and the preferences (keys)
MAX_REMEMBERED = 200
ABOUT_MODELS = (
    "The bundled demo models were trained on <b>SynthFaces</b>, simple rendered faces, at 64\u2013128 px. "
    "They split a face into 19 parts (the mask you can paint), move 13 attributes such as bangs, hair colour, "
    "glasses or age, and draw a new face from a painted mask. They work on SynthFaces pictures like the "
    "samples; on a real photo they run, but their results look wrong: load a pack trained on photos "
    "(Models \u25b8 Load pack folder\u2026) for those.")


class FirstRunController(QObject):
    def __init__(self, ws: Workspace, canvas: QWidget, open_photo: Callable[[], None],
                 open_file: Callable[[Path], None], parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.open_file = ws, open_file
        self.card = FirstRunCard(ABOUT_MODELS)
        self.card.sample_button.setEnabled(bool(bundled_samples()))
        note_stack(canvas.viewport(), "bottom").add(self.card)
        self.card.open_photo.connect(open_photo)
        self.card.open_sample.connect(self.open_sample)
        self.card.dismissed.connect(self.finish)
        ws.document_opened.connect(self._opened)
        prefs = ws.prefs
        self.card.setVisible(not prefs.get(DONE_KEY) and not prefs.recent_files())

    @property
    def showing(self) -> bool:
        return not self.card.isHidden()

    def open_sample(self) -> None:
        """Open a bundled sample: the one after the sample on show, else the first."""
        samples = bundled_samples()
        if not samples:
            return
        doc = self.ws.session.document
        names = [p.name for p in samples]
        current = names.index(doc.source) if doc is not None and doc.source in names else -1
        self.open_file(samples[(current + 1) % len(samples)])

    def _opened(self, doc, is_project: bool) -> None:
        if self.showing and (is_project or picture_domain(doc.source) != SYNTHFACES):
            self.finish()           # a picture of the user's own is open: the first screen has done its job

    def finish(self) -> None:
        """Hide the card for good."""
        self.card.hide()
        self.ws.prefs.set(DONE_KEY, True)

    def hide_for_now(self) -> None:
        """Hide the card without remembering it (screenshots)."""
        self.card.hide()



class DomainController(QObject):
    def __init__(self, ws: Workspace, canvas: QWidget, parent: QObject | None = None):
        super().__init__(parent)
        self.ws = ws
        self.session = ws.session
        self.banner = Banner()
        note_stack(canvas.viewport(), "bottom").add(self.banner)      # below the face, not over it
        self.banner.dismissed.connect(self.dismiss)
        self._key: tuple[object, str] | None = None          # (document, its picture's fingerprint)
        self.session.document_changed.connect(lambda _doc: self.check())
        ws.models_changed.connect(self.check)

    @property
    def text(self) -> str | None:
        """The warning on show (None when hidden)."""
        return None if self.banner.isHidden() else self.banner.text.text()

    def _picture_key(self, doc) -> str:
        if self._key is None or self._key[0] is not doc:
            self._key = (doc, picture_key(doc.photo))
        return self._key[1]

    def _dismissed(self, doc) -> bool:
        remembered = self.ws.prefs.get(DISMISSED_KEY)
        return bool(doc.settings.get(DISMISSED_KEY)) or (
            isinstance(remembered, list) and self._picture_key(doc) in remembered)

    def check(self) -> None:
        doc = self.session.document
        message = None
        if doc is not None:
            models = [(task, m.entry.data_domain) for task, m in self.ws.models.items() if m is not None]
            message = domain_warning(doc.source, models)
        if message is None or self._dismissed(doc):
            self.banner.hide()
            return
        self.banner.text.setText(message)
        self.banner.show()

    def dismiss(self) -> None:
        """Hide the warning for this picture, for good."""
        self.banner.hide()
        doc = self.session.document
        if doc is None:
            return
        doc.settings[DISMISSED_KEY] = True
        remembered = self.ws.prefs.get(DISMISSED_KEY)
        keys = [k for k in remembered if isinstance(k, str)] if isinstance(remembered, list) else []
        key = self._picture_key(doc)
        self.ws.prefs.set(DISMISSED_KEY, [key, *(k for k in keys if k != key)][:MAX_REMEMBERED])
