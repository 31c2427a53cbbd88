"""Autosave and crash recovery.

Each running app is one *session* in the autosave folder (platformdirs' user state folder, `autosave/`):
it holds an OS file lock on `<id>.lock` for as long as it runs and writes its work to `<id>.fep`. A clean
exit removes both. The OS drops the lock when a process dies however it dies, so on start any `.fep`
whose lock can be taken belongs to a session that crashed (or was killed) and is offered for recovery;
sessions of other running instances stay locked and are left alone.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from faceeditor.core.locations import autosave_dir as default_autosave_dir
from faceeditor.core.locations import config_dir, state_dir
from faceeditor.core.project import Project, ProjectError, read_header, save_project

__all__ = ["AutosaveSession", "Orphan", "config_dir", "default_autosave_dir", "discard_orphan", "find_orphans",
           "state_dir"]


def _try_lock(fh) -> bool:
    """Take an exclusive, non-blocking lock on an open file; False when another process holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Orphan:
    """Work autosaved by a session that did not exit cleanly."""

    path: Path             # the autosaved project
    lock_path: Path
    saved_at: float        # seconds since the epoch
    source: str            # name of the photo the work started from

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)) if self.saved_at else "unknown time"
        return f"{self.source or 'untitled'} (autosaved {when})"


class AutosaveSession:
    """This process's autosave slot. `save()` writes atomically; `close()` after a clean exit."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_autosave_dir()
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = self.folder / f"{self.id}.fep"
        self.lock_path = self.folder / f"{self.id}.lock"
        self._lock_fh = None
        self.last_saved: float | None = None
        self.error: str | None = None   # why autosaving is off, if it is

    def start(self) -> bool:
        """Create the folder and take the session lock; False (with `error` set) if that fails."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fh = open(self.lock_path, "a+b")  # noqa: SIM115 - kept open for the session's lifetime
        except OSError as exc:
            self.error = f"autosave is off: cannot use {str(self.folder)!r} ({exc.strerror or exc})"
            return False
        if not _try_lock(fh):
            fh.close()
            self.error = f"autosave is off: cannot lock {str(self.lock_path)!r}"
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n".encode())
        fh.flush()
        self._lock_fh = fh
        return True

    @property
    def active(self) -> bool:
        return self._lock_fh is not None

    def save(self, project: Project) -> Path:
        """Autosave (fast PNG compression); raises ProjectError when it cannot be written."""
        if not self.active:
            raise ProjectError(self.error or "autosave is off: the session was not started")
        save_project(self.path, project, fast=True)
        self.last_saved = time.time()
        return self.path

    def write_members(self, members: dict[str, bytes]) -> Path:
        """Autosave already-encoded members (encoded off the UI thread by the caller)."""
        from faceeditor.core.project import write_members

        if not self.active:
            raise ProjectError(self.error or "autosave is off: the session was not started")
        write_members(self.path, members)
        self.last_saved = time.time()
        return self.path

    def discard(self) -> None:
        """Forget the autosaved work (e.g. after the user saved the project)."""
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Clean exit: remove the autosave and release the lock."""
        self.discard()
        if self._lock_fh is not None:
            fh, self._lock_fh = self._lock_fh, None
            try:
                self.lock_path.unlink(missing_ok=True)
            finally:
                fh.close()

    def abandon(self) -> None:
        """Release the lock but leave the files, as a crash would (for tests)."""
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def find_orphans(folder: str | os.PathLike | None = None) -> list[Orphan]:
    """Autosaves of sessions that are no longer running, newest first. Stale lock files without an
    autosave are removed on the way."""
    folder = Path(folder) if folder is not None else default_autosave_dir()
    if not folder.is_dir():
        return []
    found = []
    for lock_path in folder.glob("*.lock"):
        fep = lock_path.with_suffix(".fep")
        try:
            fh = open(lock_path, "a+b")  # noqa: SIM115
        except OSError:
            continue
        try:
            if not _try_lock(fh):
                continue          # its session is alive
            if not fep.is_file():
                fh.close()
                lock_path.unlink(missing_ok=True)
                continue
        finally:
            if not fh.closed:
                fh.close()
        head = read_header(fep)
        saved_at = head.get("saved_at") if isinstance(head.get("saved_at"), (int, float)) else fep.stat().st_mtime
        source = head.get("source") if isinstance(head.get("source"), str) else ""
        found.append(Orphan(fep, lock_path, float(saved_at), source))
    found.sort(key=lambda o: o.saved_at, reverse=True)
    return found


def discard_orphan(orphan: Orphan) -> None:
    orphan.path.unlink(missing_ok=True)
    orphan.lock_path.unlink(missing_ok=True)
