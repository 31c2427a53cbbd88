"""faceeditor-train synthfaces: render a SynthFaces dataset and/or a preview gallery."""
from __future__ import annotations

import argparse
import importlib
import inspect

from faceeditor.cli import CLIError

HELP = "render the procedural SynthFaces dataset (native shards or CelebA/CelebAMask-HQ/RaFD layouts)"
FORMATS = ("native", "celeba", "celebamask-hq", "rafd")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="output folder (must be empty or absent)")
    parser.add_argument("--count", type=int, default=1000,
                        help="number of faces (for --format rafd: number of identities, each in all 8 expressions)")
    parser.add_argument("--size", type=int, default=None,
                        help="image size in pixels (default 128 for native; the layout's own size otherwise)")
    parser.add_argument("--format", choices=FORMATS, default="native", help="on-disk layout (default native)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--edited-fraction", type=float, default=0.0, metavar="F",
                        help="native only: this share of the faces gets one of the 13 editing attributes flipped "
                             "(decorrelates attributes for evaluators; default 0)")
    parser.add_argument("--preview", metavar="PNG", help="also write a gallery of 16 faces with masks and landmarks")
    parser.add_argument("--preview-size", type=int, default=None, help="face size in the preview (default --size or 128)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _writer(fmt: str):
    try:
        formats = importlib.import_module("trainer.data.synthfaces.formats")
    except ImportError as exc:
        raise CLIError(f"--format {fmt} is not available in this installation ({exc})") from None
    writers = getattr(formats, "FORMAT_WRITERS", {})
    if fmt not in writers:
        raise CLIError(f"--format {fmt} is not available; known layouts: {', '.join(sorted(writers)) or 'none'}")
    return writers[fmt]


def run(args: argparse.Namespace) -> int:
    if args.out is None and args.preview is None:
        raise CLIError("nothing to do: give --out DIR (a dataset) and/or --preview PNG")
    if args.count <= 0:
        raise CLIError(f"--count must be positive, got {args.count}")
    if args.size is not None and not 32 <= args.size <= 2048:
        raise CLIError(f"--size must be between 32 and 2048, got {args.size}")
    if args.workers is not None and args.workers <= 0:
        raise CLIError(f"--workers must be positive, got {args.workers}")
    if not 0.0 <= args.edited_fraction <= 1.0:
        raise CLIError(f"--edited-fraction must be between 0 and 1, got {args.edited_fraction}")
    if args.edited_fraction and args.format != "native":
        raise CLIError("--edited-fraction is only available with --format native")
    if args.preview is not None and not args.preview.lower().endswith(".png"):
        raise CLIError(f"--preview must name a .png file, got {args.preview!r}")
    if args.out is not None:
        kwargs = {"seed": args.seed, "workers": args.workers, "progress": not args.no_progress}
        try:
            if args.format == "native":
                from trainer.data.synthfaces.native import write_native

                path = write_native(args.out, args.count, size=args.size or 128,
                                    edited_fraction=args.edited_fraction, **kwargs)
            else:
                writer = _writer(args.format)
                params = inspect.signature(writer).parameters
                if "identities" in params:
                    kwargs["identities"] = args.count
                else:
                    kwargs["count"] = args.count
                if args.size is not None:
                    if "size" not in params:
                        raise CLIError(f"--format {args.format} has a fixed image size; drop --size")
                    kwargs["size"] = args.size
                path = writer(args.out, **{k: v for k, v in kwargs.items() if k in params})
        except (FileExistsError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        print(f"wrote {args.format} SynthFaces to {path}")
    if args.preview is not None:
        from trainer.data.synthfaces.preview import write_preview

        try:
            p = write_preview(args.preview, count=16, size=args.preview_size or args.size or 128, seed=args.seed)
        except (OSError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        print(f"wrote preview {p}")
    return 0
