"""Packaging: the desktop integration files agree with the app, the wheel's package data covers the bundled
files, and (marked `frozen`, run by `python3 dev.py package --check`) the frozen build passes its smoke test."""
from __future__ import annotations

import configparser
import fnmatch
import importlib.util
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from faceeditor import __version__
from faceeditor.resources import demo_pack_dir, icon_path, samples_dir

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "packaging" / "linux"
MIME = "application/x-faceeditor-project"


def test_desktop_file_launches_the_app_and_opens_projects():
    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str
    entry.read(LINUX / "faceeditor.desktop")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "faceeditor" and "%f" in d["Exec"]
    assert d["Icon"] == "faceeditor" and MIME in d["MimeType"].split(";")
    assert d["MimeType"].endswith(";") and d["Categories"].endswith(";")


def test_mime_type_globs_fep_and_metainfo_matches_the_release():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(LINUX / "faceeditor-mime.xml").getroot().find("m:mime-type", ns)
    assert mime.get("type") == MIME and mime.find("m:glob", ns).get("pattern") == "*.fep"
    meta = ET.parse(LINUX / "faceeditor.metainfo.xml").getroot()
    assert meta.find("launchable").text == "faceeditor.desktop"
    assert meta.find("provides/mediatype").text == MIME
    assert meta.find("releases/release").get("version") == __version__   # bump both together


def test_icons_exist_at_every_theme_size():
    from PIL import Image

    assert icon_path("svg").read_text().lstrip().startswith("<?xml")
    assert (LINUX / "icons/hicolor/scalable/apps/faceeditor.svg").read_bytes() == icon_path("svg").read_bytes()
    for size in (16, 32, 48, 128, 256, 512):
        with Image.open(LINUX / f"icons/hicolor/{size}x{size}/apps/faceeditor.png") as im:
            assert im.size == (size, size) and im.mode == "RGBA"


def test_package_data_covers_every_bundled_file():
    """What `pip install .` copies: each file under faceeditor/resources must match a package-data glob."""
    tomllib = pytest.importorskip("tomllib")           # Python 3.11+
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["faceeditor"]
    pkg = ROOT / "faceeditor"
    files = [p.relative_to(pkg).as_posix() for p in (pkg / "resources").rglob("*")
             if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert len(files) > 25
    uncovered = [f for f in files if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert not uncovered, f"not in the wheel: {uncovered}"
    assert sum((demo_pack_dir() / f).stat().st_size for f in os.listdir(demo_pack_dir())) < 60e6
    assert samples_dir() is not None


def _load(name: str):
    """A script of packaging/ (not importable by name: a `packaging` package would shadow the PyPI one)."""
    spec = importlib.util.spec_from_file_location(f"faceeditor_{name}", ROOT / "packaging" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _smoke():
    return _load("smoke")


def test_release_folder_gets_desktop_files_and_a_tarball_that_keeps_the_cli_link(tmp_path):
    import tarfile

    build = _load("build")
    app = tmp_path / "faceeditor"
    app.mkdir()
    (app / "faceeditor").write_bytes(b"#!/bin/sh\n")
    (app / "faceeditor-cli").symlink_to("faceeditor")
    build.add_desktop_files(app)
    assert (app / "share/applications/faceeditor.desktop").is_file()
    assert (app / "share/icons/hicolor/48x48/apps/faceeditor.png").is_file()
    tarball = build.make_tarball(app, "9.9.9")
    assert tarball.name.startswith("faceeditor-9.9.9-linux-")
    with tarfile.open(tarball) as tar:
        cli = tar.getmember("faceeditor-9.9.9/faceeditor-cli")
        assert cli.issym() and cli.linkname == "faceeditor"
        assert "faceeditor-9.9.9/share/mime/packages/faceeditor-mime.xml" in tar.getnames()


def test_the_smoke_test_tells_a_blank_screenshot(tmp_path):
    from PIL import Image

    smoke = _smoke()
    Image.new("RGB", (800, 600), (40, 40, 44)).save(tmp_path / "blank.png")
    assert "blank" in smoke.not_blank(tmp_path / "blank.png")
    with Image.open(samples_dir() / "synthface_0004.png") as im:
        im.convert("RGB").resize((800, 600)).save(tmp_path / "face.png")
    assert smoke.not_blank(tmp_path / "face.png") is None


@pytest.mark.frozen
@pytest.mark.skipif(not os.environ.get("FACEEDITOR_FROZEN_DIR"),
                    reason="needs a frozen build: python3 dev.py package --check")
def test_frozen_build_smoke(tmp_path):
    folder = Path(os.environ["FACEEDITOR_FROZEN_DIR"])
    failures = _smoke().run_smoke([str(folder / "faceeditor")], [str(folder / "faceeditor-cli")], tmp_path)
    assert not failures, "\n".join(failures)
    assert not (folder / "_internal" / "torch").exists() and not (folder / "_internal" / "trainer").exists()
    for name in ("share/applications/faceeditor.desktop", "share/metainfo/faceeditor.metainfo.xml",
                 "share/mime/packages/faceeditor-mime.xml", "share/icons/hicolor/256x256/apps/faceeditor.png",
                 "install-desktop.sh"):
        assert (folder / name).is_file(), name
