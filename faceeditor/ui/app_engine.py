"""Building the app's engine from the packs that are installed (no Qt here).

Every valid pack found by the registry is loaded, the first of each name in search order (packs given
on the command line, then the user's folder, then the bundled ones). Invalid packs are reported, never
fatal: the app starts without them and says which task has no model.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from faceeditor.engine.engine import BaseEngine, LoadedModel
from faceeditor.engine.pack_manager import pick_model
from faceeditor.engine.registry import PackInfo, PackRegistry, user_models_dir

log = logging.getLogger(__name__)

# What each task is for, in words the panels use when its pack is missing.
TASK_PURPOSE = {
    "parse": "a face parser (the \u201cFrom parser\u201d mask)",
    "edit_attributes": "an attribute editor (the attribute sliders)",
    "synthesize": "a mask-to-face generator (SCGAN synthesis)",
    "flip_attributes": "an all-flips model (SG-GAN, task flip_attributes: every attribute flip in one pass)",
}


@dataclass
class EngineSetup:
    engine: BaseEngine
    packs: list[PackInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_dirs: tuple[str, ...] = ()        # the pack folders given on the command line


def build_engine(extra_dirs: Iterable[str | os.PathLike] = (), provider: str = "auto") -> EngineSetup:
    from faceeditor.engine.engine import Engine

    extra_dirs = [str(d) for d in extra_dirs]
    engine = Engine(provider=provider)
    registry = PackRegistry(extra_dirs)
    infos = registry.scan()
    notes = []
    loaded: set[str] = set()
    for info in infos:
        if not info.valid:
            notes.append(f"model pack {info.path} is not usable: {info.reason}")
            continue
        if info.name in loaded:
            continue
        try:
            engine.load_pack(info.path)
            loaded.add(info.name)
        except Exception as exc:  # validated a moment ago, but the disk may have changed
            notes.append(f"model pack {info.path} could not be loaded: {exc}")
    for note in notes:
        log.warning(note)
    return EngineSetup(engine, infos, notes, tuple(extra_dirs))


def first_model(engine: BaseEngine, task: str, chosen: str | None = None) -> LoadedModel | None:
    """The model `chosen` ("pack/model", the model manager's choice) if it is loaded, else the first."""
    return pick_model(engine.models(task), chosen)


def _short(path) -> str:
    from pathlib import Path

    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home + "/") else text


def missing_reason(task: str) -> str:
    return (f"No model pack with {TASK_PURPOSE.get(task, task)} is installed. Copy a pack folder into "
            f"<code>{_short(user_models_dir())}</code> or use <i>Models \u25b8 Load pack folder\u2026</i>; "
            f"<code>faceeditor-cli models</code> lists what is found.")


def provider_name(provider: str) -> str:
    """A short name for the status bar: CUDA, CPU, or the provider as given."""
    if not provider:
        return "\u2014"
    if provider.startswith("CUDA"):
        return "CUDA"
    if provider.startswith("CPU"):
        return "CPU"
    return provider.replace("ExecutionProvider", "")
