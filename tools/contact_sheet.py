"""A contact sheet of a pack's attribute editor: look at the outputs before believing any figure (DESIGN.md
§6). Rows are FACES, a fixed list of 8 held-out faces: the first eight samples of the dataset's test split
(positions 0-7 of the split; each input cell is labelled with its dataset index). Columns are the input
and its 13 attribute flips (SeCGAN's protocol), each labelled with the attribute's name; for a
`flip_attributes` model (SG-GAN, `--model sggan`) the flips of its own attributes, all from one pass. With
`--with-truth` each face gets a second row: SynthFaces' re-render of the same face with that attribute
flipped, the answer a perfect editor gives.

For an `edit_expression` model (the hierarchical expression GAN, `--model hiergan`) the data is a set in
RaFD's layout (SynthFaces written with `--format rafd`): rows are the first 8 test identities in neutral,
columns the input and the 7 other expressions at intensity 1, through the engine as the app runs it; with
`--with-truth` the second row is the same identity photographed in that expression.

The editor runs through trainer/pack_editor.py's OnnxEditor at the pack's resolution (so an editor that
reads parse masks is fed the pack's parser); cells are enlarged `--scale` times (nearest; default 2 below
128 px, else 1).

Run from the repository root:
  PYTHONPATH=. python tools/contact_sheet.py faceeditor/resources/models/synthfaces-demo --data-root data/sf_heldout \
      -o sheet.png [--with-truth]
  PYTHONPATH=. python tools/contact_sheet.py faceeditor/resources/models/synthfaces-demo --model hiergan \
      --data-root data/sf_rafd --with-truth -o expressions.png
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from faceeditor.core.labels import ATTRIBUTES

FACES = tuple(range(8))            # positions in the test split of the --data-root dataset
BACKGROUND = (40, 40, 40)
TEXT = (235, 235, 235)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 RGB."""
    arr = ((images.float().clamp(-1, 1).numpy() + 1.0) * 127.5).round().astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


def _label(width: int, height: int, text: str) -> np.ndarray:
    """A dark strip of (width, height) with `text` centred, on two lines (split at '_') if it is too wide."""
    strip = np.full((height, width, 3), BACKGROUND, np.uint8)
    words = text.split("_")
    lines = [text]
    scale = height / 40.0
    if cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4 and len(words) > 1:
        cut = max(range(1, len(words)), key=lambda i: -abs(len("_".join(words[:i])) - len("_".join(words[i:]))))
        lines = ["_".join(words[:cut]), "_".join(words[cut:])]
    line_h = height // len(lines)
    widest = max(cv2.getTextSize(t, FONT, scale, 1)[0][0] for t in lines)
    tallest = max(sum(cv2.getTextSize(t, FONT, scale, 1)[0][1:]) for t in lines) + 2
    scale *= min(1.0, (width - 4) / widest, line_h / tallest)
    for i, line in enumerate(lines):
        (w, h), _ = cv2.getTextSize(line, FONT, scale, 1)
        org = ((width - w) // 2, i * line_h + (line_h + h) // 2)
        cv2.putText(strip, line, org, FONT, scale, TEXT, 1, cv2.LINE_AA)
    return strip


def _tag(cell: np.ndarray, text: str) -> np.ndarray:
    """`text` in the top-left corner of a cell, on a dark box."""
    out = cell.copy()
    scale = max(0.3, cell.shape[0] / 260.0)
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    cv2.rectangle(out, (0, 0), (w + 4, h + base + 3), BACKGROUND, -1)
    cv2.putText(out, text, (2, h + 2), FONT, scale, TEXT, 1, cv2.LINE_AA)
    return out


def contact_sheet(pack: str | os.PathLike, data_root: str | os.PathLike, *, faces: tuple[int, ...] = FACES,
                  with_truth: bool = False, scale: int = 0, model: str | None = None) -> np.ndarray:
    """The sheet as an RGB uint8 image: a header row of column names, then per face a row [input, 13
    flips] (and with `with_truth` a row of the ground-truth re-renders). `faces` are positions in the test
    split; `scale` 0 picks 2 below 128 px, else 1."""
    from trainer.data.registry import DataConfig, build_dataset
    from trainer.metrics.editing_accuracy import GroundTruthEdits, _synthfaces_meta, flip_target
    from trainer.pack_editor import open_pack_editor

    editor = open_pack_editor(pack, model)
    res = int(editor.entry.resolution)
    dataset = build_dataset(DataConfig(name="synthfaces", root=str(data_root), resolution=res, num_workers=0),
                            "test")
    if max(faces) >= len(dataset):
        raise ValueError(f"{data_root}: the test split has {len(dataset)} faces; the sheet shows positions "
                         f"{list(faces)}")
    truth = None
    if with_truth:
        meta = _synthfaces_meta(dataset)
        if meta is None:
            raise ValueError(f"{data_root}: --with-truth needs a SynthFaces dataset of this renderer version")
        truth = GroundTruthEdits(meta, res, "parse19")
    samples = [dataset[i] for i in faces]
    x = torch.stack([s["image"].float() for s in samples])
    y_src = torch.stack([s["attrs"].float()[:len(ATTRIBUTES)] for s in samples])
    names = list(getattr(editor, "attributes", ATTRIBUTES))     # a flip model: its own attributes
    columns = [_to_uint8(x)]
    truths = [_to_uint8(x)]
    with torch.no_grad():
        for k in (ATTRIBUTES.index(a) for a in names):
            y_trg = flip_target(y_src, k)
            columns.append(_to_uint8(editor.edit(x, y_trg - y_src)))
            if truth is not None:
                ys, yt = y_src.numpy(), y_trg.numpy()
                truths.append(np.stack([truth.rendered(int(s["index"]), ys[i], yt[i])[0]
                                        for i, s in enumerate(samples)]))
    s = scale or (2 if res < 128 else 1)
    cell = res * s
    big = lambda img: cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    header = np.concatenate([_label(cell, max(32, cell // 4), name)
                             for name in ("input", *names)], axis=1)
    rows = [header]
    for i, sample in enumerate(samples):
        row = [_tag(big(columns[0][i]), f"#{int(sample['index'])}")]
        row += [big(c[i]) for c in columns[1:]]
        rows.append(np.concatenate(row, axis=1))
        if truth is not None:
            row = [_tag(big(truths[0][i]), "truth")] + [big(t[i]) for t in truths[1:]]
            rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def expression_sheet(pack: str | os.PathLike, data_root: str | os.PathLike, *, model: str | None = None,
                     with_truth: bool = False, scale: int = 0, n_faces: int = len(FACES)) -> np.ndarray:
    """The sheet of an `edit_expression` model on a RaFD-layout set: a header row, then per test identity a
    row [neutral input, the 7 other expressions] (and with `with_truth` a row of that identity's own
    pictures in those expressions)."""
    from faceeditor.core.labels import EXPRESSIONS
    from faceeditor.engine import Engine
    from faceeditor.engine.requests import EditExpressionRequest
    from trainer.data.paired_expressions import split_labels
    from trainer.data.registry import DataConfig, build_dataset

    engine = Engine()
    engine.load_pack(pack)
    chosen = engine.find_model("edit_expression", model)
    res = int(chosen.entry.resolution)
    dataset = build_dataset(DataConfig(name="rafd", root=str(data_root), resolution=res, num_workers=0), "test")
    # positions of the split read as dataset.raw reads them (the cache's, which skip bad files)
    identity, expression, _views = split_labels(dataset)
    where = {(int(i), int(e)): n for n, (i, e) in enumerate(zip(identity, expression, strict=True))}
    neutral = EXPRESSIONS.index("neutral")
    ids = sorted(i for i in {k[0] for k in where} if all((i, e) in where for e in range(len(EXPRESSIONS))))
    if len(ids) < n_faces:
        raise ValueError(f"{data_root}: the test split has {len(ids)} identities in all 8 expressions; "
                         f"the sheet shows {n_faces}")
    ids = ids[:n_faces]
    inputs = [dataset.raw(where[(i, neutral)])["image"] for i in ids]
    targets = [e for e in EXPRESSIONS if e != "neutral"]
    columns = [np.stack(inputs)]
    truths = [np.stack(inputs)]
    for name in targets:
        result = engine.run(EditExpressionRequest(inputs, name, intensity=1.0, model=chosen.key))
        columns.append(np.stack([np.asarray(im) for im in result.images]))
        truths.append(np.stack([dataset.raw(where[(i, EXPRESSIONS.index(name))])["image"] for i in ids]))
    s = scale or (2 if res < 128 else 1)
    cell = res * s
    big = lambda img: cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST)  # noqa: E731
    rows = [np.concatenate([_label(cell, max(32, cell // 4), n) for n in ("neutral input", *targets)], axis=1)]
    for k, ident in enumerate(ids):
        rows.append(np.concatenate([_tag(big(columns[0][k]), f"id {ident}")] + [big(c[k]) for c in columns[1:]],
                                   axis=1))
        if with_truth:
            rows.append(np.concatenate([_tag(big(truths[0][k]), "truth")] + [big(t[k]) for t in truths[1:]],
                                       axis=1))
    return np.concatenate(rows, axis=0)


def _is_expression_model(pack: str | os.PathLike, model: str | None) -> bool:
    from faceeditor.engine.manifest import Manifest

    entries = Manifest.load(Path(pack)).models
    if model:
        return any(m.name == model and m.task == "edit_expression" for m in entries)
    return not any(m.task in ("edit_attributes", "flip_attributes") for m in entries) and any(
        m.task == "edit_expression" for m in entries)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack", help="a model pack with an edit_attributes (or, with --model, flip_attributes) model")
    ap.add_argument("--data-root", required=True, help="SynthFaces native dataset (held-out faces); for an "
                                                       "edit_expression model a set in RaFD's layout")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--with-truth", action="store_true", help="a second row per face: the ground-truth re-renders")
    ap.add_argument("--scale", type=int, default=0, help="cell enlargement (default: 2 below 128 px, else 1)")
    ap.add_argument("--model", help="the edit_attributes model's name, when the pack has several; or the name "
                                    "of a flip_attributes model (SG-GAN: its attributes' flips, one pass) or "
                                    "of an edit_expression model (hiergan: the 7 other expressions)")
    args = ap.parse_args(argv)
    from trainer.data.errors import DatasetError
    from trainer.data.synthfaces.native import NativeReadError

    try:
        if _is_expression_model(args.pack, args.model):
            sheet = expression_sheet(args.pack, args.data_root, model=args.model, with_truth=args.with_truth,
                                     scale=args.scale)
        else:
            sheet = contact_sheet(args.pack, args.data_root, with_truth=args.with_truth, scale=args.scale,
                                  model=args.model)
    except (ValueError, OSError, NativeReadError, DatasetError) as exc:
        print(f"contact_sheet: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        print(f"contact_sheet: cannot write {out}", file=sys.stderr)
        return 2
    print(f"{out}: {sheet.shape[1]}x{sheet.shape[0]}, {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
