"""faceeditor-train evaluate-pack: measure a pack's exported models (the ONNX graphs the app runs) on a
SynthFaces native dataset, independently of the training run that produced them."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from faceeditor.cli import CLIError

HELP = "evaluate a pack's parser and classifiers with ONNX Runtime on a SynthFaces native dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pack", help="pack folder")
    parser.add_argument("--data", required=True, help="SynthFaces native dataset folder")
    parser.add_argument("--split", choices=("train", "val", "test", "all"), default="all")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to this JSON file")


def evaluate_pack(pack: str | Path, data: str | Path, split: str = "all", batch: int = 32) -> dict:
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
    if not any(has.values()):
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


def run(args: argparse.Namespace) -> int:
    from faceeditor.engine.validate import PackError
    from trainer.data.synthfaces.native import NativeReadError

    try:
        figures = evaluate_pack(args.pack, args.data, args.split, args.batch)
    except (PackError, NativeReadError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from faceeditor.core.atomic_io import write_text_atomic

        write_text_atomic(args.json, text + "\n")
    return 0
