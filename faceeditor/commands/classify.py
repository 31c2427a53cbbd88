"""faceeditor-cli classify: what the installed evaluators read in a face (attributes, expression).

Before `faceeditor-cli edit --set NAME=±1` it says which way an attribute can move: +1 on an attribute the
face already shows has nothing to add. The app shows the same reading next to its sliders.
"""
from __future__ import annotations

import argparse
import json
import sys

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import add_mode_argument, crop_choice, pack_for_task, read_image

HELP = "print the attribute (and expression) evaluators' reading of a face"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="a picture (SynthFaces sample or photo)")
    parser.add_argument("--pack", metavar="NAME", help="use this pack (default: the first with an attribute "
                                                       "evaluator)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    add_mode_argument(parser, "read", needs_face=True)
    parser.add_argument("--json", action="store_true", help="print the reading as JSON")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.document import crop_summary, make_crop
    from faceeditor.engine.engine import Engine, EngineError
    from faceeditor.engine.requests import ClassifyAttributesRequest, ClassifyExpressionRequest

    pack = pack_for_task("classify_attributes", args.pack, args.dirs)
    photo = read_image(args.image)
    engine = Engine([pack.path], provider=args.provider)
    attr_model = engine.models("classify_attributes")[0]
    expr_models = engine.models("classify_expression")
    landmarks, decision = crop_choice(photo, args.image, args.mode, "read", needs_face=True)
    mode = decision.mode

    summary: dict = {"image": str(args.image), "size": [int(photo.shape[1]), int(photo.shape[0])],
                     "mode": mode, "pack": pack.name}
    try:
        crop = make_crop(photo, landmarks, mode, attr_model.resolution)
        summary["crop"] = crop_summary(crop, decision)
        result = engine.run(ClassifyAttributesRequest(images=[crop.image], model=attr_model.key))
        summary["attributes"] = {name: round(float(p), 4) for name, p in zip(result.names, result.probs[0],
                                                                               strict=True)}
        summary["present"] = [name for name, p in summary["attributes"].items() if p > 0.5]
        summary["attributes_trained_on"] = attr_model.entry.data_domain
        if expr_models:
            model = expr_models[0]
            crop = make_crop(photo, landmarks, mode, model.resolution)
            result = engine.run(ClassifyExpressionRequest(images=[crop.image], model=model.key))
            summary["expression"] = {name: round(float(p), 4) for name, p in zip(result.names, result.probs[0],
                                                                                   strict=True)}
            summary["expression_top"] = max(summary["expression"], key=summary["expression"].get)
    except EngineError as exc:
        raise CLIError(f"the evaluator failed: {exc}") from None

    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_text(summary)
    domain = summary["attributes_trained_on"]
    if domain and domain not in ("none", "celeba", "celeba_hq", "celebamask_hq") and mode == "face":
        print(f"note: the evaluator was trained on {domain}; on photos its reading is approximate",
              file=sys.stderr)
    return 0


def _print_text(s: dict) -> None:
    print(f"{s['image']} ({s['mode']}; pack {s['pack']}): attributes, probability the face shows each")
    for name, p in s["attributes"].items():
        print(f"  {name:<22}{p:>6.2f}  {'#' * round(20 * p)}")
    print(f"present (p > 0.5): {', '.join(s['present']) or '(none)'}")
    print(f"crop: {s['crop']['reason']}")
    if "expression" in s:
        top = s["expression_top"]
        print(f"expression: {top} ({s['expression'][top]:.2f}); "
              + ", ".join(f"{n} {p:.2f}" for n, p in s["expression"].items() if n != top))
