"""faceeditor-cli edit: change a face's attributes with a pack's attribute editor.

    faceeditor-cli edit photo.jpg --pack synthfaces-demo --set Bangs=1 --set Young=-0.5 -o out.png

Each ``--set NAME=VALUE`` puts VALUE into the editor's difference vector y_diff (0 keeps the attribute,
+1 adds it, -1 removes it; values in between and up to ±MAX_INTENSITY are allowed). Photos are edited
through the face's CelebA-aligned crop at the app's working side (the editor reads it resized to its own),
which is then pasted back (feathered) into the full photo; pictures that already frame the face like an
aligned crop are edited whole at their own size (faceeditor.core.crop_policy decides, as in the app).
`--keep-detail` adds the editor's change to the picture instead of taking its output.

With a face parser in the pack the written image keeps every pixel outside the asked attributes' regions
(faceeditor.core.attribute_regions) as it was: generators repaint the whole crop, and ours blur what they
were not asked to change. `--no-keep-outside` writes the editor's own output; `--report` measures both.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import pack_for_task, read_image
from faceeditor.commands._settings import check_attribute_names, parse_settings

if TYPE_CHECKING:
    from faceeditor.core.crop_policy import CropDecision, FaceSearch

HELP = "edit a face's attributes (e.g. --set Bangs=1 --set Young=-0.5) and write the edited image"

# |VALUE| above this is refused: editors are trained on ±1 and turn to noise far beyond it.
MAX_INTENSITY = 3.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the picture to edit (photo of any size, or a face crop)")
    parser.add_argument("-o", "--out", required=True, help="edited image (.png, .jpg, .webp, ...)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                        help="attribute intensity, e.g. Bangs=1 or Young=-0.5 (0 keeps it; "
                             f"|VALUE| <= {MAX_INTENSITY:g}); repeatable, at least one")
    parser.add_argument("--pack", metavar="NAME", help="use this pack (default: the first with an editor)")
    parser.add_argument("--dir", dest="dirs", action="append", default=[], metavar="PATH",
                        help="also search this folder for packs; repeatable")
    parser.add_argument("--model", metavar="NAME", help="the pack's editor to use (default: its first)")
    parser.add_argument("--mode", choices=("auto", "face", "whole"), default="auto",
                        help="edit the aligned face crop or the whole image (auto: whole for a picture "
                             "that already frames its face like an aligned crop, else the detected face; a "
                             "picture without a face is refused; faceeditor.core.crop_policy)")
    parser.add_argument("--whole", "--no-align", dest="no_align", action="store_true",
                        help="edit the whole picture as a face crop (same as --mode whole), e.g. a cropped "
                             "face the detector misses")
    parser.add_argument("--face", type=int, metavar="N",
                        help="edit the N-th detected face (0 = the largest confident one; see "
                             "`faceeditor-cli detect`)")
    parser.add_argument("--mask-out", metavar="PNG",
                        help="also write the editor's predicted target mask in class colours (editors "
                             "with a semantic branch, e.g. SeCGAN's G_seg)")
    parser.add_argument("--keep-outside", action=argparse.BooleanOptionalAction, default=None,
                        help="keep every pixel outside the edited attributes' regions as it was (found by "
                             "the pack's face parser in the input and the output; default: on when the "
                             "pack has a parser). --no-keep-outside writes the editor's own output")
    parser.add_argument("--keep-detail", action=argparse.BooleanOptionalAction, default=False,
                        help="add the editor's change to the picture instead of taking its output: keeps "
                             "the picture's detail and sharpness (our 64² editors blur), but shape edits "
                             "(hair removed, glasses added) come out fainter. Default: off")
    parser.add_argument("--report", action="store_true",
                        help="judge the edit with the pack's attribute evaluator (probabilities before "
                             "and after) and parser (PSNR outside the edited attributes' regions)")
    parser.add_argument("--json", action="store_true", help="print the summary (and report) as JSON")
    parser.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")


# --- argument checks (before anything is loaded) -------------------------------------------------

def parse_sets(items: list[str]) -> dict[str, float]:
    """``["Bangs=1", "Young=-0.5"]`` -> {"Bangs": 1.0, "Young": -0.5}; at least one, within ±MAX_INTENSITY."""
    if not items:
        raise CLIError("nothing to edit: give at least one --set NAME=VALUE (e.g. --set Bangs=1)")
    return parse_settings(items, max_abs=MAX_INTENSITY)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_outputs(image: str, out: str, mask_out: str | None) -> None:
    from faceeditor.core.image_io import SAVE_FORMATS

    src = Path(image)
    if Path(out).suffix.lower() not in SAVE_FORMATS:
        raise CLIError(f"-o {out}: unknown image extension {Path(out).suffix!r} "
                       f"(use one of {', '.join(sorted(SAVE_FORMATS))})")
    if mask_out is not None and Path(mask_out).suffix.lower() != ".png":
        raise CLIError(f"--mask-out {mask_out}: masks are written as .png (lossless)")
    for flag, path in (("-o", out), ("--mask-out", mask_out)):
        if path is None:
            continue
        p = Path(path)
        if not p.resolve().parent.is_dir():
            raise CLIError(f"{flag} {path}: folder {p.resolve().parent} does not exist")
        if p.resolve() == src.resolve() or _same_file(p, src):
            raise CLIError(f"{flag} {path} is the input image; write the result to another file")
    if mask_out is not None and Path(mask_out).resolve() == Path(out).resolve():
        raise CLIError(f"--mask-out {mask_out} is the same file as -o")


# --- crop ---------------------------------------------------------------------------------------

def choose_crop(photo: np.ndarray, mode: str, face_index: int | None, image_name: str
                ) -> tuple[FaceSearch, CropDecision]:
    """(face search, crop decision) for the request: faceeditor.core.crop_policy's, as the app takes it.

    An editor needs a face: a picture without a usable one (none found, or too small) is refused unless
    the user asks for the whole picture (--whole). ``--face N`` always means the detected face N.
    """
    from faceeditor.core import crop_policy

    try:
        search, decision = crop_policy.choose_crop(photo, mode, index=face_index)
    except crop_policy.CropPolicyError as exc:
        raise CLIError(f"--{exc}" if face_index is not None else str(exc)) from None
    if mode != "whole" and search.unavailable is not None:
        raise CLIError(f"face detection is unavailable ({search.unavailable}); use --no-align to edit the "
                       "whole image")
    if decision.face_missing and mode != "whole":
        h, w = photo.shape[:2]
        what = "no face found" if search.landmarks is None else decision.reason.split(";")[0]
        raise CLIError(f"{image_name}: {what} in the {w}x{h} image; use --whole to edit the whole "
                       "picture as a face crop (e.g. an already cropped face)")
    return search, decision


# --- run ------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    from faceeditor.core.document import (
        MAX_WORK_RESOLUTION,
        Placement,
        crop_summary,
        make_crop,
        work_resolution,
    )
    from faceeditor.core.face_align import mask_to_photo
    from faceeditor.core.image_io import ImageSaveError, save_image
    from faceeditor.core.labels import to_parse_classes
    from faceeditor.core.palette import colorize
    from faceeditor.engine.engine import Engine, EngineError, RequestError
    from faceeditor.engine.requests import EditAttributesRequest, ParseRequest

    values = parse_sets(args.sets)
    if args.face is not None and args.face < 0:
        raise CLIError(f"--face must be 0 or more, got {args.face}")
    mode = "whole" if args.no_align else args.mode
    if args.face is not None and mode == "whole":
        raise CLIError("--face picks a detected face; it cannot be used with --no-align / --mode whole")
    check_outputs(args.image, args.out, args.mask_out)
    pack = pack_for_task("edit_attributes", args.pack, args.dirs)
    photo = read_image(args.image)

    engine = Engine([pack.path], provider=args.provider)
    editors = engine.models("edit_attributes")
    if args.model is not None:
        editor = next((m for m in editors if m.entry.name == args.model), None)
        if editor is None:
            raise CLIError(f"--model {args.model}: pack {pack.name!r} has no editor of that name "
                           f"(its editors: {', '.join(m.entry.name for m in editors)})")
    else:
        with_masks = [m for m in editors if m.has_output("mask_probs")]
        editor = with_masks[0] if args.mask_out and with_masks else editors[0]
    check_attribute_names(values, list(editor.entry.attributes), f"--set ({editor.key})")
    if args.mask_out and not editor.has_output("mask_probs"):
        raise CLIError(f"--mask-out: {editor.key} predicts no mask (it has no 'mask_probs' output; "
                       "SeCGAN editors with a semantic branch do)")
    parsers = engine.models("parse")
    classifiers = engine.models("classify_attributes")
    if editor.input("mask") is not None and not parsers:
        raise CLIError(f"{editor.key} reads a semantic mask, but pack {pack.name!r} has no parser to make one")
    keep = bool(parsers) if args.keep_outside is None else args.keep_outside
    if keep and not parsers:
        raise CLIError(f"--keep-outside: pack {pack.name!r} has no face parser to find the edited regions "
                       "(use --no-keep-outside, or a pack with a parse model)")

    search, decision = choose_crop(photo, mode, args.face, str(args.image))
    chosen, landmarks = decision.mode, search.landmarks
    face_index = search.index if chosen == "face" else None
    notes = [decision.reason, *search.notes]
    res = editor.resolution
    # Not cut at the editor's side, so that the pixels an edit keeps keep their detail: a picture edited
    # whole at its own side (unresampled when square), a face at the app's working side.
    model_sides = [res, *(p.resolution for p in parsers)]
    if chosen == "whole":
        crop_res = min(MAX_WORK_RESOLUTION, max(*model_sides, *photo.shape[:2]))
    else:
        crop_res = work_resolution(model_sides)
    crop = make_crop(photo, landmarks, chosen, crop_res)

    def parse(images: list[np.ndarray]) -> list[np.ndarray]:
        return engine.run(ParseRequest(images=images, model=parsers[0].key)).masks

    try:
        masks = parse([crop.image]) if editor.input("mask") is not None else None
        result = engine.run(EditAttributesRequest(images=[crop.image], y_diff=values, masks=masks,
                                                  model=editor.key, keep_outside=keep,
                                                  parser=parsers[0].key if keep else None,
                                                  keep_detail=args.keep_detail))
    except (EngineError, RequestError) as exc:
        raise CLIError(f"the editor failed: {exc}") from None
    edited_crop = result.images[0]
    edited = Placement(photo, crop, chosen).paste(edited_crop)

    summary: dict = {
        "image": str(args.image),
        "out": str(args.out),
        "size": [int(photo.shape[1]), int(photo.shape[0])],
        "mode": chosen,
        "crop": crop_summary(crop, decision),
        "faces_found": search.faces_found,
        "face": face_index,
        "pack": pack.name,
        "model": editor.key,
        "trained_on": editor.entry.data_domain or None,
        "resolution": int(res),
        "crop_resolution": int(crop_res),
        "set": values,
        "provider": result.provider,
        "inference_ms": round(result.inference_ms, 1),
        "mask_out": None,
        "keep_outside": keep,
        "keep_detail": bool(args.keep_detail),
    }
    if args.report:
        try:
            kept = None if result.raw_images is None else (result.raw_images[0], result.regions[0])
            summary["report"] = _report(engine, values, crop.image, edited_crop, classifiers, parsers, parse, kept)
        except (EngineError, RequestError) as exc:
            raise CLIError(f"the report's models failed: {exc}") from None

    try:
        save_image(args.out, edited)
        if args.mask_out:
            crop_mask = to_parse_classes(result.masks[0], result.mask_classes)
            save_image(args.mask_out, colorize(mask_to_photo(crop_mask, crop, fill=0)))
            summary["mask_out"] = str(args.mask_out)
    except ImageSaveError as exc:
        raise CLIError(str(exc)) from None

    domain = editor.entry.data_domain
    if domain and domain not in ("none", "celeba", "celeba_hq", "celebamask_hq") and chosen == "face":
        notes.append(f"this editor was trained on {domain}; on photos its edits are approximate")
    summary["notes"] = notes
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_text(summary)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _report(engine, values: dict[str, float], before: np.ndarray, after: np.ndarray, classifiers, parsers,
            parse, kept: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Evaluator probabilities before/after per asked attribute; PSNR outside the attributes' regions.
    Both are measured on the aligned crop (input crop vs the edited one), at the crop's resolution.
    `kept`: (the editor's own output, the region the engine kept it to) when the written image kept the
    input outside the regions; the raw output's PSNR outside that region is reported too, so the editor
    itself is judged as well as the blend."""
    from faceeditor.core.attribute_regions import ATTRIBUTE_REGIONS, edit_region, masked_psnr
    from faceeditor.engine.requests import ClassifyAttributesRequest

    report: dict = {"evaluator": None, "attributes": None, "parser": None}
    if classifiers:
        clf = classifiers[0]
        res = engine.run(ClassifyAttributesRequest(images=[before, after], model=clf.key))
        names = list(res.names)
        report["evaluator"] = clf.key
        report["attributes"] = {
            name: {"set": value,
                   "before": round(float(res.probs[0, names.index(name)]), 4) if name in names else None,
                   "after": round(float(res.probs[1, names.index(name)]), 4) if name in names else None}
            for name, value in values.items()}
    if parsers:
        regional = [n for n in values if n in ATTRIBUTE_REGIONS]
        mask_before, mask_after = parse([before, after])
        region = edit_region(mask_before, mask_after, regional)
        outside = ~region
        report["parser"] = parsers[0].key
        report["regions_of"] = regional
        report["outside_fraction"] = round(float(outside.mean()), 4)
        report["psnr_outside_db"] = _db(masked_psnr(before, after, outside))
        report["psnr_crop_db"] = _db(masked_psnr(before, after, np.ones(outside.shape, bool)))
        if kept is not None:
            raw, region = kept
            raw_outside = ~region
            report["psnr_outside_raw_db"] = _db(masked_psnr(before, raw, raw_outside))
            report["outside_fraction_raw"] = round(float(raw_outside.mean()), 4)
    return report


def _db(value: float) -> float | str | None:
    """JSON-safe dB: "inf" for identical pixels, None when no pixel was compared."""
    if math.isnan(value):
        return None
    return "inf" if math.isinf(value) else round(value, 2)


def _print_text(s: dict) -> None:
    where = (f"face {s['face']} of {s['faces_found']}, aligned" if s["mode"] == "face"
             else "whole image")
    print(f"edited {s['image']} -> {s['out']} ({where}, a {s['crop_resolution']} px crop edited at "
          f"{s['resolution']} px; {s['model']}, "
          f"{s['provider'] or 'cpu'}, {s['inference_ms']:.0f} ms)")
    if s["mask_out"]:
        print(f"predicted mask -> {s['mask_out']}")
    report = s.get("report")
    if report is None:
        return
    if report["attributes"] is not None:
        print(f"evaluator {report['evaluator']}:")
        print(f"  {'attribute':<22}{'set':>7}{'p before':>10}{'p after':>10}")
        for name, row in report["attributes"].items():
            b = "n/a" if row["before"] is None else f"{row['before']:.3f}"
            a = "n/a" if row["after"] is None else f"{row['after']:.3f}"
            print(f"  {name:<22}{row['set']:>+7.2f}{b:>10}{a:>10}")
    else:
        print("evaluator: the pack has no classify_attributes model")
    if report["parser"] is not None:
        outside = report["psnr_outside_db"]
        outside_text = "n/a (no pixel outside)" if outside is None else (
            "inf (identical)" if outside == "inf" else f"{outside:.2f} dB")
        crop = report["psnr_crop_db"]
        crop_text = "inf" if crop == "inf" else f"{crop:.2f} dB"
        print(f"PSNR outside the regions of {', '.join(report['regions_of']) or '(none)'}: {outside_text} "
              f"over {100 * report['outside_fraction']:.0f}% of the crop (whole crop: {crop_text}; "
              f"masks by {report['parser']})")
        if "psnr_outside_raw_db" in report:
            raw_db = report["psnr_outside_raw_db"]
            raw_text = "n/a" if raw_db is None else ("inf" if raw_db == "inf" else f"{raw_db:.2f} dB")
            what = "the picture plus the editor's change" if s["keep_detail"] else "the editor's own output"
            print(f"  {what} before keeping the rest: {raw_text} outside the regions "
                  f"(over {100 * report['outside_fraction_raw']:.0f}% of the crop)")
    else:
        print("PSNR outside the edited regions: the pack has no parse model")
