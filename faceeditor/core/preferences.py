"""Small user preferences kept as JSON in the platformdirs config folder (recent files, tool settings).

A missing, unreadable or malformed file is treated as empty (preferences must never stop the app from
starting); writes are atomic.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from faceeditor.core.atomic_io import atomic_write
from faceeditor.core.safe_read import JSONReadError, load_json_file

MAX_RECENT = 10
PREFERENCES_LIMIT = 4 << 20     # bytes; a few recent files and tool settings


class Preferences:
    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            from faceeditor.core.locations import preferences_file

            path = preferences_file()
        self.path = Path(path)
        self.data: dict[str, Any] = {}
        self.load()

    def load(self) -> None:
        # preferences are not precious: anything unreadable (a named pipe included, never opened) is {}
        try:
            data = load_json_file(self.path, what="preferences file", limit=PREFERENCES_LIMIT)
        except JSONReadError:
            data = {}
        self.data = data if isinstance(data, dict) else {}

    def save(self) -> bool:
        """Write atomically; False when the folder cannot be written (preferences are not precious)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path, text=True) as fh:
                json.dump(self.data, fh, indent=1)
            return True
        except (OSError, TypeError, ValueError):
            return False

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    # --- recent files ---------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        items = self.data.get("recent_files")
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str)][:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike) -> None:
        p = str(Path(path).resolve())
        items = [x for x in self.recent_files() if x != p]
        self.data["recent_files"] = [p, *items][:MAX_RECENT]
        self.save()

    def remove_recent(self, path: str) -> None:
        self.data["recent_files"] = [x for x in self.recent_files() if x != path]
        self.save()

    def clear_recent(self) -> None:
        self.data["recent_files"] = []
        self.save()
