"""Mask editing around the canvas: the tool and its settings (class, size, eraser class, lock, mirror)
applied to the document's mask layer, the brush indicator, picking a class, typing class numbers, the
mask's starting points (landmarks, clear) and mask import and export. Painting itself is in
faceeditor.core.mask_layer; every change is a step of the document's history."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from faceeditor.core.document import initial_mask
from faceeditor.core.labels import NUM_CLASSES, class_label
from faceeditor.core.palette import PALETTE
from faceeditor.ui.canvas import CanvasView, Tool
from faceeditor.ui.controllers import FollowsDocument
from faceeditor.ui.dialogs import IMAGE_FILTER, open_file_name, save_file_name
from faceeditor.ui.widgets.mask_panel import LOCK_COLOUR, MaskPanel
from faceeditor.ui.workspace import Workspace

DIGIT_WINDOW_S = 0.8


class MaskController(FollowsDocument, QObject):
    tool_changed = Signal(object)          # the Tool now active

    def __init__(self, ws: Workspace, panel: MaskPanel, canvas: CanvasView, brush_label: QLabel,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.canvas, self.brush_label = ws, panel, canvas, brush_label
        self.session = ws.session
        self._digit: tuple[int, float] | None = None
        tools = ws.prefs.get("tools", {})
        panel.restore(tools if isinstance(tools, dict) else {})
        panel.settings_changed.connect(self._settings_changed)
        panel.landmarks_requested.connect(self.from_landmarks)
        panel.clear_requested.connect(self.clear)
        canvas.picked.connect(self._picked)
        canvas.hint_shown.connect(self.ws.flash)
        canvas.painting.connect(ws.overlay_wanted)
        self.follow_documents(self.session)
        self._update_brush_label()

    @property
    def doc(self):
        return self.session.document

    def document_changed(self, doc) -> None:
        if doc is not None:
            self.panel.apply_to(doc.mask)

    def geometry_changed(self) -> None:
        self.panel.apply_to(self.session.document.mask)

    def _settings_changed(self) -> None:
        if self.doc is not None:
            self.panel.apply_to(self.doc.mask)
        self._update_brush_label()
        self.canvas.update_brush_cursor()
        self.ws.prefs.data["tools"] = self.panel.state()

    def set_tool(self, tool: Tool) -> None:
        """The user picks a tool: the mask it works on is shown (the landmarks tool: with the 68 points)."""
        self.canvas.set_tool(tool)
        self.ws.overlay_wanted.emit()
        self._update_brush_label()
        if tool == Tool.LANDMARKS and self.doc is not None and self.canvas.landmarks is None:
            self.ws.flash("No face landmarks for this picture: there is nothing to drag", error=True)
        self.tool_changed.emit(tool)

    def set_landmark_mirror(self, on: bool) -> None:
        """A landmark drag moves the mirror-image point the opposite way too (face_geometry's mirror order)."""
        self.canvas.landmark_mirror = bool(on)
        self._update_brush_label()

    def _update_brush_label(self) -> None:
        if self.canvas.tool == Tool.LANDMARKS:
            mirrored = " \u00b7 mirrored" if self.canvas.landmark_mirror else ""
            self.brush_label.setText(f"<b>Landmarks</b> \u00b7 drag a point, Shift+drag its part{mirrored}")
            return
        panel = self.panel
        label = panel.eraser.currentData() if self.canvas.tool == Tool.ERASER else panel.label
        r, g, b = (int(c) for c in PALETTE[label])
        lock, eraser = panel.lock.currentData(), int(panel.eraser.currentData())
        extra = (f" \u00b7 <b style='color:{LOCK_COLOUR}'>only over {class_label(lock)}</b>" if lock is not None
                 else "")
        extra += f" \u00b7 eraser paints {class_label(eraser)}" if eraser and self.canvas.tool != Tool.ERASER else ""
        extra += " \u00b7 mirrored" if panel.mirror.isChecked() else ""
        self.brush_label.setText(f"<span style='color:rgb({r},{g},{b}); font-size:15px'>\u25cf</span> "
                                 f"<b>{class_label(label)}</b> \u00b7 "
                                 f"{panel.size_spin.value()} px{extra}")

    def _picked(self, label: int) -> None:
        self.panel.select_class(label)
        self.ws.flash(f"Picked {class_label(label)}")
        if self.canvas.tool == Tool.PICKER:
            self.set_tool(Tool.BRUSH)

    def digit_pressed(self, digit: int) -> None:
        """0-9 select a class; two digits typed quickly select 10-18."""
        now = time.monotonic()
        if self._digit is not None and now - self._digit[1] < DIGIT_WINDOW_S:
            combined = self._digit[0] * 10 + digit
            if self._digit[0] > 0 and combined < NUM_CLASSES:
                self.panel.select_class(combined)
                self._digit = None
                return
        self.panel.select_class(digit)
        self._digit = (digit, now)

    # --- whole-mask commands --------------------------------------------------------------------
    def from_landmarks(self) -> None:
        if self.doc is None:
            return
        if self.doc.crop.landmarks.shape != (68, 2):
            self.ws.flash("No face landmarks for this picture", error=True)
            return
        self.doc.mask.replace(initial_mask(self.doc.crop), "Mask from landmarks")
        self.ws.overlay_wanted.emit()

    def clear(self) -> None:
        if self.doc is not None:
            self.doc.mask.replace(np.zeros(self.doc.mask.shape, np.uint8), "Clear mask")
            self.ws.overlay_wanted.emit()

    def import_dialog(self) -> None:
        path = open_file_name(self.ws.dialog_parent, "Import a mask", "", IMAGE_FILTER)
        if path:
            self.import_mask(path)

    def import_mask(self, path: str | os.PathLike) -> bool:
        from faceeditor.core.mask_io import MaskError, load_any_mask

        doc = self.doc
        if doc is None:
            return False
        try:
            mask = load_any_mask(path)
        except MaskError as exc:
            self.ws.show_error("Cannot import the mask", str(exc))
            return False
        if mask.shape[0] != mask.shape[1]:
            self.ws.show_error("Cannot import the mask", f"{path}: the mask must be square like the aligned crop "
                                                         f"({doc.resolution}x{doc.resolution}), it is "
                                                         f"{mask.shape[1]}x{mask.shape[0]}")
            return False
        if mask.shape != doc.mask.shape:
            import cv2

            mask = cv2.resize(mask, doc.mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
            self.ws.flash(f"Mask resized to {doc.resolution}px (nearest neighbour)")
        doc.mask.replace(mask, f"Import {Path(path).name}")
        self.ws.overlay_wanted.emit()
        return True

    def export_dialog(self, colour: bool) -> None:
        if self.doc is None:
            return
        stem = Path(self.doc.source or "mask").stem
        path = save_file_name(self.ws.dialog_parent, "Export the mask",
                              f"{stem}_mask{'_colour' if colour else ''}.png", "PNG (*.png)")
        if path:
            self.export_mask(path, colour)

    def export_mask(self, path: str | os.PathLike, colour: bool) -> bool:
        from faceeditor.core.image_io import ImageSaveError, save_image
        from faceeditor.core.palette import colorize

        if self.doc is None:
            return False
        try:
            save_image(path, colorize(self.doc.mask.data) if colour else self.doc.mask.data)
        except (ImageSaveError, OSError) as exc:
            self.ws.show_error("Cannot export the mask", str(exc))
            return False
        self.ws.flash(f"Exported {path}")
        return True
