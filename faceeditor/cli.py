"""faceeditor-cli: headless commands of the app.

Each module in faceeditor/commands/ is one subcommand (the module name, with _ as -); it defines
``HELP: str``, ``add_arguments(parser)`` and ``run(args) -> int``. A module that sets
``ACCEPTS_EXTRA_ARGS = True`` receives the arguments its parser does not know in ``args.extra_args``
(faceeditor-train train turns them into config overrides); for all others they are an error.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from faceeditor import __version__


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2, no traceback (unless --verbose)."""


def _discover(package: str) -> dict[str, object]:
    pkg = importlib.import_module(package)
    found = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        found[info.name.replace("_", "-")] = importlib.import_module(f"{package}.{info.name}")
    return found


def build_parser(prog: str, package: str, description: str) -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = _discover(package)
    for name, module in commands.items():
        p = sub.add_parser(name, help=getattr(module, "HELP", None), description=getattr(module, "HELP", None))
        module.add_arguments(p)
    return parser, commands


def dispatch(prog: str, package: str, description: str, argv: Sequence[str] | None) -> int:
    parser, commands = build_parser(prog, package, description)
    args, extra = parser.parse_known_args(argv)
    if extra and not (args.command and getattr(commands[args.command], "ACCEPTS_EXTRA_ARGS", False)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_args = extra
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(commands[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog} {args.command}: cancelled", file=sys.stderr)
        return 130
    except Exception as exc:
        return report_error(f"{prog} {args.command}", exc, verbose=args.verbose)


def report_error(prog: str, exc: Exception, *, verbose: bool = False) -> int:
    """Print a failed command's error; the exit code. A handled error (bad input: CLIError or one of the
    project's own error types, faceeditor.core.errors) is one line and exit 2, its traceback only with
    --verbose; anything else is a bug: the traceback, how to report it, exit 1."""
    from faceeditor.core.errors import is_handled, unexpected_message

    if is_handled(exc):
        if verbose:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    traceback.print_exception(exc, file=sys.stderr)
    print(unexpected_message(prog, exc), file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch("faceeditor-cli", "faceeditor.commands", "FaceEditor headless commands.", argv)


if __name__ == "__main__":
    # Run through the imported module so that CLIError raised by commands is the class dispatch() catches.
    from faceeditor.cli import main as _main

    sys.exit(_main())
