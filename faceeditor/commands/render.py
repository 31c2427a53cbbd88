"""faceeditor-cli render: a project's saved timeline rendered headless to MP4 (H.264), GIF or PNG frames.

The frames are the app's export's: both open the project the same way (faceeditor.core.document and the
session's saved values, faceeditor.core.session) and render through faceeditor.engine.clips.ClipRenderer.
The output is published only when complete (Ctrl-C leaves nothing behind). --frames / --duration set the
file's length as the export dialog does: the clip's span sampled evenly, the project left as it is.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from faceeditor.cli import CLIError
from faceeditor.commands._inputs import pack_for_task
from faceeditor.commands._synthesis import add_model_arguments

HELP = "render a project's timeline (keyframes saved by the app) to MP4, GIF or PNG frames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a .fep project saved by the app, with a timeline")
    parser.add_argument("-o", "--out", required=True,
                        help="clip.mp4 (H.264), clip.gif, or a folder name without extension (PNG frames)")
    parser.add_argument("--fps", type=float, help="frames per second of the file (default: the timeline's)")
    parser.add_argument("--size", type=int, help="longer side of the frames in pixels (default: as rendered)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int,
                        help="frames in the file (default: the timeline's); the clip from frame 0 to its last "
                             "keyframe is sampled evenly at this many frames, the keyframes stay where they are")
    length.add_argument("--duration", type=float,
                        help="seconds the file plays: --frames = duration x fps (the file's fps)")
    parser.add_argument("--batch", type=int, default=8, help="frames per engine call (default 8)")
    add_model_arguments(parser)


def open_project_clip(path: str, engine: Any, models: dict[str, str | None] | None = None):
    """(ClipRenderer, document) for a project file: what the app holds after opening it."""
    from faceeditor.core.document import Document
    from faceeditor.core.project import ProjectError, load_project
    from faceeditor.core.session import Session
    from faceeditor.engine.clips import ClipError, ClipRenderer

    try:
        doc = Document.from_project(load_project(path), Path(path))
    except ProjectError as exc:
        raise CLIError(str(exc)) from None
    if not doc.keyframes.keyframes:
        raise CLIError(f"{path}: the project has no timeline (add keyframes in the app's Timeline dock)")
    session = Session()
    session.set_document(doc)
    try:
        return ClipRenderer(engine, doc, doc.keyframes, settings=session.values, models=models), doc
    except ClipError as exc:
        raise CLIError(f"{path}: {exc}") from None


def render_project(path: str, engine: Any, out: str, *, fps: float | None = None, size: int | None = None,
                   frames: int | None = None, duration: float | None = None, batch: int = 8, progress=None,
                   cancel=None):
    """Render a project's timeline to ``out``; the RenderResult (None when cancelled). ``frames`` or
    ``duration`` (seconds at the file's fps) set the file's length as the app's export dialog does."""
    from faceeditor.core.keyframes import KeyframeError
    from faceeditor.core.timeline import frames_for_duration
    from faceeditor.core.video_writer import VideoWriteError
    from faceeditor.engine.clips import ClipError

    clip, _ = open_project_clip(path, engine)
    try:
        if duration is not None:
            frames = frames_for_duration(duration, fps or clip.fps)
        return clip.export(out, fps=fps, size=size, frames=frames, batch=batch, progress=progress,
                           cancel=cancel)
    except (VideoWriteError, ClipError, KeyframeError) as exc:
        raise CLIError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from faceeditor.commands.interpolate import Progress, render_cancellable
    from faceeditor.core.timeline import MAX_EXPORT_FRAMES
    from faceeditor.engine.clips import TASK_OF_TARGET
    from faceeditor.engine.engine import Engine
    from faceeditor.engine.validate import PackError

    if args.fps is not None and not (0 < args.fps <= 240):
        raise CLIError(f"--fps must be in (0, 240], got {args.fps}")
    if args.size is not None and not (16 <= args.size <= 4096):
        raise CLIError(f"--size must be between 16 and 4096 pixels, got {args.size}")
    if args.frames is not None and not (1 <= args.frames <= MAX_EXPORT_FRAMES):
        raise CLIError(f"--frames must be between 1 and {MAX_EXPORT_FRAMES}, got {args.frames}")
    if args.duration is not None and not (0 < args.duration <= 3600):
        raise CLIError(f"--duration must be in (0, 3600] seconds, got {args.duration}")
    if args.batch < 1:
        raise CLIError(f"--batch must be at least 1, got {args.batch}")
    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise CLIError(f"{args.out}: folder {out.resolve().parent} does not exist")
    if out.suffix.lower() not in (".mp4", ".gif", "") and not out.is_dir():
        raise CLIError(f"{args.out}: unknown output type {out.suffix!r} (use .mp4, .gif, or a folder name "
                       "for PNG frames)")
    if not Path(args.project).is_file():
        raise CLIError(f"{args.project}: no such project file")
    from faceeditor.core.project import ProjectError, load_project

    try:
        target = load_project(args.project).keyframes.target
    except ProjectError as exc:
        raise CLIError(str(exc)) from None
    info = pack_for_task(TASK_OF_TARGET[target], args.pack, args.dirs)
    try:
        engine = Engine([info.path], provider=args.provider)
    except PackError as exc:
        raise CLIError(f"pack {info.name!r}: {exc}") from None
    result = render_cancellable(
        engine, lambda cancel: render_project(args.project, engine, args.out, fps=args.fps, size=args.size,
                                              frames=args.frames, duration=args.duration, batch=args.batch,
                                              progress=Progress(), cancel=cancel),
        "rendering failed", "render", args.out)
    if result is None:
        return 130
    print(json.dumps({"project": args.project, "out": str(result.path), "frames": result.frames,
                      "target": target, "pack": info.name}, indent=2))
    return 0
