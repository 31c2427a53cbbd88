"""faceeditor-cli interpolate: a clip of SCGAN faces between keyframes, written as MP4, GIF or PNG frames.

Keyframes come from a keyframes JSON file, from two or more mask PNGs or landmark JSONs spread evenly
over the clip, or from a preset (SCGAN's Left2Right head turn, NoSmile2Smile) applied to a bundled sample
or to the user's mask and landmarks. Landmarks follow a curve between keyframes and the mask of every
frame is rebuilt from them (faceeditor.core.interpolation; from landmarks alone, a whole portrait around
the face unless --face-only); the seed's latent z is interpolated
spherically, attributes linearly. Frames go through the engine in batches and stream to the writer,
which publishes the file only when the clip is complete (Ctrl-C leaves nothing behind).

Keyframes file (the format of faceeditor.core.keyframes, which projects store too; paths relative to
the file; every field of a keyframe but "time" is optional; landmarks may also be 68 inline [x, y]):

    {"fps": 25, "curve": "catmull_rom",
     "keyframes": [
       {"time": 0.0, "mask": "a_mask.png", "landmarks": "a_landmarks.json", "seed": 7,
        "attributes": {"Male": 1, "Young": 0}},
       {"time": 2.0, "landmarks": "b_landmarks.json", "seed": 9}]}

"time" is in seconds (frame = round(time * fps), counted from the first keyframe; --frames N stretches
the times to N frames). A channel (landmarks, mask, seed, an attribute) set on some keyframes is
interpolated between them and held before the first and after the last that sets it.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from faceeditor.cli import CLIError
from faceeditor.commands._settings import check_attribute_names
from faceeditor.commands._synthesis import (
    SynthModel,
    add_attribute_arguments,
    add_model_arguments,
    open_synth_model,
    parse_settings,
    read_landmarks,
    read_mask,
    sample_files,
    sample_names,
)
from faceeditor.core.keyframes import MAX_FRAMES

HELP = "render an interpolation between keyframes (or a preset) with an SCGAN model to MP4, GIF or PNGs"

PRESETS = ("left2right", "neutral2happy")
PRESET_FRAMES = {"left2right": 48, "neutral2happy": 32}
DEFAULT_FRAMES = 48


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from faceeditor.core.interpolation import CURVES

    parser.add_argument("keyframes", nargs="*", metavar="KEYFRAME",
                        help="a keyframes JSON file, or two or more mask PNGs or landmark JSONs (spread "
                             "evenly over the clip)")
    parser.add_argument("-o", "--out",
                        help="clip.mp4 (H.264), clip.gif, or a folder name without extension (PNG frames)")
    parser.add_argument("--preset", choices=PRESETS,
                        help="left2right: the head turns from -30 to +30 degrees; neutral2happy: the mouth "
                             "breaks into a smile (on --sample, or on --landmarks [+ --mask])")
    parser.add_argument("--sample", metavar="NAME", help="bundled sample for a preset (default: the first; "
                                                         "`--sample list` lists them)")
    parser.add_argument("--mask", metavar="PNG", help="a preset's mask (for the --landmarks face)")
    parser.add_argument("--landmarks", metavar="JSON", help="a preset's face: 68 frontal landmarks")
    parser.add_argument("--frames", type=int, help=f"length of the clip in frames (default: {DEFAULT_FRAMES}; "
                                                   "left2right 48, neutral2happy 32; a keyframes file: its times)")
    parser.add_argument("--fps", type=float, help="frames per second (default: the file's, else 25)")
    parser.add_argument("--curve", choices=CURVES, help="landmark curve between keyframes (default: the "
                                                        "file's, else catmull_rom)")
    parser.add_argument("--seed", type=int, help="latent seed where no keyframe sets one (default 0)")
    parser.add_argument("--seeds", metavar="S1,S2,...", help="one seed per KEYFRAME file (latent "
                                                             "interpolation between them)")
    parser.add_argument("--face-only", action="store_true", help="frames without a keyframe mask: only the "
                        "face parts their landmarks outline, on background (default: a whole portrait, a "
                        "head template fitted to the landmarks)")
    add_attribute_arguments(parser)
    parser.add_argument("--batch", type=int, default=8, help="frames per engine call (default 8)")
    add_model_arguments(parser)


# --- keyframes ------------------------------------------------------------------------------------

def _seed(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CLIError(f"{where}: seed must be a non-negative integer, got {value!r}")
    return value


def _keyframe(synth: SynthModel, frame: int, *, mask: str | os.PathLike | None = None,
              landmarks: str | os.PathLike | None = None, seed: int | None = None,
              attributes: Mapping[str, float] | None = None, notes: list[str] | None = None,
              points: Sequence[Sequence[float]] | None = None, where: str = "keyframe"):
    """A Keyframe with its files read and fitted to the model's resolution. ``points``: 68 landmarks given
    inline (pixels of the keyframe's mask, else of the model's picture) instead of a ``landmarks`` file."""
    from faceeditor.core.interpolation import Keyframe

    res = synth.resolution
    m, side = (None, None) if mask is None else read_mask(mask, res, notes)
    if points is not None:
        pts = _inline_landmarks(points, res, side, where)
    else:
        pts = None if landmarks is None else read_landmarks(landmarks, res, frame=side)
    return Keyframe(frame=frame, mask=m, landmarks=pts, z=seed, attributes=dict(attributes or {}))


def _frames_arg(value: int | None) -> int | None:
    if value is not None and not (2 <= value <= MAX_FRAMES):
        raise CLIError(f"--frames must be between 2 and {MAX_FRAMES}, got {value}")
    return value


def keyframes_from_file(path: str, synth: SynthModel, *, fps: float | None, frames: int | None,
                        curve: str | None, notes: list[str]) -> tuple[list, float, str]:
    """Read a keyframes file (faceeditor.core.keyframes) and its masks and landmarks; returns
    (keyframes, fps, curve). --fps and --curve override the file's."""
    from faceeditor.core.keyframes import KeyframeError, keyframe_frame_numbers, read_keyframes

    name = os.fspath(path)
    where = f"keyframes file {name!r}"
    try:
        spec = read_keyframes(path)
        fps = spec.fps if fps is None else fps
        curve = spec.curve if curve is None else curve
        order, frame_of = keyframe_frame_numbers(spec, where, fps=fps, frames=frames)
    except KeyframeError as exc:
        raise CLIError(str(exc)) from None
    for i, item in enumerate(spec.keyframes):
        check_attribute_names(item.attributes, synth.attributes, f"{where}, keyframe {i}")
    base = Path(path).resolve().parent
    keys = []
    for f, i in zip(frame_of, order, strict=True):
        item = spec.keyframes[i]
        files = {k: base / v for k, v in (("mask", item.mask), ("landmarks", item.landmarks))
                 if isinstance(v, str)}
        inline = None if item.landmarks is None or isinstance(item.landmarks, str) else item.landmarks
        keys.append(_keyframe(synth, f, seed=item.seed, attributes=item.attributes, notes=notes, points=inline,
                              where=f"{where}, keyframe {i}", **files))
    if not any(k.mask is not None or k.landmarks is not None for k in keys):
        raise CLIError(f"{where}: no keyframe gives a mask or landmarks")
    return keys, float(fps), str(curve)


def _inline_landmarks(points: Sequence[Sequence[float]], size: int, frame: int | None, where: str
                      ) -> np.ndarray:
    """68 inline points (pixels of the keyframe's mask, else of the model's picture) at the model's size."""
    from faceeditor.core.face_geometry import LandmarkError, as_landmarks

    try:
        pts = as_landmarks(points, f"{where}: landmarks")
    except LandmarkError as exc:
        raise CLIError(str(exc)) from None
    return pts * (size / (frame or size))


def keyframes_from_paths(paths: list[str], synth: SynthModel, *, frames: int, seeds: list[int] | None,
                         notes: list[str]) -> list:
    """Two or more mask PNGs or landmark JSONs, evenly spaced over ``frames``."""
    kinds = ["landmarks" if Path(p).suffix.lower() == ".json" else "mask" for p in paths]
    if len(set(kinds)) > 1:
        raise CLIError("KEYFRAME files mix masks and landmarks; give one kind, or write a keyframes JSON file "
                       "where a keyframe can have both")
    if seeds is not None and len(seeds) != len(paths):
        raise CLIError(f"--seeds: {len(seeds)} seeds for {len(paths)} keyframes")
    if frames < len(paths):
        raise CLIError(f"--frames {frames} is fewer than the {len(paths)} keyframes")
    at = [round(v) for v in np.linspace(0, frames - 1, len(paths))]
    return [_keyframe(synth, f, seed=None if seeds is None else seeds[i], notes=notes, **{kind: path})
            for i, (f, kind, path) in enumerate(zip(at, kinds, paths, strict=True))]


def preset_keyframes(preset: str, synth: SynthModel, *, frames: int, sample: str | None, mask: str | None,
                     landmarks: str | None, notes: list[str]) -> list:
    """The preset's keyframes on a sample (or the user's face); a sample's own attributes ride on the
    first keyframe."""
    from faceeditor.core.face_geometry import LandmarkError
    from faceeditor.core.interpolation import KeyframeError, left2right_keyframes, nosmile2smile_keyframes

    attrs: dict[str, float] = {}
    if landmarks is None:
        if mask is not None:
            raise CLIError("--mask needs --landmarks (the landmarks of the face in that mask)")
        mask_file, lm_file = sample_files(sample)
        mask, landmarks = str(mask_file), str(lm_file)
        from faceeditor.core.samples import sample_attributes

        attrs = {k: v for k, v in sample_attributes(lm_file).items() if k in synth.attributes}
    elif sample is not None:
        raise CLIError("give either --sample or --landmarks [--mask], not both")
    res = synth.resolution
    m, side = (None, None) if mask is None else read_mask(mask, res, notes)
    pts = read_landmarks(landmarks, res, frame=side)
    make = left2right_keyframes if preset == "left2right" else nosmile2smile_keyframes
    try:
        keys = make(size=res, frames=frames, landmarks=pts, mask=m, z=None, attributes=attrs)
    except (KeyframeError, LandmarkError) as exc:
        raise CLIError(f"--preset {preset}: {exc}") from None
    for k in keys:
        k.expression = None  # the synthesis model has no expression input; the landmarks carry the smile
    return keys


# --- rendering ------------------------------------------------------------------------------------

def attribute_matrix(synth: SynthModel, frames: list[Mapping[str, float]], fixed: Mapping[str, float],
                     masks: list[np.ndarray | None] | None = None) -> np.ndarray:
    """(N, A) attributes of the frames: model defaults < what each frame's mask decides (a bald head,
    glasses, an open mouth, bangs: faceeditor.core.mask_attributes, as `synth` does) < the frame's
    interpolated values < ``fixed``. So a keyframe's frame is what `synth` draws from its mask and seed."""
    rows = []
    for i, attributes in enumerate(frames):
        given = {**attributes, **fixed}
        mask = masks[i] if masks is not None else None
        values = synth.resolve(given, mask).values if mask is not None else {**synth.defaults(), **given}
        rows.append([values[name] for name in synth.attributes])
    return np.asarray(rows, np.float32)


def make_renderer(synth: SynthModel, fixed: Mapping[str, float]) -> Callable[[list], list[np.ndarray]]:
    from faceeditor.engine.requests import SynthesizeRequest

    def render(specs: list) -> list[np.ndarray]:
        attrs = attribute_matrix(synth, [s.attributes for s in specs], fixed, [s.mask for s in specs])
        request = SynthesizeRequest(masks=[s.mask for s in specs], attrs=attrs, z=np.stack([s.z for s in specs]))
        return synth.engine.run(request).images

    return render


class Progress:
    """Frames done on stderr: one updating line on a terminal, else a line per tenth of the clip."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = -1

    def __call__(self, done: int, total: int | None) -> None:
        total = total or 0
        if self.tty:
            self.stream.write(f"\rrendering: {done}/{total} frames")
            if done >= total:
                self.stream.write("\n")
        else:
            step = max(1, total // 10)
            if done // step == self.shown // step and done < total:
                return
            self.stream.write(f"rendering: {done}/{total} frames\n")
        self.shown = done
        self.stream.flush()


class SigintCancel:
    """While active, the first Ctrl-C asks the render to stop (the writer then deletes its partial
    output); a second one interrupts at once. Only installed from the main thread."""

    def __init__(self, engine):
        self.event = threading.Event()
        self.engine = engine
        self._previous = None

    def _handle(self, signum, frame) -> None:
        self.event.set()
        self.engine.cancel()
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)
        print("\ncancelling...", file=sys.stderr, flush=True)

    def __enter__(self) -> threading.Event:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self.event

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def render_cancellable(engine, job, failed: str, command: str, out: str):
    """job(cancel) with Ctrl-C as cancel; the result, or None (after saying so) when it was cancelled.
    Engine errors become one CLIError line: "the request was refused: ..." or "<failed>: ..."."""
    from faceeditor.engine.engine import Cancelled, EngineError
    from faceeditor.engine.processing import RequestError

    try:
        with SigintCancel(engine) as cancel:
            result = job(cancel)
    except Cancelled:
        result = None
    except RequestError as exc:
        raise CLIError(f"the request was refused: {exc}") from None
    except EngineError as exc:
        raise CLIError(f"{failed}: {exc}") from None
    if result is None or result.cancelled:
        print(f"faceeditor-cli {command}: cancelled; {out} was not written", file=sys.stderr)
        return None
    return result


def run(args: argparse.Namespace) -> int:
    from faceeditor.core.interpolation import Interpolation, KeyframeError
    from faceeditor.core.video_writer import VideoWriteError, open_writer, render_interpolation

    if args.sample == "list":
        print("\n".join(sample_names()))
        return 0
    if not args.out:
        raise CLIError("give the output with -o/--out (clip.mp4, clip.gif, or a folder for PNG frames)")
    frames = _frames_arg(args.frames)
    if args.fps is not None and not (0 < args.fps <= 240):
        raise CLIError(f"--fps must be in (0, 240], got {args.fps}")
    if args.batch < 1:
        raise CLIError(f"--batch must be at least 1, got {args.batch}")
    if args.seed is not None and args.seed < 0:
        raise CLIError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.preset and args.keyframes:
        raise CLIError("give KEYFRAME files or --preset, not both")
    if not args.preset and not args.keyframes:
        raise CLIError("give a keyframes JSON file, two or more mask/landmark files, or --preset")
    if not args.preset and (args.sample or args.mask or args.landmarks):
        raise CLIError("--sample, --mask and --landmarks go with --preset; with KEYFRAME files use a "
                       "keyframes JSON file")
    seeds = None
    if args.seeds is not None:
        try:
            seeds = [_seed(int(s), "--seeds") for s in args.seeds.split(",")]
        except ValueError:
            raise CLIError(f"--seeds: expected comma-separated integers, got {args.seeds!r}") from None
    out = Path(args.out)
    if not out.resolve().parent.is_dir():
        raise CLIError(f"{args.out}: folder {out.resolve().parent} does not exist")
    if out.suffix.lower() not in (".mp4", ".gif", "") and not out.is_dir():
        raise CLIError(f"{args.out}: unknown output type {out.suffix!r} (use .mp4, .gif, or a folder name "
                       "for PNG frames)")

    synth = open_synth_model(args.pack, args.dirs, args.provider)
    fixed = parse_settings(args.settings, synth.attributes)
    notes: list[str] = []
    fps, curve = args.fps or 25.0, args.curve or "catmull_rom"
    if args.preset:
        if seeds is not None:
            raise CLIError("--seeds goes with KEYFRAME files; a preset uses one --seed")
        keys = preset_keyframes(args.preset, synth, frames=frames or PRESET_FRAMES[args.preset],
                                sample=args.sample, mask=args.mask, landmarks=args.landmarks, notes=notes)
        source = f"preset {args.preset}"
    elif len(args.keyframes) == 1:
        if seeds is not None:
            raise CLIError("--seeds goes with two or more KEYFRAME files; a keyframes file sets \"seed\"s")
        if Path(args.keyframes[0]).suffix.lower() != ".json":
            raise CLIError(f"{args.keyframes[0]}: one KEYFRAME must be a keyframes JSON file; give two or "
                           "more mask PNGs or landmark JSONs to interpolate between them")
        keys, fps, curve = keyframes_from_file(args.keyframes[0], synth, fps=args.fps, frames=frames,
                                               curve=args.curve, notes=notes)
        source = f"keyframes file {args.keyframes[0]}"
    else:
        keys = keyframes_from_paths(args.keyframes, synth, frames=frames or DEFAULT_FRAMES, seeds=seeds,
                                    notes=notes)
        source = f"{len(keys)} keyframe files"
    if not any(k.z is not None for k in keys):
        keys[0].z = args.seed if args.seed is not None else 0
    try:
        clip = Interpolation(keys, size=synth.resolution, nz=synth.nz, curve=curve,
                             portrait=not args.face_only)
    except KeyframeError as exc:
        raise CLIError(str(exc)) from None

    try:
        writer = open_writer(out, fps=fps)
    except VideoWriteError as exc:
        raise CLIError(str(exc)) from None
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    try:
        result = render_cancellable(
            synth.engine, lambda cancel: render_interpolation(clip, make_renderer(synth, fixed), writer,
                                                              batch_size=args.batch, progress=Progress(),
                                                              cancel=cancel, total=len(clip)),
            "synthesis failed", "interpolate", args.out)
    except (VideoWriteError, KeyframeError) as exc:
        raise CLIError(str(exc)) from None
    if result is None:
        return 130
    ends = [clip.spec(clip.first), clip.spec(clip.last)]
    at_start, at_end = attribute_matrix(synth, [e.attributes for e in ends], fixed, [e.mask for e in ends])
    summary = {
        "source": source,
        "out": str(result.path),
        "frames": result.frames,
        "fps": fps,
        "size": [synth.resolution, synth.resolution],
        "curve": curve,
        "keyframes": [k.frame for k in keys],
        "attributes_at_start": dict(zip(synth.attributes, at_start.tolist(), strict=True)),
        "attributes_at_end": dict(zip(synth.attributes, at_end.tolist(), strict=True)),
        "pack": synth.pack_name,
        "model": synth.model.entry.name,
        "trained_on": synth.model.entry.data_domain,
    }
    print(json.dumps(summary, indent=2))
    return 0
