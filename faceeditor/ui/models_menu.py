"""The Models menu: the loaded packs and their models, the
packs that could not be used and why, the tasks no pack serves, "Load pack folder…" and "Manage models…"."""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from faceeditor.ui.app_engine import EngineSetup


def fill_models_menu(menu: QMenu, setup: EngineSetup, load_pack: QAction, manage: QAction | None = None) -> None:
    engine = setup.engine
    menu.clear()
    packs = engine.packs
    for name, manifest in packs.items():
        sub = menu.addMenu(name)
        for entry in manifest.models:
            act = sub.addAction(f"{entry.name}: {entry.task} · {entry.method or '?'}"
                                f" · {entry.resolution}px · {entry.data_domain or 'unknown data'}")
            act.setEnabled(False)
    if packs:
        menu.addSeparator()
    for info in setup.packs:
        if not info.valid:
            act = menu.addAction(f"\u26a0 {info.name}: not usable")
            act.setToolTip(info.reason)
            act.setStatusTip(info.reason)
            act.setEnabled(False)
    for task in ("parse", "edit_attributes", "synthesize"):
        if not engine.has_task(task):
            menu.addAction(f"No pack for {task}").setEnabled(False)
    menu.addSeparator()
    menu.addAction(load_pack)
    if manage is not None:
        menu.addAction(manage)
