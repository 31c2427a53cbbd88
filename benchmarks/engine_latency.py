#!/usr/bin/env python3
"""Engine latency: ONNX Runtime (the app's engine) against PyTorch eager on the StarGAN generator.

Builds the official StarGAN generator layout (width 64, 6 residual blocks, 13 attributes) with random
weights, exports it to ONNX (opset 17, dynamic batch) per image size, and times, in the same run and on
the same inputs, ONNX Runtime's CPU provider (graph optimisation ORT_ENABLE_ALL) and PyTorch eager under
torch.inference_mode, both with the same thread count. Runs of the two are interleaved so a busy shared
machine slows both alike. Reports the median milliseconds per batch, the speed-up PyTorch ms / ORT ms and
the largest output difference. It is the reference later engine work is measured against.

    python benchmarks/engine_latency.py            # 128 and 256, batch 1 and 16, 7 repeats
    python benchmarks/engine_latency.py --quick    # 3 repeats, 1 warm-up
    python benchmarks/engine_latency.py --sizes 128 --batches 1 4 --threads 4 --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trainer.nets.stargan import StarGANGenerator  # noqa: E402

N_ATTRS = 13
AGREEMENT_ATOL = 1e-3


def export(g: torch.nn.Module, size: int, path: Path) -> None:
    x = torch.zeros(1, 3, size, size)
    c = torch.zeros(1, N_ATTRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(g, (x, c), str(path), input_names=["image", "y_diff"], output_names=["edited"],
                          dynamic_axes={"image": {0: "batch"}, "y_diff": {0: "batch"}, "edited": {0: "batch"}},
                          opset_version=17, dynamo=False)


def ort_session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def time_case(g, sess, size: int, batch: int, warmup: int, repeats: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
    c = rng.uniform(-1, 1, (batch, N_ATTRS)).astype(np.float32)
    xt, ct = torch.from_numpy(x), torch.from_numpy(c)

    def run_ort():
        return sess.run(["edited"], {"image": x, "y_diff": c})[0]

    def run_torch():
        with torch.inference_mode():
            return g(xt, ct).numpy()

    for _ in range(warmup):
        run_ort()
        run_torch()
    t_ort, t_torch = [], []
    for _ in range(repeats):          # interleaved: machine noise hits both
        t0 = time.perf_counter()
        y_ort = run_ort()
        t_ort.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        y_torch = run_torch()
        t_torch.append(time.perf_counter() - t0)
    ms_ort = statistics.median(t_ort) * 1000
    ms_torch = statistics.median(t_torch) * 1000
    return {
        "size": size, "batch": batch, "repeats": repeats,
        "torch_ms": ms_torch, "ort_ms": ms_ort,
        "torch_ms_min": min(t_torch) * 1000, "ort_ms_min": min(t_ort) * 1000,
        "speedup": ms_torch / ms_ort,
        "max_abs_diff": float(np.abs(y_ort - y_torch).max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--threads", type=int, default=0, help="threads for both (default: usable CPUs)")
    parser.add_argument("--repeats", type=int, default=0, help="timed runs per case (default 7, quick 3)")
    parser.add_argument("--warmup", type=int, default=-1, help="untimed runs per case (default 2, quick 1)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    for s in args.sizes:
        if s <= 0 or s % 4:
            parser.error(f"--sizes: {s} must be a positive multiple of 4 (two stride-2 downsamplings)")
    if any(b <= 0 for b in args.batches):
        parser.error("--batches must be positive")
    threads = args.threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    repeats = args.repeats or (3 if args.quick else 7)
    warmup = args.warmup if args.warmup >= 0 else (1 if args.quick else 2)

    torch.manual_seed(args.seed)
    torch.set_num_threads(threads)
    g = StarGANGenerator(n_attrs=N_ATTRS, base_width=64, n_res=6).eval()
    n_params = sum(p.numel() for p in g.parameters())
    print(f"StarGAN generator: width 64, 6 residual blocks, {N_ATTRS} attributes, {n_params:,} parameters, "
          f"random weights")
    print(f"torch {torch.__version__} eager (inference_mode) vs onnxruntime {ort.__version__} "
          f"CPUExecutionProvider (ORT_ENABLE_ALL); {threads} thread(s) each; {platform.processor() or platform.machine()}")
    print(f"median of {repeats} interleaved runs after {warmup} warm-up run(s)\n")

    header = (f"{'size':>5} {'batch':>5} {'PyTorch ms/batch':>17} {'ORT ms/batch':>13} {'ORT ms/image':>13} "
              f"{'speed-up PyTorch/ORT':>21} {'max |diff|':>11}")
    print(header)
    print("-" * len(header))
    results = []
    with tempfile.TemporaryDirectory(prefix="engine-latency-") as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"stargan_{size}.onnx"
            export(g, size, path)
            sess = ort_session(path, threads)
            for batch in args.batches:
                r = time_case(g, sess, size, batch, warmup, repeats, args.seed + size + batch)
                results.append(r)
                flag = "" if r["max_abs_diff"] <= AGREEMENT_ATOL else "  OUTPUTS DISAGREE"
                print(f"{size:>5} {batch:>5} {r['torch_ms']:>17.1f} {r['ort_ms']:>13.1f} "
                      f"{r['ort_ms'] / batch:>13.1f} {r['speedup']:>20.2f}x {r['max_abs_diff']:>11.1e}{flag}",
                      flush=True)
    agree = all(r["max_abs_diff"] <= AGREEMENT_ATOL for r in results)
    print(f"\noutputs agree within {AGREEMENT_ATOL:g}: {'yes' if agree else 'NO'}")
    if args.json:
        args.json.write_text(json.dumps({
            "threads": threads, "repeats": repeats, "warmup": warmup, "torch": torch.__version__,
            "onnxruntime": ort.__version__, "parameters": n_params, "results": results}, indent=2))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
