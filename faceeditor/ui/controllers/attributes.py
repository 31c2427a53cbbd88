"""The attribute feature: the editor behind the sliders (an `EditAttributesRequest` from the session's
values and keep options, pasted back into the photo), the region overlay of the slider the mouse points at
(core.attribute_regions.slider_region on the document's mask: a lookup and a small dilation, a few ms at
512 px, so it runs on the UI thread) and the attribute evaluator's reading of each opened face (shown by the
sliders; the synthesis toggles the user has not set and the mask does not decide follow it).

With an expression chosen in the expression panel the edit is a chain, in one job: the expression editor
changes the face first, then the attribute editor edits the changed face (docs/hiergan.md). With an SG-GAN
flip applied (All flips) the chain starts from the flip's face: flip, expression, attributes
(ui/flip_base.py)."""
from __future__ import annotations

from PySide6.QtCore import QObject

from faceeditor.core.attribute_regions import slider_region
from faceeditor.core.session import (
    ATTRIBUTES,
    EXPRESSION,
    EXPRESSION_INTENSITY,
    FLIP,
    KEEP_DETAIL,
    KEEP_OUTSIDE,
    PAINTED_MASK,
    SHOWN,
    WHOLE_AS_FACE,
)
from faceeditor.engine.requests import ClassifyAttributesRequest, EditAttributesRequest, EditExpressionRequest
from faceeditor.ui.app_engine import missing_reason
from faceeditor.ui.controllers import FollowsDocument, Outcome, when_raised
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.attribute_panel import AttributePanel
from faceeditor.ui.workspace import Workspace

NO_FACE = ("No face was found in this picture, so the attribute editor has nothing to edit. To edit the "
           "whole picture as a face crop anyway, choose Face \u25b8 Whole image.")


class AttributesController(FollowsDocument, QObject):
    def __init__(self, ws: Workspace, panel: AttributePanel, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.view = ws, panel, view
        self.session = ws.session
        self.channel = ws.channel("edit", inference=True, what="Attribute edit")
        self.channel.finished.connect(self._edited)
        self.read_channel = ws.channel("classify", inference=True, what="Reading the attributes")
        self.read_channel.finished.connect(self._read)
        self.session.subscribe(ATTRIBUTES, self._attributes_changed)
        self.session.subscribe((KEEP_OUTSIDE, KEEP_DETAIL, PAINTED_MASK), self.run)
        self.session.subscribe((EXPRESSION, EXPRESSION_INTENSITY, FLIP), self._expression_changed)
        self.region_of: str | None = None       # the attribute whose region the canvas shows
        panel.region_wanted.connect(self.show_region)
        self.session.subscribe(WHOLE_AS_FACE, self.geometry_changed)
        self.session.subscribe(SHOWN, self._shown_changed)
        self._showing = False
        self._dragging = False          # a slider is being dragged: edits run the editor's preview model
        self._preview_shown = False     # the result shown came from a preview request
        panel.dragging.connect(self._drag_changed)
        when_raised(panel, self._panel_raised)
        self.follow_documents(self.session)
        ws.models_changed.connect(self._models_changed)
        self._models_changed()

    @property
    def model(self):
        return self.ws.model("edit_attributes")

    def _models_changed(self) -> None:
        self.panel.set_model(self.model, missing_reason("edit_attributes"))
        self.panel.set_keep_outside_available(self.ws.model("parse") is not None)
        self.panel.set_painted_mask_available(self._reads_masks())
        self.read()                 # a new pack may bring the evaluator

    def _reads_masks(self) -> bool:
        """The loaded editor reads parse probabilities (MagGAN's `masks` input)."""
        model = self.model
        return model is not None and model.input("masks") is not None

    def document_changed(self, doc) -> None:
        self.show_region(None)
        self.channel.invalidate()
        self.read_channel.invalidate()
        self.panel.set_predicted_mask(None)
        if doc is not None:
            self.geometry_changed()

    def _panel_raised(self) -> None:
        """The panel in use decides the result shown: the attribute edit, once its panel is raised."""
        if self.session.document is not None:
            self.session.set(SHOWN, "attributes", record=False)

    def _shown_changed(self) -> None:
        """The attribute edit is shown again: run it if it has no result yet (e.g. a project opened on the
        synthesis)."""
        if (self.session[SHOWN] == "attributes" and not self._showing and self.session[ATTRIBUTES]
                and "attributes" not in self.view.results):
            self.run()

    def geometry_changed(self) -> None:
        """A new crop (another document, a re-crop): read it, and re-run the edit it describes unless the
        synthesis is the result shown."""
        self.read()
        synthesis_shown = self.session[SHOWN] == "synthesis" and self.ws.model("synthesize") is not None
        if not synthesis_shown and self.session[ATTRIBUTES]:
            self.run()

    def _attributes_changed(self) -> None:
        if self.region_of is not None:          # the pointed slider may have changed sign
            self.show_region(self.region_of)
        self._showing = True            # shown because of this change: run once, below
        try:
            self.session.set(SHOWN, "attributes", record=False)
        finally:
            self._showing = False
        self.run()

    def _expression_changed(self) -> None:
        """The face the attributes edit changed (its expression, or the applied flip): re-run the chain (if a
        slider is moved)."""
        if self.session[ATTRIBUTES]:
            self.run()

    def _drag_changed(self, dragging: bool) -> None:
        """While a slider is dragged edits are previews; on release the full edit replaces the preview."""
        self._dragging = dragging
        if not dragging and self._preview_shown:
            self.run()

    def mask_edited(self, _name: str) -> None:
        if self.region_of is not None:
            self.show_region(self.region_of)
        model = self.model
        reads = model is not None and (model.input("mask") is not None
                                       or (self._reads_masks() and self.session[PAINTED_MASK]))
        if reads and self.session[ATTRIBUTES]:
            self.run()

    # --- the region overlay ---------------------------------------------------------------------
    def show_region(self, name: str | None) -> None:
        """Show on the canvas where the slider `name` acts (by its value's sign; '+' at 0) on the
        document's mask; None hides it."""
        self.region_of = name
        doc = self.session.document
        if name is None or doc is None:
            self.view.canvas.set_region(None)
            return
        value = self.session[ATTRIBUTES].get(name, 0.0)
        try:
            region = slider_region(doc.mask.data, name, value)
        except (KeyError, ValueError):          # an attribute of unknown extent: nothing to show
            region = None
        self.view.canvas.set_region(region)

    # --- the edit -------------------------------------------------------------------------------
    def run(self) -> None:
        doc, model, parser = self.session.document, self.model, self.ws.model("parse")
        if doc is None or model is None:
            return
        values = self.session.attribute_values(model.entry.attributes)
        if self.session.faceless:
            self.channel.invalidate()
            self.view.store("attributes", None)
            if any(values.values()):
                self.ws.flash(NO_FACE, error=True)
            return
        if not any(values.values()):
            self.channel.invalidate()
            self.view.store("attributes", None)
            self.panel.set_predicted_mask(None)
            return
        engine, key = self.ws.engine, model.key
        crop, paste = doc.crop_image, doc.paster()
        keep = bool(self.session[KEEP_OUTSIDE]) and parser is not None
        parser_key = parser.key if keep else None
        detail = bool(self.session[KEEP_DETAIL])
        painted = bool(self.session[PAINTED_MASK]) and self._reads_masks()
        # the document's mask (the user may have corrected it) says where the attributes' parts are
        mask = doc.mask.data.copy() if keep or painted or model.input("mask") is not None else None
        preview = self._dragging
        self._preview_shown = preview
        expresser = self.ws.model("edit_expression") if self.session[EXPRESSION] is not None else None
        expression = (self.session[EXPRESSION], float(self.session[EXPRESSION_INTENSITY]))
        flip, flipper, flip_base = self.session[FLIP], self.ws.model("flip_attributes"), self.ws.flip_base
        flip_key = flipper.key if flipper is not None else None

        def job():
            source = flip_base.source(engine, crop, flip_key, flip)     # the flip's face, when one is applied
            if expresser is not None and expression[0] in expresser.entry.expressions:    # first the expression
                source = engine.run(EditExpressionRequest([source], expression[0], intensity=expression[1],
                                                          model=expresser.key)).images[0]
            result = engine.run(EditAttributesRequest([source], values, masks=None if mask is None else [mask],
                                                      model=key, keep_outside=keep, parser=parser_key,
                                                      keep_detail=detail, use_painted_mask=painted,
                                                      preview=preview))
            photo = paste(result.images[0])
            return Outcome(doc, result, photo, Pyramid(photo))

        self.channel.submit(job, tag=doc)

    def _edited(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        self.ws.timing.emit(out.result)
        self.view.store("attributes", out.photo, out.pyramid)
        if out.result.masks:
            self.panel.set_predicted_mask(out.result.masks[0], out.result.mask_classes)

    # --- the evaluator's reading ----------------------------------------------------------------
    def read(self) -> None:
        """Ask the attribute evaluator what the face shows (the session's `readings`)."""
        doc, model = self.session.document, self.ws.model("classify_attributes")
        if doc is None or model is None or self.session.faceless:
            return
        engine, crop, key = self.ws.engine, doc.crop_image, model.key
        self.read_channel.submit(lambda: Outcome(doc, engine.run(ClassifyAttributesRequest([crop], model=key))),
                                 tag=doc)

    def _read(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        result = out.result
        self.session.set_readings({name: float(p) for name, p in zip(result.names, result.probs[0], strict=True)})
