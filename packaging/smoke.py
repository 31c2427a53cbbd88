"""Smoke test of an installed FaceEditor: the frozen folder (`dev.py package --check`) or a wheel installed
into a fresh virtual environment (`dev.py wheel`). Each step runs the real executables in a clean
environment (no repository on the path, fresh user folders) and fails on what a user would see fail:

  1. `faceeditor --version` and `faceeditor-cli --version` agree;
  2. `faceeditor-cli paths --json` finds the bundled demo pack and samples inside the installation;
  3. `faceeditor --offscreen --screenshot` opens a bundled sample and the PNG is not blank;
  4. `faceeditor-cli selfcheck` passes (ONNX Runtime, the packs, dlib's model files, Qt, OpenCV, PyAV);
  5. `faceeditor-cli edit` changes a bundled sample with the demo pack's editor.

    python packaging/smoke.py --app DIST/faceeditor --cli DIST/faceeditor-cli --out OUT
Needs Pillow (the installation under test has it). Exit 0 when every step passed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STEP_TIMEOUT = 300


def clean_env(home: Path) -> dict[str, str]:
    """The user's environment without anything that would let the repository or its venv leak in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("XDG_")}
    for name in ("CONFIG", "STATE", "CACHE", "DATA"):
        env[f"XDG_{name}_HOME"] = str(home / name.lower())
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def not_blank(png: Path) -> str | None:
    """None when the screenshot shows something; else why not."""
    from PIL import Image, ImageStat

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        small = rgb.resize((160, 100))
        colours = len(small.getcolors(maxcolors=1 << 16) or range(1 << 16))
        spread = max(ImageStat.Stat(rgb).stddev)
        size = rgb.size
    if size[0] < 400 or size[1] < 300:
        return f"screenshot is only {size[0]}x{size[1]}"
    if colours < 50 or spread < 10:
        return f"screenshot looks blank ({colours} colours, stddev {spread:.1f})"
    return None


def changed(a: Path, b: Path) -> float:
    from PIL import Image, ImageChops

    with Image.open(a) as x, Image.open(b) as y:
        x, y = x.convert("RGB"), y.convert("RGB").resize(x.size)
        diff = ImageChops.difference(x, y).convert("L")
        return sum(i * n for i, n in enumerate(diff.histogram())) / (x.size[0] * x.size[1])


def run_smoke(app: list[str], cli: list[str], out: Path, log=print) -> list[str]:
    """Run the five steps; the list of failures (empty when all passed)."""
    out.mkdir(parents=True, exist_ok=True)
    env = clean_env(out / "home")
    failures: list[str] = []
    cwd = out                                  # never the repository

    def call(name: str, cmd: list[str]) -> subprocess.CompletedProcess | None:
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failures.append(f"{name}: {exc}")
            return None
        log(f"  {name}: exit {proc.returncode} in {time.perf_counter() - start:.1f} s")
        if proc.returncode != 0:
            failures.append(f"{name}: exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
            return None
        return proc

    versions = [call("faceeditor --version", [*app, "--version"]),
                call("faceeditor-cli --version", [*cli, "--version"])]
    if all(versions):
        words = [v.stdout.split()[-1] for v in versions]
        if words[0] != words[1]:
            failures.append(f"versions differ: {words}")
        else:
            log(f"  version {words[0]}")

    paths = call("faceeditor-cli paths --json", [*cli, "paths", "--json"])
    sample = None
    if paths is not None:
        bundled = json.loads(paths.stdout)["bundled"]
        samples, demo = Path(bundled["samples"]), Path(bundled["demo_pack"])
        log(f"  bundled samples: {samples}")
        if not (demo / "manifest.json").is_file():
            failures.append(f"no demo pack at {demo}")
        pictures = sorted(samples.glob("synthface_*.png"))
        if not pictures:
            failures.append(f"no sample pictures in {samples}")
        else:
            sample = pictures[0]

    shot = out / "screenshot.png"
    if call("faceeditor --offscreen --screenshot --sample",
            [*app, "--offscreen", "--screenshot", str(shot), "--sample", "--size", "1280x800"]):
        problem = not_blank(shot) if shot.is_file() else "no screenshot written"
        if problem:
            failures.append(problem)
        else:
            log(f"  screenshot {shot} is not blank")

    call("faceeditor-cli selfcheck", [*cli, "selfcheck"])

    if sample is not None:
        edited = out / "edited.png"
        if call("faceeditor-cli edit", [*cli, "edit", str(sample), "--set", "Blond_Hair=1", "-o", str(edited)]):
            delta = changed(sample, edited) if edited.is_file() else 0.0
            if delta < 0.5:
                failures.append(f"the edit left {sample.name} unchanged (mean difference {delta:.2f})")
            else:
                log(f"  edit changed {sample.name} (mean difference {delta:.2f} grey levels)")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", required=True, help="the faceeditor executable")
    ap.add_argument("--cli", required=True, help="the faceeditor-cli executable")
    ap.add_argument("--out", required=True, help="a scratch folder (screenshots, user folders)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    failures = run_smoke([args.app], [args.cli], Path(args.out))
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(f"smoke test {'passed' if not failures else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
