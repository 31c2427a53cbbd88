#!/usr/bin/env python3
"""Set up the development environment and run the app or the test suite.

    python3 dev.py app     # set everything up, start the app on the bundled demo
    python3 dev.py test    # set everything up, run the whole test suite (what CI runs)

The virtual environment lives in .venv/ inside the repository. It is rebuilt only when pyproject.toml,
tools/constraints-dev.txt or this file change, so a second run starts at once. Only the standard library is
used here, because this script runs before anything is installed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".faceeditor-installed"
INPUTS = [ROOT / "pyproject.toml", ROOT / "tools" / "constraints-dev.txt", Path(__file__).resolve()]
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _fingerprint() -> str:
    h = hashlib.sha256()
    for path in INPUTS:
        h.update(path.read_bytes())
    return h.hexdigest()


def _run(cmd: list[str], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def ensure_environment() -> None:
    """Create .venv and install the project with all extras, unless it is already up to date."""
    if sys.version_info < (3, 10):
        sys.exit(f"FaceEditor needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    fingerprint = _fingerprint()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return
    if not PYTHON.exists():
        if VENV.exists():
            shutil.rmtree(VENV)
        print(f"Creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run([str(PYTHON), "-m", "pip", "install", "--quiet",
          "-c", str(ROOT / "tools" / "constraints-dev.txt"), "-e", f"{ROOT}[train,dev]"])
    STAMP.write_text(fingerprint + "\n")


def cmd_app(extra: list[str]) -> int:
    ensure_environment()
    exe = BIN / "faceeditor"
    # With no picture named, open a bundled sample so the demo models have something to work on.
    return subprocess.call([str(exe), *(extra or ["--sample"])], cwd=ROOT)


def cmd_test(extra: list[str]) -> int:
    ensure_environment()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    code = subprocess.call([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT, env=env)
    return code


def main(argv: list[str]) -> int:
    commands = {"app": cmd_app, "test": cmd_test, "setup": lambda extra: (ensure_environment(), 0)[1]}
    if not argv or argv[0] not in commands:
        print(__doc__.strip())
        print("\nAlso: python3 dev.py setup   # only build the environment", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]](argv[1:])
    except subprocess.CalledProcessError as exc:
        print(f"dev.py: a setup step failed (exit {exc.returncode}): {' '.join(map(str, exc.cmd))}", file=sys.stderr)
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
