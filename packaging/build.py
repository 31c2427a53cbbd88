"""Build FaceEditor's one-folder desktop build and its release tarball (run by `python3 dev.py package`).

Runs inside the build environment (dev.py makes it: the project installed from this checkout, not
editable, plus PyInstaller), so what is frozen is what a wheel installs:

    python packaging/build.py [--dist DIR] [--work DIR] [--no-tarball]

Writes DIST/faceeditor/ (the `faceeditor` executable, the `faceeditor-cli` link to it, `_internal/`,
`share/` with the .desktop file, icons, AppStream metainfo and the .fep MIME type, `install-desktop.sh`)
and DIST/faceeditor-VERSION-linux-ARCH.tar.gz. Prints how long each part took and what it weighs.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LINUX = HERE / "linux"


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def add_desktop_files(app: Path) -> None:
    """The freedesktop files under share/ (the layout of a prefix) and the script that registers them."""
    share = app / "share"
    shutil.rmtree(share, ignore_errors=True)
    (share / "applications").mkdir(parents=True)
    shutil.copy2(LINUX / "faceeditor.desktop", share / "applications")
    (share / "metainfo").mkdir()
    shutil.copy2(LINUX / "faceeditor.metainfo.xml", share / "metainfo")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(LINUX / "faceeditor-mime.xml", share / "mime" / "packages")
    shutil.copytree(LINUX / "icons", share / "icons")
    shutil.copy2(LINUX / "install-desktop.sh", app / "install-desktop.sh")
    shutil.copy2(ROOT / "CHANGELOG.md", app / "CHANGELOG.md")


def make_tarball(app: Path, version: str) -> Path:
    arch = platform.machine() or "unknown"
    tarball = app.parent / f"faceeditor-{version}-linux-{arch}.tar.gz"
    tmp = tarball.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(app, arcname=f"faceeditor-{version}")
    os.replace(tmp, tarball)
    return tarball


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", default=str(ROOT / "dist"), help="output folder (default dist/)")
    ap.add_argument("--work", default=str(ROOT / "build" / "pyinstaller"), help="PyInstaller's work folder")
    ap.add_argument("--no-tarball", action="store_true", help="skip the release tarball")
    args = ap.parse_args(argv)

    import PyInstaller.__main__

    from faceeditor import __version__

    dist = Path(args.dist).resolve()
    start = time.perf_counter()
    PyInstaller.__main__.run([str(HERE / "faceeditor.spec"), "--noconfirm", "--log-level", "WARN",
                              "--distpath", str(dist), "--workpath", str(Path(args.work).resolve())])
    frozen = time.perf_counter() - start
    app = dist / "faceeditor"
    cli = app / "faceeditor-cli"
    cli.unlink(missing_ok=True)
    cli.symlink_to("faceeditor")                 # the launcher runs the CLI under this name
    add_desktop_files(app)
    size = folder_size(app)
    print(f"built {app} in {frozen:.0f} s: {size / 1e6:.0f} MB "
          f"(of which _internal/faceeditor/resources {folder_size(app / '_internal' / 'faceeditor' / 'resources') / 1e6:.0f} MB)")
    if not args.no_tarball:
        t = time.perf_counter()
        tarball = make_tarball(app, __version__)
        print(f"release tarball {tarball}: {tarball.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
