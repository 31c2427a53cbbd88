"""Installing, removing and choosing model packs: the model manager's Qt-free core.

The app's *Models ▸ Manage models…* dialog is a thin view over `PackManager`:

- **listing**: every pack the registry finds (folders given on the command line, the user's data folder,
  the bundled packs), validated, with one `ModelRow` per model (task, method, resolution, attributes,
  training domain, metrics, probe status);
- **install** from a folder or a `.zip`: the pack is copied (or safely extracted) into a hidden folder
  inside the user's models folder, validated there (files, graphs, probes), and only then renamed into
  place, so a refused pack leaves nothing behind and a half-written one is never seen by the registry
  (which skips names starting with ".");
- **remove** a pack of the user's folder (the bundled pack and folders given on the command line are not
  the manager's to delete);
- **choice** of the model that serves each task, kept in the preferences as ``{task: "pack/model"}``
  (`TASK_CHOICE_KEY`); a choice whose pack is gone falls back to the first model of the task.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from faceeditor.engine.manifest import MANIFEST_NAME, ModelEntry
from faceeditor.engine.registry import PackInfo, PackRegistry, inspect_pack, user_models_dir

TASK_CHOICE_KEY = "task_models"          # preferences: {task: "pack/model"}
ZIP_MEMBER_LIMIT = 4096                  # files in a pack archive
ZIP_SIZE_LIMIT = 8 << 30                 # bytes, uncompressed, all members together
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class PackInstallError(ValueError):
    """A pack that cannot be installed or removed; the message says why in one sentence."""


@dataclass(frozen=True)
class ModelRow:
    """One model of one pack, as the manager lists it."""

    pack: str
    model: str
    task: str
    method: str
    backbone: str
    resolution: int
    attributes: tuple[str, ...]
    expressions: tuple[str, ...]
    data_domain: str
    metrics: str                 # the headline figures, short
    preview: bool                # a faster stand-in for another model (not offered as a choice)

    @property
    def key(self) -> str:
        return f"{self.pack}/{self.model}"


def headline_metrics(metrics: dict[str, Any], limit: int = 4) -> str:
    """The first few numeric figures of a model's export metrics, as "split: key value" text."""
    parts: list[str] = []
    for split, figures in metrics.items():
        if not isinstance(figures, dict):
            continue
        for key, value in figures.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            parts.append(f"{split}: {key} {value:.3g}")
            if len(parts) >= limit:
                return "; ".join(parts)
    return "; ".join(parts)


def model_rows(pack: str, models: Iterable[ModelEntry]) -> list[ModelRow]:
    return [ModelRow(pack, e.name, e.task, e.method, e.backbone, e.resolution, tuple(e.attributes),
                     tuple(e.expressions), e.data_domain, headline_metrics(e.metrics), bool(e.preview_of))
            for e in models]


def pack_status(info: PackInfo) -> str:
    """"valid" / "valid, probes verified" / ... or "invalid: <reason>", for the listing."""
    if not info.valid:
        return f"invalid: {info.reason}"
    probes = info.probes
    return {"verified": "valid, probes verified", "unverified": "valid, probes not yet run here",
            "none": "valid (no probes recorded)"}.get(probes or "", "valid")


def chosen_models(prefs_value: Any) -> dict[str, str]:
    """The {task: "pack/model"} choices from a preferences value, ignoring anything malformed."""
    if not isinstance(prefs_value, dict):
        return {}
    return {t: k for t, k in prefs_value.items() if isinstance(t, str) and isinstance(k, str) and "/" in k}


def pick_model(candidates: Sequence[Any], chosen: str | None) -> Any:
    """The candidate whose `.key` is `chosen`, else the first (None when there is none)."""
    if chosen:
        for c in candidates:
            if c.key == chosen:
                return c
    return candidates[0] if candidates else None


class PackManager:
    """See the module docstring. `extra_dirs` are the app's command-line pack folders; `models_dir` is
    where installs go (the user data folder by default)."""

    def __init__(self, extra_dirs: Iterable[str | os.PathLike] = (), models_dir: str | os.PathLike | None = None,
                 include_defaults: bool = True):
        extra = [Path(d) for d in extra_dirs]
        self.registry = PackRegistry(extra, include_defaults=include_defaults)
        self.models_dir = Path(models_dir) if models_dir is not None else user_models_dir()
        # search order as the registry's (extra, user, bundled); the user folder is always where installs go
        self.registry.search_dirs = ([(d, "extra") for d in extra] + [(self.models_dir, "user")]
                                     + [(d, s) for d, s in self.registry.search_dirs if s == "bundled"])
        self.packs: list[PackInfo] = []

    # --- listing --------------------------------------------------------------------------------
    def scan(self) -> list[PackInfo]:
        """Re-read the search folders (validates every pack: may take a while on first use)."""
        self.packs = self.registry.scan()
        return self.packs

    def rows(self, info: PackInfo) -> list[ModelRow]:
        return model_rows(info.name, info.manifest.models) if info.manifest is not None else []

    def removable(self, info: PackInfo) -> bool:
        """Only packs in the user's models folder are the manager's to delete."""
        try:
            return info.source == "user" and info.path.resolve().parent == self.models_dir.resolve()
        except OSError:
            return False

    # --- install --------------------------------------------------------------------------------
    def install(self, source: str | os.PathLike, *, replace: bool = False) -> PackInfo:
        """Install a pack folder or .zip into the models folder; the installed pack, validated.
        PackInstallError (nothing written) when it is not a valid pack or one of its name is there."""
        src = Path(source)
        if not src.exists():
            raise PackInstallError(f"{src}: no such file or folder")
        self.models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=self.models_dir))
        try:
            if src.is_dir():
                root = self._copy_folder(src, staging)
            elif zipfile.is_zipfile(src):
                root = self._extract_zip(src, staging)
            else:
                raise PackInstallError(f"{src.name}: not a pack folder or a .zip archive")
            info = inspect_pack(root, "user")
            if not info.valid:
                raise PackInstallError(f"{src.name} is not a valid model pack: {info.reason}")
            dest = self.models_dir / (_SAFE_NAME.sub("_", info.name).strip("._") or "pack")
            if dest.exists() or dest.is_symlink():
                if not replace:
                    raise PackInstallError(f"a pack called {info.name!r} is already installed in {dest}; "
                                           "remove it first")
                _remove_tree(dest)
            os.replace(root, dest)
        finally:
            _remove_tree(staging)
        return inspect_pack(dest, "user")

    def _copy_folder(self, src: Path, staging: Path) -> Path:
        if not (src / MANIFEST_NAME).is_file():
            raise PackInstallError(f"{src.name}: no {MANIFEST_NAME} in this folder (not a model pack)")
        if src.resolve().parent == self.models_dir.resolve():
            raise PackInstallError(f"{src} is already in the models folder")
        root = staging / "pack"
        try:
            shutil.copytree(src, root, symlinks=True)
        except (OSError, shutil.Error) as exc:
            raise PackInstallError(f"cannot copy {src}: {_first_line(exc)}") from None
        return root

    def _extract_zip(self, src: Path, staging: Path) -> Path:
        root = staging / "pack"
        try:
            with zipfile.ZipFile(src) as zf:
                members = zf.infolist()
                _check_members(src.name, members)
                prefix = _pack_prefix(src.name, [m.filename for m in members])
                for m in members:
                    rel = m.filename[len(prefix):]
                    if not rel or m.is_dir():
                        continue
                    out = root / PurePosixPath(rel)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(m) as fin, open(out, "wb") as fout:
                        shutil.copyfileobj(fin, fout, 1 << 20)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
            raise PackInstallError(f"{src.name}: damaged or unsupported zip archive ({_first_line(exc)})") from None
        except OSError as exc:
            raise PackInstallError(f"cannot extract {src.name}: {_first_line(exc)}") from None
        return root

    # --- remove ---------------------------------------------------------------------------------
    def remove(self, info: PackInfo) -> None:
        """Delete a pack of the user's folder; PackInstallError for a bundled or command-line pack."""
        if not self.removable(info):
            where = "bundled with the app" if info.source == "bundled" else "not in your models folder"
            raise PackInstallError(f"pack {info.name!r} is {where}; only packs you installed can be removed")
        # move aside first (one rename), so a failure half-way never leaves a half pack the registry lists
        trash = Path(tempfile.mkdtemp(prefix=".remove-", dir=self.models_dir))
        try:
            os.replace(info.path, trash / "pack")
        except OSError as exc:
            _remove_tree(trash)
            raise PackInstallError(f"cannot remove {info.path}: {_first_line(exc)}") from None
        _remove_tree(trash)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _check_members(archive: str, members: list[zipfile.ZipInfo]) -> None:
    """Refuse archives that could write outside the pack, hold links or devices, or unpack to too much."""
    if len(members) > ZIP_MEMBER_LIMIT:
        raise PackInstallError(f"{archive}: {len(members)} files, more than a pack holds ({ZIP_MEMBER_LIMIT})")
    total = 0
    for m in members:
        name = PurePosixPath(m.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in m.filename or ":" in m.filename:
            raise PackInstallError(f"{archive}: member {m.filename!r} points outside the pack; refused")
        kind = stat.S_IFMT(m.external_attr >> 16)      # 0 = not recorded (a plain file)
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise PackInstallError(f"{archive}: member {m.filename!r} is a link or special file; refused")
        total += m.file_size
        if total > ZIP_SIZE_LIMIT:
            raise PackInstallError(f"{archive}: unpacks to more than {ZIP_SIZE_LIMIT >> 30} GiB; refused")


def _pack_prefix(archive: str, names: list[str]) -> str:
    """"" when manifest.json is at the archive's top, "folder/" when the pack is one folder inside it."""
    if MANIFEST_NAME in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names if n}
    if len(tops) == 1:
        top = next(iter(tops))
        if f"{top}/{MANIFEST_NAME}" in names:
            return f"{top}/"
    raise PackInstallError(f"{archive}: no {MANIFEST_NAME} at the top of the archive or in its one folder "
                           "(not a model pack)")

