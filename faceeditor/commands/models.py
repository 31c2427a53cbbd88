"""faceeditor-cli models: list the model packs the app can see and whether each is usable."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from faceeditor.cli import CLIError

HELP = "list model packs (bundled, user folder, --dir) with valid/INVALID and the reason"
PROBE_WORDS = {
    "verified": "verified (its models reproduced their recorded probe figures on this machine)",
    "unverified": "not verified yet",
    "none": "none recorded (exported before probes; not verified)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder (a pack, or a folder of packs); repeatable")
    parser.add_argument("--no-defaults", action="store_true",
                        help="search only the --dir folders, not the bundled and user folders")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    from faceeditor.engine.registry import PackRegistry

    for d in args.dirs:
        if not Path(d).is_dir():
            raise CLIError(f"--dir {d}: no such folder")
    registry = PackRegistry(args.dirs, include_defaults=not args.no_defaults)
    packs = registry.scan()
    if args.json:
        print(json.dumps({
            "searched": [{"path": str(p), "source": s, "exists": p.is_dir()} for p, s in registry.search_dirs],
            "packs": [p.to_dict() for p in packs],
        }, indent=2))
        return 0
    print("Searched: " + ", ".join(f"{p} ({s}{'' if p.is_dir() else ', absent'})" for p, s in registry.search_dirs))
    if not packs:
        print("No model packs found.")
        return 0
    for pack in packs:
        status = "valid  " if pack.valid else "INVALID"
        version = f" {pack.manifest.version}" if pack.manifest else ""
        print(f"{status} {pack.name}{version}  [{pack.source}] {pack.path}")
        if pack.valid:
            print(f"    probes: {PROBE_WORDS.get(pack.probes, pack.probes)}")
        if pack.manifest is not None:
            for e in pack.manifest.models:
                detail = ", ".join(x for x in (e.method, e.backbone, f"{e.resolution}px" if e.resolution else "",
                                               e.data_domain and f"trained on {e.data_domain}") if x)
                print(f"    {e.name}: {e.task}" + (f" ({detail})" if detail else ""))
        for err in pack.errors:
            print(f"    ! {err}")
    n_valid = sum(p.valid for p in packs)
    print(f"{len(packs)} pack(s): {n_valid} valid, {len(packs) - n_valid} invalid")
    return 0
