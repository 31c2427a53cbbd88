"""`faceeditor-train` with the tests' toy method registered, for subprocess tests (kill/resume, SIGTERM,
torchrun). With FACEEDITOR_TEST_RANK_DIRS set, each process first changes into <that dir>/rank<RANK>, so
a test can see which ranks wrote files (relative run dirs land in per-rank folders)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.trainer import toy_method  # noqa: E402,F401 - registers the toy method and dataset
from trainer.cli import main  # noqa: E402

if __name__ == "__main__":
    rank_dirs = os.environ.get("FACEEDITOR_TEST_RANK_DIRS")
    if rank_dirs:
        d = Path(rank_dirs) / f"rank{os.environ.get('RANK', '0')}"
        d.mkdir(parents=True, exist_ok=True)
        os.chdir(d)
    sys.exit(main(sys.argv[1:]))
