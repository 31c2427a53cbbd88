"""faceeditor-train evaluate-pack: measure a pack's exported models (the ONNX graphs the app runs) on a
SynthFaces native dataset, independently of the training run that produced them.

With `--evaluator RUN_DIR|PACK_DIR` (an attribute classifier run, or a model pack with a
classify_attributes model, e.g. the bundled demo pack) the pack's attribute editor is judged too, by the
§4.4 evaluation of trainer/metrics/editing_accuracy.py, the code that judges the method in training."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from faceeditor.cli import CLIError

HELP = "evaluate a pack's parser, classifiers (and editor) with ONNX Runtime on a SynthFaces native dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pack", help="pack folder")
    parser.add_argument("--data", required=True, help="SynthFaces native dataset folder")
    parser.add_argument("--split", choices=("train", "val", "test", "all"), default="all")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")
    parser.add_argument("--evaluator", metavar="RUN_DIR|PACK_DIR", help="attribute classifier run, or model "
                        "pack with a classify_attributes model, that judges the pack's attribute editor (§4.4 "
                        "editing evaluation; needs --split train, val or test)")
    parser.add_argument("--limit", type=int, default=0, help="images for the editing evaluation (0 = all)")
    parser.add_argument("--model", help="the editor to judge, when the pack has several edit_attributes models; "
                        "or a flip_attributes model (SG-GAN), judged on its own attributes")


def evaluate_pack(pack: str | Path, data: str | Path, split: str = "all", batch: int = 32,
                  allow_empty: bool = False) -> dict:
    """Per-class IoU and mIoU of the parse model, per-attribute / per-expression accuracy of the
    classifiers, over the chosen split of a SynthFaces native dataset."""
    from faceeditor.core.labels import EVALUATOR_ATTRIBUTES, EXPRESSIONS, NUM_CLASSES, PARSE_CLASSES
    from faceeditor.engine.engine import Engine
    from faceeditor.engine.requests import ClassifyAttributesRequest, ClassifyExpressionRequest, ParseRequest
    from trainer.data.synthfaces.native import open_shard, read_meta, split_ranges
    from trainer.metrics.accuracy import MultiClassAccuracy, MultiLabelAccuracy
    from trainer.metrics.miou import MeanIoU

    meta = read_meta(data)
    lo, hi = (0, meta["count"]) if split == "all" else split_ranges(meta["count"])[split]
    engine = Engine([pack])
    has = {task: engine.has_task(task) for task in ("parse", "classify_attributes", "classify_expression")}
    if not any(has.values()) and not allow_empty:
        raise ValueError(f"{pack}: no parse or classify model to evaluate")
    miou = MeanIoU(NUM_CLASSES)
    # judge the attributes the classifier and the dataset both know, in the classifier's order
    attr_names = [a_ for a_ in (engine.models("classify_attributes")[0].entry.attributes
                                if has["classify_attributes"] else ()) if a_ in EVALUATOR_ATTRIBUTES]
    attr_columns = [EVALUATOR_ATTRIBUTES.index(a_) for a_ in attr_names]
    attrs = MultiLabelAccuracy(len(attr_names))
    expr = MultiClassAccuracy(len(EXPRESSIONS))
    n = 0
    for shard in meta["shards"]:
        a, b = max(lo, shard["start"]), min(hi, shard["start"] + shard["count"])
        if a >= b:
            continue
        arrays = open_shard(data, shard)
        for s in range(a, b, batch):
            rows = slice(s - shard["start"], min(b, s + batch) - shard["start"])
            images = list(np.asarray(arrays["images"][rows]))
            n += len(images)
            if has["parse"]:
                result = engine.run(ParseRequest(images=images))
                miou.update(np.stack(result.masks), np.asarray(arrays["masks"][rows]))
            if has["classify_attributes"]:
                result = engine.run(ClassifyAttributesRequest(images=images))
                order = [result.names.index(a_) for a_ in attr_names]
                attrs.update(result.logits[:, order] > 0, np.asarray(arrays["attrs"][rows])[:, attr_columns])
            if has["classify_expression"]:
                result = engine.run(ClassifyExpressionRequest(images=images))
                order = [result.names.index(e) for e in EXPRESSIONS]
                expr.update(result.logits[:, order].argmax(1), np.asarray(arrays["expression"][rows]))
    out: dict = {"pack": str(pack), "data": str(data), "split": split, "samples": n}
    if has["parse"]:
        per = miou.per_class()
        out["parse"] = {"miou": miou.mean(), "pixel_acc": miou.pixel_accuracy(),
                        "iou": {c: float(v) for c, v in zip(PARSE_CLASSES, per, strict=True)}}
    if has["classify_attributes"]:
        out["attributes"] = {"mean_acc": attrs.mean(),
                             "acc": {a_: float(v) for a_, v in zip(attr_names, attrs.per_label(), strict=True)}}
    if has["classify_expression"]:
        out["expression"] = {"acc": expr.overall(), "mean_class_acc": expr.mean_per_class(),
                             "per_class": {e: float(v) for e, v in zip(EXPRESSIONS, expr.per_class(), strict=True)}}
    return out


def evaluate_pack_editor(pack: str | Path, data: str | Path, evaluator: str | Path, split: str = "test",
                         batch: int = 32, limit: int = 0, model: str | None = None) -> dict:
    """The §4.4 editing figures of the pack's edit_attributes model, or of the flip_attributes model `model`
    names (its own attributes flipped), run by ONNX Runtime, on a split of a
    SynthFaces native dataset, judged by the classifier of the `evaluator` run or pack; the semantic gain is read
    by the pack's own parse model (left out when the pack has none)."""
    import torch

    from trainer.checkpoint import load_attribute_judge
    from trainer.data.registry import DataConfig, build_dataset
    from trainer.metrics.editing_accuracy import evaluate_editor
    from trainer.pack_editor import open_pack_editor

    editor = open_pack_editor(pack, model)
    resolution = editor.entry.resolution
    parser = editor.parser if editor.parser is not None else pack_parser_or_none(pack)
    judge = load_attribute_judge(evaluator, resolution)
    dataset = build_dataset(DataConfig(name="synthfaces", root=str(data), resolution=resolution, num_workers=0),
                            split)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=False)
    return evaluate_editor(editor, judge, loader, resolution=resolution, segments=editor.segments, limit=limit,
                           parser=parser, attributes=getattr(editor, "attributes", None))


def pack_parser_or_none(pack: str | Path):
    """The pack's parse model as a callable at any image size (PackParser resizes what it reads), None without one."""
    from trainer.pack_parser import PackParser, PackParserError

    try:
        return PackParser(pack)
    except PackParserError:
        return None


def run(args: argparse.Namespace) -> int:
    from faceeditor.engine.validate import PackError
    from trainer.checkpoint import CheckpointError
    from trainer.config import ConfigError
    from trainer.data.synthfaces.native import NativeReadError

    try:
        figures = evaluate_pack(args.pack, args.data, args.split, args.batch, allow_empty=bool(args.evaluator))
        if args.evaluator:
            if args.split == "all":
                raise ValueError("--evaluator: the editing evaluation needs --split train, val or test")
            figures["edit_attributes"] = evaluate_pack_editor(args.pack, args.data, args.evaluator, args.split,
                                                              args.batch, args.limit, args.model)
    except (PackError, NativeReadError, ValueError, CheckpointError, ConfigError) as exc:
        raise CLIError(str(exc)) from None
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from faceeditor.core.atomic_io import write_text_atomic

        write_text_atomic(args.json, text + "\n")
    return 0
