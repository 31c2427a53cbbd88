"""Where FaceEditor keeps the user's files, following platformdirs on every OS (one owner for all of them).

    preferences   user_config_dir/preferences.json   recent files, tool settings, window layout
    autosave      user_state_dir/autosave/           crash-recovery copies of open work
    cache         user_cache_dir/                    probe verdicts (re-made on demand)
    models        user_data_dir/models/              model packs the user installed

`reset` removes what a user asks to forget; the models folder only when named, since it holds their packs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_NAME = "faceeditor"


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def config_dir() -> Path:
    return Path(_dirs().user_config_dir)


def state_dir() -> Path:
    return Path(_dirs().user_state_dir)


def cache_dir() -> Path:
    return Path(_dirs().user_cache_dir)


def data_dir() -> Path:
    return Path(_dirs().user_data_dir)


def preferences_file() -> Path:
    return config_dir() / "preferences.json"


def autosave_dir() -> Path:
    return state_dir() / "autosave"


def user_models_dir() -> Path:
    """Where the user installs packs (created on demand by the model manager, not here)."""
    return data_dir() / "models"


@dataclass(frozen=True)
class Location:
    name: str
    path: Path
    holds: str


def locations() -> list[Location]:
    """Every place the app writes, in the order the docs list them."""
    return [Location("preferences", preferences_file(), "recent files, tool settings, window layout"),
            Location("autosave", autosave_dir(), "crash-recovery copies of open work"),
            Location("cache", cache_dir(), "probe verdicts (re-made when needed)"),
            Location("models", user_models_dir(), "model packs you installed")]


RESETTABLE = ("preferences", "autosave", "cache", "models")
