"""Synthesis (SCGAN): a face drawn on the painted mask from the session's seed and attribute toggles,
re-run after each stroke when the panel asks for it. A picture's toggles start from the attribute
evaluator's reading until the user sets them (a project keeps its saved toggles)."""
from __future__ import annotations

from PySide6.QtCore import QObject

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
        self._applying_reading = False
        self._ran = False                     # a synthesis ran for this document
        self.session.subscribe((SEED, SYNTH_ATTRS), self._values_changed)
        self.session.subscribe(READINGS, self.apply_reading)
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
        self.apply_reading()

    def document_changed(self, doc) -> None:
        self.channel.invalidate()
        self.panel.set_preview(None)
        self._ran = False
        if doc is not None:
            self.geometry_changed()

    def geometry_changed(self) -> None:
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
        if self.panel.auto_refresh:
            self.run()

    def _values_changed(self) -> None:
        if not self._applying_reading:
            self._user_asked()

    def _user_asked(self) -> None:
        """The user changed the seed or the toggles, or pressed Generate: show and run the synthesis."""
        self.session.synth_from_reading = False
        self._showing = True            # shown because the user asked: run once, below
        try:
            self.session.set(SHOWN, "synthesis", record=False)
        finally:
            self._showing = False
        self.run()

    def apply_reading(self) -> None:
        """Start a picture's toggles from the evaluator's reading (until the user sets them); a synthesis
        that already ran with the old toggles runs again."""
        if not self.session.synth_from_reading or self.model is None or self.session.readings is None:
            return
        self._applying_reading = True
        try:
            changed = self.session.set_synth_toggles(self.panel.reading_toggles(), record=False)
        finally:
            self._applying_reading = False
        if changed and self._ran:
            self.run()

    def run(self) -> None:
        doc, model = self.session.document, self.model
        if doc is None or model is None:
            return
        engine, key = self.ws.engine, model.key
        attrs = {name: float(self.session[SYNTH_ATTRS].get(name, 0.0)) for name in model.entry.attributes}
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
