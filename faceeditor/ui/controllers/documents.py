"""Documents: opening photos and projects (in a worker; the open document stays until the new one is
ready), saving and Save As, autosave and recovery after a crash, recent files, the window title, undo and
redo of the document's one history, and re-cropping."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from faceeditor.core.autosave import AutosaveSession, Orphan, discard_orphan, find_orphans
from faceeditor.core.document import Document, Opened, open_path
from faceeditor.core.project import EXTENSION, ProjectError, load_project, project_bytes, write_members
from faceeditor.core.session import REVISION, WHOLE_AS_FACE
from faceeditor.ui.dialogs import IMAGE_FILTER, open_file_name, save_file_name
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.workspace import Workspace

APP_TITLE = "FaceEditor"
OPEN_FILTER = f"Photos and projects (*{EXTENSION} *.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm);;" \
              f"FaceEditor projects (*{EXTENSION});;{IMAGE_FILTER};;All files (*)"
AUTOSAVE_DELAY_MS = 2000
AUTOSAVE_INTERVAL_MS = 60_000


class DocumentController(QObject):
    """See the module docstring."""

    title_changed = Signal(str)
    recent_changed = Signal()

    def __init__(self, ws: Workspace, autosave_dir: str | os.PathLike | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ws = ws
        self.session = ws.session
        self.ch_open = ws.channel("open")
        self.ch_save = ws.channel("save")
        self.ch_autosave = ws.channel("autosave")
        self.ch_open.finished.connect(self._opened)
        self.ch_open.failed.connect(lambda path, exc: ws.show_error(f"Cannot open {path.name}", str(exc)))
        self.ch_open.busy_changed.connect(self._open_busy)
        self.ch_save.finished.connect(self._saved)
        self.ch_save.failed.connect(lambda tag, exc: ws.show_error("Cannot save the project", str(exc)))
        self.ch_autosave.finished.connect(self._autosaved)
        self.ch_autosave.failed.connect(lambda tag, exc: ws.flash(f"Autosave failed: {exc}", error=True))
        self._autosaved_revision = 0
        self._orphan_to_discard: Orphan | None = None
        self._photo_png: tuple[np.ndarray, bytes] | None = None
        self.session.subscribe(REVISION, self._revision_changed)

        self.autosave = AutosaveSession(autosave_dir)
        if not self.autosave.start():
            ws.flash(self.autosave.error or "autosave is off", error=True)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_tick = QTimer(self)
        self._autosave_tick.setInterval(AUTOSAVE_INTERVAL_MS)
        self._autosave_tick.timeout.connect(self.autosave_now)
        self._autosave_tick.start()

    @property
    def doc(self) -> Document | None:
        return self.session.document

    @property
    def is_modified(self) -> bool:
        return self.session.modified

    # --- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.ws.prefs.get("last_dir") if isinstance(self.ws.prefs.get("last_dir"), str) else ""
        path = open_file_name(self.ws.dialog_parent, "Open a photo or a project", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | os.PathLike) -> None:
        """Open an image or a project in a worker; the current document stays until it succeeds."""
        if not self.maybe_keep_changes():
            return
        path = Path(path)
        resolution = self.ws.work_resolution()

        def job():
            opened = open_path(path, resolution=resolution)
            return opened, Pyramid(opened.document.photo)

        self.ch_open.submit(job, tag=path)

    def _open_busy(self, busy: bool) -> None:
        if busy:
            self.ws.flash("Opening\u2026")

    def _opened(self, path: Path, payload: tuple[Opened, Pyramid]) -> None:
        opened, pyramid = payload
        doc = opened.document
        self.set_document(doc, pyramid)
        h, w = doc.photo.shape[:2]
        how = "the whole image" if doc.mode == "whole" else "the aligned face"
        self.ws.flash(f"Opened {path.name} ({w}\u00d7{h}); editing {how} at {doc.resolution}px")
        for note in opened.notes:
            self.ws.flash(note)
        prefs = self.ws.prefs
        prefs.add_recent(path)
        prefs.data["last_dir"] = str(path.parent)
        prefs.save()
        self.recent_changed.emit()
        self.ws.document_opened.emit(doc, path.suffix.lower() == EXTENSION)

    def set_document(self, doc: Document, pyramid: Pyramid | None = None) -> None:
        """Make `doc` the open document (every controller hears it through the session)."""
        self.ws.invalidate_inference()
        old = self.session.document
        if old is not None:
            old.history.applied.disconnect(self.ws.flash)
        doc.history.applied.connect(self.ws.flash)
        self.ws.photo_pyramid = (doc, pyramid) if pyramid is not None else None
        self.session.set_document(doc)
        self._autosaved_revision = 0
        if doc.modified:
            self.schedule_autosave()
        self._update_title()

    def maybe_keep_changes(self) -> bool:
        """Before the document is replaced: True to go on. Asks to save unsaved work (interactive)."""
        if not self.is_modified or not self.ws.interactive:
            return True
        answer = QMessageBox.question(
            self.ws.dialog_parent, APP_TITLE, "Save the changes to the current work first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return self.save(wait=True)
        return True

    def _revision_changed(self) -> None:
        self._update_title()
        if self.session.modified:
            self.schedule_autosave()

    def _update_title(self) -> None:
        doc = self.doc
        if doc is None:
            self.title_changed.emit(APP_TITLE)
            return
        name = doc.project_path.name if doc.project_path else (doc.source or "untitled")
        mark = " \u2022" if self.is_modified else ""
        self.title_changed.emit(f"{name}{mark} \u2014 {APP_TITLE}")

    # --- undo, redo, re-crop --------------------------------------------------------------------
    def undo(self) -> None:
        if self.doc is not None and self.doc.history.undo() is None:
            self.ws.flash("Nothing to undo")

    def redo(self) -> None:
        if self.doc is not None and self.doc.history.redo() is None:
            self.ws.flash("Nothing to redo")

    def set_crop_mode(self, mode: str) -> bool:
        """Re-crop ("face" or "whole"), one undo step; False when it cannot or nothing changed."""
        doc = self.doc
        if doc is not None and mode == doc.mode == "whole" and self.session.faceless:
            self.session.set(WHOLE_AS_FACE, True)        # asked for: edit the faceless picture as a face crop
            self.ws.flash("Editing the whole picture as a face crop")
            return True
        if doc is None or mode == doc.mode:
            return False
        if mode == "face" and doc.landmarks is None:
            self.ws.flash("No face was detected in this picture, so it can only be edited whole", error=True)
            return False
        doc.recrop(mode)
        self.ws.flash("Re-cropped; the mask was carried over (Undo brings the old crop back)")
        return True

    # --- saving ---------------------------------------------------------------------------------
    def _snapshot(self):
        self.session.store()
        return self.doc.to_project()

    def save(self, wait: bool = False) -> bool:
        if self.doc is None:
            return False
        if self.doc.project_path is None:
            return self.save_as(wait=wait)
        return self.save_to(self.doc.project_path, wait=wait)

    def save_as(self, wait: bool = False) -> bool:
        if self.doc is None:
            return False
        base = self.doc.project_path or Path(self.ws.prefs.get("last_dir") or ".") / (
            Path(self.doc.source or "untitled").stem + EXTENSION)
        path = save_file_name(self.ws.dialog_parent, "Save project", str(base), f"FaceEditor project (*{EXTENSION})")
        if not path:
            return False
        if not path.lower().endswith(EXTENSION):
            path += EXTENSION
        return self.save_to(Path(path), wait=wait)

    def save_to(self, path: str | os.PathLike, wait: bool = False) -> bool:
        """Save in a worker (encoding a large photo takes a while); `wait` blocks until done."""
        if self.doc is None:
            return False
        path = Path(path)
        project = self._snapshot()
        revision, doc = self.session.revision, self.doc

        def job():
            write_members(path, project_bytes(project))
            return path

        self.ch_save.submit(job, tag=(doc, revision))
        self.ws.flash(f"Saving {path.name}\u2026")
        if wait:
            self.ws.workers.wait_idle(120)
            return self.doc is doc and doc.project_path == path and self.session.clean_revision == revision
        return True

    def _saved(self, tag, path: Path) -> None:
        doc, revision = tag
        if doc is not self.doc:
            return
        doc.project_path = path
        self.session.mark_clean(revision)
        self.autosave.discard()
        self.ws.prefs.add_recent(path)
        self.recent_changed.emit()
        self.ws.flash(f"Saved {path}")
        self._update_title()

    # --- autosave and recovery ------------------------------------------------------------------
    def schedule_autosave(self) -> None:
        if self.autosave.active:
            self._autosave_timer.start()

    def autosave_now(self) -> None:
        if self.doc is None or not self.autosave.active or self.session.revision == self._autosaved_revision:
            return
        if not self.is_modified and self._orphan_to_discard is None:
            return
        project = self._snapshot()
        revision = self.session.revision
        session = self.autosave
        cache = self._photo_png                      # (photo array, its PNG bytes)
        cached = cache[1] if cache is not None and cache[0] is project.image else None

        def job():
            members = project_bytes(project, fast=True, image_png=cached)
            session.write_members(members)
            return project.image, members["image.png"]

        self.ch_autosave.submit(job, tag=revision)

    def _autosaved(self, revision: int, encoded: tuple[np.ndarray, bytes]) -> None:
        self._autosaved_revision = revision
        if self.doc is not None and encoded[0] is self.doc.photo:
            self._photo_png = encoded
        if self._orphan_to_discard is not None:
            discard_orphan(self._orphan_to_discard)       # its work is safe in our own autosave now
            self._orphan_to_discard = None

    def choose_recovery(self, orphans: list[Orphan]) -> Orphan | None:
        """Ask which crashed session's work to recover (None: not now). Non-interactive: none."""
        if not self.ws.interactive:
            return None
        newest = orphans[0]
        box = QMessageBox(self.ws.dialog_parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work?")
        box.setText("FaceEditor did not close properly last time.")
        more = f" ({len(orphans) - 1} older autosaves are kept too)" if len(orphans) > 1 else ""
        box.setInformativeText(f"Recover {newest.describe()}?{more}")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is recover:
            return newest
        if box.clickedButton() is discard:
            discard_orphan(newest)
        return None

    def offer_recovery(self) -> bool:
        """Look for autosaves of crashed sessions and recover the one chosen. True when recovered."""
        orphans = find_orphans(self.autosave.folder)
        if not orphans:
            return False
        chosen = self.choose_recovery(orphans)
        if chosen is None:
            return False
        try:
            project = load_project(chosen.path)
        except ProjectError as exc:
            self.ws.show_error("Cannot recover the autosave", str(exc))
            return False
        doc = Document.from_project(project, None)
        doc.modified = True
        self.set_document(doc)
        self._orphan_to_discard = chosen
        self.autosave_now()
        self.ws.flash(f"Recovered {chosen.describe()}; save it to keep it")
        return True

    def stop(self) -> None:
        """The window closes: stop the autosave timers and let a save that is under way finish."""
        self._autosave_timer.stop()
        self._autosave_tick.stop()
        if self.ch_save.busy:
            self.ws.workers.wait_idle(10)
