"""faceeditor.system_libs: the pre-Qt check that names the system libraries Qt's X11 plugin lacks."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faceeditor import system_libs
from faceeditor.system_libs import (
    ELFError,
    display_problem,
    install_hint,
    missing_libraries,
    packages_for,
    read_elf_deps,
    xcb_plugin,
)

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = xcb_plugin()
needs_plugin = pytest.mark.skipif(PLUGIN is None or not sys.platform.startswith("linux"),
                                  reason="PySide6's xcb plugin is Linux-only")


@needs_plugin
def test_reads_the_plugins_needed_libraries_as_ldd_does():
    deps = read_elf_deps(PLUGIN)
    assert "libxcb.so.1" in deps.needed and "libQt6XcbQpa.so.6" in deps.needed
    assert any("$ORIGIN" in d for d in deps.runpath)
    if shutil.which("ldd"):                     # the loader's own answer, where there is one
        out = subprocess.run(["ldd", str(PLUGIN)], capture_output=True, text=True).stdout
        ldd_missing = {line.split()[0] for line in out.splitlines() if "not found" in line}
        assert set(missing_libraries(PLUGIN)) == ldd_missing


@needs_plugin
def test_a_missing_library_is_named_with_its_install_commands(monkeypatch):
    hidden = {"libxcb-icccm.so.4", "libxkbcommon-x11.so.0", "libxcb-xinput.so.0"}

    def exists(path: str) -> bool:
        return os.path.basename(path) not in hidden and os.path.isfile(path)

    missing = missing_libraries(PLUGIN, exists=exists)
    assert {"libxcb-icccm.so.4", "libxkbcommon-x11.so.0"} <= set(missing)
    assert "libxcb.so.1" not in missing and "libQt6Core.so.6" not in missing

    monkeypatch.setattr(system_libs, "missing_libraries", lambda plugin: missing)
    message = display_problem("faceeditor", {"DISPLAY": ":0"})
    assert "libxcb-icccm.so.4" in message and "libxkbcommon-x11.so.0" in message
    apt = next(line for line in message.splitlines() if "apt install" in line)
    dnf = next(line for line in message.splitlines() if "dnf install" in line)
    assert "libxcb-icccm4" in apt and "libxkbcommon-x11-0" in apt
    assert "xcb-util-wm" in dnf and "libxkbcommon-x11" in dnf
    assert "xcb-cursor0" not in message          # not Qt's misleading guess


def test_package_names_follow_debian_and_fedora():
    assert packages_for("libxcb-xinerama.so.0") == ("libxcb-xinerama0", "libxcb")
    assert packages_for("libxcb-xinput.so.0") == ("libxcb-xinput0", "libxcb")
    assert packages_for("libxcb-keysyms.so.1") == ("libxcb-keysyms1", "xcb-util-keysyms")
    assert packages_for("libfoo.so.3") is None
    assert "apt-file search libfoo.so.3" in install_hint(["libfoo.so.3"])


def test_no_display_says_to_use_offscreen(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert "--offscreen" in display_problem("faceeditor", {})
    assert display_problem("faceeditor", {"QT_QPA_PLATFORM": "offscreen"}) is None


@needs_plugin
def test_a_complete_system_starts_qt(monkeypatch):
    """With a display and every library found, nothing stands in the way (dev.py app starts the window)."""
    seen = []
    monkeypatch.setattr(system_libs, "missing_libraries", lambda plugin: seen.append(plugin) or [])
    assert display_problem("faceeditor", {"DISPLAY": ":0"}) is None
    assert seen == [PLUGIN]
    assert display_problem("faceeditor", {"WAYLAND_DISPLAY": "wayland-0"}) is None   # Qt's Wayland plugin


def test_a_file_that_is_not_elf_is_refused(tmp_path):
    path = tmp_path / "x.so"
    path.write_bytes(b"not an elf file at all, just text")
    with pytest.raises(ELFError):
        read_elf_deps(path)


def test_the_app_stops_with_the_message_before_qt(tmp_path):
    """`faceeditor` with no display prints the hint and exits 2 (PySide6 is never imported)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys; from faceeditor.app import main; c = main([]); "
            "assert 'PySide6' not in sys.modules; sys.exit(c)")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    if sys.platform.startswith("linux"):
        assert proc.returncode == 2, proc.stderr
        assert "--offscreen" in proc.stderr and "Traceback" not in proc.stderr


def test_version_comes_from_one_place(capsys):
    from faceeditor import __version__
    from faceeditor.app import main
    from faceeditor.cli import main as cli_main
    from faceeditor.ui.help_texts import about_html

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"faceeditor {__version__}\n"
    with pytest.raises(SystemExit):
        cli_main(["--version"])
    assert capsys.readouterr().out == f"faceeditor-cli {__version__}\n"

    class Engine:
        providers = ["CPUExecutionProvider"]

    assert __version__ in about_html(Engine())
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'attr = "faceeditor.__version__"' in pyproject and "\nversion =" not in pyproject.split("[project]")[1].split("\n[")[0]
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()
