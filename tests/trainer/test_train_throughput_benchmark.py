"""Smoke test of benchmarks/train_throughput.py on tiny networks (the figures come from real runs)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("trainer.nets.stargan")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_throughput.py"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_benchmark_runs_both_variants_and_prints_the_ratio(capsys) -> None:
    spec = importlib.util.spec_from_file_location("train_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--size", "16", "--batch", "2", "--width", "4", "--n-res", "1", "--d-layers", "2",
                        "--iters", "1", "--rounds", "1", "--warmup", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    losses = re.search(r"reference ([\d.]+), ([\d.]+); trainer ([\d.]+), ([\d.]+)", out)
    assert losses and losses.group(1, 2) == losses.group(3, 4)     # same math on CPU
    assert re.search(r"reference: +[\d.]+ it/s", out) and re.search(r"trainer: +[\d.]+ it/s", out)
    assert re.search(r"ratio trainer / reference: [\d.]+x", out)
