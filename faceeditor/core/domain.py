"""Whether the loaded models were trained on the kind of picture that is open (no Qt).

A pack's manifest says what each model was trained on (`data_domain`: "synthfaces", "celeba", ...). The
bundled demo pack was trained on SynthFaces, simple rendered faces: on a photograph it runs, but its
masks and edits look wrong. The app warns once per picture when the two do not match.

What the open picture is, decided simply from where it came from (its file name, kept in projects): a
bundled sample, or a file named like a SynthFaces render (``synthface*``), is a SynthFaces picture;
anything else is a photograph. Pixels are not judged: a photo renamed ``synthface_1.png`` is taken at its
word, and a SynthFaces render saved under another name gets the warning (dismissible).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from faceeditor.core.samples import bundled_samples

SYNTHFACES = "synthfaces"
PHOTO = "photo"
SYNTHETIC_DOMAINS = frozenset({SYNTHFACES})
# data_domain values of packs trained on photographs
PHOTO_DOMAINS = frozenset({"celeba", "celeba_hq", "celebahq", "celebamask_hq", "ffhq", "rafd"})
TASK_NAMES = {"parse": "face parser", "edit_attributes": "attribute editor", "synthesize": "synthesis",
              "classify_attributes": "attribute evaluator", "classify_expression": "expression evaluator",
              "edit_expression": "expression editor", "flip_attributes": "flip model (all flips in one pass)"}


def picture_domain(source: str) -> str:
    """SYNTHFACES for a bundled sample or a file named like a SynthFaces render, else PHOTO."""
    name = Path(source or "").name.lower()
    if name.startswith("synthface"):
        return SYNTHFACES
    return SYNTHFACES if name and name in {p.name.lower() for p in bundled_samples()} else PHOTO


def model_kind(data_domain: str) -> str | None:
    """SYNTHFACES, PHOTO or None (unknown: no warning) for a manifest's `data_domain`."""
    d = (data_domain or "").strip().lower()
    if d in SYNTHETIC_DOMAINS:
        return SYNTHFACES
    return PHOTO if d in PHOTO_DOMAINS else None


def domain_warning(source: str, models: Iterable[tuple[str, str]]) -> str | None:
    """One sentence when models (task, data_domain) were trained on another kind of picture than the one
    from `source`; None when they match or nobody knows."""
    picture = picture_domain(source)
    wrong: dict[str, list[str]] = {}
    for task, data_domain in models:
        kind = model_kind(data_domain)
        if kind is not None and kind != picture:
            wrong.setdefault(data_domain, []).append(TASK_NAMES.get(task, task))
    if not wrong:
        return None
    domain = next(iter(wrong))
    tasks = list(dict.fromkeys(t for ts in wrong.values() for t in ts))
    which = ", ".join(tasks[:3]) + (f" and {len(tasks) - 3} more" if len(tasks) > 3 else "")
    if picture == PHOTO:
        return (f"This looks like a photograph, but the loaded models ({which}) were trained on {domain}: "
                "rendered faces, not photos. Their masks and edits will look wrong here; load a pack trained "
                "on photos (Models \u25b8 Load pack folder\u2026) for real results.")
    return (f"This is a SynthFaces picture, but the loaded models ({which}) were trained on photographs "
            f"({domain}); their results may look wrong on it.")


def picture_key(photo: np.ndarray) -> str:
    """A short fingerprint of a picture's pixels: which picture a dismissed warning was about."""
    h = hashlib.blake2b(digest_size=12)
    h.update(str(photo.shape).encode())
    h.update(np.ascontiguousarray(photo).data)
    return h.hexdigest()
