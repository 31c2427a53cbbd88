"""Memory and disk faults in the app: an out-of-memory in a model and a full disk while saving or exporting
leave the open document, its result and the files already on disk as they were, with a clear message."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import faceeditor.core.atomic_io as atomic_io
from faceeditor.core.project import load_project


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write fails as a full disk does: at the flush to disk, after bytes were written."""

    def no_space(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    def arm():
        monkeypatch.setattr(atomic_io.os, "fsync", no_space)

    return arm


def _idle(w, qtbot):
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)


def test_out_of_memory_in_a_model_keeps_the_document_and_its_result(opened, qtbot):
    w = opened
    w.attributes.set_value("Bangs", 1.0)
    _idle(w, qtbot)
    shown, mask = w.view.result_photo.copy(), w.doc.mask.data.copy()
    synthesised = w.view.results["synthesis"][0].copy()     # drawn on open (after the parse)
    w.engine.fail_with = MemoryError("out of memory on the device")
    w.synthesis.seed.setValue(5)                        # a synthesis that runs out of memory
    _idle(w, qtbot)
    message = w.status.message_label.text()
    assert message.startswith("Synthesis failed") and "out of memory on the device" in message
    np.testing.assert_array_equal(w.doc.mask.data, mask)
    np.testing.assert_array_equal(w.view.results["synthesis"][0], synthesised)   # the last good one stays
    w.engine.fail_with = None
    w.session.set("shown", "attributes", record=False)
    np.testing.assert_array_equal(w.view.result_photo, shown)


def test_a_full_disk_keeps_the_saved_project_and_the_exports(opened, qtbot, tmp_path, full_disk):
    from tests.ui.test_canvas_painting import drag

    w = opened
    path, exported = tmp_path / "work.fep", tmp_path / "result.png"
    assert w.documents.save_to(path, wait=True)
    assert w.view.export_result(exported)
    saved, exported_bytes = path.read_bytes(), exported.read_bytes()
    drag(w.canvas, [(10, 10), (80, 40)])
    w.attributes.set_value("Bangs", 1.0)
    _idle(w, qtbot)
    mask = w.doc.mask.data.copy()
    full_disk()
    n = len(w.errors)
    assert not w.documents.save_to(path, wait=True)
    assert len(w.errors) == n + 1 and "Cannot save the project" in w.errors[-1]
    assert "No space left on device" in w.errors[-1] and "\n" not in w.errors[-1]
    assert path.read_bytes() == saved, "the previous project file is untouched"
    assert w.documents.is_modified and w.doc.project_path == path
    np.testing.assert_array_equal(w.doc.mask.data, mask)
    assert not w.view.export_result(exported) and "Cannot export the result" in w.errors[-1]
    assert not w.mask_ctl.export_mask(tmp_path / "mask.png", colour=False) and "Cannot export the mask" in w.errors[-1]
    assert exported.read_bytes() == exported_bytes and not (tmp_path / "mask.png").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")], "no temporary file is left behind"
    assert load_project(path).edits.get("attributes", {}) == {}, "the old project still opens as it was"
