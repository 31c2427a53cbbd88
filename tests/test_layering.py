"""The layering rules of shared/DESIGN.md §2, enforced by the import-linter contracts in pyproject.toml.

The first test checks the real tree. The others copy the real packages into a temporary folder, add one
module that breaks one rule, and run import-linter there with the very same pyproject.toml: each contract
must then be reported broken, so a contract that silently stopped working (e.g. external packages not
being analysed) fails this test instead of letting violations through.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("faceeditor", "trainer")

CORE_QT_FREE = "core and engine are Qt-free"
APP_NO_TORCH = "the app never imports torch or onnx"
TRAINER_NO_UI = "the trainer never imports the UI"
RULES_NOT_IN_COMMANDS = "commands are not imported by core or engine"
UI_ON_TOP = "controllers and widgets import core and engine, never the reverse"
WIDGETS_NO_CONTROLLERS = "widgets never import controllers"
ALL_CONTRACTS = (CORE_QT_FREE, APP_NO_TORCH, TRAINER_NO_UI, RULES_NOT_IN_COMMANDS, UI_ON_TOP,
                 WIDGETS_NO_CONTROLLERS)


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter in `root` (which holds pyproject.toml and the packages) without its cache."""
    env = dict(os.environ, PYTHONPATH=str(root))
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", "--no-logo", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def _status(output: str, contract: str) -> str:
    for line in output.splitlines():
        if line.startswith(contract + " "):
            return line[len(contract) + 1:].strip()
    raise AssertionError(f"contract {contract!r} missing from import-linter output:\n{output}")


def test_real_tree_keeps_every_contract():
    result = _lint_imports(ROOT)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for contract in ALL_CONTRACTS:
        assert _status(out, contract) == "KEPT", out


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# (module to add, its source, the contract it must break)
VIOLATIONS = {
    "core imports PySide6": ("faceeditor/core/_bad_qt.py", "from PySide6 import QtCore\n", CORE_QT_FREE),
    "engine imports pyqtgraph lazily": (
        "faceeditor/engine/_bad_lazy.py", "def f():\n    import pyqtgraph\n    return pyqtgraph\n", CORE_QT_FREE),
    "engine imports the UI": ("faceeditor/engine/_bad_ui.py", "import faceeditor.ui\n", CORE_QT_FREE),
    "app imports torch": ("faceeditor/_bad_torch.py", "import torch.nn\n", APP_NO_TORCH),
    "ui imports onnx": ("faceeditor/ui/_bad_onnx.py", "import onnx\n", APP_NO_TORCH),
    "trainer imports the UI": ("trainer/_bad_ui.py", "from faceeditor.ui import __name__ as n\n", TRAINER_NO_UI),
    "trainer imports PySide6": ("trainer/nets/_bad_qt.py", "import PySide6.QtWidgets\n", TRAINER_NO_UI),
    "widget imports a controller": ("faceeditor/ui/widgets/_bad.py", "import faceeditor.ui.controllers.parse\n",
                                    WIDGETS_NO_CONTROLLERS),
    "core imports a command": ("faceeditor/core/_bad_cmd.py", "from faceeditor.commands import edit\n",
                               RULES_NOT_IN_COMMANDS),
    "engine imports the CLI lazily": (
        "faceeditor/engine/_bad_cli.py", "def f():\n    from faceeditor.cli import CLIError\n    return CLIError\n",
        RULES_NOT_IN_COMMANDS),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_contract_fails_when_violated(tree_copy: Path, case: str):
    rel, source, broken = VIOLATIONS[case]
    (tree_copy / rel).write_text(source)
    result = _lint_imports(tree_copy)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert _status(out, broken) == "BROKEN", out
    module = rel.removesuffix(".py").replace("/", ".")
    assert module in out, out
    for other in ALL_CONTRACTS:
        if other != broken:
            assert _status(out, other) == "KEPT", out


def test_core_reaching_up_to_a_controller_breaks_the_ui_contract(tree_copy: Path):
    """A controller imported by the engine breaks both the Qt-free rule and the layering of the UI."""
    (tree_copy / "faceeditor/engine/_bad_up.py").write_text("import faceeditor.ui.controllers.view\n")
    result = _lint_imports(tree_copy)
    out = result.stdout + result.stderr
    assert _status(out, UI_ON_TOP) == "BROKEN" and _status(out, CORE_QT_FREE) == "BROKEN", out


def test_indirect_import_through_another_module_is_caught(tree_copy: Path):
    """core -> (an innocent-looking helper in core) -> PySide6 is still a Qt import of core."""
    (tree_copy / "faceeditor/core/_helper.py").write_text("import PySide6\n")
    (tree_copy / "faceeditor/engine/_uses_helper.py").write_text("from faceeditor.core import _helper\n")
    result = _lint_imports(tree_copy)
    out = result.stdout + result.stderr
    assert _status(out, CORE_QT_FREE) == "BROKEN", out
    assert "faceeditor.engine._uses_helper" in out, out
