"""The main window: it assembles the canvas, the dock panels, the menus, the toolbar and the status bar,
and the controllers that do the work (faceeditor/ui/controllers). It holds no document state and runs no
model itself: the session model (faceeditor.core.session) holds what the panels edit, and each feature's
controller owns its worker channel, its request and its result. Start-up lives in faceeditor/ui/startup.py.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStyle,
    QWidget,
)

from faceeditor.core.preferences import Preferences
from faceeditor.core.samples import bundled_samples
from faceeditor.core.session import REVISION
from faceeditor.engine.engine import BaseEngine
from faceeditor.ui import icons
from faceeditor.ui.app_engine import EngineSetup, build_engine
from faceeditor.ui.canvas import CanvasView, Tool
from faceeditor.ui.controllers.attributes import AttributesController
from faceeditor.ui.controllers.documents import APP_TITLE, DocumentController
from faceeditor.ui.controllers.expression import ExpressionController
from faceeditor.ui.controllers.faces import FaceController
from faceeditor.ui.controllers.flips import FlipsController
from faceeditor.ui.controllers.mask import MaskController
from faceeditor.ui.controllers.notices import DomainController, FirstRunController
from faceeditor.ui.controllers.parse import ParseController
from faceeditor.ui.controllers.synthesis import SynthesisController
from faceeditor.ui.controllers.timeline import TimelineController
from faceeditor.ui.controllers.view import ViewController
from faceeditor.ui.dialogs import folder_name
from faceeditor.ui.help_texts import SHORTCUTS_HTML, about_html
from faceeditor.ui.model_manager import ModelManagerDialog
from faceeditor.ui.models_menu import fill_models_menu
from faceeditor.ui.status_bar import StatusBar
from faceeditor.ui.toolbar import MainToolBar
from faceeditor.ui.widgets.attribute_panel import AttributePanel
from faceeditor.ui.widgets.expression_panel import ExpressionPanel
from faceeditor.ui.widgets.flips_panel import FlipsPanel
from faceeditor.ui.widgets.layers_panel import LayersPanel
from faceeditor.ui.widgets.mask_panel import MaskPanel
from faceeditor.ui.widgets.synthesis_panel import SynthesisPanel
from faceeditor.ui.widgets.timeline_panel import TimelinePanel
from faceeditor.ui.workspace import Workspace

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


class _VerticalScroll(QScrollArea):
    """A side panel's scroll area: scrolls up and down only, so it is as wide as its panel needs."""

    def minimumSizeHint(self) -> QSize:
        inner = self.widget().minimumSizeHint() if self.widget() is not None else QSize(0, 0)
        return QSize(inner.width() + self.verticalScrollBar().sizeHint().width(), 60)


class MainWindow(QMainWindow):
    """See the module docstring. `interactive=False` (tests, screenshots) never opens a modal dialog:
    errors are collected in `errors` and shown in the status bar, questions take safe defaults."""

    def __init__(self, engine: BaseEngine | None = None, *, pack_dirs: Sequence[str | os.PathLike] = (),
                 provider: str = "auto", interactive: bool = True,
                 autosave_dir: str | os.PathLike | None = None, preferences: Preferences | None = None):
        super().__init__()
        setup = EngineSetup(engine) if engine is not None else build_engine(pack_dirs, provider)
        prefs = preferences if preferences is not None else Preferences()
        self.ws = Workspace(setup, prefs, interactive=interactive, dialog_parent=self, parent=self)
        self.model_manager: ModelManagerDialog | None = None
        self.session = self.ws.session
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.brush_label = QLabel()
        self.brush_label.setToolTip("The class the brush paints, and the brush size")
        self.brush_label.setContentsMargins(0, 0, 10, 0)
        self._build_panels()
        self.ws.message.connect(self.status.flash)
        self.ws.timing.connect(self.status.show_timing)
        self.ws.inference_busy.connect(self.status.show_busy)

        self.view = ViewController(self.ws, self.canvas, self.layers_panel, self)
        self.documents = DocumentController(self.ws, autosave_dir, self)
        self.parse = ParseController(self.ws, self)
        self.attributes_ctl = AttributesController(self.ws, self.attributes, self.view, self)
        self.synthesis_ctl = SynthesisController(self.ws, self.synthesis, self.view, self)
        self.expression_ctl = ExpressionController(self.ws, self.expression, self.view, self)
        self.flips_ctl = FlipsController(self.ws, self.flips, self.view, self)
        self.mask_ctl = MaskController(self.ws, self.mask_panel, self.canvas, self.brush_label, self)
        self.faces_ctl = FaceController(self.ws, self)
        self.timeline_ctl = TimelineController(self.ws, self.timeline, self.view, self)

        self._build_actions()
        self._build_menus_and_toolbar()
        self._connect()
        self.first_run = FirstRunController(self.ws, self.canvas, self.act_open.trigger, self.documents.open_file, self)
        self.domain = DomainController(self.ws, self.canvas, self)
        self._models_changed()
        for note in setup.notes:
            self.ws.flash(note, error=True)
        self.resize(1440, 900)
        if interactive:
            self._restore_window_state()

    # --- what tests and the start-up read ------------------------------------------------------
    @property
    def doc(self):
        return self.session.document

    @property
    def errors(self) -> list[str]:
        return self.ws.errors

    @property
    def engine(self) -> BaseEngine:
        return self.ws.engine

    @property
    def workers(self):
        return self.ws.workers

    # --- construction ---------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if area != Qt.DockWidgetArea.BottomDockWidgetArea:
            # side panels scroll when the window is short (the timeline under them takes height), instead of
            # their full height setting the window's minimum: 900 x 600 must still fit
            scroll = _VerticalScroll()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(widget)
            widget = scroll
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_panels(self) -> None:
        self.mask_panel = MaskPanel()
        self.layers_panel = LayersPanel(self.session)
        self.attributes = AttributePanel(self.session)
        self.synthesis = SynthesisPanel(self.session)
        self.mask_dock = self._dock("Mask", self.mask_panel, LEFT, "mask_dock")
        self.layers_dock = self._dock("Layers", self.layers_panel, LEFT, "layers_dock")
        self.attr_dock = self._dock("Attributes", self.attributes, RIGHT, "attributes_dock")
        self.synth_dock = self._dock("Synthesis", self.synthesis, RIGHT, "synthesis_dock")
        self.tabifyDockWidget(self.attr_dock, self.synth_dock)
        self.expression = ExpressionPanel(self.session)
        self.expr_dock = self._dock("Expression", self.expression, RIGHT, "expression_dock")
        self.tabifyDockWidget(self.synth_dock, self.expr_dock)
        self.flips = FlipsPanel(self.session)
        self.flips_dock = self._dock("All flips", self.flips, RIGHT, "flips_dock")
        self.tabifyDockWidget(self.expr_dock, self.flips_dock)
        self.timeline = TimelinePanel(self.session)
        self.timeline_dock = self._dock("Timeline", self.timeline, Qt.DockWidgetArea.BottomDockWidgetArea,
                                        "timeline_dock")
        self.attr_dock.raise_()
        self.resizeDocks([self.mask_dock, self.attr_dock], [250, 440], Qt.Orientation.Horizontal)   # sliders whole
        self.resizeDocks([self.mask_dock, self.layers_dock], [640, 150], Qt.Orientation.Vertical)

    def _action(self, text: str, slot=None, shortcut: str | QKeySequence | Sequence | None = None,
                tip: str = "", checkable: bool = False, icon=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut is not None else tip)
        if isinstance(icon, QStyle.StandardPixmap):
            action.setIcon(self.style().standardIcon(icon))
        elif icon is not None:
            action.setIcon(icon)
        action.setCheckable(checkable)
        if slot is not None:
            (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        SP, docs, mask, canvas, layers = QStyle.StandardPixmap, self.documents, self.mask_ctl, self.canvas, self.layers_panel
        self.act_open = self._action("&Open…", docs.open_dialog, QKeySequence.StandardKey.Open,
                                     "Open a photo or a project", icon=SP.SP_DialogOpenButton)
        self.act_save = self._action("&Save", lambda: docs.save(), QKeySequence.StandardKey.Save, "Save the project",
                                     icon=SP.SP_DialogSaveButton)
        self.act_save_as = self._action("Save &As…", lambda: docs.save_as(), QKeySequence.StandardKey.SaveAs,
                                        "Save the project under a new name")
        self.act_import_mask = self._action("&Import mask…", mask.import_dialog,
                                            tip="Replace the mask with an index or colour PNG")
        self.act_export_mask = self._action("Export mask (&index PNG)…", lambda: mask.export_dialog(False),
                                            tip="Class indices 0-18 as an 8-bit grey PNG")
        self.act_export_color = self._action("Export mask (&colour PNG)…", lambda: mask.export_dialog(True),
                                             tip="The mask in the class colours")
        self.act_export_result = self._action("Export &result…", self.view.export_dialog, "Ctrl+E",
                                              "Save the edited photo")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_undo = self._action("&Undo", docs.undo, QKeySequence.StandardKey.Undo, "Undo the last change",
                                     icon=SP.SP_ArrowBack)
        self.act_redo = self._action("&Redo", docs.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", icon=SP.SP_ArrowForward)
        self.act_undo.setIconText("Undo")       # the toolbar stays short; the Edit menu names the step
        self.act_redo.setIconText("Redo")
        self.act_parse = self._action("Mask from &parser", lambda: self.parse.run(), "P",
                                      "Replace the mask with the face parser's", icon=icons.parse())
        self.act_landmark_mask = self._action("Mask from &landmarks", mask.from_landmarks,
                                              tip="Replace the mask with the parts the landmarks outline")
        self.act_clear_mask = self._action("&Clear mask", mask.clear, tip="Paint everything background")
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, text, key, tip, make in (
                (Tool.BRUSH, "Brush", "B", "Paint the selected class (right button erases)", icons.brush),
                (Tool.ERASER, "Eraser", "E", "Paint the eraser class (background by default)", icons.eraser),
                (Tool.FILL, "Fill", "G", "Fill the connected region under the cursor", icons.fill),
                (Tool.PICKER, "Pick", "I", "Pick the class under the cursor (or Ctrl+click)", icons.picker),
                (Tool.LANDMARKS, "Landmarks", "L", "Show the 68 face landmarks and drag one (Shift+drag: its whole "
                 "part); the mask follows", icons.landmarks)):
            act = self._action(text, None, key, tip, checkable=True, icon=make())
            act.triggered.connect(lambda _=False, t=tool: mask.set_tool(t))
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[Tool.BRUSH].setChecked(True)
        self.act_mirror = self._action("Mirror", self.mask_panel.mirror.setChecked, "M",
                                       "Mirror painting about the face's axis, swapping left/right classes",
                                       checkable=True, icon=icons.mirror())
        self.act_landmark_mirror = self._action("Mirror landmarks", mask.set_landmark_mirror, "Shift+M",
                                                "Drag the mirror-image landmark the opposite way too",
                                                checkable=True, icon=icons.mirror())
        self.act_landmark_mirror.setVisible(False)          # shown while the landmarks tool is active
        self.act_smaller = self._action("Smaller brush", lambda: self.mask_panel.grow_brush(1 / 1.25), "[")
        self.act_bigger = self._action("Bigger brush", lambda: self.mask_panel.grow_brush(1.25), "]")
        self.act_fit = self._action("&Fit", canvas.fit, "Ctrl+0", "Fit the photo in the window", icon=icons.fit())
        self.act_actual = self._action("&1:1", canvas.one_to_one, "Ctrl+1", "One photo pixel per screen pixel",
                                       icon=icons.actual_size())
        self.act_zoom_in = self._action("Zoom &in", lambda: canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self.act_zoom_out = self._action("Zoom &out", lambda: canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self.act_split = self._action("&Before/after split", layers.split.setChecked, "S",
                                      "Original left of the divider, result right", checkable=True, icon=icons.split())
        self.act_overlay = self._action("Mask &overlay", layers.overlay.setChecked, "O",
                                        "Show the mask over the picture", checkable=True)
        self.act_compare = self._action("Compare", tip="Hold to see the original (or hold \\ on the canvas)",
                                        icon=icons.compare())
        self.crop_group = QActionGroup(self)
        self.crop_actions: dict[str, QAction] = {}
        for mode, text in (("face", "&Align the detected face"), ("whole", "&Whole image (already aligned)")):
            act = self._action(text, None, tip="How the picture is cropped for the models", checkable=True)
            act.triggered.connect(lambda _=False, m=mode: docs.set_crop_mode(m) or self._update_actions())
            self.crop_group.addAction(act)
            self.crop_actions[mode] = act
        self.act_load_pack = self._action("&Load pack folder…", self._load_pack_dialog,
                                          tip="Load a model pack folder (manifest.json + ONNX files)")
        self.act_manage_models = self._action("&Manage models…", self.open_model_manager,
                                              tip="Installed packs: install, remove, choose which model serves each task")
        self.act_all_flips = self._action("All &flips", self.show_all_flips, "Ctrl+Shift+F",
                                          "Every attribute flip of the face in one pass (SG-GAN); click one to apply it")
        self.act_about = self._action("&About FaceEditor",
                                      lambda: QMessageBox.about(self, f"About {APP_TITLE}", about_html(self.engine)))
        self.act_shortcuts = self._action("&Keyboard and mouse",
                                          lambda: QMessageBox.information(self, "Keyboard and mouse", SHORTCUTS_HTML),
                                          "F1")
        for digit in range(10):
            QShortcut(QKeySequence(str(digit)), self).activated.connect(lambda d=digit: mask.digit_pressed(d))

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        m = bar.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        samples = m.addMenu("Open &Sample")
        for sample in bundled_samples():
            samples.addAction(sample.stem).triggered.connect(lambda _=False, p=sample: self.documents.open_file(p))
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
        m.addActions([self.act_mirror, self.act_landmark_mirror, self.act_smaller, self.act_bigger])
        m = bar.addMenu("&View")
        m.addActions([self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out])
        m.addSeparator()
        m.addActions([self.act_split, self.act_overlay])
        m.addSeparator()
        for dock in (self.mask_dock, self.layers_dock, self.attr_dock, self.synth_dock, self.expr_dock,
                     self.flips_dock, self.timeline_dock):
            m.addAction(dock.toggleViewAction())
        face_menu = bar.addMenu("F&ace")
        face_menu.addActions([self.faces_ctl.action, *self.crop_actions.values()])
        face_menu.addSeparator()
        face_menu.addAction(self.act_all_flips)
        self.models_menu = bar.addMenu("&Models")
        bar.addMenu("&Help").addActions([self.act_shortcuts, self.act_about])

        tb = MainToolBar(self, ([self.act_open, self.act_save], [self.act_undo, self.act_redo],
                                [*self.tool_actions.values(), self.act_mirror, self.act_landmark_mirror],
                                [self.act_parse],
                                [self.act_fit, self.act_actual, self.act_split, self.act_compare]), self.brush_label)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        compare_button = tb.widgetForAction(self.act_compare)
        compare_button.pressed.connect(lambda: self.canvas.set_comparing(True))
        compare_button.released.connect(lambda: self.canvas.set_comparing(False))
        self.toolbar = tb

    def _connect(self) -> None:
        self.mask_panel.parse_requested.connect(lambda: self.parse.run())
        self.mask_panel.mirror.toggled.connect(self.act_mirror.setChecked)
        self.mask_ctl.tool_changed.connect(self._tool_changed)
        self.layers_panel.changed.connect(self._layers_changed)
        self.canvas.hovered.connect(self.status.show_hover)
        self.canvas.zoom_changed.connect(self.status.show_zoom)
        self.canvas.files_dropped.connect(lambda paths: self.documents.open_file(paths[0]))
        self.documents.title_changed.connect(self.setWindowTitle)
        self.documents.recent_changed.connect(self._rebuild_recent_menu)
        self.ws.models_changed.connect(self._models_changed)
        self.session.document_changed.connect(lambda _doc: self._update_actions())
        self.session.subscribe(REVISION, self._update_actions)

    # --- state shown by actions and menus -------------------------------------------------------
    def _models_changed(self) -> None:
        self.status.show_engine(self.engine)
        fill_models_menu(self.models_menu, self.ws.setup, self.act_load_pack, self.act_manage_models)
        has_parser = self.ws.model("parse") is not None
        self.mask_panel.set_parser_available(has_parser, "" if has_parser else "No face parser pack is loaded")
        self._update_actions()

    def _update_actions(self) -> None:
        doc = self.doc
        has = doc is not None
        for act in (self.act_save, self.act_save_as, self.act_import_mask, self.act_export_mask,
                    self.act_export_color, self.act_export_result, self.act_landmark_mask, self.act_clear_mask):
            act.setEnabled(has)
        self.act_undo.setEnabled(has and doc.history.can_undo)
        self.act_redo.setEnabled(has and doc.history.can_redo)
        self.act_undo.setText(f"&Undo {doc.history.undo_name}" if has and doc.history.can_undo else "&Undo")
        self.act_redo.setText(f"&Redo {doc.history.redo_name}" if has and doc.history.can_redo else "&Redo")
        parser = has and self.ws.model("parse") is not None
        self.act_parse.setEnabled(parser)
        self.mask_panel.parse_button.setEnabled(parser)
        self.crop_actions["face"].setEnabled(has and doc.landmarks is not None)
        self.crop_actions["whole"].setEnabled(has)
        if has:
            self.crop_actions[doc.mode].setChecked(True)
        self.mask_panel.landmarks_button.setEnabled(has)
        self.mask_panel.clear_button.setEnabled(has)

    def _tool_changed(self, tool: Tool) -> None:
        self.tool_actions[tool].setChecked(True)
        self.act_landmark_mirror.setVisible(tool == Tool.LANDMARKS)

    def _layers_changed(self) -> None:
        self.act_split.setChecked(self.layers_panel.split.isChecked())
        self.act_overlay.setChecked(self.layers_panel.overlay.isChecked())

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        prefs = self.ws.prefs
        recent = prefs.recent_files()
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: (prefs.clear_recent(), self._rebuild_recent_menu()))
        self.recent_menu.setEnabled(bool(recent))

    def _open_recent(self, path: str) -> None:
        if not Path(path).exists():
            self.ws.show_error("Cannot open a recent file", f"{path} no longer exists")
            self.ws.prefs.remove_recent(path)
            self._rebuild_recent_menu()
            return
        self.documents.open_file(path)

    def show_all_flips(self) -> None:
        """Face ▸ All flips: show the All flips dock and bring it to the front."""
        self.flips_dock.show()
        self.flips_dock.raise_()

    def open_model_manager(self) -> ModelManagerDialog:
        """Show the model manager (one per window, kept while the window lives)."""
        if self.model_manager is None:
            self.model_manager = ModelManagerDialog(self.ws, parent=self)
        self.model_manager.show()
        self.model_manager.raise_()
        return self.model_manager

    def _load_pack_dialog(self) -> None:
        folder = folder_name(self, "Load a model pack folder")
        if folder:
            self.ws.load_pack(folder)

    # --- Qt events ------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._rebuild_recent_menu()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.documents.open_file(paths[0])
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if self.ws.interactive and self.documents.is_modified and not self.documents.maybe_keep_changes():
            event.ignore()
            return
        self.engine.cancel()
        self.documents.stop()
        self.ws.workers.shutdown()
        self.documents.autosave.close()
        prefs = self.ws.prefs
        prefs.data["tools"] = self.mask_panel.state()
        if self.ws.interactive:
            prefs.data["window"] = {"geometry": bytes(self.saveGeometry().toBase64()).decode("ascii"),
                                    "state": bytes(self.saveState().toBase64()).decode("ascii")}
        prefs.save()
        super().closeEvent(event)

    def _restore_window_state(self) -> None:
        """Window size and dock layout as the user left them (ignored when unreadable)."""
        saved = self.ws.prefs.get("window")
        if not isinstance(saved, dict):
            return
        try:
            if isinstance(saved.get("geometry"), str):
                self.restoreGeometry(QByteArray.fromBase64(saved["geometry"].encode("ascii")))
            if isinstance(saved.get("state"), str):
                self.restoreState(QByteArray.fromBase64(saved["state"].encode("ascii")))
        except (ValueError, UnicodeError):
            pass
