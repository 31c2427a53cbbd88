"""faceeditor-train train: train a method (alone, or under torchrun for several GPUs/processes).

    faceeditor-train train --method parser --data.root data/synthfaces --iters 20000 --run-dir runs/parser
    faceeditor-train train --config my.json --lr 2e-4 --set lambda_rec=10 --dry-run
    faceeditor-train train --resume runs/parser [--iters 40000]
    torchrun --nproc_per_node=4 -m trainer.cli train --method parser ...

Every field of the method's config is an option: ``--field-name VALUE``, nested ones as ``--data.root``;
``--set key=value`` sets any (dotted) key too. Precedence: defaults < --config JSON (or the resumed run's
config.json) < --field options < --set.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from faceeditor.cli import CLIError
from trainer.config import (
    CONFIG_NAME,
    ConfigError,
    TrainConfig,
    config_from_data,
    dumps,
    leaf_keys,
    load_json,
    set_value,
    to_dict,
    type_name,
)

HELP = "train a method (config from --method/--config, overrides as --field value or --set key=value)"
ACCEPTS_EXTRA_ARGS = True          # the method's config fields arrive as extra arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.allow_abbrev = False    # so that a method field never abbreviates one of these options
    parser.add_argument("--method", default="", help="training method (see --list-methods)")
    parser.add_argument("--config", metavar="FILE.json", help="config JSON (a run's config.json works)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set any config key, dotted for nested ones (data.root=...); repeatable")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config as JSON and exit")
    parser.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN_DIR",
                        help="resume a run: alone, the run_dir of the config (must hold a checkpoint); "
                             "with RUN_DIR, that run with its saved config.json (a run_dir holding a "
                             "checkpoint is resumed automatically anyway)")
    parser.add_argument("--help-options", action="store_true",
                        help="list the config options of the chosen method and exit")
    parser.add_argument("--list-methods", action="store_true", help="list the known methods and exit")
    parser.epilog = ("Every config field of the chosen method is also an option (--lr 2e-4, --data.root DIR, "
                     "--betas 0.5,0.999, --amp false); see --method NAME --help-options.")


class _OptionParser(argparse.ArgumentParser):
    """argparse for the generated field options, raising ConfigError instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def option_name(dotted: str) -> str:
    """Config key -> command-line option: lambda_sc -> --lambda-sc, data.split_scheme -> --data.split-scheme."""
    return "--" + ".".join(part.replace("_", "-") for part in dotted.split("."))


def field_parser(cfg_cls: type) -> _OptionParser:
    """The options generated from the fields of a config class (every leaf except `method`)."""
    defaults = to_dict(cfg_cls())
    p = _OptionParser(prog=f"--method {defaults.get('method') or '...'}", add_help=False, allow_abbrev=False)
    for key, tp in leaf_keys(cfg_cls).items():
        if key == "method":
            continue
        default: Any = defaults
        for part in key.split("."):
            default = default[part]
        kwargs: dict[str, Any] = {"dest": key, "default": argparse.SUPPRESS, "metavar": "VALUE",
                                  "help": f"{type_name(tp)} (default: {json.dumps(default)})"}
        if tp is bool:
            kwargs.update(nargs="?", const="true", metavar="true|false")
        p.add_argument(option_name(key), **kwargs)
    return p


def parse_field_options(cfg_cls: type, argv: list[str]) -> dict[str, str]:
    """Dotted key -> text of the field options in argv; unknown options are a ConfigError."""
    parser = field_parser(cfg_cls)
    known = [option_name(k) for k in leaf_keys(cfg_cls) if k != "method"]
    for arg in argv:
        if arg.startswith("--"):
            opt = arg.split("=", 1)[0]
            if opt not in known:
                import difflib

                close = difflib.get_close_matches(opt, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"unknown option {opt}{hint}; the method's options are listed by "
                                  f"--help-options")
    try:
        ns, rest = parser.parse_known_args(argv)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("argument ", "")) from None
    if rest:
        raise ConfigError(f"unexpected argument(s) {' '.join(rest)}: options take one value "
                          f"(lists as a,b or JSON)")
    return dict(vars(ns))


def resolve_config(args: argparse.Namespace) -> tuple[TrainConfig, bool | None]:
    """The config the command line asks for, and the resume mode for trainer.loop.train."""
    base: dict[str, Any] = {}
    where = ""
    if args.resume:
        if args.config:
            raise ConfigError("give either --resume RUN_DIR or --config, not both")
        where = str(Path(args.resume) / CONFIG_NAME)
        if not Path(args.resume).is_dir():
            raise ConfigError(f"--resume: no such run folder {args.resume}")
        base = load_json(where)
    elif args.config:
        where = args.config
        base = load_json(args.config)
    cfg = config_from_data(base, method=args.method, where=where)
    if args.resume:
        base_dir = args.resume
        cfg.run_dir = base_dir
    for key, text in parse_field_options(type(cfg), list(args.extra_args or [])).items():
        set_value(cfg, key, text)
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        set_value(cfg, key.strip(), value)
    if args.resume and cfg.run_dir != args.resume:
        raise ConfigError("--resume RUN_DIR and --run-dir disagree; give one of them")
    cfg.check()
    return cfg, (True if args.resume is not None else None)


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _changed_settings(cfg: TrainConfig) -> list[str]:
    saved_path = Path(cfg.run_dir) / CONFIG_NAME
    try:
        saved = _flat(load_json(saved_path))      # bounded in size and depth, so _flat cannot recurse away
    except ConfigError:
        return []
    now = _flat(to_dict(cfg))
    return [f"{k}: {json.dumps(saved.get(k))} -> {json.dumps(v)}" for k, v in now.items() if saved.get(k) != v]


def run(args: argparse.Namespace) -> int:
    from trainer.registry import METHODS

    if args.list_methods:
        print("\n".join(sorted(METHODS)))
        return 0
    try:
        if args.help_options:
            if not args.method and not args.config:
                raise ConfigError("--help-options needs --method NAME (or --config FILE)")
            base = load_json(args.config) if args.config else {}
            cfg = config_from_data(base, method=args.method, where=args.config or "")
            field_parser(type(cfg)).print_help()
            return 0
        cfg, resume = resolve_config(args)
    except ConfigError as exc:
        raise CLIError(str(exc)) from None
    if args.dry_run:
        sys.stdout.write(dumps(cfg))
        return 0

    from trainer import distributed
    from trainer.checkpoint import CheckpointError, latest_checkpoint
    from trainer.loop import NonFiniteError, TrainingError, train

    if distributed.env_info().is_main and latest_checkpoint(cfg.run_dir) is not None:
        changes = _changed_settings(cfg)
        if changes:
            print(f"resuming {cfg.run_dir} with changed settings: " + "; ".join(changes), file=sys.stderr)
    try:
        result = train(cfg, resume=resume, progress=sys.stderr.isatty())
    except NonFiniteError as exc:
        raise CLIError(str(exc)) from None
    except (TrainingError, CheckpointError) as exc:
        raise CLIError(str(exc)) from None
    if not distributed.env_info().is_main:
        return 0 if result.status == "finished" else 128 + int(signal.Signals[result.signal_name])
    if result.status == "interrupted":
        print(f"stopped by {result.signal_name} at step {result.step}; checkpoint {result.checkpoint}; "
              f"run the same command again (or --resume {cfg.run_dir}) to continue", file=sys.stderr)
        return 128 + int(signal.Signals[result.signal_name])
    print(f"finished at step {result.step}; checkpoint {result.checkpoint}", file=sys.stderr)
    if result.metrics:
        print(json.dumps(result.metrics, indent=2))
    return 0
