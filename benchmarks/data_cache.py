"""How much the uint8 cache speeds up reading a real-dataset layout, measured in one run.

Writes a SynthFaces copy of a dataset layout (CelebA or CelebAMask-HQ) into a temporary folder, then, in
this one process, times (a) the reference: decoding every sample from its files (what a loader without a
cache does every epoch: JPEG decode, crop, resize, and for CelebAMask-HQ composing the per-class PNGs),
(b) building the cache once, and (c) reading every sample from the cache; prints samples/s and the
ratio (c)/(a).

    PYTHONPATH=. python benchmarks/data_cache.py --dataset celeba --count 300 --resolution 128
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _iterate(ds) -> float:
    start = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=("celeba", "celebamask_hq"), default="celeba")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--hq-size", type=int, default=256, help="CelebAMask-HQ mask size (images are 2x)")
    ap.add_argument("--workers", type=int, default=2, help="processes writing the layout")
    args = ap.parse_args()

    from trainer.data.registry import DataConfig, build_dataset
    from trainer.data.synthfaces.formats import write_celeba, write_celebamask_hq

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / args.dataset
        started = time.perf_counter()
        if args.dataset == "celeba":
            write_celeba(root, args.count, workers=args.workers, progress=False)
        else:
            write_celebamask_hq(root, args.count, size=args.hq_size, workers=args.workers, progress=False)
        print(f"wrote {args.count} SynthFaces samples in the {args.dataset} layout "
              f"in {time.perf_counter() - started:.1f} s")
        cfg = DataConfig(name=args.dataset, root=str(root), resolution=args.resolution, cache=False)
        plain = build_dataset(cfg, "train")
        n = len(plain)
        t_decode = _iterate(plain)
        cached = build_dataset(cfg, "train")
        started = time.perf_counter()
        cached.attach_cache(workers=0, progress=False)
        t_build = time.perf_counter() - started
        _iterate(cached)                                   # first pass: page cache warm-up
        t_cached = _iterate(cached)
        print(f"train split: {n} samples at {args.resolution}px, one process")
        print(f"  decode from files (reference): {n / t_decode:9.1f} samples/s")
        print(f"  build the cache once:          {n / t_build:9.1f} samples/s")
        print(f"  read from the cache:           {n / t_cached:9.1f} samples/s")
        print(f"  ratio cache / decode:          {t_decode / t_cached:9.1f}x")


if __name__ == "__main__":
    main()
