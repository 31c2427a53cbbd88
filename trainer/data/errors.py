"""The error every dataset raises for bad files, and the tally of samples skipped with ``skip_bad``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger("trainer.data")


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or malformed. The message names the file (and the line of
    a label file) so the user can fix or remove it, or rerun with ``skip_bad``."""


@dataclass
class SkipLog:
    """Counts what a dataset left out and keeps the first few reasons for the log.

    ``bad`` are samples that are broken (unreadable image, malformed label line) and were skipped because
    ``skip_bad`` is set; ``excluded`` are samples that are fine but not wanted (e.g. AffectNet's
    "No-Face" rows, RaFD files whose names are not RaFD names).
    """

    keep: int = 5
    warn_excluded: bool = False
    bad: int = 0
    excluded: int = 0
    reasons: list[str] = field(default_factory=list)
    excluded_reasons: list[str] = field(default_factory=list)

    def add_bad(self, reason: str) -> None:
        self.bad += 1
        if len(self.reasons) < self.keep:
            self.reasons.append(reason)

    def add_excluded(self, reason: str) -> None:
        self.excluded += 1
        if len(self.excluded_reasons) < self.keep:
            self.excluded_reasons.append(reason)

    def merge(self, other: SkipLog) -> None:
        self.bad += other.bad
        self.excluded += other.excluded
        self.reasons.extend(other.reasons[: max(0, self.keep - len(self.reasons))])
        room = max(0, self.keep - len(self.excluded_reasons))
        self.excluded_reasons.extend(other.excluded_reasons[:room])

    def report(self, what: str) -> None:
        """Log the counts (a warning when samples were skipped as bad) and the first reasons."""
        if self.bad:
            log.warning("%s: skipped %d bad sample(s) (skip_bad); first: %s", what, self.bad,
                        "; ".join(self.reasons))
        if self.excluded:
            log.log(logging.WARNING if self.warn_excluded else logging.INFO,
                    "%s: left out %d sample(s); first: %s", what, self.excluded,
                    "; ".join(self.excluded_reasons))
