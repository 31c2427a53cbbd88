"""faceeditor-cli paths: where FaceEditor keeps preferences, autosave, cache and user model packs, and a
way to reset them (faceeditor.core.locations owns the list)."""
from __future__ import annotations

import argparse
import json

from faceeditor.cli import CLIError

HELP = "list where settings, autosave, cache and user model packs live (and the bundled files); --reset clears them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from faceeditor.core.locations import RESETTABLE

    parser.add_argument("--reset", action="append", default=[], metavar="WHAT",
                        choices=(*RESETTABLE, "all"),
                        help="remove preferences (recent files, tool settings), autosave (recovery files of "
                             "instances not running), cache, models (packs you installed) or all (all but "
                             "models); repeatable")
    parser.add_argument("--json", action="store_true", help="print the locations as JSON")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.locations import locations
    from faceeditor.core.reset import reset

    if args.reset:
        try:
            for line in reset(args.reset):
                print(line)
        except OSError as exc:
            raise CLIError(f"cannot reset: {exc}") from None
        return 0
    from faceeditor.resources import demo_pack_dir, samples_dir

    found = locations()
    bundled = {"demo_pack": str(demo_pack_dir()), "samples": str(samples_dir())}
    if args.json:
        print(json.dumps({"user": [{"name": loc.name, "path": str(loc.path), "holds": loc.holds,
                                    "exists": loc.path.exists()} for loc in found],
                          "bundled": bundled}, indent=2))
        return 0
    width = max(len(loc.name) for loc in found)
    for loc in found:
        print(f"{loc.name:<{width}}  {loc.path}{'' if loc.path.exists() else '  (absent)'}\n"
              f"{'':<{width}}  {loc.holds}")
    print(f"\nBundled (read-only): demo pack {bundled['demo_pack']}\n                     samples {bundled['samples']}")
    return 0
