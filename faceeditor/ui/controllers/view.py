"""The canvas and the layers panel: which document and crop the canvas shows, the results the inference
controllers hand in (one per kind: attribute edit, synthesis, expression), which of them is shown (the
session's `shown`, switched by the panel in use and named by a badge on the canvas), the mask overlay (off
on a fresh picture until the user paints, picks a mask tool or asks; a project keeps its own) and the
before/after split."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from faceeditor.core.session import SHOWN
from faceeditor.ui.canvas import CanvasView
from faceeditor.ui.controllers import FollowsDocument
from faceeditor.ui.dialogs import save_file_name
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.canvas_notes import ResultBadge, note_stack
from faceeditor.ui.widgets.layers_panel import LayersPanel
from faceeditor.ui.workspace import Workspace

RESULT_NAMES = {"attributes": "attribute edit", "synthesis": "synthesis", "expression": "expression edit",
                "flip": "flip"}


class ViewController(FollowsDocument, QObject):
    """See the module docstring. `results[kind]` = (photo with the output pasted in, its pyramid)."""

    def __init__(self, ws: Workspace, canvas: CanvasView, layers: LayersPanel, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.canvas, self.layers = ws, canvas, layers
        self.session = ws.session
        self.results: dict[str, tuple[np.ndarray, Pyramid]] = {}
        self.follow_documents(self.session)
        self.session.subscribe(SHOWN, self._show_result)
        layers.changed.connect(self._layers_changed)
        ws.overlay_wanted.connect(lambda: layers.overlay.setChecked(True))
        self.badge = ResultBadge()
        note_stack(canvas.viewport(), "top").add(self.badge)
        self._comparing = False
        canvas.compare_changed.connect(self._compare_changed)

    # --- document -------------------------------------------------------------------------------
    def document_changed(self, doc) -> None:
        self.results = {}
        if doc is None:
            self.update_badge()
            return
        made = self.ws.photo_pyramid
        pyramid = made[1] if made is not None and made[0] is doc else Pyramid(doc.photo)
        self.ws.photo_pyramid = None
        self.canvas.set_document(pyramid, doc.mask, doc.crop.inverse)
        view = doc.settings.get("view", {})
        if isinstance(view, dict):
            if isinstance(view.get("overlay_opacity"), (int, float)):
                self.layers.opacity.setValue(int(round(100 * float(view["overlay_opacity"]))))
            if isinstance(view.get("overlay_visible"), bool):
                self.layers.overlay.setChecked(view["overlay_visible"])
        self._layers_changed()
        self.canvas.update_brush_cursor()

    def geometry_changed(self) -> None:
        """A re-crop (or its undo): the same photo, another crop and mask layer; the results are stale."""
        doc = self.session.document
        self.ws.invalidate_inference()
        self.results = {}
        self.canvas.set_document(self.canvas.photo_item.pyramid or Pyramid(doc.photo), doc.mask, doc.crop.inverse)
        self._layers_changed()
        self.canvas.update_brush_cursor()

    # --- results --------------------------------------------------------------------------------
    def store(self, kind: str, photo: np.ndarray | None, pyramid: Pyramid | None = None) -> None:
        """A controller's newest output for `kind` (None: there is none, e.g. every slider at 0)."""
        if photo is None:
            self.results.pop(kind, None)
        else:
            self.results[kind] = (photo, pyramid if pyramid is not None else Pyramid(photo))
        if kind == self.session[SHOWN]:
            self._show_result()

    def _show_result(self) -> None:
        found = self.results.get(self.session[SHOWN])
        self.canvas.set_result(found[1] if found is not None else None)
        self.update_badge()

    def _compare_changed(self, on: bool) -> None:
        self._comparing = on
        self.update_badge()

    def update_badge(self) -> None:
        """Name what the canvas shows: "Showing: attribute edit", "synthesis", or the photo and why."""
        badge, kind = self.badge, self.session[SHOWN]
        if self.session.document is None:
            badge.hide()
            return
        name = RESULT_NAMES.get(kind, kind)
        if self._comparing:
            text = "Showing: the original photo (comparing)"
        elif not self.layers.result.isChecked():
            text = "Showing: the photo (Layers \u25b8 Result is off)"
        elif kind not in self.results:
            text = f"Showing: the photo \u2014 no {name} yet"
        elif self.layers.split.isChecked():
            text = f"Showing: photo | {name} (split)"
        else:
            text = f"Showing: {name}"
        badge.setText(text)
        badge.show()

    @property
    def result_photo(self) -> np.ndarray | None:
        """The photo with the shown result pasted in (None when there is no result)."""
        found = self.results.get(self.session[SHOWN])
        return found[0] if found is not None else None

    def export_dialog(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        stem = Path(doc.source or "result").stem
        path = save_file_name(self.ws.dialog_parent, "Export the result", f"{stem}_edited.png",
                              "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)")
        if path:
            self.export_result(path)

    def export_result(self, path: str | os.PathLike) -> bool:
        from faceeditor.core.image_io import ImageSaveError, save_image

        doc = self.session.document
        if doc is None:
            return False
        try:
            save_image(path, self.result_photo if self.result_photo is not None else doc.photo)
        except (ImageSaveError, OSError) as exc:
            self.ws.show_error("Cannot export the result", str(exc))
            return False
        self.ws.flash(f"Exported {Path(path)}")
        return True

    # --- layers ---------------------------------------------------------------------------------
    def _layers_changed(self) -> None:
        p = self.layers
        self.canvas.set_result_visible(p.result.isChecked())
        self.canvas.set_split(p.split.isChecked())
        self.canvas.set_overlay_visible(p.overlay.isChecked())
        self.canvas.set_overlay_opacity(p.opacity.value() / 100)
        if self.canvas.outline is not None:
            self.canvas.outline.setVisible(p.outline.isChecked())
        self.update_badge()
        doc = self.session.document
        if doc is not None:            # saved with the project
            doc.settings["view"] = {"overlay_opacity": self.canvas.overlay_opacity,
                                          "overlay_visible": self.canvas.overlay_visible}
