"""faceeditor-train evaluate: run a trained run's evaluation protocol on one split.

    faceeditor-train evaluate runs/parser --split test

The metrics are printed as JSON and merged into <RUN_DIR>/metrics.json under the split's name (the export
copies that file into the pack's manifest). With `--data-root` naming another dataset (a folder of another
name than the config's data.root, e.g. a held-out set), the key is "<split>@<folder name>", so figures on
other data never pass for the run's own split. `--evaluator` judges with another classifier run than the
config's (or, for the methods that take one, e.g. the attribute editors and SCGAN, a model pack's attribute
classifier); the key then ends in "#<evaluator folder>", so figures by different judges never mix.
`--spatial-judge` (SCGAN) reads the generated faces' layouts with a parser run instead of the run's own
segmentor (a check that G paints faces, not patterns only its S reads); the key ends in "#judge:<folder>".
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from faceeditor.cli import CLIError

HELP = "evaluate a trained run on a split of its dataset (metrics into RUN_DIR/metrics.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `train`")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"),
                        help="which split to evaluate on (default: val)")
    parser.add_argument("--checkpoint", metavar="FILE.pt", help="a checkpoint other than the latest")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    parser.add_argument("--batch-size", type=int, default=0, help="default: the run's batch_size")
    parser.add_argument("--data-root", metavar="DIR", help="read the data from here instead of the "
                        "config's data.root (e.g. on another machine)")
    parser.add_argument("--evaluator", metavar="RUN_DIR|PACK_DIR", help="judge with this attribute classifier "
                        "run (or model pack with one) instead of the config's evaluator (editing and synthesis "
                        "methods)")
    parser.add_argument("--spatial-judge", metavar="RUN_DIR", help="read spatial consistency with this parser "
                        "run instead of the run's own segmentor (synthesis methods)")


def metrics_key(split: str, data_root: str | None, config_root: str, evaluator: str | None = None,
                spatial_judge: str | None = None) -> str:
    """The split's name, "<split>@<folder>" when --data-root is another dataset than the config's,
    "#<folder>" appended when --evaluator names another judge, "#judge:<folder>" for --spatial-judge."""
    key = split
    if data_root:
        name = Path(data_root).resolve().name
        if name != Path(config_root).resolve().name:
            key = f"{split}@{name}"
    if evaluator:
        key += f"#{Path(evaluator).resolve().name}"
    if spatial_judge:
        key += f"#judge:{Path(spatial_judge).resolve().name}"
    return key


def _judge_with(cfg: object, field: str, run_dir: str | None, lacking: str) -> None:
    """Point the config's judge `field` (evaluator, spatial_judge) at another run folder, if one is given."""
    if not run_dir:
        return
    flag = "--" + field.replace("_", "-")
    if not hasattr(cfg, field):
        raise CLIError(f"{flag}: method {cfg.method!r} {lacking}")
    is_pack = (Path(run_dir) / "manifest.json").is_file()
    if is_pack and getattr(cfg, "pack_judges", False):     # e.g. SCGAN: the bundled parser and classifier
        setattr(cfg, field, run_dir)
        return
    if not (Path(run_dir) / "config.json").is_file():
        what = "a model pack, which this method cannot judge with" if is_pack else "not a run folder (no config.json)"
        raise CLIError(f"{flag}: {run_dir} is {what}")
    setattr(cfg, field, run_dir)


def run(args: argparse.Namespace) -> int:
    from trainer.checkpoint import CheckpointError, load_trained_method
    from trainer.config import ConfigError
    from trainer.loop import TrainingError, evaluate_split, resolve_device, write_metrics

    try:
        device = resolve_device(args.device)
        method, state = load_trained_method(args.run_dir, device, args.checkpoint)
    except (CheckpointError, ConfigError, TrainingError) as exc:
        raise CLIError(str(exc)) from None
    config_root = method.cfg.data.root
    if args.data_root:
        method.cfg.data.root = args.data_root
    _judge_with(method.cfg, "evaluator", args.evaluator, "is not judged by an evaluator")
    _judge_with(method.cfg, "spatial_judge", args.spatial_judge, "has no spatial-consistency judge")
    if args.batch_size < 0:
        raise CLIError("--batch-size: expected a positive integer")
    try:
        metrics = evaluate_split(method, method.cfg, args.split, device, args.batch_size or None)
    except NotImplementedError:
        raise CLIError(f"method {method.cfg.method!r} has no evaluation protocol") from None
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot evaluate on the {args.split} split of {method.cfg.data.name!r} at "
                       f"{method.cfg.data.root}: {exc}") from None
    step = int(state["step"])
    key = metrics_key(args.split, args.data_root, config_root, args.evaluator, args.spatial_judge)
    write_metrics(args.run_dir, key, step, metrics)
    print(json.dumps({"split": key, "step": step, **metrics}, indent=2))
    return 0
