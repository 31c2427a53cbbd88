"""Models ▸ Manage models…: lists the installed packs, installs from a folder and a zip (refusing a bad zip
with nothing installed), removes a user's pack but not a bundled one, chooses which model serves a task
(persisted), and warns when a SynthFaces-trained model serves on a photograph. Real engine, tiny packs."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from faceeditor.core.preferences import Preferences
from faceeditor.engine.engine import Engine
from faceeditor.engine.pack_manager import TASK_CHOICE_KEY, PackManager
from faceeditor.engine.registry import user_models_dir
from tests.helpers.packs import TestPack, copy_pack, edit_manifest, make_test_pack
from tests.helpers.ui import make_window, open_and_wait


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, TestPack]:
    """Two tiny one-editor packs: one says it was trained on SynthFaces, one on CelebA."""
    root = tmp_path_factory.mktemp("mm-built")
    packs = {}
    for name, domain, seed in (("synthpack", "synthfaces", 0), ("photopack", "celeba", 1)):
        packs[name] = make_test_pack(root, name, seed=seed)
        edit_manifest(packs[name].path, lambda m, d=domain: m["models"][0].update(data_domain=d))
    return packs


@pytest.fixture
def bundled(built, tmp_path) -> Path:
    """A stand-in for the bundled packs' folder, holding the SynthFaces pack."""
    folder = tmp_path / "bundled"
    copy_pack(built["synthpack"].path, folder)
    return folder


def _window(qtbot, tmp_path, bundled: Path, name: str = "w"):
    engine = Engine([bundled / "synthpack"], provider="cpu")
    w = make_window(qtbot, tmp_path / name, engine=engine, preferences=Preferences(tmp_path / "prefs.json"))
    manager = PackManager(include_defaults=False)
    manager.registry.search_dirs.append((bundled, "bundled"))
    from faceeditor.ui.model_manager import ModelManagerDialog

    w.model_manager = ModelManagerDialog(w.ws, manager, parent=w)
    w.model_manager.show()
    _idle(w.model_manager, qtbot)
    return w, w.model_manager


def _idle(dialog, qtbot):
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20000)


def test_lists_installs_removes(qtbot, tmp_path, built, bundled):
    w, dlg = _window(qtbot, tmp_path, bundled)
    try:
        assert dlg.pack_names() == ["synthpack"]
        top = dlg.tree.topLevelItem(0)
        assert top.child(0).text(1) == "edit_attributes" and top.child(0).text(5) == "synthfaces"
        assert top.child(0).text(3) == "32²" and top.child(0).text(4) == "13"
        assert top.text(7).startswith("valid")
        dlg.tree.setCurrentItem(top.child(0))
        assert not dlg.remove_button.isEnabled(), "the bundled pack cannot be removed"

        dlg.install(built["photopack"].path)                       # from a folder
        _idle(dlg, qtbot)
        assert sorted(dlg.pack_names()) == ["photopack", "synthpack"]
        assert (user_models_dir() / "photopack" / "manifest.json").is_file()
        assert "photopack" in w.engine.packs, "an installed pack is loaded at once"

        archive = tmp_path / "zipped.zip"                           # from a zip, a pack of another name
        zipped = copy_pack(built["photopack"].path, tmp_path / "src", "zipped")
        edit_manifest(zipped, lambda m: m.update(name="zipped"))
        with zipfile.ZipFile(archive, "w") as zf:
            for f in zipped.iterdir():
                zf.write(f, f"zipped/{f.name}")
        dlg.install(archive)
        _idle(dlg, qtbot)
        assert "zipped" in dlg.pack_names() and "zipped" in w.engine.packs

        dlg.tree.setCurrentItem(dlg.tree.topLevelItem(dlg.pack_names().index("zipped")))
        assert dlg.remove_button.isEnabled()
        dlg.remove_button.click()
        _idle(dlg, qtbot)
        assert "zipped" not in dlg.pack_names() and "zipped" not in w.engine.packs
        assert not (user_models_dir() / "zipped").exists()

        errors = len(w.errors)
        dlg.remove("synthpack")
        assert len(w.errors) == errors + 1 and "synthpack" in w.engine.packs
    finally:
        w.close()


def test_a_bad_zip_is_refused_with_a_message_and_nothing_installed(qtbot, tmp_path, built, bundled):
    w, dlg = _window(qtbot, tmp_path, bundled)
    try:
        broken = copy_pack(built["photopack"].path, tmp_path / "src")
        (broken / "G.onnx").write_bytes(b"not an onnx graph")
        archive = tmp_path / "broken.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for f in broken.iterdir():
                zf.write(f, f.name)
        dlg.install(archive)
        _idle(dlg, qtbot)
        assert w.errors and w.errors[-1].startswith("Cannot install the pack: broken.zip is not a valid model pack")
        assert "sha256" in w.errors[-1]
        assert not user_models_dir().exists() or list(user_models_dir().iterdir()) == []
        assert dlg.pack_names() == ["synthpack"] and "photopack" not in w.engine.packs
    finally:
        w.close()


def test_choice_of_the_model_per_task_is_persisted_and_the_domain_warning_follows_it(
        qtbot, tmp_path, built, bundled, synth_sample_path):
    w, dlg = _window(qtbot, tmp_path, bundled)
    try:
        dlg.install(built["photopack"].path)
        _idle(dlg, qtbot)
        assert w.ws.model("edit_attributes").key == "synthpack/G", "the first loaded serves by default"
        photo = tmp_path / "holiday.png"             # not a SynthFaces file name: a photograph to the app
        shutil.copy(synth_sample_path, photo)
        open_and_wait(w, qtbot, photo)
        assert dlg.warning.isVisible() and "photograph" in dlg.warning.text() and "synthfaces" in dlg.warning.text()
        assert w.domain.text is not None                 # the canvas banner says the same

        combo = dlg.combos["edit_attributes"]
        index = combo.findData("photopack/G")
        assert index > 0
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
        assert w.ws.model("edit_attributes").key == "photopack/G"
        assert not dlg.warning.isVisible() and w.domain.text is None, "a photo model on a photo: no warning"
        assert Preferences(tmp_path / "prefs.json").get(TASK_CHOICE_KEY) == {"edit_attributes": "photopack/G"}
    finally:
        w.close()
    # a new start with the same preferences and packs: the choice holds
    engine = Engine([bundled / "synthpack", user_models_dir() / "photopack"], provider="cpu")
    w2 = make_window(qtbot, tmp_path / "again", engine=engine, preferences=Preferences(tmp_path / "prefs.json"))
    try:
        assert w2.ws.model("edit_attributes").key == "photopack/G"
    finally:
        w2.close()


def test_the_models_menu_opens_the_manager(window, qtbot, monkeypatch):
    monkeypatch.setattr("faceeditor.engine.registry.bundled_models_dirs", lambda: [])   # no demo-pack probes here
    assert window.act_manage_models in window.models_menu.actions()
    window.act_manage_models.trigger()
    dlg = window.model_manager
    assert dlg is not None and dlg.isVisible()
    _idle(dlg, qtbot)
    window.act_manage_models.trigger()
    assert window.model_manager is dlg, "one dialog per window"
