"""faceeditor-cli synth: a face drawn by an SCGAN generator G(z, c, s) from a mask, a seed and attributes.

The mask s is a 19-class index PNG (or a colour PNG in the project palette), or is rasterised from 68
landmarks (``--landmarks``): alone, they give a whole portrait, a head template fitted to them with the face
parts on top (faceeditor.core.head_layout; ``--face-only``: the face parts alone on background); with a mask
too, they redraw the face parts over the mask's hair, background and cloth. The seed picks the latent z
(``numpy.random.default_rng(seed).standard_normal(nz)``, the same z as the app and ``interpolate``),
``--set`` the attributes c; unset attributes the mask decides (a bald head, eyeglasses, an open mouth, bangs)
follow the mask, and one line on stderr says which ("derived from the mask: Bald=1, Eyeglasses=0"). Sizes and
defaults: see faceeditor/commands/_synthesis.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._synthesis import (
    add_attribute_arguments,
    add_model_arguments,
    open_synth_model,
    parse_settings,
    read_landmarks,
    read_mask,
)

HELP = "draw a face from a mask (or 68 landmarks), a seed and attributes with an SCGAN model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mask", nargs="?", help="19-class mask: index PNG (pixel = class) or colour PNG in "
                                                "the project palette; square, resized to the model's size")
    parser.add_argument("--landmarks", metavar="JSON", help="68 landmarks ({\"landmarks\": [[x, y], ...], "
                        "optional \"size\": [W, H]}) rasterised into the face parts of the mask; without "
                        "a MASK, into a whole portrait (hair, ears, neck, cloth from a head template fitted "
                        "to them)")
    parser.add_argument("--face-only", action="store_true",
                        help="with --landmarks and no MASK: only the face parts the landmarks outline, on "
                             "background (no head template)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    add_attribute_arguments(parser)
    parser.add_argument("-o", "--out", required=True, help="output image (.png, .jpg, ...), at the model's "
                                                           "resolution")
    parser.add_argument("--save-mask", metavar="PNG", help="also write the mask the model was given (index PNG)")
    add_model_arguments(parser)


def _check_output(path: str, masks_only: bool = False) -> None:
    from faceeditor.core.image_io import SAVE_FORMATS

    p = Path(path)
    if masks_only and p.suffix.lower() != ".png":
        raise CLIError(f"{path}: masks are written as .png (lossless)")
    if p.suffix.lower() not in SAVE_FORMATS:
        raise CLIError(f"{path}: unknown image type {p.suffix!r} (use one of {', '.join(sorted(SAVE_FORMATS))})")
    if not p.resolve().parent.is_dir():
        raise CLIError(f"{path}: folder {p.resolve().parent} does not exist")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.face_geometry import LandmarkError
    from faceeditor.core.head_layout import portrait_layout
    from faceeditor.core.image_io import ImageSaveError, save_image
    from faceeditor.core.labels import NUM_CLASSES, PARSE_CLASSES
    from faceeditor.core.landmark_mask import landmarks_to_mask
    from faceeditor.core.palette import PALETTE
    from faceeditor.engine.engine import EngineError
    from faceeditor.engine.processing import RequestError
    from faceeditor.engine.requests import SynthesizeRequest

    if args.mask is None and args.landmarks is None:
        raise CLIError("give a MASK (PNG) or --landmarks FILE.json (or both)")
    if args.face_only and (args.landmarks is None or args.mask is not None):
        raise CLIError("--face-only goes with --landmarks and no MASK (with a MASK the landmarks redraw only "
                       "the face parts anyway)")
    if args.seed < 0:
        raise CLIError(f"--seed must be a non-negative integer, got {args.seed}")
    _check_output(args.out)
    if args.save_mask:
        _check_output(args.save_mask, masks_only=True)

    synth = open_synth_model(args.pack, args.dirs, args.provider)
    settings = parse_settings(args.settings, synth.attributes)
    res = synth.resolution
    notes: list[str] = []
    mask, side = None, None
    if args.mask is not None:
        mask, side = read_mask(args.mask, res, notes)
    if args.landmarks is not None:
        points = read_landmarks(args.landmarks, res, frame=side)
        try:
            if mask is None and not args.face_only:
                mask = portrait_layout(points, res)
            else:
                mask = landmarks_to_mask(points, res, base=mask)
        except (LandmarkError, ValueError) as exc:
            raise CLIError(f"landmarks {args.landmarks!r}: {exc}") from None

    resolved = synth.resolve(settings, mask)
    attributes = resolved.values
    try:
        result = synth.engine.run(SynthesizeRequest(masks=[mask], attrs=attributes, seeds=int(args.seed)))
    except RequestError as exc:
        raise CLIError(f"the request was refused: {exc}") from None
    except EngineError as exc:
        raise CLIError(f"synthesis failed: {exc}") from None
    try:
        save_image(args.out, result.images[0])
        if args.save_mask:
            save_image(args.save_mask, mask, palette=[tuple(c) for c in PALETTE])
    except ImageSaveError as exc:
        raise CLIError(str(exc)) from None

    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if resolved.summary():
        print(resolved.summary(), file=sys.stderr)
    counts = [int(c) for c in np.bincount(mask.ravel(), minlength=NUM_CLASSES)]
    summary = {
        "mask": args.mask,
        "landmarks": args.landmarks,
        "seed": int(args.seed),
        "attributes": attributes,
        "attribute_sources": resolved.sources,
        "pack": synth.pack_name,
        "model": synth.model.entry.name,
        "trained_on": synth.model.entry.data_domain,
        "size": [res, res],
        "classes": {PARSE_CLASSES[i]: round(c / mask.size, 4) for i, c in enumerate(counts) if c},
        "out": str(args.out),
    }
    print(json.dumps(summary, indent=2))
    return 0
