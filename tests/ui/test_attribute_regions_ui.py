"""The region a slider acts on, shown while the mouse points at it; the "Use my painted mask" option."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication

from faceeditor.core.attribute_regions import attribute_region
from faceeditor.core.labels import CLASS_INDEX
from faceeditor.core.session import PAINTED_MASK
from faceeditor.engine.fake import FakeEngine
from tests.helpers.ui import make_window, open_and_wait

SKIN, HAIR, U_LIP = CLASS_INDEX["skin"], CLASS_INDEX["hair"], CLASS_INDEX["u_lip"]


def _enter(widget) -> None:
    QApplication.sendEvent(widget, QEnterEvent(QPointF(5, 5), QPointF(5, 5), QPointF(5, 5)))


def _leave(widget) -> None:
    QApplication.sendEvent(widget, QEvent(QEvent.Type.Leave))


def _known_mask(w) -> np.ndarray:
    """Hair in the top quarter, skin below, an upper lip in the middle of the lower half."""
    h, wd = w.doc.mask.data.shape
    mask = np.full((h, wd), SKIN, np.uint8)
    mask[: h // 4] = HAIR
    mask[int(h * 0.7): int(h * 0.72), wd // 3: 2 * wd // 3] = U_LIP
    w.doc.mask.replace(mask, "known mask")
    return mask


def test_pointing_at_a_slider_shows_its_region(opened, qtbot):
    w = opened
    mask = _known_mask(w)
    row = w.attributes.sliders["Mustache"]
    assert w.canvas.region_item is None
    _enter(row)
    item = w.canvas.region_item
    assert item is not None and item.isVisible()
    expected = attribute_region(mask, "Mustache", True)         # '+' while the slider is at 0
    np.testing.assert_array_equal(item.region, expected)
    h, wd = mask.shape
    lip = (int(h * 0.71), wd // 2)
    assert item.region[lip] and item.region[lip[0] - 2, lip[1]]     # the lip and the skin just above it
    assert not item.region[h // 2 - 20, 5] and not item.region[2, 2]  # far skin, hair
    assert item.pixel_rgba(lip[1], lip[0])[3] > 0 and item.pixel_rgba(2, 2) == (0, 0, 0, 0)
    _leave(row)
    assert w.canvas.region_item is None


def test_the_region_follows_the_sign_and_stays_while_dragging(opened, qtbot):
    w = opened
    mask = _known_mask(w)
    row = w.attributes.sliders["Bangs"]
    _enter(row)
    np.testing.assert_array_equal(w.canvas.region_item.region, attribute_region(mask, "Bangs", True))
    row.slider.sliderPressed.emit()                # a drag starts: leaving the row keeps the overlay
    _leave(row)
    w.attributes.set_value("Bangs", -0.5)
    lowered = attribute_region(mask, "Bangs", False)
    assert not np.array_equal(lowered, attribute_region(mask, "Bangs", True))
    np.testing.assert_array_equal(w.canvas.region_item.region, lowered)
    row.slider.sliderReleased.emit()               # released away from the row: hidden
    assert w.canvas.region_item is None
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def _edit_requests(w):
    return [c for c in w.engine.calls if c.task == "edit_attributes"]


def test_painted_mask_option_reaches_the_engine_is_undoable_and_saved(qtbot, tmp_path, synth_sample_path):
    w = make_window(qtbot, tmp_path / "one", engine=FakeEngine(resolution=64, masks_input=True))
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        box = w.attributes.painted_mask
        assert box.isEnabled() and not box.isChecked() and box.toolTip().startswith("MagGAN takes the regions")
        w.attributes.set_value("Bangs", 1.0)
        qtbot.waitUntil(lambda: not w.workers.busy and bool(_edit_requests(w)), timeout=10000)
        assert not _edit_requests(w)[-1].use_painted_mask
        n = len(_edit_requests(w))
        box.setChecked(True)
        assert w.session[PAINTED_MASK]
        qtbot.waitUntil(lambda: not w.workers.busy and len(_edit_requests(w)) > n, timeout=10000)
        request = _edit_requests(w)[-1]
        assert request.use_painted_mask and request.masks is not None
        np.testing.assert_array_equal(request.masks[0], w.doc.mask.data)
        assert w.doc.history.undo() == "Use my painted mask"
        assert not box.isChecked() and not w.session[PAINTED_MASK]
        w.doc.history.redo()
        assert box.isChecked()
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
        path = tmp_path / "work.fep"
        assert w.documents.save_to(path, wait=True)
    finally:
        w.close()
    w2 = make_window(qtbot, tmp_path / "two", engine=FakeEngine(resolution=64, masks_input=True))
    try:
        open_and_wait(w2, qtbot, path)
        assert w2.session[PAINTED_MASK] and w2.attributes.painted_mask.isChecked()
        qtbot.waitUntil(lambda: not w2.workers.busy and bool(_edit_requests(w2)), timeout=10000)
        assert _edit_requests(w2)[-1].use_painted_mask
    finally:
        w2.close()


def test_painted_mask_option_is_disabled_for_an_editor_without_masks(opened):
    assert not opened.attributes.painted_mask.isEnabled()
    assert "reads no mask" in opened.attributes.painted_mask.toolTip()
