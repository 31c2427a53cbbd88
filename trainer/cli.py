"""faceeditor-train: the headless trainer.

Each module in trainer/commands/ is one subcommand (train, evaluate, export, synthfaces, ...), with the
same contract as faceeditor-cli's: ``HELP``, ``add_arguments(parser)``, ``run(args) -> int``.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from faceeditor.cli import dispatch


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch("faceeditor-train", "trainer.commands", "FaceEditor trainer.", argv)


if __name__ == "__main__":
    sys.exit(main())
