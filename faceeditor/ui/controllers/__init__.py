"""One controller per feature. Each owns its worker channel, builds its one request value from the
session and the document, runs it off the UI thread (latest wins), and hands the result to the session or
the view. Controllers talk to the workspace and the session, not to each other or to the window."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    """What an inference job hands back to the UI thread: the document it ran for, the engine's result,
    and what the job computed off the UI thread (the photo with the output pasted in, its pyramid)."""

    document: Any
    result: Any
    photo: Any = None
    pyramid: Any = None
    crop: Any = None
