"""What checking a pack's probes costs the app's start-up, measured in one run.

Loads the bundled demo pack the way the app's start-up does (`faceeditor.ui.app_engine.build_engine`:
registry scan and validation, then `Engine.load_pack`) in three settings, each in a fresh process so no
session or import is shared: (a) the reference, the same pack with its probe records removed (what the app
did before probes); (b) the first start on a machine (empty probe cache: the probes run); (c) every later
start (the cached verdict). Prints the median seconds of each and the ratios (b)/(a) and (c)/(a).

    PYTHONPATH=. python benchmarks/pack_probes_startup.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys, time
t0 = time.perf_counter()
from faceeditor.engine.engine import Engine
from faceeditor.engine.registry import PackRegistry
engine = Engine(provider="cpu")
for info in PackRegistry([sys.argv[1]], include_defaults=False).scan():
    assert info.valid, info.reason
    engine.load_pack(info.path)
print(time.perf_counter() - t0)
"""


def _time(pack: Path, cache: Path) -> float:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), XDG_DATA_HOME=str(cache / "data"))
    out = subprocess.run([sys.executable, "-c", CHILD, str(pack)], env=env, check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from faceeditor.resources import demo_pack_dir

    demo = demo_pack_dir()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain = tmp / "no-probes" / "synthfaces-demo"
        shutil.copytree(demo, plain)
        data = json.loads((plain / "manifest.json").read_text())
        for model in data["models"]:
            model.pop("probes", None)
        (plain / "manifest.json").write_text(json.dumps(data))
        ref, first, later = [], [], []
        for i in range(args.repeats):
            ref.append(_time(plain, tmp / f"ref-{i}"))
            cache = tmp / f"cache-{i}"
            first.append(_time(demo, cache))
            later.append(_time(demo, cache))
        r, f, c = (statistics.median(x) for x in (ref, first, later))
        print(f"demo pack load, median of {args.repeats} (s): no probes {r:.3f}, first start (probes run) "
              f"{f:.3f}, later starts (cached verdict) {c:.3f}")
        print(f"ratio first/no-probes {f / r:.2f}, later/no-probes {c / r:.2f}")


if __name__ == "__main__":
    main()
