"""The timeline feature: keyframes recorded from the current state, the preview under the playhead, play
and loop, presets, export, and the landmarks dragged on the canvas.

Frames come from faceeditor.engine.clips.ClipRenderer, the code `faceeditor-cli render` runs, so the app
exports the frames the CLI renders. The preview renders one frame off the UI thread on its own channel
(a newer frame replaces a waiting one: latest wins) and keeps the frames it rendered until the timeline or
the document changes. The export runs on another channel, batched, with progress and cancel; the writer
publishes the file only when it is complete.

A landmark drag on the canvas (CanvasView's landmarks tool) warps the document's mask from the old points to
the new (faceeditor.core.mask_warp) and stores the points in the session (``landmarks``), one undo step
each; a landmarks keyframe records them.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from faceeditor.core.keyframes import KeyframeError
from faceeditor.core.mask_warp import warp_mask
from faceeditor.core.session import (
    ATTRIBUTES,
    EXPRESSION,
    EXPRESSION_INTENSITY,
    KEYFRAMES,
    LANDMARKS,
    SEED,
    SYNTH_ATTRS,
)
from faceeditor.core.timeline import frame_count, with_key
from faceeditor.core.timeline_presets import preset_timeline
from faceeditor.engine.clips import ClipError, ClipRenderer
from faceeditor.ui.controllers import FollowsDocument, Outcome
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.timeline_panel import TRACK_LABELS, TimelinePanel
from faceeditor.ui.workspace import Workspace

RESULT_OF_TARGET = {"synthesis": "synthesis", "attributes": "attributes", "expression": "expression"}
CACHE_FRAMES = 256


class TimelineController(FollowsDocument, QObject):
    export_progress = Signal(int, int)      # frames done, total (from the export's worker thread)
    exported = Signal(object)               # the RenderResult, or None when it failed

    def __init__(self, ws: Workspace, panel: TimelinePanel, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.view = ws, panel, view
        self.session = ws.session
        self.channel = ws.channel("timeline", inference=True, what="Timeline preview")
        self.channel.finished.connect(self._previewed)
        self.export_channel = ws.channel("export", inference=True, what="Export")
        self.export_channel.finished.connect(self._export_done)
        self.export_channel.failed.connect(lambda _tag, _exc: self.exported.emit(None))
        self.cache: dict[int, Any] = {}
        self.cancel_event = threading.Event()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        panel.scrubbed.connect(self.preview)
        panel.add_requested.connect(self.add_key)
        panel.play_toggled.connect(self.play)
        panel.preset_requested.connect(self.apply_preset)
        panel.export_requested.connect(self.export_dialog)
        self.session.subscribe((KEYFRAMES, SEED, SYNTH_ATTRS, ATTRIBUTES, EXPRESSION, EXPRESSION_INTENSITY,
                                LANDMARKS), self._invalidate)
        self.follow_documents(self.session)
        canvas = view.canvas
        if hasattr(canvas, "landmarks_dragged"):
            canvas.landmarks_dragged.connect(self.move_landmarks)

    # --- state ---------------------------------------------------------------------------------------
    def document_changed(self, doc) -> None:
        self.play(False)
        self._invalidate()
        self._show_landmarks()

    def geometry_changed(self) -> None:
        self._invalidate()
        self._show_landmarks()

    def _invalidate(self) -> None:
        self.cache.clear()
        self.channel.invalidate()
        if self.session[LANDMARKS] is not None or self.session.document is not None:
            self._show_landmarks()

    def landmarks(self) -> np.ndarray | None:
        """The face's landmarks in crop pixels: those the user dragged, else the crop's own."""
        doc = self.session.document
        if doc is None:
            return None
        if self.session[LANDMARKS] is not None:
            return np.asarray(self.session[LANDMARKS], np.float64)
        pts = getattr(doc.crop, "landmarks", None)
        return np.asarray(pts, np.float64) if pts is not None and len(pts) == 68 else None

    def _show_landmarks(self) -> None:
        canvas = self.view.canvas
        if hasattr(canvas, "set_landmarks"):
            canvas.set_landmarks(self.landmarks())

    def renderer(self) -> ClipRenderer:
        """A renderer of the session's timeline for the open document, with the models the app uses."""
        models = {task: (m.key if m is not None else None)
                  for task in ("synthesize", "edit_attributes", "edit_expression", "parse")
                  for m in [self.ws.model(task)]}
        return ClipRenderer(self.ws.engine, self.session.document, self.session[KEYFRAMES],
                            settings=dict(self.session.values), models=models)

    # --- keyframes -----------------------------------------------------------------------------------
    def _value_for(self, track: str) -> Any:
        s = self.session
        if track == "seed":
            return int(s[SEED])
        if track == "landmarks":
            pts = self.landmarks()
            if pts is None:
                raise KeyframeError("this picture has no face landmarks to record")
            return pts
        if track == "attributes":
            values = dict(s[SYNTH_ATTRS]) if s[KEYFRAMES].target == "synthesis" else {}
            values.update(s[ATTRIBUTES])
            if not values:
                raise KeyframeError("move an attribute slider (or set a synthesis toggle) first")
            return values
        if s[EXPRESSION] is None:
            raise KeyframeError("choose an expression first")
        return (s[EXPRESSION], float(s[EXPRESSION_INTENSITY]))

    def add_key(self, track: str) -> bool:
        """A keyframe on ``track`` at the playhead, from the current state; one undo step."""
        if self.session.document is None:
            return False
        try:
            tl = with_key(self.session[KEYFRAMES], track, self.panel.playhead.value(), self._value_for(track))
        except KeyframeError as exc:
            self.ws.flash(f"Cannot add a {TRACK_LABELS[track].lower()} key: {exc}", error=True)
            return False
        return self.session.set(KEYFRAMES, tl, name=f"Add {TRACK_LABELS[track]} key")

    def apply_preset(self, preset: str) -> bool:
        """SCGAN's preset on the landmarks track of a synthesis clip, from the current landmarks."""
        doc, pts = self.session.document, self.landmarks()
        if doc is None or pts is None:
            self.ws.flash("The preset needs a face with landmarks", error=True)
            return False
        tl = self.session[KEYFRAMES]
        tl = preset_timeline(preset, pts, size=doc.mask.data.shape[0], fps=tl.fps, seed=int(self.session[SEED]),
                             base=dataclasses.replace(tl, target="synthesis"))
        return self.session.set(KEYFRAMES, tl, name="Timeline preset")

    # --- landmarks on the canvas ---------------------------------------------------------------------
    def move_landmarks(self, old: np.ndarray, new: np.ndarray) -> None:
        """The user dragged landmarks: the mask follows through the warp; the points go in the session."""
        doc = self.session.document
        if doc is None:
            return
        history = self.session.history
        history.push(_Group("Move landmarks"))          # one undo step for the mask and the points
        mask = warp_mask(doc.mask.data, np.asarray(old), np.asarray(new))
        doc.mask.replace(mask, "Move landmarks")
        self.session.set(LANDMARKS, tuple((float(x), float(y)) for x, y in new), name="Move landmarks")
        _close_group(history)

    # --- preview -------------------------------------------------------------------------------------
    def preview(self, frame: int) -> None:
        """Show frame ``frame`` of the clip (from the cache, else rendered off the UI thread)."""
        doc = self.session.document
        if doc is None or not self.session[KEYFRAMES].keyframes:
            return
        if frame in self.cache:
            self._show(self.cache[frame])
            return
        try:
            clip = self.renderer()
        except ClipError as exc:
            self.ws.flash(str(exc), error=True)
            return
        paste = doc.paster()
        target = clip.target

        def job():
            image = clip.render([frame])[0]
            photo = paste(image) if target == "synthesis" else image
            return Outcome(doc, (frame, target), photo, Pyramid(photo), image)

        self.channel.submit(job, tag=doc)

    def _previewed(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        frame, _ = out.result
        if len(self.cache) >= CACHE_FRAMES:
            self.cache.pop(next(iter(self.cache)))
        self.cache[frame] = out
        self._show(out)

    def _show(self, out: Outcome) -> None:
        _, target = out.result
        self.view.store(RESULT_OF_TARGET[target], out.photo, out.pyramid)

    # --- play ----------------------------------------------------------------------------------------
    def play(self, on: bool) -> None:
        if on and self.session.document is not None and self.session[KEYFRAMES].keyframes:
            self.timer.start(max(1, int(round(1000 / self.session[KEYFRAMES].fps))))
        else:
            self.timer.stop()
            if self.panel.play_button.isChecked():
                self.panel.play_button.setChecked(False)

    def _tick(self) -> None:
        n = frame_count(self.session[KEYFRAMES])
        nxt = self.panel.frame + 1
        if nxt >= n:
            if not self.panel.loop_button.isChecked():
                self.play(False)
                return
            nxt = 0
        self.panel.set_frame(nxt)

    # --- export --------------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        from faceeditor.ui.dialogs import ExportClipDialog

        if self.session.document is None or not self.session[KEYFRAMES].keyframes:
            self.ws.flash("Add keyframes to the timeline before exporting a clip", error=True)
            return
        tl = self.session[KEYFRAMES]
        dialog = ExportClipDialog(tl.fps, frame_count(tl), self.panel)
        if dialog.exec():
            path, size, fps, frames = dialog.choice()
            self.export(path, size=size, fps=fps, frames=frames, dialog=True)

    def export(self, path: str, *, size: int | None = None, fps: float | None = None,
               frames: int | None = None, batch: int = 8, dialog: bool = False) -> bool:
        """Export the clip to ``path`` off the UI thread (progress: ``export_progress``; ``exported`` at the
        end); ``cancel_export`` stops it and leaves nothing behind. ``frames``: the file's frame count (the
        clip's span sampled evenly; None: the timeline's frames)."""
        try:
            clip = self.renderer()
            clip.export_specs(frames)           # a bad count is refused here, not on the worker
        except ClipError as exc:
            self.ws.show_error("Cannot export the clip", str(exc))
            return False
        self.cancel_event = cancel = threading.Event()
        progress_signal = self.export_progress
        if dialog:
            self._progress_dialog(clip.frames if frames is None else frames)

        def job():
            return clip.export(path, size=size, fps=fps, frames=frames, batch=batch, cancel=cancel,
                               progress=lambda done, total: progress_signal.emit(done, total or 0))

        self.export_channel.submit(job, tag=self.session.document)
        return True

    def cancel_export(self) -> None:
        self.cancel_event.set()

    def _progress_dialog(self, total: int) -> None:
        from PySide6.QtWidgets import QProgressDialog

        box = QProgressDialog("Exporting the clip\u2026", "Cancel", 0, total, self.panel)
        box.setWindowTitle("Export")
        box.setMinimumDuration(300)
        box.canceled.connect(self.cancel_export)

        def update(done: int, _total: int) -> None:
            box.setValue(done)

        def finish(_result) -> None:     # one box per export: let go of it, so boxes do not pile up
            self.export_progress.disconnect(update)
            self.exported.disconnect(finish)
            box.close()
            box.deleteLater()

        self.export_progress.connect(update)
        self.exported.connect(finish)

    def _export_done(self, _doc, result) -> None:
        if result.cancelled:
            self.ws.flash("Export cancelled; nothing was written")
        else:
            self.ws.flash(f"Exported {result.frames} frames to {result.path}")
        self.exported.emit(result)


@dataclasses.dataclass
class _Group:
    """Marks the start of a group of steps that undo and redo together (see _close_group)."""

    name: str
    nbytes: int = 0

    def undo(self) -> None:
        pass

    def redo(self) -> None:
        pass


@dataclasses.dataclass
class _Steps:
    """Several commands as one undo step."""

    name: str
    commands: list

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.commands)

    def undo(self) -> None:
        for c in reversed(self.commands):
            c.undo()

    def redo(self) -> None:
        for c in self.commands:
            c.redo()


def _close_group(history) -> None:
    """Fold the commands pushed since the last _Group into one step named after the group."""
    stack = history.undo_stack
    taken = []
    while stack and not isinstance(stack[-1], _Group):
        taken.append(stack.pop())
    if not stack:
        return
    group = stack.pop()
    taken.reverse()
    if taken:
        stack.append(_Steps(group.name, taken))
    history.changed.emit()
