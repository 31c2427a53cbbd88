#!/usr/bin/env python3
"""Set up the development environment and run the app or the test suite.

    python3 dev.py app     # set everything up, start the app on the bundled demo
    python3 dev.py test    # set everything up, run the whole test suite (what CI runs)
    python3 dev.py package [--check]   # the one-folder desktop build + tarball in dist/ (--check: smoke test it)
    python3 dev.py wheel   # build the wheel, install it into a fresh venv, smoke test it (a CI step)

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
PYINSTALLER = "pyinstaller>=6.10"
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
    # With no picture named, open a bundled sample so the demo models have something to work on. Before Qt
    # starts, `faceeditor` checks the display and the system libraries of Qt's X11 plugin
    # (faceeditor/system_libs.py) and names what to install.
    return subprocess.call([str(exe), *(extra or ["--sample"])], cwd=ROOT)


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")


def ensure_package_environment(venv_dir: Path) -> Path:
    """The build environment of the frozen build: the project installed from this checkout as a wheel
    would install it (not editable, no extras: no torch), PyInstaller and pytest. Dependencies are
    reinstalled only when pyproject.toml or this file change; the project itself on every build."""
    python = _venv_python(venv_dir)
    stamp = venv_dir / ".faceeditor-package"
    fingerprint = _fingerprint()
    if not python.exists():
        print(f"Creating the build environment in {venv_dir}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    if not stamp.exists() or stamp.read_text().strip() != fingerprint:
        _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        _run([str(python), "-m", "pip", "install", "--quiet", PYINSTALLER, "pytest>=8.0", str(ROOT)])
        stamp.write_text(fingerprint + "\n")
    else:
        _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(ROOT)])
    return python


def _option(extra: list[str], name: str, default: Path) -> Path:
    if name in extra:
        i = extra.index(name)
        if i + 1 >= len(extra):
            sys.exit(f"dev.py: {name} needs a folder")
        value = Path(extra.pop(i + 1)).resolve()
        extra.pop(i)
        return value
    return default


def cmd_package(extra: list[str]) -> int:
    """Build the one-folder app (packaging/build.py); with --check, run its smoke test
    (tests/test_packaging.py, marked `frozen`) on the result."""
    extra = list(extra)
    flags = {flag: flag in extra for flag in ("--check", "--no-tarball")}
    extra = [a for a in extra if a not in flags]
    check = flags["--check"]
    venv_dir = _option(extra, "--venv", ROOT / ".venv-package")
    dist = _option(extra, "--dist", ROOT / "dist")
    if extra:
        sys.exit(f"dev.py package: unknown arguments {' '.join(extra)} "
                 "(use --check, --no-tarball, --venv DIR, --dist DIR)")
    python = ensure_package_environment(venv_dir)
    code = subprocess.call([str(python), str(ROOT / "packaging" / "build.py"), "--dist", str(dist),
                            "--work", str(venv_dir / "pyinstaller-work"),
                            *(["--no-tarball"] if flags["--no-tarball"] else [])], cwd=ROOT)
    if code or not check:
        return code
    env = dict(os.environ, FACEEDITOR_FROZEN_DIR=str(dist / "faceeditor"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.call([str(python), "-m", "pytest", "-m", "frozen", "-p", "no:cacheprovider", "-q", "-s",
                            "-W", "ignore::pytest.PytestConfigWarning",   # no pytest-qt here: qt_api unknown
                            "tests/test_packaging.py"], cwd=ROOT, env=env)


def cmd_wheel(extra: list[str]) -> int:
    """Build the wheel, install it into a fresh virtual environment outside the repository and smoke test
    the installed commands there (packaging/smoke.py): the check that the wheel carries what the app needs."""
    import tempfile
    import time

    keep = "--keep" in extra
    scratch = Path(tempfile.mkdtemp(prefix="faceeditor-wheel-"))
    try:
        t0 = time.perf_counter()
        # a bare python3 may have no pip: build with the development environment's when there is one
        builder = PYTHON if PYTHON.exists() else Path(sys.executable)
        _run([str(builder), "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(scratch / "dist")])
        wheel = next((scratch / "dist").glob("faceeditor-*.whl"))
        t1 = time.perf_counter()
        venv.EnvBuilder(with_pip=True).create(scratch / "venv")
        python = _venv_python(scratch / "venv")
        _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=scratch)
        t2 = time.perf_counter()
        print(f"wheel {wheel.name} ({wheel.stat().st_size / 1e6:.0f} MB) built in {t1 - t0:.0f} s, "
              f"installed into a fresh venv in {t2 - t1:.0f} s", flush=True)
        bindir = python.parent
        code = subprocess.call([str(python), str(ROOT / "packaging" / "smoke.py"), "--app", str(bindir / "faceeditor"),
                                "--cli", str(bindir / "faceeditor-cli"), "--out", str(scratch / "smoke")],
                               cwd=scratch)
        print(f"dev.py wheel: {'passed' if code == 0 else 'FAILED'} in {time.perf_counter() - t0:.0f} s")
        return code
    finally:
        if keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def cmd_test(extra: list[str]) -> int:
    ensure_environment()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    code = subprocess.call([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT, env=env)
    return code


def main(argv: list[str]) -> int:
    commands = {"app": cmd_app, "test": cmd_test, "package": cmd_package, "wheel": cmd_wheel,
                "setup": lambda extra: (ensure_environment(), 0)[1]}
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
