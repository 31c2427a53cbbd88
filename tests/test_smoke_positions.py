"""The real-display smoke test (tools/smoke_display.py, run by .ci/run under Xvfb) clicks fixed places of the
default layout. When a panel or dock moves them, the smoke test fails in CI only; this test measures the
layout offscreen, as `--measure-positions` does, and fails here instead, naming the place that moved."""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _positions_in_source() -> dict:
    source = (ROOT / "tools" / "smoke_display.py").read_text(encoding="utf-8")
    block = re.search(r"^POSITIONS = (\{.*?^\})", source, re.S | re.M).group(1)
    return ast.literal_eval(block)


def test_smoke_test_positions_match_todays_layout(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "smoke_display.py"), "--measure-positions"],
                          env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    measured = dict(re.findall(r"'(\w+)': (\([-\d, ]+\))", proc.stdout))
    expected = _positions_in_source()
    assert set(measured) == set(expected) - {"stroke"}, proc.stdout
    for name, where in measured.items():
        x, y = ast.literal_eval(where)
        ex, ey = expected[name]
        assert abs(x - ex) <= 4 and abs(y - ey) <= 4, (
            f"{name} is at {(x, y)} in today's layout, POSITIONS says {(ex, ey)}: "
            "run tools/smoke_display.py --measure-positions and paste the table")
