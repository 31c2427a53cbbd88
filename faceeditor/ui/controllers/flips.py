"""The All flips feature (SG-GAN, task flip_attributes): every attribute flip of the open face from one
forward pass, shown as tiles; a clicked tile is applied as the current edit.

- The sheet is computed off the UI thread on this controller's channel (latest wins) whenever the face
  changes: another document, a re-crop, another face, the models changed; *Refresh* asks again, *Cancel*
  stops the running pass (`engine.cancel(request)`, this request only).
- Applying a flip sets the session's `flip` ({"attribute", "value"}): one undo step (Ctrl+Z takes it
  back), saved in the project's edits.json. The flip's head pasted into the photo (core.document.Placement,
  the attribute editor's rule) is the "flip" result on the canvas, shown while no slider is moved and no
  expression is chosen.
- Order with the other edits: flip, then expression, then the attribute sliders: the expression and the
  attribute controllers start their chain from the flip's face (ui/flip_base.py, which keeps the last
  sheet so the three share one pass).
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from faceeditor.core.session import ATTRIBUTES, EXPRESSION, FLIP, SHOWN, WHOLE_AS_FACE, flip_label
from faceeditor.engine.engine import Cancelled
from faceeditor.engine.requests import FlipAttributesRequest
from faceeditor.ui.app_engine import missing_reason
from faceeditor.ui.controllers import FollowsDocument, Outcome, when_raised
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.flips_panel import FlipsPanel
from faceeditor.ui.workspace import Workspace

NO_FACE = "No face was found in this picture. To use it whole as a face crop, choose Face \u25b8 Whole image."


class FlipsController(FollowsDocument, QObject):
    def __init__(self, ws: Workspace, panel: FlipsPanel, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.view = ws, panel, view
        self.session = ws.session
        self.channel = ws.channel("flips", inference=True, what="All flips")
        self.channel.finished.connect(self._computed)
        self.channel.busy_changed.connect(panel.set_busy)
        self.request: FlipAttributesRequest | None = None      # the pass running now (for Cancel)
        self.sheet = None
        panel.apply_wanted.connect(self.apply)
        panel.remove_wanted.connect(self.remove)
        panel.cancel_wanted.connect(self.cancel)
        panel.refresh_wanted.connect(self.run)
        self.session.subscribe(FLIP, self._flip_changed)
        self.session.subscribe((ATTRIBUTES, EXPRESSION), self._others_changed)
        self.session.subscribe(WHOLE_AS_FACE, self.geometry_changed)
        when_raised(panel, self._panel_raised)
        self.follow_documents(self.session)
        ws.models_changed.connect(self._models_changed)
        self._models_changed()

    @property
    def model(self):
        return self.ws.model("flip_attributes")

    def _models_changed(self) -> None:
        self.panel.set_model(self.model, missing_reason("flip_attributes"))
        self.run()

    def document_changed(self, doc) -> None:
        self.channel.invalidate()
        self.sheet = None
        self.panel.clear_tiles()
        if doc is not None:
            self.run()
        elif self.model is not None:
            self.panel.set_message("No picture is open.")

    def geometry_changed(self) -> None:
        self.run()

    def _panel_raised(self) -> None:
        if self.session.document is not None and self.session[FLIP] is not None and self._flip_alone():
            self.session.set(SHOWN, "flip", record=False)

    def _flip_alone(self) -> bool:
        """The flip is the whole edit: no slider moved, no expression chosen (else their chain shows it)."""
        return not self.session[ATTRIBUTES] and self.session[EXPRESSION] is None

    def _others_changed(self) -> None:
        """The last slider back at 0 and no expression: the flip alone is the result again."""
        if self.session.document is not None and self.session[FLIP] is not None and self._flip_alone():
            self.session.set(SHOWN, "flip", record=False)

    # --- the user -----------------------------------------------------------------------------------
    def apply(self, attribute: str, value: int) -> None:
        """Make the flip of `attribute` to `value` the current edit (one undo step)."""
        if self.session.document is None:
            return
        flip = {"attribute": attribute, "value": int(value)}
        self.session.set(FLIP, flip, name=f"Flip {flip_label(flip)}")

    def remove(self) -> None:
        if self.session.document is not None and self.session[FLIP] is not None:
            self.session.set(FLIP, None, name="Remove flip")

    def cancel(self) -> None:
        if self.request is not None:
            self.ws.engine.cancel(self.request)

    def _flip_changed(self) -> None:
        if self.session.document is None:
            return
        if self.session[FLIP] is not None and self._flip_alone():
            self.session.set(SHOWN, "flip", record=False)
        elif self.session[FLIP] is None and self.session[SHOWN] == "flip":
            self.session.set(SHOWN, "expression" if self.session[EXPRESSION] is not None else "attributes",
                             record=False)
        self.run()

    # --- the sheet ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Compute the open face's flips (kept per crop: a new pass only for a new crop or model) and, with a
        flip applied, its head pasted into the photo."""
        doc, model = self.session.document, self.model
        if doc is None or model is None:
            self.view.store("flip", None)
            return
        if self.session.faceless:
            self.channel.invalidate()
            self.panel.clear_tiles()
            self.panel.set_message(NO_FACE)
            self.view.store("flip", None)
            return
        engine, key, crop, paste = self.ws.engine, model.key, doc.crop_image, doc.paster()
        flip, base = self.session[FLIP], self.ws.flip_base
        request = FlipAttributesRequest([crop], model=key)
        self.request = request
        if base.cached(crop, key) is None:
            self.panel.set_message("Computing every flip of this face (one pass)\u2026")

        def job():
            try:
                sheet, result = base.sheet(engine, crop, key, request)
            except Cancelled:
                return Outcome(doc, None)
            photo = None
            if flip is not None and flip["attribute"] in sheet.attributes:
                photo = paste(sheet.head(flip["attribute"], flip["value"]))
            return Outcome(doc, result, photo, Pyramid(photo) if photo is not None else None, sheet)

        self.channel.submit(job, tag=doc)

    def _computed(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        self.request = None
        if out.crop is None:                    # cancelled
            self.panel.set_message("Cancelled. Refresh computes the flips again.")
            return
        if out.result is not None:
            self.ws.timing.emit(out.result)
        if out.crop is not self.sheet:
            self.sheet = out.crop
            self.panel.set_sheet(out.crop)
        self.panel.set_message("")
        self.view.store("flip", out.photo, out.pyramid)
