"""Every test run gets its own user cache folder (platformdirs honours XDG_CACHE_HOME): probe verdicts of
packs (faceeditor.engine.probes) never reach the real one, and are shared within the run, so a pack's
probes run once per session, as they run once per machine."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache_home(tmp_path_factory):
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old
