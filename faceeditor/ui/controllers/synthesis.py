"""Synthesis (SCGAN): a face drawn on the painted mask from the session's seed and attribute toggles,
re-run after each stroke when the panel asks for it.

The toggles the user has not set are resolved (faceeditor.core.mask_attributes.resolve_attributes): what the
mask decides (a bald head, eyeglasses, an open mouth, bangs), else the attribute evaluator's reading of the
photo (the session's `readings`, when the packs have an evaluator), else the model's default. The controller
reads the mask after each mask edit (a few milliseconds of numpy on the UI thread, no inference) and puts
the resolution in the session (`synth_resolved`), which the panel shows; a synthesis that already ran runs
again when a late reading changes it. A project keeps the toggles the user set."""
from __future__ import annotations

from PySide6.QtCore import QObject

from faceeditor.core.mask_attributes import ResolvedAttributes, attributes_from_mask, resolve_attributes
from faceeditor.core.mask_io import MaskError
from faceeditor.core.session import READINGS, SEED, SHOWN, SYNTH_ATTRS
from faceeditor.engine.requests import SynthesizeRequest
from faceeditor.ui.app_engine import missing_reason
from faceeditor.ui.controllers import FollowsDocument, Outcome, when_raised
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.synthesis_panel import SynthesisPanel
from faceeditor.ui.workspace import Workspace


class SynthesisController(FollowsDocument, QObject):
    def __init__(self, ws: Workspace, panel: SynthesisPanel, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.view = ws, panel, view
        self.session = ws.session
        self.channel = ws.channel("synthesize", inference=True, what="Synthesis")
        self.channel.finished.connect(self._synthesized)
        self._ran = False                       # a synthesis ran for this document
        self._from_mask: dict[str, float] = {}  # what the open document's mask decides
        self.session.subscribe((SEED, SYNTH_ATTRS), self._user_asked)
        self.session.subscribe(READINGS, self._reading_changed)
        self.session.subscribe(SHOWN, self._shown_changed)
        self._showing = False
        self.follow_documents(self.session)
        panel.generate_requested.connect(self._user_asked)
        when_raised(panel, self._panel_raised)
        ws.models_changed.connect(self._models_changed)
        self._models_changed()

    @property
    def model(self):
        return self.ws.model("synthesize")

    def _models_changed(self) -> None:
        self.panel.set_model(self.model, missing_reason("synthesize"))
        if self.resolve() and self._ran:
            self.run()

    def document_changed(self, doc) -> None:
        self.channel.invalidate()
        self.panel.set_preview(None)
        self._ran = False
        self._read_mask()
        if doc is not None:
            self.geometry_changed()

    def geometry_changed(self) -> None:
        self._read_mask()
        if self.session[SHOWN] == "synthesis" and self.model is not None:
            self.run()

    def _panel_raised(self) -> None:
        """The panel in use decides the result shown: the synthesis, once its panel is raised."""
        if self.session.document is not None:
            self.session.set(SHOWN, "synthesis", record=False)

    def _shown_changed(self) -> None:
        """The synthesis is shown (its panel raised, Layers ▸ Result): draw it if it has not run yet."""
        if self.session[SHOWN] == "synthesis" and not self._ran and not self._showing:
            self.run()

    def mask_edited(self, _name: str) -> None:
        self._read_mask()
        if self.panel.auto_refresh:
            self.run()

    def _user_asked(self) -> None:
        """The user changed the seed or the toggles, or pressed Generate: show and run the synthesis."""
        self.resolve()
        self._showing = True            # shown because the user asked: run once, below
        try:
            self.session.set(SHOWN, "synthesis", record=False)
        finally:
            self._showing = False
        self.run()

    # --- the attributes: set by the user, else from the mask, the photo or the model's default ----------
    def _read_mask(self) -> None:
        """What the open document's mask decides, then the resolution."""
        doc = self.session.document
        try:
            self._from_mask = attributes_from_mask(doc.mask.data) if doc is not None else {}
        except MaskError:                   # a document's mask is valid; a bad one must not stop synthesis
            self._from_mask = {}
        self.resolve()

    def resolve(self) -> bool:
        """Put the resolved attributes in the session (None without a model or a document); True when they
        changed."""
        model, before = self.model, self.session.synth_resolved
        resolved: ResolvedAttributes | None = None
        if model is not None and self.session.document is not None:
            entry = model.entry
            resolved = resolve_attributes(entry.attributes, entry.attribute_defaults(),
                                          user=self.session[SYNTH_ATTRS], mask=self._from_mask,
                                          photo=self.session.readings)
        self.session.set_synth_resolved(resolved)
        return resolved != before

    def _reading_changed(self) -> None:
        """The evaluator's reading arrived (or went): a synthesis that ran with the old values runs again."""
        if self.resolve() and self._ran:
            self.run()

    def run(self) -> None:
        doc, model = self.session.document, self.model
        if doc is None or model is None:
            return
        engine, key = self.ws.engine, model.key
        self.resolve()
        attrs = dict(self.session.synth_resolved.values)
        mask, seed, paste = doc.mask.data.copy(), int(self.session[SEED]), doc.paster()
        self._ran = True

        def job():
            result = engine.run(SynthesizeRequest([mask], attrs, seeds=seed, model=key))
            crop = result.images[0]
            photo = paste(crop)
            return Outcome(doc, result, photo, Pyramid(photo), crop)

        self.channel.submit(job, tag=doc)

    def _synthesized(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        self.ws.timing.emit(out.result)
        self.panel.set_preview(out.crop)
        self.view.store("synthesis", out.photo, out.pyramid)
