"""The expression panel on the fake engine: the evaluator's 8 bars for the open face, a button per
expression and the intensity slider (off the UI thread, latest wins), each change one undo step, the
choice saved in the project, and the documented order with attribute edits (expression first)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from faceeditor.core.labels import EXPRESSIONS
from faceeditor.core.project import load_project
from faceeditor.engine.requests import EditAttributesRequest, EditExpressionRequest
from tests.helpers.ui import make_window, open_and_wait


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def test_bars_show_the_evaluators_reading_of_the_open_face(opened, qtbot):
    w = opened
    _idle(w, qtbot)
    values = [w.expression.bars[name].value() for name in EXPRESSIONS]
    assert sum(values) == pytest.approx(100, abs=4) and all(bar.isEnabled() for bar in w.expression.bars.values())
    assert not w.expression.reading_note.isVisible()


def test_a_button_edits_off_the_ui_thread_and_is_one_undo_step(opened, qtbot):
    w = opened
    w.expr_dock.raise_()
    _idle(w, qtbot)
    steps = len(w.doc.history.undo_stack)
    w.engine.delay_s = 0.3
    qtbot.mouseClick(w.expression.buttons["happy"], Qt.MouseButton.LeftButton)
    assert w.workers.busy, "the edit runs in a worker; the click returns at once"
    w.engine.delay_s = 0.0
    _idle(w, qtbot)
    assert w.session["expression"] == "happy" and w.session["shown"] == "expression"
    assert len(w.doc.history.undo_stack) == steps + 1 and w.doc.history.undo_name == "Expression happy"
    shown = w.view.result_photo
    assert shown is not None and np.abs(shown.astype(int) - w.doc.photo).max() > 0
    req = [c for c in w.engine.calls if isinstance(c, EditExpressionRequest)][-1]
    assert req.expression == "happy" and req.intensity == 1.0
    w.act_undo.trigger()
    _idle(w, qtbot)
    assert w.session["expression"] is None and not w.expression.buttons["happy"].isChecked()
    assert w.view.result_photo is None


def test_intensity_changes_latest_wins(opened, qtbot):
    w = opened
    w.session.set("expression", "sad")
    _idle(w, qtbot)
    w.engine.delay_s = 0.2
    for v in (20, 40, 60, 80):
        w.expression.slider.setValue(v)
    w.engine.delay_s = 0.0
    _idle(w, qtbot)
    assert w.session["expression_intensity"] == pytest.approx(0.8)
    assert w.expression_ctl.channel.superseded >= 2, "older intensities waiting behind the running one are dropped"
    last = [c for c in w.engine.calls if isinstance(c, EditExpressionRequest)][-1]
    assert last.intensity == pytest.approx(0.8)
    assert w.doc.history.undo_name == "Expression intensity"     # consecutive changes merged into one step


def test_attribute_edits_apply_to_the_changed_face(opened, qtbot):
    w = opened
    w.session.set("expression", "surprised")
    _idle(w, qtbot)
    expressed = w.view.results["expression"][0].copy()
    w.attributes.set_value("Blond_Hair", 0.7)
    _idle(w, qtbot)
    assert w.session["shown"] == "attributes"
    calls = w.engine.calls
    attr = max(i for i, c in enumerate(calls) if isinstance(c, EditAttributesRequest))
    assert isinstance(calls[attr - 1], EditExpressionRequest), "the chain: expression, then attributes"
    assert not np.array_equal(calls[attr].images[0], w.doc.crop_image)     # edits the changed face
    assert not np.array_equal(w.view.result_photo, expressed)
    w.attributes.set_value("Blond_Hair", 0.0)
    _idle(w, qtbot)
    assert w.session["shown"] == "expression" and np.array_equal(w.view.result_photo, expressed)


def test_the_expression_is_saved_in_the_project(opened, qtbot, tmp_path):
    w = opened
    w.session.set("expression", "angry")
    w.session.set("expression_intensity", 0.6)
    _idle(w, qtbot)
    path = tmp_path / "expr.fep"
    assert w.documents.save_to(path, wait=True)
    assert load_project(path).edits["expression"] == {"name": "angry", "intensity": 0.6}
    w2 = make_window(qtbot, tmp_path / "second")
    try:
        open_and_wait(w2, qtbot, path)
        _idle(w2, qtbot)
        assert w2.expression.buttons["angry"].isChecked() and w2.expression.slider.value() == 60
        assert w2.view.results.get("expression") is not None
    finally:
        w2.close()
