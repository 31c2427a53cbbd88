"""Find model packs and tell which are usable.

Packs are folders holding `manifest.json`, found as subfolders of (in this order of precedence):
folders the caller adds (e.g. `faceeditor-cli models --dir`), the user's data folder
(`platformdirs.user_data_dir("faceeditor")/models`, where installing a pack = copying its folder) and the
bundled `faceeditor/resources/models/` (`faceeditor.resources.bundled_models_dir`). A search folder that is
itself a pack is listed too. Every pack is validated; a broken one is listed with its reasons and never stops the others from being listed.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from faceeditor.core.locations import user_models_dir  # (re-exported: the user pack folder)
from faceeditor.engine.manifest import MANIFEST_NAME, Manifest
from faceeditor.engine.validate import check_pack

log = logging.getLogger(__name__)


def bundled_models_dirs() -> list[Path]:
    """The folders of packs shipped with the app (the package's `resources/models`)."""
    from faceeditor.resources import bundled_models_dir

    return [bundled_models_dir()]


def default_search_dirs() -> list[tuple[Path, str]]:
    return [(user_models_dir(), "user")] + [(d, "bundled") for d in bundled_models_dirs()]


@dataclass
class PackInfo:
    """One pack folder and what validation found."""

    path: Path
    source: str                         # "extra", "user" or "bundled"
    manifest: Manifest | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.manifest is not None and not self.errors

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest is not None else self.path.name

    @property
    def reason(self) -> str:
        return "; ".join(self.errors)

    @property
    def probes(self) -> str | None:
        """Whether the pack's models reproduced their probe figures on this machine: "verified",
        "unverified", "none" (the pack records no probes), or None for an invalid pack."""
        if not self.valid:
            return None
        from faceeditor.engine.probes import probe_status

        return probe_status(self.manifest)

    def to_dict(self) -> dict:
        m = self.manifest
        return {
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "valid": self.valid,
            "errors": list(self.errors),
            "probes": self.probes,
            "version": m.version if m else None,
            "description": m.description if m else None,
            "models": [{"name": e.name, "task": e.task, "method": e.method, "backbone": e.backbone,
                        "resolution": e.resolution, "data_domain": e.data_domain} for e in m.models] if m else [],
        }


def _pack_folders(search_dir: Path) -> list[Path]:
    # exists(), not is_file(): a search folder whose manifest.json is not a regular file (a named pipe) is
    # a broken pack to list with its reason; its manifest is never opened here (Manifest.load refuses it).
    if (search_dir / MANIFEST_NAME).exists():
        return [search_dir]
    return sorted(p for p in search_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def inspect_pack(path: Path, source: str = "extra") -> PackInfo:
    """Validate one pack folder; never raises."""
    try:
        manifest, errors = check_pack(path)
    except Exception as exc:  # a bug or an OS oddity in one pack must not break the listing
        log.exception("checking pack %s failed", path)
        return PackInfo(path, source, None, [f"unexpected error while checking: {type(exc).__name__}: {exc}"])
    return PackInfo(path, source, manifest, errors)


class PackRegistry:
    """The packs found in the search folders, validated. `scan()` re-reads the disk."""

    def __init__(self, extra_dirs: Iterable[str | os.PathLike] = (), include_defaults: bool = True):
        self.search_dirs: list[tuple[Path, str]] = [(Path(d), "extra") for d in extra_dirs]
        if include_defaults:
            self.search_dirs += default_search_dirs()
        self.packs: list[PackInfo] = []

    def scan(self) -> list[PackInfo]:
        found: list[PackInfo] = []
        seen: set[Path] = set()
        for search_dir, source in self.search_dirs:
            if not search_dir.is_dir():
                continue
            try:
                folders = _pack_folders(search_dir)
            except OSError as exc:
                found.append(PackInfo(search_dir, source, None, [f"cannot list this folder ({exc.strerror or exc})"]))
                continue
            for folder in folders:
                key = folder.resolve()
                if key in seen:
                    continue
                seen.add(key)
                found.append(inspect_pack(folder, source))
        self.packs = found
        return found

    def valid(self) -> list[PackInfo]:
        return [p for p in self.packs if p.valid]

    def get(self, name: str) -> PackInfo | None:
        """The first valid pack of that name, in search order (extra, user, bundled)."""
        return next((p for p in self.packs if p.valid and p.name == name), None)


class NoPackError(LookupError):
    """No valid pack offers what was asked for; the message says what was searched and found."""


def find_pack(task: str, name: str | None = None, extra_dirs: Iterable[str | os.PathLike] = (),
              include_defaults: bool = True) -> PackInfo:
    """The first valid pack (search order: extra, user, bundled) with a model for `task`, or the pack
    called `name`, which must then have such a model."""
    registry = PackRegistry(extra_dirs, include_defaults=include_defaults)
    packs = registry.scan()
    if name is not None:
        named = [p for p in packs if p.name == name]
        if not named:
            known = ", ".join(sorted({p.name for p in packs})) or "none"
            raise NoPackError(f"no pack called {name!r} (packs found: {known})")
        valid = [p for p in named if p.valid]
        if not valid:
            raise NoPackError(f"pack {name!r} is invalid: {named[0].reason}")
        pack = valid[0]
        if not pack.manifest.models_for(task):
            tasks = ", ".join(sorted({m.task for m in pack.manifest.models}))
            raise NoPackError(f"pack {name!r} has no {task!r} model (it has: {tasks})")
        return pack
    for pack in packs:
        if pack.valid and pack.manifest.models_for(task):
            return pack
    raise NoPackError(f"no valid model pack with a {task!r} model was found "
                      f"(`faceeditor-cli models` lists what is installed and why a pack is invalid)")
