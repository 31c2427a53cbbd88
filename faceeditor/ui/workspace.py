"""What every controller shares: the engine and its loaded models, the Qt-free session model, the worker
pool, the preferences, and one place to report errors and messages.

Controllers get the workspace, never the window: a controller reads and writes the session, runs its
work in its own channel of the workspace's pool, and tells the user through `message` — so a feature is a
controller plus its widget, and the window only assembles them.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from faceeditor.core.document import work_resolution
from faceeditor.core.preferences import Preferences
from faceeditor.core.session import Session
from faceeditor.engine.engine import LoadedModel
from faceeditor.engine.pack_manager import TASK_CHOICE_KEY, chosen_models
from faceeditor.ui.app_engine import EngineSetup, first_model
from faceeditor.ui.flip_base import FlipBase
from faceeditor.ui.workers import Channel, Workers

log = logging.getLogger(__name__)

MODEL_TASKS = ("parse", "edit_attributes", "synthesize", "classify_attributes", "classify_expression",
               "edit_expression", "flip_attributes")


class Workspace(QObject):
    """See the module docstring. `interactive=False` (tests, screenshots) never opens a modal dialog:
    errors are collected in `errors` and shown in the status bar."""

    message = Signal(str, bool)          # (text, is_error) for the status bar
    models_changed = Signal()            # packs loaded: which model serves each task may have changed
    timing = Signal(object)              # an engine Result (its inference time, model and provider)
    inference_busy = Signal(bool)        # any inference channel working
    document_opened = Signal(object, bool)   # (document, is_project): a file the user opened is shown
    overlay_wanted = Signal()            # the user paints, picks a mask tool or replaces the mask: show it

    def __init__(self, setup: EngineSetup, preferences: Preferences, *, interactive: bool = True,
                 dialog_parent: QWidget | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.setup = setup
        self.engine = setup.engine
        self.prefs = preferences
        self.interactive = interactive
        self.dialog_parent = dialog_parent
        self.session = Session()
        self.workers = Workers(self)
        self.errors: list[str] = []
        self.models: dict[str, LoadedModel | None] = {}
        self.photo_pyramid = None          # (document, Pyramid) made by the open job, for the canvas
        self.flip_base = FlipBase()        # the applied flip's face, shared by the edits that start from it
        self._inference: list[Channel] = []
        self.refresh_models()

    # --- models -------------------------------------------------------------------------------
    def model(self, task: str) -> LoadedModel | None:
        """The model that serves `task` (the one chosen in the model manager, else the first loaded)."""
        return self.models.get(task)

    def chosen_models(self) -> dict[str, str]:
        """The model manager's choices, {task: "pack/model"} (kept in the preferences)."""
        return chosen_models(self.prefs.get(TASK_CHOICE_KEY))

    def choose_model(self, task: str, key: str | None) -> None:
        """Make the model `key` ("pack/model") serve `task` from now on (None: the first loaded)."""
        choices = self.chosen_models()
        if key:
            choices[task] = key
        else:
            choices.pop(task, None)
        self.prefs.set(TASK_CHOICE_KEY, choices)
        self.refresh_models()

    def refresh_models(self) -> None:
        chosen = self.chosen_models()
        self.models = {task: first_model(self.engine, task, chosen.get(task)) for task in MODEL_TASKS}
        self.models_changed.emit()

    def unload_pack(self, name: str) -> None:
        """Drop a pack's models from the engine (the model manager removed it)."""
        self.engine.unload_pack(name)
        self.refresh_models()

    def work_resolution(self) -> int:
        return work_resolution(m.resolution for t in ("parse", "edit_attributes", "synthesize")
                               for m in self.engine.models(t))

    def load_pack(self, folder: str | os.PathLike) -> bool:
        """Load a model pack folder into the engine; False (and a message) when it cannot be used."""
        loader = getattr(self.engine, "load_pack", None)
        if loader is None:
            self.show_error("Cannot load a pack", "this engine does not load packs")
            return False
        try:
            manifest = loader(folder)
        except Exception as exc:
            self.show_error("Cannot load the model pack", str(exc))
            return False
        self.refresh_models()
        self.flash(f"Loaded model pack {manifest.name}")
        return True

    # --- work ---------------------------------------------------------------------------------
    def channel(self, name: str, *, inference: bool = False, what: str = "") -> Channel:
        """A worker channel of the pool. Inference channels report their failures as "<what> failed"
        and count for the status bar's busy indicator."""
        channel = self.workers.channel(name)
        if inference:
            self._inference.append(channel)
            channel.busy_changed.connect(self._inference_busy_changed)
            channel.failed.connect(lambda _tag, exc, what=what or name: self.inference_failed(what, exc))
        return channel

    def _inference_busy_changed(self, _busy: bool) -> None:
        self.inference_busy.emit(any(ch.busy for ch in self._inference))

    def invalidate_inference(self) -> None:
        """Results of running inference jobs are stale (another document, another crop)."""
        for ch in self._inference:
            ch.invalidate()

    # --- telling the user ---------------------------------------------------------------------
    def flash(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def show_error(self, title: str, text: str) -> None:
        self.errors.append(f"{title}: {text}")
        self.flash(f"{title}: {text}", error=True)
        if self.interactive:
            QMessageBox.warning(self.dialog_parent, title, text)

    def inference_failed(self, what: str, exc: BaseException) -> None:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.errors.append(f"{what} failed: {message}")
        self.flash(f"{what} failed: {message}", error=True)
