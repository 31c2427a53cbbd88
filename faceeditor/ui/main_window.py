"""The main window, and `run(argv)`: the `faceeditor` command.

    faceeditor [IMAGE|PROJECT] [--pack DIR ...] [--provider auto|cuda|cpu]
    faceeditor --offscreen --screenshot out.png [--attr Bangs=1.2 ...] [IMAGE|PROJECT]

The window wires the Qt-free document (faceeditor.core.document) to the canvas, the panels and the
inference workers. Everything slow — decoding and face detection on open, inference, paste-back,
building image pyramids, encoding saves and autosaves — runs in worker channels where the latest
request wins; the UI thread only swaps finished results in.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStyle,
    QToolBar,
    QWidget,
)

from faceeditor.core.autosave import AutosaveSession, Orphan, discard_orphan, find_orphans
from faceeditor.core.document import Document, Opened, initial_mask, open_path, work_resolution
from faceeditor.core.labels import CLASS_INDEX, NUM_CLASSES, PARSE_CLASSES
from faceeditor.core.palette import PALETTE
from faceeditor.core.preferences import Preferences
from faceeditor.core.project import EXTENSION, ProjectError, load_project, project_bytes, write_members
from faceeditor.engine.engine import BaseEngine
from faceeditor.engine.requests import (
    ClassifyAttributesRequest,
    EditAttributesRequest,
    ParseRequest,
    SynthesizeRequest,
)
from faceeditor.ui import icons
from faceeditor.ui.app_engine import EngineSetup, build_engine, first_model, missing_reason, provider_name
from faceeditor.ui.canvas import CanvasView, Tool
from faceeditor.ui.panels import AttributePanel, LayersPanel, MaskPanel, SynthesisPanel
from faceeditor.ui.qt_image import Pyramid
from faceeditor.ui.workers import Workers

log = logging.getLogger(__name__)

APP_TITLE = "FaceEditor"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm)"
OPEN_FILTER = f"Photos and projects (*{EXTENSION} *.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm);;" \
              f"FaceEditor projects (*{EXTENSION});;{IMAGE_FILTER};;All files (*)"
AUTOSAVE_DELAY_MS = 2000
AUTOSAVE_INTERVAL_MS = 60_000
DIGIT_WINDOW_S = 0.8


def bundled_samples() -> list[Path]:
    """Sample pictures shipped in resources/samples (a source checkout or an installed copy); the sample
    masks (`*_mask.png`, for synthesis) sit in the same folder and are not pictures to open."""
    pkg = Path(__file__).resolve().parents[1]
    for folder in (pkg.parent / "resources" / "samples", pkg / "resources" / "samples"):
        if folder.is_dir():
            return sorted(p for p in folder.glob("*.png") if not p.stem.endswith("_mask"))
    return []


@dataclass
class Outcome:
    """What an inference job hands back to the UI thread."""

    document: Document
    result: Any                       # the engine's Result
    photo: np.ndarray | None = None   # the output pasted into the photo
    pyramid: Pyramid | None = None
    crop: np.ndarray | None = None    # the crop-sized output (synthesis preview)


def _map_classes(mask: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """A model's class indices -> the 19 parse classes (by name; unknown names -> background)."""
    if tuple(classes) == PARSE_CLASSES:
        return mask
    lut = np.array([CLASS_INDEX.get(name, 0) for name in classes] + [0] * 256, np.uint8)[:256]
    return lut[mask]


class MainWindow(QMainWindow):
    """See the module docstring. `interactive=False` (tests, screenshots) never opens a modal dialog:
    errors are collected in `errors` and shown in the status bar, questions take safe defaults."""

    def __init__(self, engine: BaseEngine | None = None, *, pack_dirs: Sequence[str | os.PathLike] = (),
                 provider: str = "auto", interactive: bool = True,
                 autosave_dir: str | os.PathLike | None = None, preferences: Preferences | None = None):
        super().__init__()
        self.interactive = interactive
        self.errors: list[str] = []
        self.setup = EngineSetup(engine) if engine is not None else build_engine(pack_dirs, provider)
        self.engine = self.setup.engine
        self.prefs = preferences if preferences is not None else Preferences()
        self.doc: Document | None = None
        self.results: dict[str, tuple[np.ndarray, Pyramid]] = {}   # "attributes" / "synthesis"
        self.shown_kind = "attributes"
        self.last_inference_ms: float | None = None
        self._edit_counter = 0
        self._autosaved_counter = 0
        self._saved_counter = 0
        self._orphan_to_discard: Orphan | None = None
        self._photo_png: tuple[np.ndarray, bytes] | None = None
        self._digit: tuple[int, float] | None = None
        self.readings: dict[str, float] | None = None      # the evaluator's reading of the document's face
        self._readings_set_toggles = False                 # until the user touches the synthesis panel
        self.workers = Workers(self)
        self.ch_open = self.workers.channel("open")
        self.ch_parse = self.workers.channel("parse")
        self.ch_edit = self.workers.channel("edit")
        self.ch_synth = self.workers.channel("synthesize")
        self.ch_classify = self.workers.channel("classify")
        self.ch_save = self.workers.channel("save")
        self.ch_autosave = self.workers.channel("autosave")

        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self._build_panels()
        self._build_actions()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._connect()
        self._refresh_models()
        self._update_brush_label()
        self.mask_panel.restore(self.prefs.get("tools", {}) if isinstance(self.prefs.get("tools"), dict) else {})
        self._update_actions()

        self.autosave = AutosaveSession(autosave_dir)
        if not self.autosave.start():
            self.flash(self.autosave.error or "autosave is off", error=True)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self._autosave_tick = QTimer(self)
        self._autosave_tick.setInterval(AUTOSAVE_INTERVAL_MS)
        self._autosave_tick.timeout.connect(self.autosave_now)
        self._autosave_tick.start()
        for note in self.setup.notes:
            self.flash(note, error=True)
        self.resize(1440, 900)
        if interactive:
            self._restore_window_state()

    # ==============================================================================================
    # construction
    # ==============================================================================================
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_panels(self) -> None:
        self.mask_panel = MaskPanel()
        self.layers_panel = LayersPanel()
        self.attributes = AttributePanel()
        self.synthesis = SynthesisPanel()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.mask_dock = self._dock("Mask", self.mask_panel, left, "mask_dock")
        self.layers_dock = self._dock("Layers", self.layers_panel, left, "layers_dock")
        self.attr_dock = self._dock("Attributes", self.attributes, right, "attributes_dock")
        self.synth_dock = self._dock("Synthesis", self.synthesis, right, "synthesis_dock")
        self.tabifyDockWidget(self.attr_dock, self.synth_dock)
        self.attr_dock.raise_()
        self.resizeDocks([self.mask_dock, self.attr_dock], [250, 360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.mask_dock, self.layers_dock], [640, 150], Qt.Orientation.Vertical)

    def _action(self, text: str, slot=None, shortcut: str | QKeySequence | Sequence | None = None,
                tip: str = "", checkable: bool = False, icon: QStyle.StandardPixmap | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut is not None else tip)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setCheckable(checkable)
        if slot is not None:
            (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                     "Open a photo or a project", icon=SP.SP_DialogOpenButton)
        self.act_save = self._action("&Save", self.save, QKeySequence.StandardKey.Save, "Save the project",
                                     icon=SP.SP_DialogSaveButton)
        self.act_save_as = self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs,
                                        "Save the project under a new name")
        self.act_import_mask = self._action("&Import mask…", self.import_mask_dialog,
                                            tip="Replace the mask with an index or colour PNG")
        self.act_export_mask = self._action("Export mask (&index PNG)…", lambda: self.export_mask_dialog(False),
                                            tip="Class indices 0-18 as an 8-bit grey PNG")
        self.act_export_color = self._action("Export mask (&colour PNG)…", lambda: self.export_mask_dialog(True),
                                             tip="The mask in the class colours")
        self.act_export_result = self._action("Export &result…", self.export_result_dialog, "Ctrl+E",
                                              "Save the edited photo")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self._action("&Undo", self.undo, QKeySequence.StandardKey.Undo, "Undo the last mask edit",
                                     icon=SP.SP_ArrowBack)
        self.act_redo = self._action("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", icon=SP.SP_ArrowForward)
        self.act_parse = self._action("Mask from &parser", lambda: self.run_parse(), "P",
                                      "Replace the mask with the face parser's")
        self.act_landmark_mask = self._action("Mask from &landmarks", self.mask_from_landmarks,
                                              tip="Replace the mask with the parts the landmarks outline")
        self.act_clear_mask = self._action("&Clear mask", self.clear_mask, tip="Paint everything background")
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, text, key, tip in (
                (Tool.BRUSH, "Brush", "B", "Paint the selected class (right button erases)"),
                (Tool.ERASER, "Eraser", "E", "Paint the eraser class (background by default)"),
                (Tool.FILL, "Fill", "G", "Fill the connected region under the cursor"),
                (Tool.PICKER, "Pick", "I", "Pick the class under the cursor (or Ctrl+click)")):
            act = self._action(text, None, key, tip, checkable=True)
            act.triggered.connect(lambda _=False, t=tool: self.set_tool(t))
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[Tool.BRUSH].setChecked(True)
        for tool, make in ((Tool.BRUSH, icons.brush), (Tool.ERASER, icons.eraser), (Tool.FILL, icons.fill),
                           (Tool.PICKER, icons.picker)):
            self.tool_actions[tool].setIcon(make())
        self.act_mirror = self._action("Mirror", self.mask_panel.mirror.setChecked, "M",
                                       "Mirror painting about the face's axis, swapping left/right classes",
                                       checkable=True)
        self.act_mirror.setIcon(icons.mirror())
        self.act_smaller = self._action("Smaller brush", lambda: self.mask_panel.grow_brush(1 / 1.25), "[")
        self.act_bigger = self._action("Bigger brush", lambda: self.mask_panel.grow_brush(1.25), "]")
        self.act_fit = self._action("&Fit", self.canvas.fit, "Ctrl+0", "Fit the photo in the window")
        self.act_actual = self._action("&1:1", self.canvas.one_to_one, "Ctrl+1", "One photo pixel per screen pixel")
        self.act_fit.setIcon(icons.fit())
        self.act_actual.setIcon(icons.actual_size())
        self.act_zoom_in = self._action("Zoom &in", lambda: self.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_out = self._action("Zoom &out", lambda: self.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self.act_split = self._action("&Before/after split", self.layers_panel.split.setChecked, "S",
                                      "Original left of the divider, result right", checkable=True)
        self.act_split.setIcon(icons.split())
        self.act_overlay = self._action("Mask &overlay", self.layers_panel.overlay.setChecked, "O",
                                        "Show the mask over the picture", checkable=True)
        self.act_overlay.setChecked(True)
        self.act_compare = self._action("Compare", tip="Hold to see the original (or hold \\ on the canvas)")
        self.act_compare.setIcon(icons.compare())
        self.act_parse.setIcon(icons.parse())
        self.crop_group = QActionGroup(self)
        self.crop_actions = {}
        for mode, text in (("face", "&Align the detected face"), ("whole", "&Whole image (already aligned)")):
            act = self._action(text, None, tip="How the picture is cropped for the models", checkable=True)
            act.triggered.connect(lambda _=False, m=mode: self.set_crop_mode(m))
            self.crop_group.addAction(act)
            self.crop_actions[mode] = act
        self.act_load_pack = self._action("&Load pack folder…", self.load_pack_dialog,
                                          tip="Load a model pack folder (manifest.json + ONNX files)")
        self.act_about = self._action("&About FaceEditor", self.about)
        self.act_shortcuts = self._action("&Keyboard and mouse", self.show_shortcuts, "F1")
        for digit in range(10):
            sc = QShortcut(QKeySequence(str(digit)), self)
            sc.activated.connect(lambda d=digit: self.digit_pressed(d))

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addActions([self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        samples = m.addMenu("Open &Sample")
        for sample in bundled_samples():
            act = samples.addAction(sample.stem)
            act.triggered.connect(lambda _=False, p=sample: self.open_file(p))
        samples.setEnabled(bool(samples.actions()))
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_import_mask, self.act_export_mask, self.act_export_color, self.act_export_result])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = bar.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_parse, self.act_landmark_mask, self.act_clear_mask])
        m = bar.addMenu("&Tools")
        m.addActions(list(self.tool_actions.values()))
        m.addSeparator()
        m.addActions([self.act_mirror, self.act_smaller, self.act_bigger])
        m = bar.addMenu("&View")
        m.addActions([self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out])
        m.addSeparator()
        m.addActions([self.act_split, self.act_overlay])
        m.addSeparator()
        for dock in (self.mask_dock, self.layers_dock, self.attr_dock, self.synth_dock):
            m.addAction(dock.toggleViewAction())
        m = bar.addMenu("F&ace")
        m.addActions(list(self.crop_actions.values()))
        self.models_menu = bar.addMenu("&Models")
        m = bar.addMenu("&Help")
        m.addActions([self.act_shortcuts, self.act_about])

        tb = QToolBar("Main", self)
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        tb.addActions([self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        for act in self.tool_actions.values():
            tb.addAction(act)
        tb.addAction(self.act_mirror)
        tb.addSeparator()
        tb.addAction(self.act_parse)
        tb.addSeparator()
        tb.addActions([self.act_fit, self.act_actual, self.act_split])
        tb.addAction(self.act_compare)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.brush_label = QLabel()
        self.brush_label.setToolTip("The class the brush paints, and the brush size")
        self.brush_label.setContentsMargins(0, 0, 10, 0)
        tb.addWidget(self.brush_label)
        compare_button = tb.widgetForAction(self.act_compare)
        compare_button.pressed.connect(lambda: self.canvas.set_comparing(True))
        compare_button.released.connect(lambda: self.canvas.set_comparing(False))
        self.toolbar = tb

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.message_label = QLabel()
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        sb.addWidget(self.message_label, 1)
        self.cursor_label = QLabel()
        self.zoom_label = QLabel()
        self.pack_label = QLabel()
        self.provider_label = QLabel()
        self.time_label = QLabel("last inference \u2014")
        for w in (self.cursor_label, self.zoom_label, self.pack_label, self.provider_label, self.time_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(lambda: self.message_label.clear())

    def _connect(self) -> None:
        self.mask_panel.settings_changed.connect(self._tool_settings_changed)
        self.mask_panel.parse_requested.connect(lambda: self.run_parse())
        self.mask_panel.landmarks_requested.connect(self.mask_from_landmarks)
        self.mask_panel.clear_requested.connect(self.clear_mask)
        self.mask_panel.mirror.toggled.connect(self.act_mirror.setChecked)
        self.layers_panel.changed.connect(self._layers_changed)
        self.attributes.values_changed.connect(self._attributes_changed)
        self.attributes.keep_options_changed.connect(self.run_edit)
        self.synthesis.changed.connect(self._synthesis_changed)
        self.layers_panel.source.currentIndexChanged.connect(
            lambda _: self._set_shown(self.layers_panel.source.currentData()))
        self.canvas.picked.connect(self._picked)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.files_dropped.connect(lambda paths: self.open_file(paths[0]))
        self.ch_open.finished.connect(self._opened)
        self.ch_open.failed.connect(self._open_failed)
        self.ch_parse.finished.connect(self._parsed)
        self.ch_parse.failed.connect(lambda tag, exc: self._inference_failed("Face parsing", exc))
        self.ch_edit.finished.connect(self._edited)
        self.ch_edit.failed.connect(lambda tag, exc: self._inference_failed("Attribute edit", exc))
        self.ch_synth.finished.connect(self._synthesized)
        self.ch_synth.failed.connect(lambda tag, exc: self._inference_failed("Synthesis", exc))
        self.ch_classify.finished.connect(self._attributes_read)
        self.ch_classify.failed.connect(lambda tag, exc: self._inference_failed("Reading the attributes", exc))
        self.ch_save.finished.connect(self._saved)
        self.ch_save.failed.connect(lambda tag, exc: self.show_error("Cannot save the project", str(exc)))
        self.ch_autosave.finished.connect(self._autosaved)
        self.ch_autosave.failed.connect(lambda tag, exc: self.flash(f"Autosave failed: {exc}", error=True))
        self.ch_open.busy_changed.connect(lambda busy: self._busy_message(busy, "Opening\u2026"))
        for ch in (self.ch_parse, self.ch_edit, self.ch_synth, self.ch_classify):
            ch.busy_changed.connect(self._inference_busy)

    # ==============================================================================================
    # models
    # ==============================================================================================
    def _refresh_models(self) -> None:
        parser = first_model(self.engine, "parse")
        editor = first_model(self.engine, "edit_attributes")
        synth = first_model(self.engine, "synthesize")
        self.parser_model, self.editor_model, self.synth_model = parser, editor, synth
        self.classifier_model = first_model(self.engine, "classify_attributes")
        self.attributes.set_model(editor, missing_reason("edit_attributes"))
        self.attributes.set_keep_outside_available(parser is not None)
        self.synthesis.set_model(synth, missing_reason("synthesize"))
        self.attributes.set_readings(self.readings)
        self.synthesis.set_readings(self.readings)
        self.synth_dock.setVisible(True)
        self.mask_panel.set_parser_available(parser is not None,
                                             "No face parser pack is loaded" if parser is None else "")
        self.act_parse.setEnabled(parser is not None)
        packs = self.engine.packs
        if packs:
            tasks = sorted({m.entry.task for m in self.engine.models()})
            self.pack_label.setText("Packs: " + ", ".join(packs))
            self.pack_label.setToolTip("Tasks: " + ", ".join(tasks))
        else:
            self.pack_label.setText("No model packs")
            self.pack_label.setToolTip(missing_reason("parse"))
        self.provider_label.setText(provider_name(self.engine.providers[0] if self.engine.providers else ""))
        self.provider_label.setToolTip("ONNX Runtime execution provider: " + ", ".join(self.engine.providers))
        self.models_menu.clear()
        for name, manifest in packs.items():
            sub = self.models_menu.addMenu(name)
            for entry in manifest.models:
                act = sub.addAction(f"{entry.name}: {entry.task} · {entry.method or '?'}"
                                    f" · {entry.resolution}px · {entry.data_domain or 'unknown data'}")
                act.setEnabled(False)
        if packs:
            self.models_menu.addSeparator()
        for info in self.setup.packs:
            if not info.valid:
                act = self.models_menu.addAction(f"\u26a0 {info.name}: not usable")
                act.setToolTip(info.reason)
                act.setStatusTip(info.reason)
                act.setEnabled(False)
        for task in ("parse", "edit_attributes", "synthesize"):
            if not self.engine.has_task(task):
                act = self.models_menu.addAction(f"No pack for {task}")
                act.setEnabled(False)
        self.models_menu.addSeparator()
        self.models_menu.addAction(self.act_load_pack)
        self._update_actions()

    def work_resolution(self) -> int:
        return work_resolution(m.resolution for t in ("parse", "edit_attributes", "synthesize")
                               for m in self.engine.models(t))

    def load_pack_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Load a model pack folder")
        if folder:
            self.load_pack(folder)

    def load_pack(self, folder: str | os.PathLike) -> bool:
        loader = getattr(self.engine, "load_pack", None)
        if loader is None:
            self.show_error("Cannot load a pack", "this engine does not load packs")
            return False
        try:
            manifest = loader(folder)
        except Exception as exc:
            self.show_error("Cannot load the model pack", str(exc))
            return False
        self._refresh_models()
        self.flash(f"Loaded model pack {manifest.name}")
        if self.doc is not None:
            self.attributes.set_values(self.doc.edits.get("attributes", {}))
            self.synthesis.restore(self.doc.edits.get("synthesis", {}))
            self.read_attributes()      # the new pack may bring the evaluator, or the synthesis toggles to set
        return True

    # ==============================================================================================
    # documents
    # ==============================================================================================
    def open_dialog(self) -> None:
        start = self.prefs.get("last_dir") if isinstance(self.prefs.get("last_dir"), str) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo or a project", start, OPEN_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | os.PathLike) -> None:
        """Open an image or a project in a worker; the current document stays until it succeeds."""
        if not self.maybe_keep_changes():
            return
        path = Path(path)
        resolution = self.work_resolution()

        def job():
            opened = open_path(path, resolution=resolution)
            return opened, Pyramid(opened.document.photo)

        self.ch_open.submit(job, tag=path)

    def _opened(self, path: Path, payload: tuple[Opened, Pyramid]) -> None:
        opened, pyramid = payload
        self.set_document(opened.document, pyramid)
        doc = opened.document
        h, w = doc.photo.shape[:2]
        how = "the whole image" if doc.mode == "whole" else "the aligned face"
        self.flash(f"Opened {path.name} ({w}\u00d7{h}); editing {how} at {doc.resolution}px")
        for note in opened.notes:
            self.flash(note)
        self.prefs.add_recent(path)
        self.prefs.data["last_dir"] = str(path.parent)
        self.prefs.save()
        self._rebuild_recent_menu()
        is_project = path.suffix.lower() == EXTENSION
        if not is_project and self.parser_model is not None and self.prefs.get("parse_on_open", True):
            self.run_parse(on_open=True)
        self._rerun_outputs()

    def _open_failed(self, path: Path, exc: BaseException) -> None:
        self.show_error(f"Cannot open {path.name}", str(exc))

    def set_document(self, doc: Document, pyramid: Pyramid | None = None) -> None:
        for ch in (self.ch_parse, self.ch_edit, self.ch_synth, self.ch_classify):
            ch.invalidate()
        self.doc = doc
        self.readings = None
        self._readings_set_toggles = "synthesis" not in doc.edits
        self.results = {}
        kind = doc.edits.get("result")
        self._set_shown(kind if kind in ("attributes", "synthesis") else
                        ("attributes" if self.editor_model is not None or self.synth_model is None else "synthesis"))
        self.mask_panel.apply_to(doc.mask)
        doc.mask.on_edited(self._mask_edited)
        self.canvas.set_document(pyramid or Pyramid(doc.photo), doc.mask, doc.crop.inverse)
        self._layers_changed()
        self.canvas.update_brush_cursor()
        self.attributes.set_values(doc.edits.get("attributes", {}))
        self.attributes.set_predicted_mask(None)
        self.synthesis.restore(doc.edits.get("synthesis", {}))
        self.synthesis.set_preview(None)
        self.attributes.set_readings(None)
        self.synthesis.set_readings(None)
        self.read_attributes()
        view = doc.settings.get("view", {})
        if isinstance(view, dict):
            if isinstance(view.get("overlay_opacity"), (int, float)):
                self.layers_panel.opacity.setValue(int(round(100 * float(view["overlay_opacity"]))))
            if isinstance(view.get("overlay_visible"), bool):
                self.layers_panel.overlay.setChecked(view["overlay_visible"])
        self.crop_actions[doc.mode].setChecked(True)
        self._edit_counter = self._saved_counter = self._autosaved_counter = 0
        if doc.modified:
            self._edit_counter = 1
            self.schedule_autosave()
        self._update_title()
        self._update_actions()

    def _rerun_outputs(self) -> None:
        """Recompute the result the document's edits describe (after opening or re-cropping)."""
        if self.doc is None:
            return
        if self.doc.edits.get("result") == "synthesis" and self.synthesis.active:
            self.run_synthesis()
        elif self.attributes.nonzero_values():
            self.run_edit()

    def maybe_keep_changes(self) -> bool:
        """Before the document is replaced: True to go on. Asks to save unsaved work (interactive)."""
        if self.doc is None or not self.is_modified or not self.interactive:
            return True
        answer = QMessageBox.question(
            self, APP_TITLE, "Save the changes to the current work first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            return self.save(wait=True)
        return True

    @property
    def is_modified(self) -> bool:
        return self.doc is not None and self._edit_counter != self._saved_counter

    def _update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle(APP_TITLE)
            return
        name = self.doc.project_path.name if self.doc.project_path else (self.doc.source or "untitled")
        mark = " \u2022" if self.is_modified else ""
        self.setWindowTitle(f"{name}{mark} \u2014 {APP_TITLE}")

    def _document_changed(self) -> None:
        self._edit_counter += 1
        self._update_title()
        self.schedule_autosave()

    # --- saving ---------------------------------------------------------------------------------
    def _snapshot(self):
        assert self.doc is not None
        if self.attributes.model_key is not None:
            self.doc.edits["attributes"] = self.attributes.nonzero_values()
        state = self.synthesis.state()
        if state:
            self.doc.edits["synthesis"] = state
        self.doc.edits["result"] = self.shown_kind
        self.doc.settings["view"] = {"overlay_opacity": self.canvas.overlay_opacity,
                                     "overlay_visible": self.canvas.overlay_visible}
        return self.doc.to_project()

    def save(self, wait: bool = False) -> bool:
        if self.doc is None:
            return False
        if self.doc.project_path is None:
            return self.save_as(wait=wait)
        return self.save_to(self.doc.project_path, wait=wait)

    def save_as(self, wait: bool = False) -> bool:
        if self.doc is None:
            return False
        base = self.doc.project_path or Path(self.prefs.get("last_dir") or ".") / (
            Path(self.doc.source or "untitled").stem + EXTENSION)
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(base), f"FaceEditor project (*{EXTENSION})")
        if not path:
            return False
        if not path.lower().endswith(EXTENSION):
            path += EXTENSION
        return self.save_to(Path(path), wait=wait)

    def save_to(self, path: str | os.PathLike, wait: bool = False) -> bool:
        """Save in a worker (encoding a large photo takes a while); `wait` blocks until done."""
        if self.doc is None:
            return False
        path = Path(path)
        project = self._snapshot()
        counter = self._edit_counter
        doc = self.doc

        def job():
            write_members(path, project_bytes(project))
            return path

        self.ch_save.submit(job, tag=(doc, counter))
        self.flash(f"Saving {path.name}\u2026")
        if wait:
            self.workers.wait_idle(120)
            return self.doc is doc and doc.project_path == path and self._saved_counter == counter
        return True

    def _saved(self, tag, path: Path) -> None:
        doc, counter = tag
        if doc is not self.doc:
            return
        doc.project_path = path
        self._saved_counter = counter
        self.autosave.discard()
        self.prefs.add_recent(path)
        self._rebuild_recent_menu()
        self.flash(f"Saved {path}")
        self._update_title()

    # --- autosave and recovery ------------------------------------------------------------------
    def schedule_autosave(self) -> None:
        if self.autosave.active:
            self._autosave_timer.start()

    def autosave_now(self) -> None:
        if self.doc is None or not self.autosave.active or self._edit_counter == self._autosaved_counter:
            return
        if not self.is_modified and self._orphan_to_discard is None:
            return
        project = self._snapshot()
        counter = self._edit_counter
        session = self.autosave
        cache = self._photo_png                      # (photo array, its PNG bytes)
        cached = cache[1] if cache is not None and cache[0] is project.image else None

        def job():
            members = project_bytes(project, fast=True, image_png=cached)
            session.write_members(members)
            return project.image, members["image.png"]

        self.ch_autosave.submit(job, tag=counter)

    def _autosaved(self, counter: int, encoded: tuple[np.ndarray, bytes]) -> None:
        self._autosaved_counter = counter
        if self.doc is not None and encoded[0] is self.doc.photo:
            self._photo_png = encoded
        if self._orphan_to_discard is not None:
            discard_orphan(self._orphan_to_discard)       # its work is safe in our own autosave now
            self._orphan_to_discard = None

    def choose_recovery(self, orphans: list[Orphan]) -> Orphan | None:
        """Ask which crashed session's work to recover (None: not now). Non-interactive: none."""
        if not self.interactive:
            return None
        newest = orphans[0]
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work?")
        box.setText("FaceEditor did not close properly last time.")
        more = f" ({len(orphans) - 1} older autosaves are kept too)" if len(orphans) > 1 else ""
        box.setInformativeText(f"Recover {newest.describe()}?{more}")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is recover:
            return newest
        if box.clickedButton() is discard:
            discard_orphan(newest)
        return None

    def offer_recovery(self) -> bool:
        """Look for autosaves of crashed sessions and recover the one chosen. True when recovered."""
        orphans = find_orphans(self.autosave.folder)
        if not orphans:
            return False
        chosen = self.choose_recovery(orphans)
        if chosen is None:
            return False
        try:
            project = load_project(chosen.path)
        except ProjectError as exc:
            self.show_error("Cannot recover the autosave", str(exc))
            return False
        doc = Document.from_project(project, None)
        doc.modified = True
        self.set_document(doc)
        self._rerun_outputs()
        self._orphan_to_discard = chosen
        self.autosave_now()
        self.flash(f"Recovered {chosen.describe()}; save it to keep it")
        return True

    # ==============================================================================================
    # mask editing
    # ==============================================================================================
    def _tool_settings_changed(self) -> None:
        if self.doc is not None:
            self.mask_panel.apply_to(self.doc.mask)
        self._update_brush_label()
        self.canvas.update_brush_cursor()
        self.prefs.data["tools"] = self.mask_panel.state()

    def set_tool(self, tool: Tool) -> None:
        self.tool_actions[tool].setChecked(True)
        self.canvas.set_tool(tool)
        self._update_brush_label()

    def _update_brush_label(self) -> None:
        panel = self.mask_panel
        label = panel.eraser.currentData() if self.canvas.tool == Tool.ERASER else panel.label
        r, g, b = (int(c) for c in PALETTE[label])
        lock = panel.lock.currentData()
        extra = f" \u00b7 only over {PARSE_CLASSES[lock]}" if lock is not None else ""
        extra += " \u00b7 mirrored" if panel.mirror.isChecked() else ""
        self.brush_label.setText(f"<span style='color:rgb({r},{g},{b}); font-size:15px'>\u25cf</span> "
                                 f"<b>{PARSE_CLASSES[label].replace('_', ' ')}</b> \u00b7 "
                                 f"{panel.size_spin.value()} px{extra}")

    def _picked(self, label: int) -> None:
        self.mask_panel.select_class(label)
        self.flash(f"Picked {PARSE_CLASSES[label]}")
        if self.canvas.tool == Tool.PICKER:
            self.set_tool(Tool.BRUSH)

    def digit_pressed(self, digit: int) -> None:
        """0-9 select a class; two digits typed quickly select 10-18."""
        now = time.monotonic()
        if self._digit is not None and now - self._digit[1] < DIGIT_WINDOW_S:
            combined = self._digit[0] * 10 + digit
            if self._digit[0] > 0 and combined < NUM_CLASSES:
                self.mask_panel.select_class(combined)
                self._digit = None
                return
        self.mask_panel.select_class(digit)
        self._digit = (digit, now)

    def _attributes_changed(self, _values: dict) -> None:
        if self.shown_kind != "attributes":
            self._set_shown("attributes")
        self.run_edit()
        if self.doc is not None:
            self._document_changed()

    def _synthesis_changed(self) -> None:
        self._readings_set_toggles = False
        if self.shown_kind != "synthesis":
            self._set_shown("synthesis")
        self.run_synthesis()
        if self.doc is not None:
            self._document_changed()

    def _mask_edited(self, name: str) -> None:
        self._document_changed()
        self._update_actions()
        if self.synthesis.auto_refresh:
            self.run_synthesis()
        if (self.editor_model is not None and self.editor_model.input("mask") is not None
                and self.attributes.nonzero_values()):
            self.run_edit()

    def undo(self) -> None:
        if self.doc is not None:
            name = self.doc.mask.undo()
            self.flash(f"Undid {name}" if name else "Nothing to undo")

    def redo(self) -> None:
        if self.doc is not None:
            name = self.doc.mask.redo()
            self.flash(f"Redid {name}" if name else "Nothing to redo")

    def mask_from_landmarks(self) -> None:
        if self.doc is None:
            return
        if self.doc.crop.landmarks.shape != (68, 2):
            self.flash("No face landmarks for this picture", error=True)
            return
        self.doc.mask.replace(initial_mask(self.doc.crop), "Mask from landmarks")

    def clear_mask(self) -> None:
        if self.doc is not None:
            self.doc.mask.replace(np.zeros(self.doc.mask.shape, np.uint8), "Clear mask")

    def set_crop_mode(self, mode: str) -> None:
        if self.doc is None or mode == self.doc.mode:
            return
        if mode == "face" and self.doc.landmarks is None:
            self.flash("No face was detected in this picture, so it can only be edited whole", error=True)
            self.crop_actions[self.doc.mode].setChecked(True)
            return
        doc = self.doc
        doc.recrop(mode)
        self.set_document(doc, self.canvas.photo_item.pyramid)
        self._document_changed()
        self._rerun_outputs()
        self.flash("Re-cropped; the mask was carried over (its undo history starts afresh)")

    def _update_actions(self) -> None:
        has = self.doc is not None
        for act in (self.act_save, self.act_save_as, self.act_import_mask, self.act_export_mask,
                    self.act_export_color, self.act_export_result, self.act_landmark_mask, self.act_clear_mask):
            act.setEnabled(has)
        self.act_undo.setEnabled(has and self.doc.mask.can_undo)
        self.act_redo.setEnabled(has and self.doc.mask.can_redo)
        self.act_parse.setEnabled(has and self.parser_model is not None)
        self.crop_actions["face"].setEnabled(has and self.doc.landmarks is not None)
        self.crop_actions["whole"].setEnabled(has)
        self.mask_panel.landmarks_button.setEnabled(has)
        self.mask_panel.clear_button.setEnabled(has)
        self.mask_panel.parse_button.setEnabled(has and self.parser_model is not None)

    # --- import / export ------------------------------------------------------------------------
    def import_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a mask", "", IMAGE_FILTER)
        if path:
            self.import_mask(path)

    def import_mask(self, path: str | os.PathLike) -> bool:
        from faceeditor.core.mask_io import MaskError, load_mask
        from faceeditor.core.palette import PALETTE

        if self.doc is None:
            return False
        try:
            try:
                mask = load_mask(path)
            except MaskError as exc:
                if "colour" not in str(exc):
                    raise
                mask = load_mask(path, palette=PALETTE.tolist())
        except MaskError as exc:
            self.show_error("Cannot import the mask", str(exc))
            return False
        if mask.shape[0] != mask.shape[1]:
            self.show_error("Cannot import the mask", f"{path}: the mask must be square like the aligned crop "
                                                      f"({self.doc.resolution}x{self.doc.resolution}), it is "
                                                      f"{mask.shape[1]}x{mask.shape[0]}")
            return False
        if mask.shape != self.doc.mask.shape:
            import cv2

            mask = cv2.resize(mask, self.doc.mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
            self.flash(f"Mask resized to {self.doc.resolution}px (nearest neighbour)")
        self.doc.mask.replace(mask, f"Import {Path(path).name}")
        return True

    def export_mask_dialog(self, colour: bool) -> None:
        if self.doc is None:
            return
        stem = Path(self.doc.source or "mask").stem
        path, _ = QFileDialog.getSaveFileName(self, "Export the mask", f"{stem}_mask{'_colour' if colour else ''}.png",
                                              "PNG (*.png)")
        if path:
            self.export_mask(path, colour)

    def export_mask(self, path: str | os.PathLike, colour: bool) -> bool:
        from faceeditor.core.image_io import ImageSaveError, save_image
        from faceeditor.core.palette import colorize

        if self.doc is None:
            return False
        try:
            if colour:
                save_image(path, colorize(self.doc.mask.data))
            else:
                save_image(path, self.doc.mask.data)
        except (ImageSaveError, OSError) as exc:
            self.show_error("Cannot export the mask", str(exc))
            return False
        self.flash(f"Exported {path}")
        return True

    def export_result_dialog(self) -> None:
        if self.doc is None:
            return
        stem = Path(self.doc.source or "result").stem
        path, _ = QFileDialog.getSaveFileName(self, "Export the result", f"{stem}_edited.png", IMAGE_FILTER)
        if path:
            self.export_result(path)

    def export_result(self, path: str | os.PathLike) -> bool:
        from faceeditor.core.image_io import ImageSaveError, save_image

        if self.doc is None:
            return False
        try:
            save_image(path, self.result_photo if self.result_photo is not None else self.doc.photo)
        except (ImageSaveError, OSError) as exc:
            self.show_error("Cannot export the result", str(exc))
            return False
        self.flash(f"Exported {path}")
        return True

    # ==============================================================================================
    # inference
    # ==============================================================================================
    def run_parse(self, on_open: bool = False) -> None:
        """Replace the mask with the face parser's (one undo step). `on_open`: the automatic parse of a
        freshly opened picture, which does not count as an unsaved change."""
        if self.doc is None or self.parser_model is None:
            if self.parser_model is None:
                self.flash("No face parser pack is loaded", error=True)
            return
        engine, doc, crop, key = self.engine, self.doc, self.doc.crop_image, self.parser_model.key
        self.ch_parse.submit(lambda: Outcome(doc, engine.run(ParseRequest([crop], model=key))), tag=(doc, on_open))

    def _parsed(self, tag: tuple[Document, bool], out: Outcome) -> None:
        doc, on_open = tag
        if doc is not self.doc:
            return
        self._note_timing(out.result)
        pristine = on_open and not self.is_modified
        mask = _map_classes(out.result.masks[0], out.result.classes)
        if self.doc.mask.replace(mask, "Mask from parser") is None:
            self.flash("The parser's mask is the same as the current one")
        if pristine:
            self._saved_counter = self._autosaved_counter = self._edit_counter
            self._update_title()

    def read_attributes(self) -> None:
        """Ask the attribute evaluator what the face shows: the sliders show it, and the synthesis toggles
        of a picture start from it (a project keeps its saved toggles)."""
        if self.doc is None or self.classifier_model is None:
            return
        engine, doc, crop, key = self.engine, self.doc, self.doc.crop_image, self.classifier_model.key
        self.ch_classify.submit(lambda: Outcome(doc, engine.run(ClassifyAttributesRequest([crop], model=key))),
                                tag=doc)

    def _attributes_read(self, doc: Document, out: Outcome) -> None:
        if doc is not self.doc:
            return
        self.readings = {name: float(p) for name, p in zip(out.result.names, out.result.probs[0], strict=True)}
        self.attributes.set_readings(self.readings)
        self.synthesis.set_readings(self.readings)
        if self._readings_set_toggles and self.synthesis.active and self.synthesis.apply_readings():
            if self.doc.edits.get("synthesis") is not None:      # a synthesis already ran with the old toggles
                self.run_synthesis()

    def run_edit(self) -> None:
        if self.doc is None or self.editor_model is None:
            return
        values = self.attributes.values()
        self.doc.edits["attributes"] = self.attributes.nonzero_values()
        if not any(values.values()):
            self.ch_edit.invalidate()
            self._store_result("attributes", None)
            self.attributes.set_predicted_mask(None)
            return
        engine, doc, key, model = self.engine, self.doc, self.editor_model.key, self.editor_model
        crop, paster = doc.crop_image, _paster(doc)
        keep = self.attributes.keeps_outside() and self.parser_model is not None
        parser_key = self.parser_model.key if keep else None
        detail = self.attributes.keeps_detail()
        # the document's mask (the user may have corrected it) says where the attributes' parts are
        mask = doc.mask.data.copy() if keep or model.input("mask") is not None else None

        def job():
            result = engine.run(EditAttributesRequest([crop], values, masks=None if mask is None else [mask],
                                                      model=key, keep_outside=keep, parser=parser_key,
                                                      keep_detail=detail))
            photo = paster(result.images[0])
            return Outcome(doc, result, photo, Pyramid(photo))

        self.ch_edit.submit(job, tag=doc)

    def _edited(self, doc: Document, out: Outcome) -> None:
        if doc is not self.doc:
            return
        self._note_timing(out.result)
        self._store_result("attributes", (out.photo, out.pyramid))
        if out.result.masks:
            self.attributes.set_predicted_mask(out.result.masks[0], out.result.mask_classes)

    def run_synthesis(self) -> None:
        if self.doc is None or self.synth_model is None:
            return
        engine, doc, key = self.engine, self.doc, self.synth_model.key
        mask, attrs, seed, paster = doc.mask.data.copy(), self.synthesis.attrs(), self.synthesis.seed.value(), _paster(doc)
        self.doc.edits["synthesis"] = self.synthesis.state()

        def job():
            result = engine.run(SynthesizeRequest([mask], attrs, seeds=seed, model=key))
            crop = result.images[0]
            photo = paster(crop)
            return Outcome(doc, result, photo, Pyramid(photo), crop)

        self.ch_synth.submit(job, tag=doc)

    def _synthesized(self, doc: Document, out: Outcome) -> None:
        if doc is not self.doc:
            return
        self._note_timing(out.result)
        self.synthesis.set_preview(out.crop)
        self._store_result("synthesis", (out.photo, out.pyramid))

    def _store_result(self, kind: str, result: tuple[np.ndarray, Pyramid] | None) -> None:
        if result is None:
            self.results.pop(kind, None)
        else:
            self.results[kind] = result
        if kind == self.shown_kind:
            self.canvas.set_result(result[1] if result is not None else None)

    @property
    def result_photo(self) -> np.ndarray | None:
        """The photo with the shown result pasted in (None when there is no result)."""
        found = self.results.get(self.shown_kind)
        return found[0] if found is not None else None

    def _set_shown(self, kind: str) -> None:
        """Which result the canvas shows: "attributes" or "synthesis"."""
        self.shown_kind = kind
        combo = self.layers_panel.source
        combo.blockSignals(True)
        combo.setCurrentIndex(max(0, combo.findData(kind)))
        combo.blockSignals(False)
        found = self.results.get(kind)
        self.canvas.set_result(found[1] if found is not None else None)
        if self.doc is not None:
            self.doc.edits["result"] = kind

    def _note_timing(self, result) -> None:
        self.last_inference_ms = result.inference_ms
        self.time_label.setText(f"last inference {result.inference_ms:.0f} ms")
        self.time_label.setToolTip(f"{result.model} on {result.provider}")
        if result.provider:
            self.provider_label.setText(provider_name(result.provider))

    def _inference_failed(self, what: str, exc: BaseException) -> None:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.errors.append(f"{what} failed: {message}")
        self.flash(f"{what} failed: {message}", error=True)

    def _inference_busy(self, _busy: bool) -> None:
        busy = any(ch.busy for ch in (self.ch_parse, self.ch_edit, self.ch_synth, self.ch_classify))
        self.time_label.setText("working\u2026" if busy else (
            f"last inference {self.last_inference_ms:.0f} ms" if self.last_inference_ms is not None
            else "last inference \u2014"))

    # ==============================================================================================
    # view and status
    # ==============================================================================================
    def _layers_changed(self) -> None:
        p = self.layers_panel
        self.canvas.set_result_visible(p.result.isChecked())
        self.canvas.set_split(p.split.isChecked())
        self.canvas.set_overlay_visible(p.overlay.isChecked())
        self.canvas.set_overlay_opacity(p.opacity.value() / 100)
        if self.canvas.outline is not None:
            self.canvas.outline.setVisible(p.outline.isChecked())
        self.act_split.setChecked(p.split.isChecked())
        self.act_overlay.setChecked(p.overlay.isChecked())

    def _hovered(self, info) -> None:
        if info is None or info[2] is None:
            self.cursor_label.setText("")
            return
        x, y, label = info
        self.cursor_label.setText(f"{x:.0f}, {y:.0f} \u00b7 {PARSE_CLASSES[label]}")

    def flash(self, text: str, error: bool = False) -> None:
        """A message in the status bar (errors in red, kept longer)."""
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.message_label.setStyleSheet("color: #ff6b6b;" if error else "")
        self._message_timer.start(15000 if error else 6000)

    def _busy_message(self, busy: bool, text: str) -> None:
        if busy:
            self.flash(text)

    def show_error(self, title: str, text: str) -> None:
        self.errors.append(f"{title}: {text}")
        self.flash(f"{title}: {text}", error=True)
        if self.interactive:
            QMessageBox.warning(self, title, text)

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.prefs.recent_files()
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: (self.prefs.clear_recent(), self._rebuild_recent_menu()))
        self.recent_menu.setEnabled(bool(recent))

    def _open_recent(self, path: str) -> None:
        if not Path(path).exists():
            self.show_error("Cannot open a recent file", f"{path} no longer exists")
            self.prefs.remove_recent(path)
            self._rebuild_recent_menu()
            return
        self.open_file(path)

    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}",
                          f"<b>{APP_TITLE}</b><br>Edit faces with GANs: paint semantic masks, move attribute "
                          f"sliders, synthesise faces from masks.<br><br>Engine: ONNX Runtime "
                          f"({', '.join(self.engine.providers)}).")

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard and mouse", SHORTCUTS_HTML)

    # ==============================================================================================
    # Qt events
    # ==============================================================================================
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._rebuild_recent_menu()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_file(paths[0])
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if self.interactive and self.is_modified and not self.maybe_keep_changes():
            event.ignore()
            return
        self._autosave_timer.stop()
        self._autosave_tick.stop()
        self.engine.cancel()
        if self.ch_save.busy:
            self.workers.wait_idle(10)
        self.workers.shutdown()
        self.autosave.close()
        self.prefs.data["tools"] = self.mask_panel.state()
        if self.interactive:
            self.prefs.data["window"] = {"geometry": bytes(self.saveGeometry().toBase64()).decode("ascii"),
                                         "state": bytes(self.saveState().toBase64()).decode("ascii")}
        self.prefs.save()
        super().closeEvent(event)

    def _restore_window_state(self) -> None:
        """Window size and dock layout as the user left them (ignored when unreadable)."""
        saved = self.prefs.get("window")
        if not isinstance(saved, dict):
            return
        try:
            if isinstance(saved.get("geometry"), str):
                self.restoreGeometry(QByteArray.fromBase64(saved["geometry"].encode("ascii")))
            if isinstance(saved.get("state"), str):
                self.restoreState(QByteArray.fromBase64(saved["state"].encode("ascii")))
        except (ValueError, UnicodeError):
            pass


def _paster(doc: Document):
    """A snapshot of how to paste a crop into this document's photo (safe to call from a worker)."""
    photo, crop, mode = doc.photo, doc.crop, doc.mode
    snapshot = Document(photo=photo, crop=crop, mode=mode, mask=doc.mask)
    return snapshot.paste


SHORTCUTS_HTML = """
<table cellspacing=4>
<tr><td><b>B / E / G / I</b></td><td>brush / eraser / fill / pick</td></tr>
<tr><td><b>left / right button</b></td><td>paint / erase (fill: fill / fill with the eraser class)</td></tr>
<tr><td><b>Ctrl+click</b></td><td>pick the class under the cursor</td></tr>
<tr><td><b>0 … 18</b></td><td>select a class (type two digits quickly for 10–18)</td></tr>
<tr><td><b>[ ]</b></td><td>brush smaller / bigger</td></tr>
<tr><td><b>M</b></td><td>mirror painting (left/right classes swap)</td></tr>
<tr><td><b>Ctrl+Z, Ctrl+Shift+Z</b></td><td>undo / redo (one step per stroke)</td></tr>
<tr><td><b>wheel</b></td><td>zoom to the cursor</td></tr>
<tr><td><b>space+drag, middle drag</b></td><td>pan</td></tr>
<tr><td><b>Ctrl+0 / Ctrl+1</b></td><td>fit / 1:1</td></tr>
<tr><td><b>hold \\</b></td><td>compare with the original</td></tr>
<tr><td><b>S / O</b></td><td>before/after split / mask overlay</td></tr>
<tr><td><b>P</b></td><td>mask from the face parser</td></tr>
</table>
"""


# ==================================================================================================
# the `faceeditor` command
# ==================================================================================================


def apply_dark_theme(app: QApplication) -> None:
    """Fusion with a dark palette: colours read truer against a neutral dark surround."""
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor(30, 30, 34), QColor(45, 45, 50), QColor(222, 222, 226)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(20, 20, 24))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, window)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Highlight, QColor(64, 132, 214))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 170, 240))
    p.setColor(QPalette.ColorRole.Mid, QColor(140, 140, 150))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 130, 138))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 118))
    app.setPalette(p)


class _ExceptionGuard(QObject):
    """Installed as sys.excepthook while the window runs: an unexpected error in a slot is logged and
    shown in the status bar instead of taking the window down."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.previous = sys.excepthook

    def __call__(self, etype, value, tb) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(etype, value, tb)))
        try:
            self.window.flash(f"Unexpected error: {etype.__name__}: {value}", error=True)
        except Exception:  # the window itself may be half gone
            pass


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="faceeditor", description="FaceEditor: edit faces with GANs.")
    parser.add_argument("path", nargs="?", help="a photo or a .fep project to open")
    parser.add_argument("--pack", action="append", default=[], metavar="DIR",
                        help="also load model packs from DIR (a pack folder or a folder of packs)")
    parser.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="ONNX Runtime execution provider (default auto: CUDA when available)")
    parser.add_argument("--sample", action="store_true", help="open a bundled sample picture")
    parser.add_argument("--offscreen", action="store_true", help="run without a display (Qt offscreen platform)")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    parser.add_argument("--size", default="1440x900", metavar="WxH", help="window size (default 1440x900)")
    parser.add_argument("--attr", action="append", default=[], metavar="NAME=VALUE",
                        help="set an attribute slider after opening (for screenshots)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for work before a screenshot")
    parser.add_argument("--engine", choices=("onnx", "fake"), default="onnx", help=argparse.SUPPRESS)
    return parser.parse_args(list(argv))


def run(argv: Sequence[str]) -> int:
    args = _parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"faceeditor: --size must look like 1440x900, got {args.size!r}", file=sys.stderr)
        return 2
    attrs = {}
    for item in args.attr:
        name, _, value = item.partition("=")
        try:
            attrs[name] = float(value)
            if not math.isfinite(attrs[name]):
                raise ValueError
        except ValueError:
            print(f"faceeditor: --attr must look like Bangs=1.0, got {item!r}", file=sys.stderr)
            return 2
    if args.offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "faceeditor"])
    app.setApplicationName("FaceEditor")
    apply_dark_theme(app)
    engine = None
    if args.engine == "fake":
        from faceeditor.engine.fake import FakeEngine

        engine = FakeEngine(resolution=256)
    headless = bool(args.screenshot)
    window = MainWindow(engine, pack_dirs=args.pack, provider=args.provider, interactive=not headless)
    guard = _ExceptionGuard(window)
    sys.excepthook = guard
    try:
        window.resize(w, h)
        window.show()
        path = args.path
        if path is None and (args.sample or (not headless and not window.prefs.recent_files())):
            samples = bundled_samples()         # the first start (or --sample) shows a sample picture
            path = str(samples[0]) if samples else None
        if headless:
            if path:
                window.open_file(path)
        else:
            def startup():
                if window.offer_recovery():
                    if args.path:
                        window.flash(f"Recovered unsaved work; {args.path} was not opened", error=True)
                elif path:
                    window.open_file(path)

            QTimer.singleShot(0, startup)
            return app.exec()
        return _screenshot(app, window, Path(args.screenshot), attrs, args.timeout, bool(path))
    finally:
        sys.excepthook = guard.previous


def _screenshot(app: QApplication, window: MainWindow, out: Path, attrs: dict[str, float], timeout: float,
                opened: bool) -> int:
    code = 0
    if not window.workers.wait_idle(timeout):
        print("faceeditor: gave up waiting for work to finish before the screenshot", file=sys.stderr)
        code = 1
    if opened and window.doc is None:
        print(f"faceeditor: {window.errors[-1] if window.errors else 'could not open the file'}", file=sys.stderr)
        code = 2
    unknown = [n for n in attrs if n not in window.attributes.sliders]
    if unknown and window.attributes.sliders:
        print(f"faceeditor: no attribute slider named {', '.join(unknown)}", file=sys.stderr)
    for name, value in attrs.items():
        if name in window.attributes.sliders:
            window.attributes.set_value(name, value)
    window.workers.wait_idle(timeout)
    window.canvas.fit()
    for _ in range(3):
        app.processEvents()
    try:
        image = window.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise OSError("Qt could not write the PNG")
    except OSError as exc:
        print(f"faceeditor: cannot write the screenshot {out}: {exc}", file=sys.stderr)
        code = 2
    else:
        print(f"screenshot written to {out}")
    window.close()
    return code
