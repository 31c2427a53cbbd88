"""Packs built once per test session (ONNX export takes a second each); tests get private copies."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.packs import ALL_TASKS, TestPack, copy_pack, make_test_pack


@pytest.fixture(scope="session")
def built_edit_pack(tmp_path_factory) -> TestPack:
    return make_test_pack(tmp_path_factory.mktemp("built"), "editpack")


@pytest.fixture(scope="session")
def built_all_pack(tmp_path_factory) -> TestPack:
    return make_test_pack(tmp_path_factory.mktemp("built"), "allpack", tasks=ALL_TASKS)


@pytest.fixture
def edit_pack(built_edit_pack, tmp_path) -> Path:
    """A private copy of a valid one-model pack (model "G", edit_attributes) that a test may damage."""
    return copy_pack(built_edit_pack, tmp_path / "packs")


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """Keep the user's real pack folder out of the tests (platformdirs honours XDG_DATA_HOME)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def built_probed_pack(tmp_path_factory) -> TestPack:
    """A tiny pack with a parser, an editor and a classifier, with probes recorded as an export does."""
    return make_test_pack(tmp_path_factory.mktemp("built"), "probedpack",
                          tasks=("parse", "edit_attributes", "classify_attributes"), probes=True)


@pytest.fixture
def probed_pack(built_probed_pack, tmp_path) -> Path:
    """A private copy of the probed pack that a test may damage."""
    return copy_pack(built_probed_pack, tmp_path / "packs")


@pytest.fixture
def fresh_probe_cache(tmp_path, monkeypatch) -> Path:
    """An empty user cache folder for this test, and no verdict remembered by the process."""
    from faceeditor.engine import probes

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(probes, "_VERIFIED_HERE", set())
    return tmp_path / "xdg-cache"
