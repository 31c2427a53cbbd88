"""Models ▸ Manage models…: a thin view over faceeditor.engine.pack_manager.PackManager.

It lists every pack found (the user's folder, the bundled packs, folders given on the command line) with
its models, installs a pack from a folder or a .zip, removes a pack the user installed, and chooses the
model that serves each task (the workspace keeps the choice in the preferences). Scanning and installing
validate packs (their graphs, and their probes once per machine), so they run in a worker channel; the
dialog stays responsive and says what it is doing. A warning line says when the models serving now were
trained on another kind of picture than the open one (faceeditor.core.domain).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceeditor.core.domain import TASK_NAMES, domain_warning
from faceeditor.engine.pack_manager import PackInstallError, PackManager, pack_status
from faceeditor.engine.registry import PackInfo
from faceeditor.ui.dialogs import folder_name, open_file_name
from faceeditor.ui.workspace import MODEL_TASKS, Workspace

COLUMNS = ("Pack / model", "Task", "Method", "Resolution", "Attributes", "Trained on", "Metrics", "Status")
FIRST = "(first loaded)"


class ModelManagerDialog(QDialog):
    """See the module docstring. Tests drive `install(path)`, `remove(name)` and `choose(task, key)`."""

    def __init__(self, ws: Workspace, manager: PackManager | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ws = ws
        self.manager = manager if manager is not None else PackManager(ws.setup.extra_dirs)
        self.setWindowTitle("Model packs")
        self.resize(1100, 560)
        self.channel = ws.workers.channel("model-manager")
        self.channel.finished.connect(self._job_done)
        self.channel.failed.connect(self._job_failed)
        self.channel.busy_changed.connect(self._busy_changed)
        self._after: Callable[[object], None] | None = None

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.status = QLabel()
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b35c00;")
        self.install_folder_button = QPushButton("Install folder…")
        self.install_zip_button = QPushButton("Install zip…")
        self.remove_button = QPushButton("Remove")
        self.refresh_button = QPushButton("Refresh")
        close = QPushButton("Close")
        self.install_folder_button.clicked.connect(self._install_folder_dialog)
        self.install_zip_button.clicked.connect(self._install_zip_dialog)
        self.remove_button.clicked.connect(self._remove_selected)
        self.refresh_button.clicked.connect(self.refresh)
        close.clicked.connect(self.accept)

        self.combos: dict[str, QComboBox] = {}
        choices = QGroupBox("Which model serves each task")
        form = QFormLayout(choices)
        for task in MODEL_TASKS:
            combo = QComboBox()
            combo.activated.connect(lambda _i, t=task: self._combo_chosen(t))
            self.combos[task] = combo
            form.addRow(TASK_NAMES.get(task, task).capitalize(), combo)

        buttons = QHBoxLayout()
        for b in (self.install_folder_button, self.install_zip_button, self.remove_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 3)
        layout.addWidget(choices)
        layout.addWidget(self.warning)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        ws.models_changed.connect(self._fill_choices)
        ws.models_changed.connect(self._update_warning)
        ws.session.document_changed.connect(lambda _doc: self._update_warning())
        self._fill_choices()
        self._update_warning()
        self.refresh()

    # --- what the tests and the buttons call ----------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.channel.busy

    def refresh(self) -> None:
        """Re-scan the packs in the background and list them."""
        self._run("Checking the installed packs…", self.manager.scan, lambda _packs: self._fill_tree())

    def install(self, path: str | Path) -> None:
        """Validate and install a pack folder or zip in the background; load it into the engine."""
        self._run(f"Validating {Path(path).name}…", lambda: self.manager.install(path), self._installed)

    def remove(self, name: str) -> None:
        """Remove the installed pack called `name` (asks first when interactive)."""
        info = next((p for p in self.manager.packs if p.name == name and self.manager.removable(p)), None)
        if info is None:
            self.ws.show_error("Cannot remove the pack", f"no pack called {name!r} was installed by you")
            return
        if self.ws.interactive and QMessageBox.question(
                self, "Remove model pack", f"Delete the pack {name!r} from {info.path.parent}?") \
                != QMessageBox.StandardButton.Yes:
            return
        self._run(f"Removing {name}…", lambda: self.manager.remove(info), lambda _r: self._removed(info))

    def choose(self, task: str, key: str | None) -> None:
        """Let the model `key` ("pack/model") serve `task` (None: the first loaded)."""
        self.ws.choose_model(task, key)

    # --- background work ------------------------------------------------------------------------
    def _run(self, what: str, job: Callable[[], object], after: Callable[[object], None]) -> None:
        if self.channel.busy:
            self.ws.flash("The model manager is still busy; try again in a moment")
            return
        self.status.setText(what)
        self._after = after
        self.channel.submit(job)

    def _job_done(self, _tag, result) -> None:
        after, self._after = self._after, None
        self.status.setText("")
        if after is not None:
            after(result)

    def _job_failed(self, _tag, exc: BaseException) -> None:
        self._after = None
        self.status.setText("")
        title = "Cannot install the pack" if isinstance(exc, PackInstallError) else "Model manager"
        self.ws.show_error(title, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        self.refresh()

    def _busy_changed(self, busy: bool) -> None:
        for b in (self.install_folder_button, self.install_zip_button, self.refresh_button):
            b.setEnabled(not busy)
        self._update_buttons()

    def _installed(self, info: PackInfo) -> None:
        if self.ws.load_pack(info.path):
            self.ws.flash(f"Installed model pack {info.name} in {info.path.parent}")
        self.refresh()

    def _removed(self, info: PackInfo) -> None:
        self.ws.unload_pack(info.name)
        self.ws.flash(f"Removed model pack {info.name}")

        def reload_shadowed(packs: list[PackInfo]) -> None:
            # a pack of the same name elsewhere (e.g. the bundled one) serves again
            other = next((p for p in packs if p.valid and p.name == info.name), None)
            if other is not None:
                self.ws.load_pack(other.path)
            self._fill_tree()

        self._run("Checking the installed packs…", self.manager.scan, reload_shadowed)

    # --- views ----------------------------------------------------------------------------------
    def _fill_tree(self) -> None:
        self.tree.clear()
        loaded = self.ws.engine.packs
        for info in self.manager.packs:
            status = pack_status(info)
            if info.valid and info.name in loaded and info.path != self._loaded_dir(info.name):
                status += " (shadowed by another pack of this name)"
            top = QTreeWidgetItem([info.name, "", "", "", "", "", "", status])
            top.setData(0, Qt.ItemDataRole.UserRole, info.name)
            top.setToolTip(0, f"{info.path} ({info.source})")
            top.setToolTip(7, status)
            if info.manifest is not None and info.manifest.description:
                top.setToolTip(1, info.manifest.description)
            for row in self.manager.rows(info):
                attrs = ", ".join(row.attributes or row.expressions)
                child = QTreeWidgetItem([row.model + (" (preview)" if row.preview else ""), row.task,
                                         "/".join(x for x in (row.method, row.backbone) if x),
                                         f"{row.resolution}²" if row.resolution else "",
                                         str(len(row.attributes or row.expressions) or ""),
                                         row.data_domain or "unknown", row.metrics, ""])
                child.setToolTip(4, attrs)
                child.setToolTip(6, row.metrics)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        for c in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(c)
        self._update_buttons()

    def _loaded_dir(self, name: str) -> Path | None:
        models = [m for m in self.ws.engine.models(previews=True) if m.pack == name]
        return models[0].pack_dir if models else None

    def pack_names(self) -> list[str]:
        return [self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())]

    def _selected_pack(self) -> PackInfo | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        index = self.tree.indexOfTopLevelItem(item) if item is not None else -1
        return self.manager.packs[index] if name is not None and 0 <= index < len(self.manager.packs) else None

    def _update_buttons(self) -> None:
        info = self._selected_pack()
        removable = info is not None and self.manager.removable(info)
        self.remove_button.setEnabled(removable and not self.channel.busy)
        self.remove_button.setToolTip("" if removable else "Only packs you installed can be removed "
                                      "(not the bundled pack)")

    def _fill_choices(self) -> None:
        for task, combo in self.combos.items():
            combo.blockSignals(True)
            combo.clear()
            models = self.ws.engine.models(task)
            combo.addItem(FIRST if models else "no pack has one", None)
            for m in models:
                combo.addItem(f"{m.key} · {m.entry.method or '?'} · {m.entry.resolution}² · "
                              f"{m.entry.data_domain or 'unknown data'}", m.key)
            chosen = self.ws.chosen_models().get(task)
            index = combo.findData(chosen) if chosen else 0
            combo.setCurrentIndex(max(index, 0))
            combo.setEnabled(bool(models))
            serving = self.ws.model(task)
            combo.setToolTip(f"serving now: {serving.key}" if serving is not None else "")
            combo.blockSignals(False)

    def _combo_chosen(self, task: str) -> None:
        self.choose(task, self.combos[task].currentData())

    def _update_warning(self) -> None:
        doc = self.ws.session.document
        text = None
        if doc is not None:
            text = domain_warning(doc.source, [(t, m.entry.data_domain) for t, m in self.ws.models.items()
                                               if m is not None])
        self.warning.setText(f"\u26a0 {text}" if text else "")
        self.warning.setVisible(bool(text))

    # --- file dialogs ---------------------------------------------------------------------------
    def _install_folder_dialog(self) -> None:
        folder = folder_name(self, "Install a model pack folder")
        if folder:
            self.install(folder)

    def _install_zip_dialog(self) -> None:
        path = open_file_name(self, "Install a model pack archive", "", "Model pack archives (*.zip)")
        if path:
            self.install(path)

    def _remove_selected(self) -> None:
        info = self._selected_pack()
        if info is not None:
            self.remove(info.name)
