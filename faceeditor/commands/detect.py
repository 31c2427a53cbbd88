"""faceeditor-cli detect: find faces and their 68 landmarks in a photo, print them as JSON.

Exit status: 0 when at least one face was found; 1 when the image was read but holds no face (the JSON
still goes to stdout, with an empty "faces" list, and a one-line message to stderr); 2 for an unreadable
image or a bad argument.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import read_image

HELP = "detect faces and 68 landmarks in a photo and print them as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="photo to read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)")
    parser.add_argument("--upsample", type=int, default=1, metavar="N",
                        help="enlarge the image N times (x2 each) before detecting, for small faces "
                             "(0-4, default 1)")
    parser.add_argument("--min-score", type=float, default=None, metavar="S",
                        help="drop detections whose detector score is below S (default: keep all)")
    parser.add_argument("--crop-out", type=Path, default=None, metavar="DIR",
                        help="also write each face's CelebA-aligned crop as a PNG into DIR")
    parser.add_argument("--resolution", type=int, default=128, metavar="PX",
                        help="side of the aligned crops written by --crop-out (default 128)")
    parser.add_argument("--descriptors", action="store_true",
                        help="include each face's 128-D dlib identity descriptor")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2; 0 for one line)")


def run(args: argparse.Namespace) -> int:
    from faceeditor.core import face_detect
    from faceeditor.core.image_io import save_image

    if not 0 <= args.upsample <= 4:
        raise CLIError(f"--upsample must be between 0 and 4, got {args.upsample}")
    if not 8 <= args.resolution <= 4096:
        raise CLIError(f"--resolution must be between 8 and 4096, got {args.resolution}")
    if args.crop_out is not None and args.crop_out.exists() and not args.crop_out.is_dir():
        raise CLIError(f"--crop-out {str(args.crop_out)!r} exists and is not a folder")
    image = read_image(args.image)
    try:
        faces = face_detect.detect_faces(image, upsample=args.upsample, min_score=args.min_score)
    except face_detect.FaceModelsUnavailable as exc:
        raise CLIError(str(exc)) from None

    height, width = image.shape[:2]
    report: dict = {"image": str(args.image), "width": width, "height": height,
                    "upsample": args.upsample, "faces": []}
    if faces and args.crop_out is not None:
        try:
            args.crop_out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CLIError(f"cannot create --crop-out folder {str(args.crop_out)!r}: {exc}") from None
    for index, face in enumerate(faces):
        entry = face.to_dict()
        if args.descriptors:
            entry["descriptor"] = [round(float(v), 6) for v in face_detect.face_descriptor(image, face)]
        if args.crop_out is not None:
            from faceeditor.core.face_align import align_face

            aligned = align_face(image, face.landmarks, args.resolution)
            path = args.crop_out / f"{Path(args.image).stem}_face{index}_{args.resolution}.png"
            try:
                save_image(path, aligned.image)
            except (OSError, ValueError) as exc:
                raise CLIError(str(exc)) from None
            entry["crop"] = {"path": str(path), "resolution": args.resolution,
                             "photo_to_crop": [[round(float(v), 6) for v in row] for row in aligned.matrix]}
        report["faces"].append(entry)

    print(json.dumps(report, indent=args.indent or None))
    if not faces:
        print(f"faceeditor-cli detect: no face found in {args.image} (upsample={args.upsample}); "
              "try --upsample 2 for small faces", file=sys.stderr)
        return 1
    return 0
