"""The face picker (Face ▸ Choose face…): a picture with several faces lists them with their detector
scores, faint detections only when asked; choosing one re-crops onto it as one undo step, and a saved
project keeps the choice."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from faceeditor.core.crop_policy import OFFER_MIN_SCORE
from faceeditor.core.document import crop_corners
from tests.helpers.ui import open_and_wait


@pytest.fixture(scope="module")
def two_faces_path(tmp_path_factory) -> Path:
    """The astronaut twice side by side: two faces (score > 1 each) and one mission patch (about 0.15)."""
    import skimage.data

    from faceeditor.core.image_io import load_image, save_image

    astronaut = load_image(Path(skimage.data.__file__).parent / "astronaut.png")
    path = tmp_path_factory.mktemp("faces") / "two_astronauts.png"
    save_image(path, np.concatenate([astronaut, astronaut], axis=1))
    return path


@pytest.fixture(scope="module")
def astronaut_path(tmp_path_factory) -> Path:
    """scikit-image's astronaut as it is: her face (score about 1.2) and her mission patch (about 0.12)."""
    import shutil

    import skimage.data

    path = tmp_path_factory.mktemp("faces") / "astronaut.png"
    shutil.copy(Path(skimage.data.__file__).parent / "astronaut.png", path)
    return path


def _messages(w) -> list[str]:
    said: list[str] = []
    w.ws.message.connect(lambda text, _error: said.append(text))
    return said


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def _crop_centre_x(doc) -> float:
    return float(crop_corners(doc.crop)[:, 0].mean())


def test_the_picker_lists_both_faces_and_choosing_the_second_recrops_onto_it(window, qtbot, two_faces_path,
                                                                             tmp_path):
    w = window
    said = _messages(w)
    doc = open_and_wait(w, qtbot, two_faces_path)
    assert doc is not None, w.errors
    scores = [face.score for face in doc.faces]
    assert len(scores) == 3 and min(scores[:2]) > 1.0 and scores[2] < OFFER_MIN_SCORE
    assert doc.face_index == 0 and _crop_centre_x(doc) < 512, "the first face (the left one) is edited"
    assert any("2 faces found; editing face 0" in m and "Choose face" in m for m in said), said
    act = w.faces_ctl.action
    assert act.isEnabled() and act.text() == "Choose &face\u2026 (2 faces)"
    assert act in w.menuBar().actions()[4].menu().actions(), "the picker is in the Face menu"

    act.trigger()
    dialog = w.faces_ctl.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.indices() == [0, 1], "the faint patch is not offered by default"
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts == [f"Face 0\nscore {scores[0]:.2f}\n(edited now)", f"Face 1\nscore {scores[1]:.2f}"]
    assert not dialog.list.item(0).icon().isNull(), "each face shows a thumbnail"
    assert dialog.chosen() == 0
    dialog.faint.setChecked(True)
    assert dialog.indices() == [0, 1, 2]
    dialog.faint.setChecked(False)
    dialog.select(1)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    _idle(w, qtbot)
    assert w.faces_ctl.dialog is None and w.doc is doc
    assert doc.face_index == 1 and doc.mode == "face" and _crop_centre_x(doc) > 512
    np.testing.assert_allclose(doc.landmarks, doc.faces[1].landmarks)
    second = doc.crop.matrix.copy()
    assert w.act_undo.text() == "&Undo Choose face 1" and w.session.modified
    assert "Editing face 1" in said[-1] or any("Editing face 1" in m for m in said)

    w.act_undo.trigger()
    _idle(w, qtbot)
    assert doc.face_index == 0 and _crop_centre_x(doc) < 512, "undo brings the first face back"
    w.act_redo.trigger()
    _idle(w, qtbot)
    assert doc.face_index == 1

    path = tmp_path / "two.fep"
    assert w.documents.save_to(path, wait=True)
    again = open_and_wait(w, qtbot, path)
    assert again is not doc and again.face_index == 1 and len(again.faces) == 3
    np.testing.assert_allclose(again.crop.matrix, second)
    assert act.isEnabled(), "a reopened project still offers its faces (no second detection)"
    steps = len(again.history.undo_stack)
    w.faces_ctl.open_picker()
    assert w.faces_ctl.dialog.chosen() == 1
    w.faces_ctl.dialog.reject()
    assert again.face_index == 1 and len(again.history.undo_stack) == steps


def test_a_faint_second_detection_is_not_offered_and_stays_out_of_the_way(window, qtbot, astronaut_path):
    """The astronaut alone: her face and her mission patch (score about 0.12). The picker does not
    pretend there are two faces: no hint, the menu says "1 face", the patch only behind the checkbox."""
    w = window
    said = _messages(w)
    doc = open_and_wait(w, qtbot, astronaut_path)
    assert doc is not None and len(doc.faces) == 2 and doc.faces[1].score < OFFER_MIN_SCORE
    assert doc.offered_faces() == [0]
    assert not any("faces found; editing face" in m for m in said), said
    act = w.faces_ctl.action
    assert act.text() == "Choose &face\u2026 (1 face; 1 faint detection)"
    steps = len(doc.history.undo_stack)
    w.faces_ctl.open_picker()
    dialog = w.faces_ctl.dialog
    assert dialog.indices() == [0] and dialog.faint.isEnabled()
    dialog.faint.setChecked(True)
    assert dialog.indices() == [0, 1]
    dialog.reject()
    assert doc.face_index == 0 and len(doc.history.undo_stack) == steps, "cancel changes nothing"


def test_a_picture_with_one_face_disables_the_picker(opened):
    act = opened.faces_ctl.action
    assert not act.isEnabled() and act.text() in ("Choose face (1 face)", "Choose face (no face found)")
