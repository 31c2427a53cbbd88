"""faceeditor-cli flips: every attribute flip of a face from one pass of a pack's SG-GAN, as a contact sheet.

    faceeditor-cli flips photo.jpg -o sheet.png --pack synthfaces-demo [--both]

A `flip_attributes` model (SG-GAN) re-renders the face with each of its attributes absent and present in
one forward pass, and reads the face itself (attr_probs = P(present)). The flip of an attribute is the
value the face does not have: "+Eyeglasses" adds glasses to a face without, "-Male" removes "male" from a
face read as male. The sheet shows the input, then per attribute the flip (label and the model's
P(present)); `--both` adds the other head beside it (the face re-rendered with the value it has). Photos
go the way `edit` takes them: the face is detected and aligned (faceeditor.core.crop_policy), each head is
pasted back into the photo by the same rule (faceeditor.core.document.Placement); a picture that already
frames its face like an aligned crop is used whole.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import pack_for_task, read_image
from faceeditor.commands.edit import check_outputs, choose_crop

HELP = "every attribute flip of a face in one pass (SG-GAN), written as a labelled contact sheet"

TASK = "flip_attributes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the picture (photo of any size, or a face crop)")
    parser.add_argument("-o", "--out", required=True, help="the contact sheet (.png, .jpg, .webp, ...)")
    parser.add_argument("--pack", metavar="NAME|DIR",
                        help="use this pack, by name or folder (default: the first with a flip_attributes model)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    parser.add_argument("--model", metavar="NAME", help="the pack's flip_attributes model (default: its first)")
    parser.add_argument("--both", action="store_true",
                        help="show both heads per attribute: the flip and the face re-rendered as it is")
    parser.add_argument("--tile", type=int, default=160, metavar="PX",
                        help="the longer side of each picture on the sheet (64..1024; default 160)")
    parser.add_argument("--columns", type=int, default=0, metavar="N",
                        help="attributes per row (default: about square)")
    parser.add_argument("--mode", choices=("auto", "face", "whole"), default="auto",
                        help="use the aligned face crop or the whole image (as `edit`)")
    parser.add_argument("--whole", "--no-align", dest="no_align", action="store_true",
                        help="use the whole picture as a face crop (same as --mode whole)")
    parser.add_argument("--face", type=int, metavar="N", help="the N-th detected face (0 = the largest)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.document import Placement, crop_summary, make_crop, work_resolution
    from faceeditor.core.image_io import ImageSaveError, save_image
    from faceeditor.engine.engine import Engine, EngineError, RequestError
    from faceeditor.engine.requests import FlipAttributesRequest

    if not 64 <= args.tile <= 1024:
        raise CLIError(f"--tile must be between 64 and 1024, got {args.tile}")
    if args.columns < 0:
        raise CLIError(f"--columns must be 0 (automatic) or more, got {args.columns}")
    if args.face is not None and args.face < 0:
        raise CLIError(f"--face must be 0 or more, got {args.face}")
    mode = "whole" if args.no_align else args.mode
    if args.face is not None and mode == "whole":
        raise CLIError("--face picks a detected face; it cannot be used with --no-align / --mode whole")
    check_outputs(args.image, args.out, None)
    pack = pack_for_task(TASK, args.pack, args.dirs)
    photo = read_image(args.image)

    engine = Engine([pack.path], provider=args.provider)
    models = engine.models(TASK)
    model = models[0]
    if args.model is not None:
        model = next((m for m in models if m.entry.name == args.model), None)
        if model is None:
            raise CLIError(f"--model {args.model}: pack {pack.name!r} has no {TASK} model of that name "
                           f"(its {TASK} models: {', '.join(m.entry.name for m in models)})")

    search, decision = choose_crop(photo, mode, args.face, str(args.image))
    chosen = decision.mode
    res = model.resolution
    crop_res = work_resolution([res]) if chosen == "face" else max(res, *photo.shape[:2])
    crop = make_crop(photo, search.landmarks, chosen, crop_res)
    try:
        result = engine.all_flips(FlipAttributesRequest([crop.image], placements=[Placement(photo, crop, chosen)],
                                                        paste="both" if args.both else "flips", model=model.key))
    except (EngineError, RequestError) as exc:
        raise CLIError(f"the flip model failed: {exc}") from None
    sheet = result.sheet
    image = contact_sheet(photo, sheet, tile=args.tile, both=args.both, columns=args.columns)
    try:
        save_image(args.out, image)
    except ImageSaveError as exc:
        raise CLIError(str(exc)) from None

    summary = {
        "image": str(args.image), "out": str(args.out), "mode": chosen, "crop": crop_summary(crop, decision),
        "faces_found": search.faces_found, "face": search.index if chosen == "face" else None,
        "pack": pack.name, "model": model.key, "trained_on": model.entry.data_domain or None,
        "resolution": int(res), "crop_resolution": int(crop_res), "provider": result.provider,
        "inference_ms": round(result.inference_ms, 1), "forward_passes": 1, "both": bool(args.both),
        "attributes": {name: {"p_present": round(float(p), 4), "flip": sheet.label(name),
                              "flip_value": sheet.flip_value(name)}
                       for name, p in zip(sheet.attributes, sheet.probs, strict=True)},
        "notes": [decision.reason, *search.notes],
    }
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    where = f"face {summary['face']} of {summary['faces_found']}, aligned" if chosen == "face" else "whole image"
    print(f"{args.image} -> {args.out}: {len(sheet.attributes)} flips from one pass ({where}; {model.key}, "
          f"{result.provider or 'cpu'}, {result.inference_ms:.0f} ms)")
    for name, p in zip(sheet.attributes, sheet.probs, strict=True):
        print(f"  {sheet.label(name):<24} P(present) {float(p):.3f}")
    for note in summary["notes"]:
        print(f"note: {note}", file=sys.stderr)
    return 0


# --- the sheet ------------------------------------------------------------------------------------

def _ascii(text: str) -> str:
    """Pillow's default font has no U+2212 minus: draw an ASCII hyphen."""
    return text.replace("\u2212", "-")


def contact_sheet(photo: np.ndarray, sheet, *, tile: int = 160, both: bool = False, columns: int = 0) -> np.ndarray:
    """The input, then per attribute its flip (and with `both` the other head), each labelled under it
    ("+Eyeglasses", "-Male" and the model's P(present)). Uses the pasted photos when the sheet has them,
    the crops otherwise. uint8 (H, W, 3)."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = photo.shape[:2]
    scale = tile / max(h, w)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    font = ImageFont.load_default(size=max(10, tile // 12))
    line = font.getbbox("Ag")[3] + 4
    pad = 6
    cell_w, cell_h = tw + 2 * pad, th + 2 * line + 2 * pad

    def picture(img: np.ndarray) -> Image.Image:
        return Image.fromarray(np.ascontiguousarray(img)).resize((tw, th), Image.Resampling.LANCZOS)

    # slots: the input, then one per attribute; a slot is one cell wide, two with `both` (flip | other)
    slots: list[list[tuple[Image.Image, str, str]]] = [[(picture(photo), "input", "")]]
    for name, p in zip(sheet.attributes, sheet.probs, strict=True):
        flip = sheet.flip_photo(name)
        slot = [(picture(flip if flip is not None else sheet.flip(name)), _ascii(sheet.label(name)),
                 f"P={float(p):.2f}")]
        if both:
            other = sheet.other_photo(name)
            slot.append((picture(other if other is not None else sheet.other(name)),
                         _ascii(sheet.label(name, 1 - sheet.flip_value(name))), "as it is"))
        slots.append(slot)
    width = 2 if both else 1
    per_row = columns or max(2, math.ceil(math.sqrt(len(slots) / width)))
    rows = math.ceil(len(slots) / per_row)
    canvas = Image.new("RGB", (per_row * width * cell_w, rows * cell_h), (32, 32, 32))
    draw = ImageDraw.Draw(canvas)
    for i, slot in enumerate(slots):
        for j, (img, label, note) in enumerate(slot):
            x = ((i % per_row) * width + j) * cell_w + pad
            y = (i // per_row) * cell_h + pad
            canvas.paste(img, (x, y))
            draw.text((x, y + th + 2), label, fill=(240, 240, 240), font=font)
            if note:
                draw.text((x, y + th + 2 + line), note, fill=(170, 170, 170), font=font)
    return np.asarray(canvas)
