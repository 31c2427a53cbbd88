"""The main window with the fake engine (and once with tiny real packs): latest-wins inference, a
responsive UI thread, projects, autosave recovery, bad files, missing packs, the screenshot command."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from faceeditor.core.autosave import AutosaveSession, find_orphans
from faceeditor.core.labels import ATTRIBUTES, CLASS_INDEX
from faceeditor.core.project import load_project
from faceeditor.engine.requests import EditAttributesRequest
from tests.helpers.ui import make_window, open_and_wait

ROOT = Path(__file__).resolve().parents[2]
HAIR = CLASS_INDEX["hair"]


def _expected_edit(window, values):
    """What the latest request should show: the same request run directly, pasted into the photo."""
    engine = window.engine
    keep = window.attributes.keeps_outside()
    delay, engine.delay_s = engine.delay_s, 0.0
    try:
        result = engine.run(EditAttributesRequest([window.doc.crop_image], values, keep_outside=keep,
                                                  masks=[window.doc.mask.data] if keep else None,
                                                  keep_detail=window.attributes.keeps_detail()))
    finally:
        engine.delay_s = delay
    return window.doc.paste(result.images[0])


def test_attribute_slider_shows_only_the_latest_request(opened, qtbot):
    w = opened
    fake = w.engine
    assert list(w.attributes.sliders) == list(ATTRIBUTES)
    fake.delay_s = 0.25
    n_before = len(fake.calls)
    shown = []
    w.attributes_ctl.channel.finished.connect(lambda tag, out: shown.append(out.result))
    for v in (0.2, 0.4, 0.6, 0.8, 1.0, 1.2):          # a drag: six values in quick succession
        w.attributes.set_value("Bangs", v)
        qtbot.wait(20)
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    ran = [c for c in fake.calls[n_before:] if c.task == "edit_attributes"]
    assert 1 < len(ran) < 6, "the waiting request is replaced, not queued"
    assert ran[-1].y_diff["Bangs"] == pytest.approx(1.2)
    assert len(shown) == 1 and w.attributes_ctl.channel.delivered >= 1
    assert w.attributes_ctl.channel.superseded + w.attributes_ctl.channel.dropped >= 6 - len(shown) - 0
    np.testing.assert_array_equal(w.view.result_photo, _expected_edit(w, {"Bangs": 1.2}))
    assert w.status.last_inference_ms >= 200 and "ms" in w.status.time_label.text()
    assert w.status.provider_label.text() == "Fake"
    # the predicted target mask (fake G_seg) is shown in the panel
    assert w.attributes.predicted_box.isVisible() and w.attributes.predicted.pixmap() is not None
    # reset: no edit, no result
    w.attributes.reset()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert w.view.result_photo is None and not w.canvas.has_result


def test_keep_the_rest_of_the_face(opened, qtbot):
    """On (the default): the edit reaches only the regions of the moved sliders, by the document's mask;
    the rest of the crop is the input. Off: the editor's whole output. Toggling re-runs the edit."""
    w = opened
    assert w.attributes.keep_outside.isChecked() and w.attributes.keep_outside.isEnabled()
    h = w.doc.mask.data.shape[0]
    w.doc.mask.replace(np.where(np.arange(h)[:, None] < h // 4, HAIR, 1).astype(np.uint8)
                       * np.ones_like(w.doc.mask.data), "hair on top")
    results = []
    w.attributes_ctl.channel.finished.connect(lambda tag, out: results.append(out.result))
    w.attributes.set_value("Bangs", 1.0)
    qtbot.waitUntil(lambda: not w.workers.busy and len(results) == 1, timeout=10000)
    request = [c for c in w.engine.calls if c.task == "edit_attributes"][-1]
    assert request.keep_outside and request.masks is not None
    np.testing.assert_array_equal(w.view.result_photo, _expected_edit(w, {"Bangs": 1.0}))
    w.attributes.keep_outside.setChecked(False)
    qtbot.waitUntil(lambda: not w.workers.busy and len(results) == 2, timeout=10000)
    np.testing.assert_array_equal(w.view.result_photo, _expected_edit(w, {"Bangs": 1.0}))
    # the fake editor tints the whole crop; kept, the lower half (skin, far from the hair) is the input
    crop, kept, raw = w.doc.crop_image, results[0].images[0], results[1].images[0]
    lower = slice(h // 2, None)
    np.testing.assert_array_equal(kept[lower], crop[lower])
    assert not np.array_equal(raw[lower], crop[lower]) and results[1].raw_images is None
    # "Keep the photo's detail": the editor's change on the crop itself; toggling re-runs the edit
    assert not w.attributes.keep_detail.isChecked()
    w.attributes.keep_detail.setChecked(True)
    qtbot.waitUntil(lambda: not w.workers.busy and len(results) == 3, timeout=10000)
    assert [c for c in w.engine.calls if c.task == "edit_attributes"][-1].keep_detail
    np.testing.assert_array_equal(w.view.result_photo, _expected_edit(w, {"Bangs": 1.0}))
    assert not np.array_equal(results[2].images[0], raw)


def test_ui_thread_is_never_blocked_while_a_slow_engine_works(opened, qtbot):
    """A 5 ms timer pings the event loop while inference runs; no gap between pings may exceed 50 ms."""
    from tests.ui.test_canvas_painting import drag

    w = opened
    w.engine.delay_s = 0.4
    gaps: list[float] = []
    last = [time.perf_counter()]

    def ping():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(ping)
    last[0] = time.perf_counter()
    timer.start()
    t_end = time.perf_counter() + 1.5
    v = 0.0
    while time.perf_counter() < t_end:                 # keep dragging sliders and painting meanwhile
        v = (v + 0.1) % 1.5
        w.attributes.set_value("Young", v)
        w.synthesis.seed.setValue(int(v * 10))
        drag(w.canvas, [(20, 20 + 50 * v), (60, 30 + 50 * v)])
        qtbot.wait(15)
    w.parse.run()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    timer.stop()
    assert len(gaps) > 100
    worst = max(gaps[1:])
    print(f"\nUI thread: {len(gaps)} pings, worst gap {worst * 1000:.1f} ms, "
          f"median {sorted(gaps)[len(gaps) // 2] * 1000:.1f} ms")
    assert worst < 0.050, f"the UI thread was blocked for {worst * 1000:.0f} ms"


def test_inference_failure_is_shown_and_the_window_goes_on(opened, qtbot):
    w = opened
    w.engine.fail_with = MemoryError("out of memory on the device")
    w.attributes.set_value("Male", 1.0)
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert "Attribute edit failed" in w.status.message_label.text() and "out of memory" in w.status.message_label.text()
    assert w.view.result_photo is None
    w.attributes.set_value("Male", 0.5)                # the next request works again
    qtbot.waitUntil(lambda: w.view.result_photo is not None and not w.workers.busy, timeout=5000)


def test_save_and_reload_a_project_identically(opened, qtbot, tmp_path):
    from tests.ui.test_canvas_painting import drag

    w = opened
    w.mask_panel.select_class(HAIR)
    drag(w.canvas, [(10, 10), (100, 30)])
    w.attributes.set_value("Blond_Hair", 0.7)
    w.synthesis.seed.setValue(42)
    w.layers_panel.opacity.setValue(35)
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    path = tmp_path / "work.fep"
    assert w.documents.save_to(path, wait=True)
    assert not w.documents.is_modified and w.doc.project_path == path and "work.fep" in w.windowTitle()
    mask, photo = w.doc.mask.data.copy(), w.doc.photo.copy()
    project = load_project(path)
    np.testing.assert_array_equal(project.mask, mask)
    np.testing.assert_array_equal(project.image, photo)
    assert project.edits["attributes"] == {"Blond_Hair": 0.7}
    assert project.edits["synthesis"]["seed"] == 42
    # reopen in a fresh window: the same document, and the edit is recomputed
    w2 = make_window(qtbot, tmp_path / "second")
    try:
        open_and_wait(w2, qtbot, path)
        np.testing.assert_array_equal(w2.doc.mask.data, mask)
        np.testing.assert_array_equal(w2.doc.photo, photo)
        assert w2.doc.mode == w.doc.mode and w2.doc.resolution == w.doc.resolution
        np.testing.assert_array_equal(w2.doc.crop_image, w.doc.crop_image)
        assert w2.attributes.values()["Blond_Hair"] == pytest.approx(0.7)
        assert w2.synthesis.seed.value() == 42
        assert w2.layers_panel.opacity.value() == 35
        qtbot.waitUntil(lambda: w2.view.result_photo is not None, timeout=5000)
        np.testing.assert_array_equal(w2.view.result_photo, w.view.result_photo)
        assert not w2.documents.is_modified
        # shown result = the attribute edit: reopening recomputes it without marking the work modified
        w2.layers_panel.source.setCurrentIndex(0)
        assert w2.documents.save_to(path, wait=True)
        w3 = make_window(qtbot, tmp_path / "third")
        try:
            open_and_wait(w3, qtbot, path)
            assert w3.session["shown"] == "attributes" and w3.view.result_photo is not None
            np.testing.assert_array_equal(w3.view.result_photo, _expected_edit(w3, {"Blond_Hair": 0.7}))
            assert not w3.documents.is_modified and "\u2022" not in w3.windowTitle()
            w3.synthesis.seed.setValue(7)
            assert w3.documents.is_modified, "changing the seed is an edit"
        finally:
            w3.close()
    finally:
        w2.close()


def test_recover_the_autosave_after_a_crash(opened, qtbot, tmp_path, monkeypatch):
    from tests.ui.test_canvas_painting import drag

    w = opened
    w.mask_panel.select_class(HAIR)
    drag(w.canvas, [(5, 100), (120, 110)])
    w.attributes.set_value("Eyeglasses", 1.0)
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    w.documents.autosave_now()
    qtbot.waitUntil(lambda: not w.workers.busy and w.documents.autosave.last_saved is not None, timeout=10000)
    mask = w.doc.mask.data.copy()
    # crash: the session's lock goes away with the process, its files stay
    w.documents.autosave.abandon()
    monkeypatch.setattr(w.documents.autosave, "close", lambda: None)
    folder = w.documents.autosave.folder
    assert len(find_orphans(folder)) == 1

    w2 = make_window(qtbot, tmp_path / "after-crash", autosave_dir=folder)
    try:
        offered = []
        w2.documents.choose_recovery = lambda orphans: offered.append(orphans) or orphans[0]
        assert w2.documents.offer_recovery()
        assert offered and offered[0][0].source == "synthface.png"
        np.testing.assert_array_equal(w2.doc.mask.data, mask)
        assert w2.attributes.values()["Eyeglasses"] == pytest.approx(1.0)
        assert w2.documents.is_modified and w2.doc.project_path is None
        # once the recovered work is in the new session's own autosave, the old one is gone
        qtbot.waitUntil(lambda: not w2.workers.busy and not find_orphans(folder), timeout=10000)
        assert w2.documents.autosave.path.is_file()
    finally:
        w2.close()
    assert not list(folder.glob("*.fep")), "a clean exit leaves no autosave behind"


def test_no_recovery_offered_after_a_clean_exit(qtbot, tmp_path, synth_sample_path):
    folder = tmp_path / "autosave"
    w = make_window(qtbot, tmp_path, autosave_dir=folder)
    open_and_wait(w, qtbot, synth_sample_path)
    w.documents.autosave_now()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    w.close()
    w2 = make_window(qtbot, tmp_path / "b", autosave_dir=folder)
    w2.documents.choose_recovery = lambda orphans: pytest.fail("nothing should be offered")
    assert not w2.documents.offer_recovery()
    w2.close()


def test_damaged_project_and_unreadable_image_keep_the_open_document(opened, qtbot, tmp_path):
    from tests.ui.test_canvas_painting import drag

    w = opened
    drag(w.canvas, [(30, 30), (70, 70)])
    doc, mask = w.doc, w.doc.mask.data.copy()
    bad_project = tmp_path / "damaged.fep"
    good = tmp_path / "good.fep"
    w.documents.save_to(good, wait=True)
    bad_project.write_bytes(good.read_bytes()[:3000])             # truncated
    bad_image = tmp_path / "broken.png"
    bad_image.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    for path, words in ((bad_project, "damaged"), (bad_image, "broken.png"), (tmp_path / "missing.jpg", "no such file")):
        n = len(w.errors)
        open_and_wait(w, qtbot, path)
        assert len(w.errors) == n + 1 and words in w.errors[-1], w.errors[-1:]
        assert w.doc is doc
        np.testing.assert_array_equal(w.doc.mask.data, mask)
        assert "Cannot open" in w.status.message_label.text()
    drag(w.canvas, [(90, 90)])                                     # still editable
    assert not np.array_equal(w.doc.mask.data, mask)


def test_mask_import_and_export(opened, tmp_path):
    from faceeditor.core.image_io import load_image, load_index_mask

    w = opened
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 19, w.doc.mask.shape).astype(np.uint8)
    w.doc.mask.replace(mask)
    assert w.mask_ctl.export_mask(tmp_path / "index.png", colour=False)
    assert w.mask_ctl.export_mask(tmp_path / "colour.png", colour=True)
    np.testing.assert_array_equal(load_index_mask(tmp_path / "index.png"), mask)
    from faceeditor.core.palette import colorize

    np.testing.assert_array_equal(load_image(tmp_path / "colour.png"), colorize(mask))
    w.doc.mask.replace(np.zeros_like(mask))
    assert w.mask_ctl.import_mask(tmp_path / "colour.png")                   # colour PNGs are read via the palette
    np.testing.assert_array_equal(w.doc.mask.data, mask)
    w.act_undo.trigger()
    assert not w.doc.mask.data.any()
    assert w.mask_ctl.import_mask(tmp_path / "index.png")
    np.testing.assert_array_equal(w.doc.mask.data, mask)
    (tmp_path / "bad.png").write_bytes(b"nope")
    assert not w.mask_ctl.import_mask(tmp_path / "bad.png") and "Cannot import" in w.errors[-1]
    assert w.view.export_result(tmp_path / "result.png")
    np.testing.assert_array_equal(load_image(tmp_path / "result.png"), w.doc.photo)


def test_parser_button_replaces_the_mask_in_one_undo_step(opened, qtbot):
    w = opened
    assert w.doc.mask.history.undo_stack[-1].name == "Mask from parser"      # parsed on open...
    assert not w.documents.is_modified, "...which is not an unsaved change"
    w.doc.mask.replace(np.zeros(w.doc.mask.shape, np.uint8))
    assert w.act_parse.isEnabled() and w.mask_panel.parse_button.isEnabled()
    w.mask_panel.parse_button.click()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert w.doc.mask.data.any()
    assert w.doc.mask.history.undo_stack[-1].name == "Mask from parser"
    w.act_undo.trigger()
    assert not w.doc.mask.data.any()


def test_synthesis_refreshes_after_each_stroke(opened, qtbot):
    from tests.ui.test_canvas_painting import drag

    w = opened
    assert w.synthesis.active and w.synthesis.auto_refresh
    n = sum(c.task == "synthesize" for c in w.engine.calls)
    w.mask_panel.select_class(HAIR)
    drag(w.canvas, [(10, 10), (40, 10)])
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    calls = [c for c in w.engine.calls if c.task == "synthesize"]
    assert len(calls) == n + 1
    np.testing.assert_array_equal(calls[-1].masks[0], w.doc.mask.data)    # the painted mask drives it
    assert w.synthesis.preview.pixmap() is not None
    w.synthesis.randomise.click()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert w.session["shown"] == "synthesis" and w.canvas.has_result
    assert [c for c in w.engine.calls if c.task == "synthesize"][-1].seeds == w.synthesis.seed.value()


def _reading_of(window):
    """The fake evaluator's reading of the document's crop, run directly."""
    from faceeditor.engine.requests import ClassifyAttributesRequest

    result = window.engine.run(ClassifyAttributesRequest([window.doc.crop_image]))
    return {name: float(p) for name, p in zip(result.names, result.probs[0], strict=True)}


def _resolution(window, reading):
    """The synthesis attributes the open document should get: nothing set, the mask, then `reading`."""
    from faceeditor.core.mask_attributes import attributes_from_mask, resolve_attributes

    entry = window.synthesis_ctl.model.entry
    return resolve_attributes(entry.attributes, entry.attribute_defaults(), user=window.session["synth_attrs"],
                              mask=attributes_from_mask(window.doc.mask.data), photo=reading)


def _checked(window):
    return {n for n, box in window.synthesis.toggles.items() if box.isChecked()}


def test_the_evaluator_reads_the_face_for_the_sliders_and_the_synthesis_toggles(opened, qtbot):
    w = opened
    expected = _reading_of(w)
    assert w.session.readings == pytest.approx(expected)
    present = {name for name in w.synthesis.toggles if expected[name] > 0.5}
    assert present and present != set(w.synthesis.toggles), "the fake reading must tick some toggles, not all"
    # the toggles nobody set follow the mask where it decides, the reading elsewhere
    resolved = _resolution(w, expected)
    assert w.session.synth_resolved == resolved and w.synthesis.sources() == resolved.sources
    from_photo = resolved.from_source("photo")
    assert from_photo and {n for n, v in from_photo.items() if v} == present - set(resolved.from_source("mask"))
    assert _checked(w) == {n for n, v in resolved.values.items() if v}
    for name, slider in w.attributes.sliders.items():
        assert slider.reading.text() == f"{100 * expected[name]:.0f}%"
        assert slider.value == 0.0, "the reading is shown, not applied to the edit sliders"
    # the synthesis on open ran (or re-ran) with those values, and nothing counts as an edit
    last = [c for c in w.engine.calls if c.task == "synthesize"][-1]
    assert last.attrs == resolved.values
    assert not w.documents.is_modified and w.session["synth_attrs"] == {}


def test_a_reading_that_arrives_after_the_first_synthesis_reruns_it(qtbot, tmp_path, synth_sample_path):
    from faceeditor.engine.fake import FakeEngine

    class SlowReader(FakeEngine):
        def run(self, request):
            if request.task == "classify_attributes":
                time.sleep(0.5)
            return super().run(request)

    w = make_window(qtbot, tmp_path, engine=SlowReader(resolution=64))
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        calls = [c for c in w.engine.calls if c.task == "synthesize"]
        before, after = _resolution(w, None), _resolution(w, _reading_of(w))
        assert before.values != after.values
        assert len(calls) >= 2 and calls[0].attrs == before.values, "the first synthesis ran before the reading"
        assert calls[-1].attrs == after.values
        assert not w.documents.is_modified
    finally:
        w.close()


def test_the_user_s_toggles_win_and_as_in_the_photo_restores_the_reading(opened, qtbot, tmp_path):
    w = opened
    name = next(n for n, v in w.session.synth_resolved.from_source("photo").items() if v)
    assert w.synthesis.toggles[name].isChecked() and w.synthesis.markers[name].text() == "photo"
    w.synthesis.toggles[name].setChecked(False)                 # the user's choice
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert w.session["synth_attrs"] == {name: 0.0} and w.synthesis.markers[name].text() == ""
    w.attributes_ctl.read()                                         # a later reading does not undo it
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert not w.synthesis.toggles[name].isChecked()
    path = tmp_path / "toggles.fep"
    assert w.documents.save_to(path, wait=True)
    w2 = make_window(qtbot, tmp_path / "second")
    try:                                                        # a project keeps its saved toggles
        open_and_wait(w2, qtbot, path)
        assert w2.session.readings is not None
        assert not w2.synthesis.toggles[name].isChecked()
    finally:
        w2.close()
    n = sum(c.task == "synthesize" for c in w.engine.calls)
    assert w.synthesis.from_photo.isEnabled()
    w.synthesis.from_photo.click()
    qtbot.waitUntil(lambda: not w.workers.busy, timeout=5000)
    assert w.synthesis.toggles[name].isChecked()
    calls = [c for c in w.engine.calls if c.task == "synthesize"]
    assert len(calls) == n + 1 and calls[-1].attrs[name] == 1.0


def test_without_packs_the_panels_say_what_is_missing(qtbot, tmp_path, synth_sample_path):
    from faceeditor.engine.engine import Engine

    w = make_window(qtbot, tmp_path, engine=Engine())
    try:
        assert not w.attributes.sliders and "No model pack with an attribute editor" in _texts(w.attributes)
        assert "mask-to-face generator" in _texts(w.synthesis)
        assert not w.mask_panel.parse_button.isEnabled()
        assert w.status.pack_label.text() == "No model packs"
        open_and_wait(w, qtbot, synth_sample_path)
        assert w.doc is not None and w.doc.mask.data.any(), "the landmarks give a first mask"
        assert not w.act_parse.isEnabled()
    finally:
        w.close()


def _texts(widget) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in widget.findChildren(QLabel))


@pytest.fixture(scope="session")
def tiny_packs(tmp_path_factory):
    from tests.helpers.packs import make_test_pack

    root = tmp_path_factory.mktemp("packs")
    make_test_pack(root, "tinypack", tasks=("parse", "edit_attributes", "synthesize"), resolution=32)
    make_test_pack(root, "tinyjudge", tasks=("classify_attributes",), resolution=32, seed=3)
    return root


def test_real_tiny_packs_light_up_the_panels(qtbot, tmp_path, tiny_packs, synth_sample_path):
    """ONNX Runtime end to end: packs found on disk, parser on open, an attribute edit, synthesis."""
    from faceeditor.core.preferences import Preferences
    from faceeditor.ui.main_window import MainWindow

    w = MainWindow(pack_dirs=[tiny_packs], interactive=False, autosave_dir=tmp_path / "as",
                   preferences=Preferences(tmp_path / "p.json"))
    qtbot.addWidget(w)
    w.show()
    try:
        # the bundled demo pack is found too; the test pack must be among the loaded ones
        label = w.status.pack_label.text()
        assert label.startswith("Packs: ") and "tinypack" in label.split(": ", 1)[1].split(", ")
        assert w.status.provider_label.text() in ("CPU", "CUDA")
        assert list(w.attributes.sliders) == list(ATTRIBUTES)
        assert w.synthesis.active and not w.mask_panel.parse_button.isEnabled()   # nothing to parse yet
        open_and_wait(w, qtbot, synth_sample_path, timeout_ms=60000)
        assert w.mask_panel.parse_button.isEnabled()
        assert w.doc.mask.history.undo_stack[-1].name == "Mask from parser"
        w.attributes.set_value("Bangs", 1.0)
        qtbot.waitUntil(lambda: w.view.result_photo is not None and not w.workers.busy, timeout=30000)
        assert w.view.result_photo.shape == w.doc.photo.shape
        assert "tinypack/G" in w.status.time_label.toolTip()
        w.synthesis.generate.click()
        qtbot.waitUntil(lambda: "synthesis" in w.view.results and not w.workers.busy, timeout=30000)
        assert not w.errors, w.errors
    finally:
        w.close()


def test_slider_range_comes_from_the_manifest():
    from faceeditor.ui.widgets.attribute_panel import DEFAULT_SLIDER_RANGE, slider_range

    assert slider_range({}, "Bangs") == DEFAULT_SLIDER_RANGE
    assert slider_range({"slider_range": [-2, 3]}, "Bangs") == (-2.0, 3.0)
    assert slider_range({"slider_range": [-2, 3], "slider_ranges": {"Bangs": [-1, 1]}}, "Bangs") == (-1.0, 1.0)
    assert slider_range({"slider_range": "wide"}, "Bangs") == DEFAULT_SLIDER_RANGE
    assert slider_range({"slider_range": [1, 2]}, "Bangs") == DEFAULT_SLIDER_RANGE   # must include 0


def test_large_photo_without_a_face_opens_whole(qtbot, tmp_path):
    from faceeditor.core.image_io import save_image

    yy, xx = np.mgrid[0:1600, 0:2400]
    photo = np.stack([(xx % 256), (yy % 256), ((xx + yy) % 256)], axis=2).astype(np.uint8)
    save_image(tmp_path / "big.png", photo)
    w = make_window(qtbot, tmp_path)
    try:
        open_and_wait(w, qtbot, tmp_path / "big.png", timeout_ms=60000)
        assert w.doc.mode == "whole" and w.doc.photo.shape == (1600, 2400, 3)
        assert len(w.canvas.photo_item.pyramid.levels) >= 2
        assert "no face found" in w.status.message_label.text() or w.doc.landmarks is None
        # no face: the attribute editor and its evaluator are not run, and the user is told how to go on
        edits = sum(c.task in ("edit_attributes", "classify_attributes") for c in w.engine.calls)
        w.attributes.set_value("Pale_Skin", 1.0)
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)
        assert w.view.result_photo is None and w.session.readings is None
        assert sum(c.task in ("edit_attributes", "classify_attributes") for c in w.engine.calls) == edits
        assert "No face was found" in w.status.message_label.text() and "Whole image" in w.status.message_label.text()
        w.crop_actions["whole"].trigger()                 # Face > Whole image: edit it as a face crop anyway
        qtbot.waitUntil(lambda: w.view.result_photo is not None and not w.workers.busy, timeout=20000)
        assert w.view.result_photo.shape == photo.shape and w.session.readings is not None
        w.act_undo.trigger()                              # the choice is a step of the history
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)
        assert w.view.result_photo is None
    finally:
        w.close()


def test_screenshot_command_writes_a_png(tmp_path, synth_sample_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"),
               XDG_DATA_HOME=str(tmp_path / "d"))
    proc = subprocess.run([sys.executable, "-m", "faceeditor", "--offscreen", "--engine", "fake", "--size", "900x600",
                           "--attr", "Bangs=1", "--screenshot", str(out), str(synth_sample_path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from faceeditor.core.image_io import load_image

    shot = load_image(out)
    assert shot.shape[1] == 900 and 590 <= shot.shape[0] <= 620
    assert shot.std() > 10, "the window was rendered, not a blank image"
    # a file that cannot be opened: tests/ui/test_startup_errors.py


def test_autosave_session_is_released_on_close(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    session: AutosaveSession = w.documents.autosave
    assert session.active and session.lock_path.is_file()
    w.close()
    assert not session.active and not session.lock_path.exists()


def test_autosave_encodes_the_photo_once_per_document(opened, qtbot, monkeypatch):
    import faceeditor.core.project as project_mod
    from tests.ui.test_canvas_painting import drag

    w = opened
    real = project_mod._png_bytes
    modes = []
    monkeypatch.setattr(project_mod, "_png_bytes", lambda arr, mode, level: modes.append(mode) or real(arr, mode, level))
    for y in (20, 60):
        drag(w.canvas, [(10, y), (50, y)])
        w.documents.autosave_now()
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
    assert modes.count("RGB") == 1 and modes.count("L") == 2
    saved = load_project(w.documents.autosave.path)
    np.testing.assert_array_equal(saved.mask, w.doc.mask.data)


def test_loading_a_pack_at_run_time_lights_up_the_panels(qtbot, tmp_path, tiny_packs, synth_sample_path):
    from faceeditor.engine.engine import Engine
    from tests.helpers.packs import edit_manifest

    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(tiny_packs / "tinypack", broken)
    edit_manifest(broken, lambda m: m["models"][0].update(sha256="0" * 64))
    w = make_window(qtbot, tmp_path, engine=Engine())
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        assert not w.attributes.sliders and not w.mask_panel.parse_button.isEnabled()
        assert not w.ws.load_pack(broken) and "sha256" in w.errors[-1]
        assert not w.attributes.sliders
        assert w.ws.load_pack(tiny_packs / "tinypack")
        assert list(w.attributes.sliders) == list(ATTRIBUTES) and w.synthesis.active
        assert w.mask_panel.parse_button.isEnabled() and w.status.pack_label.text() == "Packs: tinypack"
    finally:
        w.close()


def test_packs_loaded_later_read_the_open_face_and_start_the_toggles_from_it(qtbot, tmp_path, tiny_packs,
                                                                             synth_sample_path):
    from faceeditor.engine.engine import Engine

    w = make_window(qtbot, tmp_path, engine=Engine())
    try:
        open_and_wait(w, qtbot, synth_sample_path)
        assert w.session.readings is None
        assert w.ws.load_pack(tiny_packs / "tinyjudge")            # an evaluator: the open face is read
        qtbot.waitUntil(lambda: w.session.readings is not None and not w.workers.busy, timeout=10000)
        assert w.ws.load_pack(tiny_packs / "tinypack")             # then a synthesis model: toggles from the reading
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=10000)
        present = {n for n in w.synthesis.toggles if w.session.readings[n] > 0.5}
        assert present and present != set(w.synthesis.toggles)
        resolved = _resolution(w, w.session.readings)
        assert resolved.from_source("photo") and _checked(w) == {n for n, v in resolved.values.items() if v}
        assert all(s.reading.text().endswith("%") for s in w.attributes.sliders.values())
        assert not w.documents.is_modified and not w.errors
    finally:
        w.close()


def test_bundled_samples_are_pictures_not_the_synthesis_masks():
    from faceeditor.core.samples import bundled_samples

    samples = bundled_samples()
    assert samples and all(not p.stem.endswith("_mask") for p in samples)
    assert any(p.name == "synthface_0004.png" for p in samples)


def test_the_app_crops_like_the_cli(window, qtbot, tmp_path):
    """The astronaut (a square 512 px photo, her face a fifth of it) opens aligned on her face, saying why;
    a bundled SynthFaces sample, already framed like an aligned crop, opens whole."""
    import skimage.data

    from faceeditor.core.crop_policy import choose_crop
    from faceeditor.core.image_io import load_image, save_image
    from faceeditor.core.samples import bundled_samples

    path = tmp_path / "astronaut.png"
    save_image(path, skimage.data.astronaut())
    open_and_wait(window, qtbot, path, timeout_ms=60000)
    doc = window.doc
    _, decision = choose_crop(load_image(path))
    assert doc.mode == "face" == decision.mode and doc.crop_reason == decision.reason
    np.testing.assert_allclose(doc.crop.matrix, decision_crop_matrix(load_image(path), doc.resolution), atol=1e-6)
    open_and_wait(window, qtbot, bundled_samples()[0], timeout_ms=60000)
    assert window.doc.mode == "whole" and window.doc.crop_reason


def decision_crop_matrix(photo, resolution):
    """The crop the CLI's commands cut for this photo (core.crop_policy + core.document.make_crop)."""
    from faceeditor.core.crop_policy import choose_crop
    from faceeditor.core.document import make_crop

    search, decision = choose_crop(photo)
    return make_crop(photo, search.landmarks, decision.mode, resolution).matrix


def test_a_late_parse_on_open_never_replaces_strokes_already_painted(qtbot, tmp_path, synth_sample_path):
    """A slow parser answering after the user's first stroke leaves the stroke; P applies the mask."""
    from faceeditor.engine.fake import FakeEngine
    from tests.ui.test_canvas_painting import drag

    class SlowParser(FakeEngine):
        def run(self, request):
            if request.task == "parse":
                time.sleep(0.6)
            return super().run(request)

    w = make_window(qtbot, tmp_path, engine=SlowParser(resolution=64))
    try:
        w.documents.open_file(synth_sample_path)
        qtbot.waitUntil(lambda: w.doc is not None, timeout=20000)
        w.mask_panel.select_class(HAIR)
        drag(w.canvas, [(10, 10), (60, 10)])          # painted while the parser still works
        painted = w.doc.mask.data.copy()
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)
        np.testing.assert_array_equal(w.doc.mask.data, painted)
        assert "arrived after you started painting" in w.status.message_label.text()
        w.parse.run()                                   # asked for: applied, one undo step
        qtbot.waitUntil(lambda: not w.workers.busy, timeout=20000)
        assert w.doc.history.undo_name == "Mask from parser" and not np.array_equal(w.doc.mask.data, painted)
    finally:
        w.close()
