"""The expression feature: the expression editor behind the expression panel (an `EditExpressionRequest`
from the session's expression and intensity, pasted back into the photo, latest wins), and the expression
evaluator's reading of each opened face (the panel's 8 bars).

Order with attribute edits (docs/hiergan.md): the expression is changed first and the attribute sliders
edit the changed face. The attribute controller runs that chain itself (one job: expression, then
attributes); this controller's own result, the expression alone, is the one shown while no attribute is
moved. With an SG-GAN flip applied (All flips) the expression edits the flip's face (ui/flip_base.py)."""
from __future__ import annotations

from PySide6.QtCore import QObject

from faceeditor.core.session import ATTRIBUTES, EXPRESSION, EXPRESSION_INTENSITY, FLIP, SHOWN, WHOLE_AS_FACE
from faceeditor.engine.requests import ClassifyExpressionRequest, EditExpressionRequest
from faceeditor.ui.app_engine import missing_reason
from faceeditor.ui.controllers import FollowsDocument, Outcome, when_raised
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.widgets.expression_panel import ExpressionPanel
from faceeditor.ui.workspace import Workspace


class ExpressionController(FollowsDocument, QObject):
    def __init__(self, ws: Workspace, panel: ExpressionPanel, view: ViewController, parent: QObject | None = None):
        super().__init__(parent)
        self.ws, self.panel, self.view = ws, panel, view
        self.session = ws.session
        self.channel = ws.channel("expression", inference=True, what="Expression edit")
        self.channel.finished.connect(self._edited)
        self.read_channel = ws.channel("classify_expression", inference=True, what="Reading the expression")
        self.read_channel.finished.connect(self._read)
        self.session.subscribe((EXPRESSION, EXPRESSION_INTENSITY), self._expression_changed)
        self.session.subscribe(ATTRIBUTES, self._attributes_changed)
        self.session.subscribe(FLIP, self.run)
        self.session.subscribe(WHOLE_AS_FACE, self.geometry_changed)
        when_raised(panel, self._panel_raised)
        self.follow_documents(self.session)
        ws.models_changed.connect(self._models_changed)
        self._models_changed()

    @property
    def model(self):
        return self.ws.model("edit_expression")

    def _models_changed(self) -> None:
        self.panel.set_model(self.model, missing_reason("edit_expression"))
        self.read()

    def document_changed(self, doc) -> None:
        self.channel.invalidate()
        self.read_channel.invalidate()
        self.panel.set_reading(None, "Reading the face\u2026" if doc is not None else "No picture is open.")
        if doc is not None:
            self.geometry_changed()

    def geometry_changed(self) -> None:
        self.read()
        if self.session[EXPRESSION] is not None:
            self.run()

    def _panel_raised(self) -> None:
        if self.session.document is not None and self.session[EXPRESSION] is not None and not self.session[ATTRIBUTES]:
            self.session.set(SHOWN, "expression", record=False)

    def _expression_changed(self) -> None:
        if self.session.document is not None and not self.session[ATTRIBUTES]:
            self.session.set(SHOWN, "expression" if self.session[EXPRESSION] else "attributes", record=False)
        self.run()

    def _attributes_changed(self) -> None:
        """The last attribute slider back at 0: the expression alone is the result again."""
        if not self.session[ATTRIBUTES] and self.session[EXPRESSION] is not None:
            self.session.set(SHOWN, "expression", record=False)

    # --- the edit -----------------------------------------------------------------------------------
    def run(self) -> None:
        doc, model = self.session.document, self.model
        if doc is None or model is None:
            return
        name, intensity = self.session[EXPRESSION], float(self.session[EXPRESSION_INTENSITY])
        if name is None or self.session.faceless or name not in model.entry.expressions:
            self.channel.invalidate()
            self.view.store("expression", None)
            return
        engine, key, crop, paste = self.ws.engine, model.key, doc.crop_image, doc.paster()
        flip, flipper, flip_base = self.session[FLIP], self.ws.model("flip_attributes"), self.ws.flip_base
        flip_key = flipper.key if flipper is not None else None

        def job():
            source = flip_base.source(engine, crop, flip_key, flip)     # the flip's face, when one is applied
            result = engine.run(EditExpressionRequest([source], name, intensity=intensity, model=key))
            photo = paste(result.images[0])
            return Outcome(doc, result, photo, Pyramid(photo), result.images[0])

        self.channel.submit(job, tag=doc)

    def _edited(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        self.ws.timing.emit(out.result)
        self.view.store("expression", out.photo, out.pyramid)

    # --- the evaluator's reading ----------------------------------------------------------------------
    def read(self) -> None:
        doc, model = self.session.document, self.ws.model("classify_expression")
        if doc is None:
            return
        if model is None or self.session.faceless:
            self.panel.set_reading(None, "No expression evaluator is loaded." if model is None
                                   else "No face was found in this picture.")
            return
        engine, crop, key = self.ws.engine, doc.crop_image, model.key
        self.read_channel.submit(lambda: Outcome(doc, engine.run(ClassifyExpressionRequest([crop], model=key))),
                                 tag=doc)

    def _read(self, doc, out: Outcome) -> None:
        if doc is not self.session.document:
            return
        result = out.result
        self.panel.set_reading({n: float(p) for n, p in zip(result.names, result.probs[0], strict=True)})
