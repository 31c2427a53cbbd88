"""faceeditor-train recipe: train the whole chain for a dataset folder and export one pack.

    faceeditor-train recipe --dataset celebamask_hq --root data/CelebAMask-HQ --out packs/celebahq-128
    faceeditor-train recipe ... --resolution 256 --editor stgan --dry-run      # stages and GPU-hour estimates
    faceeditor-train recipe ... --set editor.g_width=32 --set parser.iters=5000  # any stage's config field

Run the same command again after a stop or a crash: finished stages are skipped and the stage in progress
resumes from its newest checkpoint. See trainer/recipe.py and docs/training.md ("One command").
"""
from __future__ import annotations

import argparse
import sys

from faceeditor.cli import CLIError

HELP = "prepare, train, judge and export the whole chain (parser, evaluators, editor, SCGAN) for a dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from trainer.registry import DATASETS

    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="the layout ROOT holds")
    parser.add_argument("--root", required=True, metavar="DIR", help="the dataset folder")
    parser.add_argument("--out", required=True, metavar="PACK", help="the model pack folder to write (must not exist)")
    parser.add_argument("--work", default="", metavar="DIR",
                        help="run folders and the recipe's state (default: PACK.work next to the pack)")
    parser.add_argument("--editor", default="", metavar="METHOD",
                        help="attribute editor method (default: the bundled pack's editor's method)")
    parser.add_argument("--resolution", type=int, default=128, help="training resolution (default 128)")
    parser.add_argument("--iters", type=int, default=0,
                        help="iterations of every training stage (default: each stage's own; for trials)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    parser.add_argument("--name", default="", help="pack name in the manifest (default: the --out folder's name)")
    parser.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE", dest="overrides",
                        help="set a config field of one stage (parser, attributes, expression, editor, scgan); "
                             "repeatable")
    parser.add_argument("--stop-after", default="", metavar="STAGE", help="stop after this stage (resume later)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the stages and their estimated GPU time, train nothing")
    parser.add_argument("--gpu-its", type=float, default=0.0, metavar="IT_S",
                        help="your GPU's StarGAN 128² batch-16 it/s (benchmarks/train_throughput.py, 'trainer'), "
                             "for the dry run's estimates")


def run(args: argparse.Namespace) -> int:
    from trainer.recipe import (
        ASSUMED_STARGAN_ITS,
        Interrupted,
        RecipeError,
        RecipeSettings,
        estimate,
        format_hours,
        plan,
        probe_labels,
        run_recipe,
    )

    if args.resolution < 32 or args.iters < 0 or args.workers < 0 or args.gpu_its < 0:
        raise CLIError("--resolution must be >= 32, --iters, --workers and --gpu-its >= 0")
    try:
        settings = RecipeSettings(dataset=args.dataset, root=args.root, out=args.out, work=args.work,
                                  editor=args.editor, resolution=args.resolution, iters=args.iters,
                                  device=args.device, workers=args.workers, overrides=list(args.overrides),
                                  name=args.name)
        if args.dry_run:
            labels = probe_labels(settings, assume=True)
            stages = plan(labels)
            its = args.gpu_its or ASSUMED_STARGAN_ITS
            print(f"recipe for {settings.dataset} at {settings.root} ({labels.describe()}), "
                  f"{settings.resolution}², editor {settings.editor}; work folder {settings.work}")
            print(f"GPU time at {its:g} it/s for the StarGAN 128² batch-16 benchmark iteration"
                  + ("" if args.gpu_its else " (ASSUMED, not measured: pass --gpu-its from "
                                             "benchmarks/train_throughput.py on your GPU)"))
            estimates = {e.stage: e for e in estimate(stages, settings, its)}
            for i, stage in enumerate(stages, 1):
                e = estimates.get(stage)
                if e is None:
                    what = {"prepare": "decode and cache the train/val/test splits (CPU)",
                            "export": "ONNX export, parity check and probes of every model (CPU, minutes)"}[stage]
                    print(f"  {i}. {stage:<11} {what}")
                elif e.seconds is None:
                    print(f"  {i}. {stage:<11} {e.method}, {e.iters} it x batch {e.batch_size} at {e.resolution}²: "
                          f"no estimate ({e.note})")
                else:
                    print(f"  {i}. {stage:<11} {e.method}, {e.iters} it x batch {e.batch_size} at {e.resolution}²: "
                          f"{e.flops_per_iter / 1e12:.3g} TFLOP/it, {format_hours(e.seconds)}")
            total = sum(e.seconds or 0.0 for e in estimates.values())
            print(f"  total training: {format_hours(total)} on one GPU; with torchrun on N GPUs, "
                  "about 1/N (batch_size is per process)")
            return 0
        run_recipe(settings, stop_after=args.stop_after, progress=sys.stderr.isatty())
    except RecipeError as exc:
        raise CLIError(str(exc)) from None
    except Interrupted as exc:
        return exc.code
    print(f"wrote pack {settings.name!r} to {settings.out}")
    return 0
