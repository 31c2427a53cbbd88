"""User folders follow platformdirs from one owner (faceeditor.core.locations); `paths --reset` clears them."""
from __future__ import annotations

import json

import pytest

from faceeditor.cli import main as cli_main
from faceeditor.core import locations
from faceeditor.core.autosave import AutosaveSession, default_autosave_dir
from faceeditor.core.preferences import Preferences
from faceeditor.engine.probes import probe_cache_dir
from faceeditor.engine.registry import user_models_dir
from faceeditor.resources import demo_pack_dir


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    for var in ("CONFIG", "STATE", "CACHE", "DATA"):
        monkeypatch.setenv(f"XDG_{var}_HOME", str(tmp_path / var.lower()))
    return tmp_path


def test_every_user_folder_comes_from_platformdirs(xdg):
    assert Preferences().path == xdg / "config" / "faceeditor" / "preferences.json"
    assert default_autosave_dir() == xdg / "state" / "faceeditor" / "autosave"
    assert probe_cache_dir() == xdg / "cache" / "faceeditor" / "probe-verdicts"
    assert user_models_dir() == xdg / "data" / "faceeditor" / "models"
    assert [loc.name for loc in locations.locations()] == ["preferences", "autosave", "cache", "models"]


def test_paths_lists_them(xdg, capsys):
    assert cli_main(["paths", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    listed = {d["name"]: d["path"] for d in found["user"]}
    assert found["bundled"]["demo_pack"] == str(demo_pack_dir())
    assert listed["preferences"] == str(xdg / "config" / "faceeditor" / "preferences.json")
    assert listed["models"] == str(xdg / "data" / "faceeditor" / "models")


def test_reset_all_forgets_settings_and_crashed_work_but_keeps_packs_and_running_sessions(xdg, capsys):
    prefs = Preferences()
    prefs.add_recent("/tmp/a.png")
    assert prefs.path.is_file()
    crashed = AutosaveSession()
    assert crashed.start()
    crashed.write_members({"project.json": b"{}"})
    crashed.abandon()
    running = AutosaveSession()
    assert running.start()
    running.write_members({"project.json": b"{}"})
    (probe_cache_dir()).mkdir(parents=True)
    (probe_cache_dir() / "x.json").write_text("{}")
    pack = user_models_dir() / "mine"
    pack.mkdir(parents=True)

    assert cli_main(["paths", "--reset", "all"]) == 0
    out = capsys.readouterr().out
    assert "autosave: removed 1 recovery file(s)" in out
    assert not prefs.path.exists() and not crashed.path.exists() and not probe_cache_dir().exists()
    assert running.path.is_file()               # another instance's work is left alone
    assert pack.is_dir()                        # the user's packs go only when named
    running.close()

    assert cli_main(["paths", "--reset", "models"]) == 0
    assert not pack.exists()


def test_reset_of_an_unknown_location_is_a_usage_error(xdg, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["paths", "--reset", "everything"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
