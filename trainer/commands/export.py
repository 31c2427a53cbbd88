"""faceeditor-train export: turn a trained run into a model pack for the app.

    faceeditor-train export runs/parser --out packs/synthfaces-demo
    faceeditor-train export runs/classifier --out packs/synthfaces-demo --append

Each model is exported to ONNX (opset 17, dynamic batch) and checked against PyTorch with ONNX Runtime on
random and real inputs (max |diff| <= 1e-3, integer outputs exact); the pack is written only if every
check passes.
"""
from __future__ import annotations

import argparse

from faceeditor.cli import CLIError

HELP = "export a trained run to an ONNX model pack (parity-checked against PyTorch)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `train`")
    parser.add_argument("--out", required=True, metavar="PACK_DIR", help="the model-pack folder to write")
    parser.add_argument("--name", metavar="PACKNAME", help="pack name in the manifest (default: folder name)")
    parser.add_argument("--append", action="store_true",
                        help="add the models to an existing pack (same-name models are replaced)")
    parser.add_argument("--preview", action="store_true",
                        help="also export the method's preview models (a faster stand-in the app runs while "
                             "a slider is dragged; benchmarks/edit_latency.py)")
    parser.add_argument("--checkpoint", metavar="FILE.pt", help="a checkpoint other than the latest")
    parser.add_argument("--default", action="store_true",
                        help="with --append: put the new models first, so the engine and the app use them "
                             "by default for their tasks")
    parser.add_argument("--half-weights", action="store_true",
                        help="store the weights as float16 (half the file size; the graph still computes in "
                             "float32; what the rounding changes is printed and kept in the manifest)")


def run(args: argparse.Namespace) -> int:
    from trainer.checkpoint import CheckpointError
    from trainer.config import ConfigError
    from trainer.export import ExportError, export_run

    if args.default and not args.append:
        raise CLIError("--default puts the new models before a pack's others: use it with --append")
    try:
        manifest = export_run(args.run_dir, args.out, name=args.name, append=args.append, default=args.default,
                              checkpoint=args.checkpoint, preview=args.preview, half_weights=args.half_weights)
    except (ExportError, CheckpointError, ConfigError) as exc:
        raise CLIError(str(exc)) from None
    print(f"wrote pack {manifest.name!r} to {args.out}: " +
          ", ".join(f"{m.name} ({m.task})" for m in manifest.models))
    return 0
