"""Entry of the frozen build: one executable, two commands. Run as `faceeditor` it is the desktop app; run
through its `faceeditor-cli` link it is the CLI (one executable keeps the folder from holding two copies
of the same archive of Python modules)."""
import os
import sys


def _main() -> int:
    if os.path.basename(sys.argv[0]).startswith("faceeditor-cli"):
        from faceeditor.cli import main
    else:
        from faceeditor.app import main
    return main()


if __name__ == "__main__":
    sys.exit(_main())
