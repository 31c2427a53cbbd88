"""faceeditor-cli parse: a 19-class face-parsing mask for an image, with the installed parser."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import add_mode_argument, crop_choice, pack_for_task, read_image

HELP = "write the face-parsing mask of an image (index PNG; optional colour PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="a picture (SynthFaces sample or photo)")
    parser.add_argument("-o", "--out", required=True, help="index mask PNG (pixel = class index, with palette)")
    parser.add_argument("--color", metavar="PNG", help="also write the mask in the class colours")
    parser.add_argument("--pack", metavar="NAME", help="use this pack (default: the first with a parser)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    add_mode_argument(parser, "parse")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.document import crop_summary, make_crop
    from faceeditor.core.face_align import mask_to_photo
    from faceeditor.core.image_io import ImageSaveError, save_image
    from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES
    from faceeditor.core.palette import PALETTE, colorize
    from faceeditor.engine.engine import Engine, EngineError
    from faceeditor.engine.requests import ParseRequest

    for path in filter(None, (args.out, args.color)):
        if Path(path).suffix.lower() != ".png":
            raise CLIError(f"{path}: masks are written as .png (lossless)")
        if not Path(path).resolve().parent.is_dir():
            raise CLIError(f"{path}: folder {Path(path).resolve().parent} does not exist")
    pack = pack_for_task("parse", args.pack, args.dirs)
    photo = read_image(args.image)

    engine = Engine([pack.path], provider=args.provider)
    model = engine.models("parse")[0]
    landmarks, decision = crop_choice(photo, args.image, args.mode, "parse")
    mode = decision.mode
    crop = make_crop(photo, landmarks, mode, model.resolution)
    try:
        result = engine.run(ParseRequest(images=[crop.image]))
    except EngineError as exc:
        raise CLIError(f"the parser failed: {exc}") from None
    mask = mask_to_photo(result.masks[0], crop, fill=0)
    try:
        save_image(args.out, mask, palette=[tuple(c) for c in PALETTE])
        if args.color:
            save_image(args.color, colorize(mask))
    except ImageSaveError as exc:
        raise CLIError(str(exc)) from None

    counts = np.bincount(mask.ravel(), minlength=NUM_CLASSES)
    summary = {
        "image": str(args.image),
        "size": [int(photo.shape[1]), int(photo.shape[0])],
        "mode": mode,
        "crop": crop_summary(crop, decision),
        "pack": pack.name,
        "trained_on": model.entry.data_domain,
        "classes": {PARSE_CLASSES[i]: round(float(c) / mask.size, 4) for i, c in enumerate(counts) if c},
        "out": str(args.out),
    }
    print(json.dumps(summary, indent=2))
    if model.entry.data_domain and model.entry.data_domain != "celebamask_hq" and mode == "face":
        print(f"note: this parser was trained on {model.entry.data_domain}; on photos its mask is approximate",
              flush=True)
    return 0
