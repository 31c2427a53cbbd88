"""faceeditor-cli expression: change a face's expression with a pack's expression editor.

    faceeditor-cli expression photo.jpg --to happy --intensity 0.7 -o out.png

The editor (task edit_expression, e.g. the hierarchical expression GAN `hiergan`) reads the target as
one-hot times the intensity: 0 leaves the face as it is, 1 is the trained edit, values up to
MAX_INTENSITY exaggerate it. Photos go the way the attribute `edit` command takes them: the face is
detected and aligned (faceeditor.core.crop_policy), its crop edited and pasted back feathered; a picture
that already frames a face like an aligned crop is edited whole. With `--report` the pack's expression
evaluator reads the crop before and after (its 8 probabilities).
"""
from __future__ import annotations

import argparse
import json
import sys

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import pack_for_task, read_image
from faceeditor.commands.edit import check_outputs, choose_crop
from faceeditor.core.labels import EXPRESSIONS

HELP = "change a face's expression (e.g. --to happy --intensity 0.7) and write the edited image"

MAX_INTENSITY = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the picture to edit (photo of any size, or a face crop)")
    parser.add_argument("-o", "--out", required=True, help="edited image (.png, .jpg, .webp, ...)")
    parser.add_argument("--to", required=True, metavar="EXPRESSION",
                        help=f"the target expression: one of {', '.join(EXPRESSIONS)}")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help=f"how far to go, 0 (unchanged) .. 1 (the full expression) .. {MAX_INTENSITY:g} "
                             "(exaggerated); default 1")
    parser.add_argument("--pack", metavar="NAME", help="use this pack (default: the first with an expression editor)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    parser.add_argument("--model", metavar="NAME", help="the pack's expression editor to use (default: its first)")
    parser.add_argument("--mode", choices=("auto", "face", "whole"), default="auto",
                        help="edit the aligned face crop or the whole image (as `edit`)")
    parser.add_argument("--whole", "--no-align", dest="no_align", action="store_true",
                        help="edit the whole picture as a face crop (same as --mode whole)")
    parser.add_argument("--face", type=int, metavar="N", help="edit the N-th detected face (0 = the largest)")
    parser.add_argument("--report", action="store_true",
                        help="the pack's expression evaluator's probabilities before and after")
    parser.add_argument("--json", action="store_true", help="print the summary (and report) as JSON")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


def check_request(name: str, intensity: float) -> str:
    """The expression name (case-insensitive) after checking it and the intensity; CLIError otherwise."""
    key = name.strip().lower()
    if key not in EXPRESSIONS:
        raise CLIError(f"--to {name}: unknown expression; choose one of {', '.join(EXPRESSIONS)}")
    if not 0.0 <= intensity <= MAX_INTENSITY:          # also refuses nan
        raise CLIError(f"--intensity must be between 0 and {MAX_INTENSITY:g}, got {intensity}")
    return key


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.document import Placement, crop_summary, make_crop, work_resolution
    from faceeditor.core.image_io import ImageSaveError, save_image
    from faceeditor.engine.engine import Engine, EngineError, RequestError
    from faceeditor.engine.requests import ClassifyExpressionRequest, EditExpressionRequest

    target = check_request(args.to, args.intensity)
    if args.face is not None and args.face < 0:
        raise CLIError(f"--face must be 0 or more, got {args.face}")
    mode = "whole" if args.no_align else args.mode
    if args.face is not None and mode == "whole":
        raise CLIError("--face picks a detected face; it cannot be used with --no-align / --mode whole")
    check_outputs(args.image, args.out, None)
    pack = pack_for_task("edit_expression", args.pack, args.dirs)
    photo = read_image(args.image)

    engine = Engine([pack.path], provider=args.provider)
    editors = engine.models("edit_expression")
    editor = editors[0]
    if args.model is not None:
        editor = next((m for m in editors if m.entry.name == args.model), None)
        if editor is None:
            raise CLIError(f"--model {args.model}: pack {pack.name!r} has no expression editor of that name "
                           f"(its editors: {', '.join(m.entry.name for m in editors)})")
    if target not in editor.entry.expressions:
        raise CLIError(f"--to {target}: {editor.key} does not know it (it knows {', '.join(editor.entry.expressions)})")

    search, decision = choose_crop(photo, mode, args.face, str(args.image))
    chosen = decision.mode
    res = editor.resolution
    crop_res = work_resolution([res]) if chosen == "face" else max(res, *photo.shape[:2])
    crop = make_crop(photo, search.landmarks, chosen, crop_res)
    try:
        result = engine.run(EditExpressionRequest(images=[crop.image], expression=target,
                                                  intensity=float(args.intensity), model=editor.key))
    except (EngineError, RequestError) as exc:
        raise CLIError(f"the editor failed: {exc}") from None
    edited_crop = result.images[0]
    edited = Placement(photo, crop, chosen).paste(edited_crop)
    summary: dict = {
        "image": str(args.image), "out": str(args.out), "mode": chosen, "crop": crop_summary(crop, decision),
        "faces_found": search.faces_found, "face": search.index if chosen == "face" else None,
        "pack": pack.name, "model": editor.key, "to": target, "intensity": float(args.intensity),
        "resolution": int(res), "crop_resolution": int(crop_res), "provider": result.provider,
        "inference_ms": round(result.inference_ms, 1),
    }
    if args.report:
        judges = engine.models("classify_expression")
        if not judges:
            summary["report"] = None
        else:
            try:
                probs = engine.run(ClassifyExpressionRequest(images=[crop.image, edited_crop], model=judges[0].key))
            except (EngineError, RequestError) as exc:
                raise CLIError(f"the expression evaluator failed: {exc}") from None
            summary["report"] = {"evaluator": judges[0].key, "before": dict(zip(probs.names, map(float, probs.probs[0]), strict=True)),
                                 "after": dict(zip(probs.names, map(float, probs.probs[1]), strict=True))}
    try:
        save_image(args.out, edited)
    except ImageSaveError as exc:
        raise CLIError(str(exc)) from None
    notes = [decision.reason, *search.notes]
    summary["notes"] = notes
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    where = f"face {summary['face']} of {summary['faces_found']}, aligned" if chosen == "face" else "whole image"
    print(f"{args.image} -> {args.out}: {target} at {args.intensity:g} ({where}; {editor.key}, "
          f"{result.provider or 'cpu'}, {result.inference_ms:.0f} ms)")
    report = summary.get("report")
    if report:
        print(f"evaluator {report['evaluator']}:  {'expression':<14}{'before':>8}{'after':>8}")
        for name in report["before"]:
            print(f"  {name:<14}{report['before'][name]:>8.3f}{report['after'][name]:>8.3f}")
    elif args.report:
        print("evaluator: the pack has no classify_expression model")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
