"""faceeditor-train prepare: build the uint8 cache of a real dataset ahead of training.

Training builds a missing cache by itself on first use; running this first does it with several worker
processes and a progress bar, reports bad samples, and leaves the GPU box nothing to decode.
"""
from __future__ import annotations

import argparse
import os
import time

from faceeditor.cli import CLIError
from trainer.data.registry import SPLITS, DataConfig
from trainer.registry import DATASETS

HELP = "decode, crop and resize a dataset once into a memory-mapped cache (per split and resolution)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    real = sorted(n for n in DATASETS if n != "synthfaces")
    parser.add_argument("dataset", choices=real, help="which dataset layout ROOT holds")
    parser.add_argument("root", help="the dataset folder (see README: Supported datasets)")
    parser.add_argument("--resolution", type=int, default=128, help="output size in pixels (default 128)")
    parser.add_argument("--splits", default="train,val,test", help="comma-separated splits (default all)")
    parser.add_argument("--split-scheme", default="default", help="'default' or 'attgan' (CelebA, CelebAMask-HQ)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of RaFD/AffectNet splits (default 0)")
    parser.add_argument("--cache-dir", default="", help="where caches go (default ROOT/.cache)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="decoding processes (0 = in this process; default: CPUs, at most 8)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N samples of each split")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip and count corrupt images and malformed label lines instead of stopping")
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if an up-to-date cache exists")
    parser.add_argument("--rafd-angles", default="090", help="RaFD camera angles (default 090)")
    parser.add_argument("--rafd-gazes", default="frontal", help="RaFD gazes (default frontal; or 'all')")


def run(args: argparse.Namespace) -> int:
    from trainer.data.errors import DatasetError
    from trainer.data.registry import dataset_class

    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise CLIError(f"--splits {args.splits!r}: expected a comma-separated subset of {', '.join(SPLITS)}")
    if args.resolution < 8 or args.workers < 0 or args.limit < 0:
        raise CLIError("--resolution must be >= 8, --workers and --limit >= 0")
    for split in splits:
        cfg = DataConfig(name=args.dataset, root=args.root, resolution=args.resolution,
                         split_scheme=args.split_scheme, skip_bad=args.skip_bad, cache=False,
                         cache_dir=args.cache_dir, split_seed=args.split_seed, limit=args.limit,
                         num_workers=args.workers, rafd_angles=args.rafd_angles, rafd_gazes=args.rafd_gazes)
        started = time.monotonic()
        try:
            ds = dataset_class(args.dataset)(cfg, split)
            path = ds.attach_cache(workers=args.workers, progress=True, rebuild=args.rebuild)
        except DatasetError as exc:
            raise CLIError(str(exc)) from None
        skipped = ds.skips.bad
        print(f"{args.dataset} {split}: {len(ds)} samples at {args.resolution}px in {path} "
              f"({time.monotonic() - started:.1f} s" + (f", {skipped} bad skipped" if skipped else "") + ")")
    return 0
