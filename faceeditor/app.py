"""Entry point of the `faceeditor` command (the GUI).

The Qt UI is imported lazily so that `faceeditor-cli` and the trainer never pay for Qt. If the UI package
is missing (a stripped install), this runs the CLI self-check instead and says so.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if importlib.util.find_spec("faceeditor.ui.startup") is not None:
        from faceeditor.ui.startup import run

        return run(argv)
    print("faceeditor: the desktop window is not built yet; running `faceeditor-cli selfcheck` instead.")
    from faceeditor.cli import main as cli_main

    return cli_main(["selfcheck", *argv])


if __name__ == "__main__":
    sys.exit(main())
