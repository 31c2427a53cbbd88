"""`--set NAME=VALUE` options shared by the edit, synth and interpolate commands (not a subcommand)."""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping

from faceeditor.cli import CLIError


def parse_settings(items: Iterable[str], max_abs: float | None = None) -> dict[str, float]:
    """``["Male=1", " Young = -0.5 "]`` -> {"Male": 1.0, "Young": -0.5}; CLIError on bad syntax, a value
    that is not a finite number (or beyond ±max_abs), or a name given twice."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise CLIError(f"--set {item!r}: expected NAME=VALUE, e.g. --set Male=1 or --set Young=-0.5")
        try:
            value = float(text)
        except ValueError:
            raise CLIError(f"--set {item!r}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise CLIError(f"--set {item!r}: the value must be a finite number")
        if max_abs is not None and abs(value) > max_abs:
            raise CLIError(f"--set {item!r}: intensity {value:g} is beyond ±{max_abs:g} "
                           "(editors are trained on ±1; far beyond it they produce noise)")
        if name in values:
            raise CLIError(f"--set {name}: given twice ({values[name]:g} and {value:g})")
        values[name] = value
    return values


def check_attribute_names(values: Mapping[str, object], known: list[str], where: str) -> None:
    """Every name must be one of the model's attributes (case-sensitive); else a CLIError with the close
    match, if any, and the names the model knows."""
    for name in values:
        if name in known:
            continue
        by_case = [k for k in known if k.lower() == name.lower()]
        close = by_case or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CLIError(f"{where}: unknown attribute {name!r}{hint} (it knows: {', '.join(known)}; "
                       "names are case-sensitive)")
