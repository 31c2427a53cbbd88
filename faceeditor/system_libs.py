"""Before Qt starts on Linux: are the system libraries its xcb platform plugin links against present?

When one is missing, Qt prints a misleading line (it blames ``xcb-cursor0`` whatever is absent) and
aborts. This module reads the plugin's ELF dynamic section (``DT_NEEDED`` and its ``RUNPATH``), resolves
each library the way the dynamic loader does (the plugin's own search path, ``LD_LIBRARY_PATH``, the
``ldconfig`` cache, the default folders), follows what it finds, and names what is missing together with
the ``apt`` and ``dnf`` commands that install it. Standard library only: it runs before PySide6 is
imported, because PySide6 itself fails to import when some of these libraries are absent.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")

# soname -> (Debian/Ubuntu package, Fedora/RHEL package) for what Qt's xcb plugin reaches.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-ewmh.so.2": ("libxcb-ewmh2", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libXau.so.6": ("libxau6", "libXau"),
    "libXdmcp.so.6": ("libxdmcp6", "libXdmcp"),
    "libpng16.so.16": ("libpng16-16", "libpng"),
    "libbrotlidec.so.1": ("libbrotli1", "brotli"),
    "libexpat.so.1": ("libexpat1", "expat"),
    "libbsd.so.0": ("libbsd0", "libbsd"),
}


def packages_for(soname: str) -> tuple[str, str] | None:
    """(apt package, dnf package) that ships `soname`, or None when the table does not know it.
    The core xcb extension libraries (libxcb-randr.so.0, libxcb-xinput.so.0, ...) follow one rule: Debian
    ships each as libxcb-NAME<major>, Fedora all of them in libxcb."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    if soname.startswith("libxcb-") and ".so." in soname:
        stem, major = soname[len("lib"):].split(".so.", 1)
        return (f"lib{stem}{major.split('.')[0]}", "libxcb")
    return None


# --- reading an ELF file's dynamic section ------------------------------------------------------------
SHT_DYNAMIC, DT_NULL, DT_NEEDED, DT_RPATH, DT_RUNPATH = 6, 0, 1, 15, 29


class ELFError(ValueError):
    """The file is not an ELF shared object this module can read."""


@dataclass(frozen=True)
class ELFDeps:
    elf_class: int              # 1: 32-bit, 2: 64-bit
    machine: int                # e_machine (62: x86-64, 183: aarch64)
    needed: tuple[str, ...]     # DT_NEEDED sonames, in order
    runpath: tuple[str, ...]    # DT_RUNPATH (or DT_RPATH) entries, $ORIGIN not yet expanded


def read_elf_deps(path: str | os.PathLike) -> ELFDeps:
    """DT_NEEDED and RUNPATH of an ELF file, read from its section headers."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ELFError(f"{path}: not an ELF file")
        is64, end = ident[4] == 2, "<" if ident[5] == 1 else ">"
        header = f.read(48 if is64 else 36)
        if is64:
            machine, = struct.unpack_from(end + "H", header, 2)
            shoff, = struct.unpack_from(end + "Q", header, 24)
            shentsize, shnum = struct.unpack_from(end + "HH", header, 42)
        else:
            machine, = struct.unpack_from(end + "H", header, 2)
            shoff, = struct.unpack_from(end + "I", header, 16)
            shentsize, shnum = struct.unpack_from(end + "HH", header, 30)
        sections = []
        for i in range(shnum):
            f.seek(shoff + i * shentsize)
            raw = f.read(shentsize)
            if is64:
                _, stype, _, _, off, size, link, _, _, entsize = struct.unpack(end + "IIQQQQIIQQ", raw[:64])
            else:
                _, stype, _, _, off, size, link, _, _, entsize = struct.unpack(end + "IIIIIIIIII", raw[:40])
            sections.append((stype, off, size, link, entsize))
        dynamic = next((s for s in sections if s[0] == SHT_DYNAMIC), None)
        if dynamic is None:
            return ELFDeps(ident[4], machine, (), ())
        _, off, size, link, _ = dynamic
        _, str_off, str_size, _, _ = sections[link]
        f.seek(str_off)
        strtab = f.read(str_size)
        f.seek(off)
        raw = f.read(size)
    fmt, step = (end + "qQ", 16) if is64 else (end + "iI", 8)
    needed, runpath, rpath = [], [], []
    for pos in range(0, len(raw) - step + 1, step):
        tag, value = struct.unpack_from(fmt, raw, pos)
        if tag == DT_NULL:
            break
        if tag in (DT_NEEDED, DT_RUNPATH, DT_RPATH):
            text = strtab[value:strtab.index(b"\0", value)].decode("utf-8", "replace")
            {DT_NEEDED: needed, DT_RUNPATH: runpath, DT_RPATH: rpath}[tag].extend(
                [text] if tag == DT_NEEDED else [p for p in text.split(":") if p])
    return ELFDeps(ident[4], machine, tuple(needed), tuple(runpath or rpath))


# --- resolving libraries the way the loader does -------------------------------------------------------
def ldconfig_cache() -> dict[str, list[str]]:
    """soname -> paths from `ldconfig -p` ({} when ldconfig is not there)."""
    exe = shutil.which("ldconfig") or next((p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig")
                                            if os.path.exists(p)), None)
    if exe is None:
        return {}
    try:
        out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    cache: dict[str, list[str]] = {}
    for line in out.splitlines()[1:]:
        name, sep, path = line.strip().partition(" => ")
        if sep:
            cache.setdefault(name.split(" (")[0], []).append(path)
    return cache


def missing_libraries(binary: str | os.PathLike, *, cache: dict[str, list[str]] | None = None,
                      extra_dirs: Iterable[str] = DEFAULT_DIRS,
                      exists: Callable[[str], bool] = os.path.isfile) -> list[str]:
    """Sonames that `binary` needs, directly or through the libraries it loads, and the loader would not
    find. `exists` is the one place a file is looked for (tests pass one that hides a library)."""
    cache = ldconfig_cache() if cache is None else cache
    env_dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    top = read_elf_deps(binary)
    missing: list[str] = []
    seen: set[str] = set()
    queue = [(Path(binary), top)]
    while queue:
        path, deps = queue.pop()
        origin = str(path.resolve().parent)
        search = [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for d in deps.runpath]
        for name in deps.needed:
            if name in seen:
                continue
            seen.add(name)
            found = None
            for candidate in ([os.path.join(d, name) for d in (*search, *env_dirs)] + cache.get(name, [])
                              + [os.path.join(d, name) for d in extra_dirs]):
                if not exists(candidate):
                    continue
                try:
                    sub = read_elf_deps(candidate)
                except (OSError, ELFError):
                    continue
                if (sub.elf_class, sub.machine) == (top.elf_class, top.machine):
                    found = (Path(candidate), sub)
                    break
            if found is None:
                missing.append(name)
            else:
                queue.append(found)
    return missing


def install_hint(missing: Sequence[str]) -> str:
    """The lines that tell a user which packages to install for `missing` sonames."""
    apt, dnf, unknown = [], [], []
    for name in missing:
        pkgs = packages_for(name)
        if pkgs is None:
            unknown.append(name)
            continue
        apt += [pkgs[0]] if pkgs[0] not in apt else []
        dnf += [pkgs[1]] if pkgs[1] not in dnf else []
    lines = []
    if apt:
        lines += [f"  Debian/Ubuntu: sudo apt install {' '.join(apt)}",
                  f"  Fedora/RHEL:   sudo dnf install {' '.join(dnf)}"]
    for name in unknown:
        lines.append(f"  {name}: find its package with `apt-file search {name}` or `dnf provides '*/{name}'`")
    return "\n".join(lines)


def xcb_plugin() -> Path | None:
    """The installed PySide6's xcb platform plugin, found without importing PySide6; None if absent."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def uses_xcb(environ: dict[str, str] | None = None) -> bool:
    """Whether Qt would start on X11 here: Linux, no other platform asked for, not in a Wayland session
    (where Qt picks its Wayland plugin first)."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux"):
        return False
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def display_problem(prog: str, environ: dict[str, str] | None = None) -> str | None:
    """A message when the window cannot open here (no display, or the xcb plugin lacks system
    libraries), or None when Qt can be started. Cheap: a few ELF headers and one `ldconfig -p`."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith(("xcb", "wayland"))):
        return None                               # offscreen, minimal, vnc, ...: no display needed
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (f"{prog}: no display (DISPLAY and WAYLAND_DISPLAY are unset); to run without one use "
                f"--offscreen, e.g. {prog} --offscreen --screenshot out.png --sample")
    plugin = xcb_plugin() if uses_xcb(env) else None
    if plugin is None:
        return None
    try:
        missing = missing_libraries(plugin)
    except (OSError, ELFError):
        return None                               # cannot tell: let Qt try
    if not missing:
        return None
    return (f"{prog}: Qt's X11 (xcb) platform plugin cannot load; missing system libraries: "
            f"{', '.join(missing)}. Install them:\n{install_hint(missing)}\n"
            f"(or run without a display: {prog} --offscreen --screenshot out.png)")
