"""Entry point of the `faceeditor` command (the GUI).

The Qt UI is imported lazily so that `faceeditor-cli` and the trainer never pay for Qt. Before it is
imported, `--version` is answered and the display is checked (faceeditor.system_libs): without a display,
or with system libraries missing for Qt's X11 plugin, the user gets one message saying what to do instead
of Qt's abort. If the UI package is missing (a stripped install), this runs the CLI self-check instead.
"""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

from faceeditor import __version__

# Arguments that never open a window, so they need no display.
NO_WINDOW = {"--offscreen", "-h", "--help"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--version" in argv:
        print(f"faceeditor {__version__}")
        return 0
    if importlib.util.find_spec("faceeditor.ui.startup") is not None:
        if not NO_WINDOW & set(argv):
            from faceeditor.system_libs import display_problem

            problem = display_problem("faceeditor")
            if problem:
                print(problem, file=sys.stderr)
                return 2
        from faceeditor.ui.startup import run

        return run(argv)
    print("faceeditor: the desktop window is not built yet; running `faceeditor-cli selfcheck` instead.")
    from faceeditor.cli import main as cli_main

    return cli_main(["selfcheck", *argv])


if __name__ == "__main__":
    sys.exit(main())
