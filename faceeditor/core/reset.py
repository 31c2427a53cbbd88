"""Clearing the user folders that faceeditor.core.locations lists (`faceeditor-cli paths --reset`).

Apart from locations because clearing autosave goes through the autosave module's session locks, and
autosave itself asks locations where its folder is."""
from __future__ import annotations

import shutil

from faceeditor.core.autosave import discard_orphan, find_orphans
from faceeditor.core.locations import RESETTABLE, locations

RESET_ALL = ("preferences", "autosave", "cache")       # `all` keeps the user's installed packs


def reset(names: list[str]) -> list[str]:
    """Remove the named locations (see RESETTABLE; "all" = RESET_ALL); one line per thing done.
    Autosaves of instances still running are left alone: only those whose session lock is free go."""
    wanted = list(RESET_ALL) if "all" in names else names
    unknown = [n for n in wanted if n not in RESETTABLE]
    if unknown:
        raise ValueError(f"cannot reset {', '.join(unknown)}; choose from {', '.join(RESETTABLE)} or all")
    done = []
    for loc in locations():
        if loc.name not in wanted:
            continue
        if loc.name == "autosave":
            orphans = find_orphans(loc.path)
            for orphan in orphans:
                discard_orphan(orphan)
            done.append(f"autosave: removed {len(orphans)} recovery file(s) from {loc.path}")
        elif loc.path.is_dir():
            shutil.rmtree(loc.path)
            done.append(f"{loc.name}: removed {loc.path}")
        elif loc.path.exists():
            loc.path.unlink()
            done.append(f"{loc.name}: removed {loc.path}")
        else:
            done.append(f"{loc.name}: nothing at {loc.path}")
    return done
