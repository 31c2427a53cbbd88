"""The app's timeline as tracks over the keyframes format (faceeditor.core.keyframes), Qt-free.

A keyframe of the file may set several channels at once; the timeline dock shows one track per channel
(seed, landmarks, attributes, expression) with a handle wherever a keyframe sets that channel. Editing a
track touches only its channel: moving the seed handle from 1 s to 2 s takes the seed off the keyframe at
1 s (dropping the keyframe when nothing is left on it) and puts it on the keyframe at 2 s (made when
missing). Every function returns a new KeyframeFile, so a change is one value the session can record as
one undo step.

Times are seconds from 0; a time is snapped to the clip's frame grid (1 / fps) so two handles never sit
between frames. The clip runs from frame 0 to the last keyframe's frame.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from faceeditor.core.keyframes import MODES, TARGETS, TRACKS, KeyframeError, KeyframeFile, KeyframeSpec

DEFAULT_MODES = {"seed": "linear", "landmarks": "smooth", "attributes": "linear", "expression": "linear"}
# every channel of a KeyframeSpec, and which belong to which track
_CHANNELS = {"seed": ("seed",), "landmarks": ("landmarks", "mask"), "attributes": ("attributes",),
             "expression": ("expression", "intensity")}


def _check_track(track: str) -> None:
    if track not in TRACKS:
        raise KeyframeError(f"unknown track {track!r}; use one of {', '.join(TRACKS)}")


def snap(timeline: KeyframeFile, time: float) -> float:
    """``time`` on the clip's frame grid, never negative."""
    return max(0.0, round(float(time) * timeline.fps)) / timeline.fps


def frame_of(timeline: KeyframeFile, time: float) -> int:
    return int(round(float(time) * timeline.fps))


def has_channel(spec: KeyframeSpec, track: str) -> bool:
    """The keyframe sets the track's channel."""
    if track == "seed":
        return spec.seed is not None
    if track == "landmarks":
        return spec.landmarks is not None
    if track == "attributes":
        return bool(spec.attributes)
    return spec.expression is not None


def _empty(spec: KeyframeSpec) -> bool:
    return not any(has_channel(spec, t) for t in TRACKS) and spec.mask is None


def _cleared(spec: KeyframeSpec, track: str) -> KeyframeSpec:
    blank: dict[str, Any] = {"seed": None, "landmarks": None, "mask": None, "attributes": {},
                             "expression": None, "intensity": None}
    return dataclasses.replace(spec, **{c: blank[c] for c in _CHANNELS[track]})


def _channel_values(spec: KeyframeSpec, track: str) -> dict[str, Any]:
    return {c: getattr(spec, c) for c in _CHANNELS[track]}


def key_times(timeline: KeyframeFile, track: str) -> list[float]:
    """The times of the track's keyframes, sorted."""
    _check_track(track)
    return sorted(k.time for k in timeline.keyframes if has_channel(k, track))


def _find(timeline: KeyframeFile, time: float) -> int | None:
    f = frame_of(timeline, time)
    for i, k in enumerate(timeline.keyframes):
        if frame_of(timeline, k.time) == f:
            return i
    return None


def key_value(timeline: KeyframeFile, track: str, time: float) -> dict[str, Any] | None:
    """The channel values the track's keyframe at ``time`` holds (None: no key there)."""
    _check_track(track)
    i = _find(timeline, time)
    if i is None or not has_channel(timeline.keyframes[i], track):
        return None
    return _channel_values(timeline.keyframes[i], track)


def _values_for(track: str, value: Any) -> dict[str, Any]:
    """A track's channel values from what the app holds: a seed, 68 points, {name: value}, (name, intensity)."""
    if track == "seed":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise KeyframeError(f"a seed keyframe needs a non-negative integer, got {value!r}")
        return {"seed": int(value)}
    if track == "landmarks":
        pts = np.asarray(value, np.float64)
        if pts.shape != (68, 2) or not np.isfinite(pts).all():
            raise KeyframeError(f"a landmarks keyframe needs 68 finite (x, y) points, got shape {pts.shape}")
        return {"landmarks": tuple((float(x), float(y)) for x, y in pts), "mask": None}
    if track == "attributes":
        attrs = {str(k): float(v) for k, v in dict(value).items()}
        if not attrs or not all(np.isfinite(v) for v in attrs.values()):
            raise KeyframeError("an attributes keyframe needs at least one finite attribute value")
        return {"attributes": attrs}
    name, intensity = value
    return {"expression": str(name), "intensity": float(intensity)}


def _put(timeline: KeyframeFile, time: float, track: str, values: dict[str, Any]) -> KeyframeFile:
    keys = list(timeline.keyframes)
    t = snap(timeline, time)
    i = _find(timeline, t)
    if i is None:
        keys.append(KeyframeSpec(time=t, **values))
    else:
        keys[i] = dataclasses.replace(_cleared(keys[i], track), **values)
    keys.sort(key=lambda k: k.time)
    return dataclasses.replace(timeline, keyframes=keys)


def with_key(timeline: KeyframeFile, track: str, time: float, value: Any) -> KeyframeFile:
    """The timeline with the track's keyframe at ``time`` set to ``value`` (replacing one there)."""
    _check_track(track)
    return _put(timeline, time, track, _values_for(track, value))


def without_key(timeline: KeyframeFile, track: str, time: float) -> KeyframeFile:
    """The timeline without the track's keyframe at ``time`` (unchanged when there is none)."""
    _check_track(track)
    i = _find(timeline, time)
    if i is None or not has_channel(timeline.keyframes[i], track):
        return timeline
    keys = list(timeline.keyframes)
    rest = _cleared(keys[i], track)
    if _empty(rest):
        del keys[i]
    else:
        keys[i] = rest
    return dataclasses.replace(timeline, keyframes=keys)


def moved_key(timeline: KeyframeFile, track: str, time: float, to: float) -> KeyframeFile:
    """The timeline with the track's keyframe at ``time`` moved to ``to`` (a key there is replaced)."""
    values = key_value(timeline, track, time)
    if values is None or frame_of(timeline, time) == frame_of(timeline, snap(timeline, to)):
        return timeline
    return _put(without_key(timeline, track, time), to, track, values)


def with_mode(timeline: KeyframeFile, track: str, mode: str) -> KeyframeFile:
    """The timeline with the track's interpolation set (MODES)."""
    _check_track(track)
    if mode not in MODES:
        raise KeyframeError(f"unknown interpolation {mode!r}; use one of {', '.join(MODES)}")
    return dataclasses.replace(timeline, interpolation={**timeline.interpolation, track: mode})


def mode_of(timeline: KeyframeFile, track: str) -> str:
    """The track's interpolation (its default when the file does not say)."""
    if track == "landmarks" and track not in timeline.interpolation:
        return "linear" if timeline.curve == "linear" else "smooth"
    return timeline.interpolation.get(track, DEFAULT_MODES[track])


def with_target(timeline: KeyframeFile, target: str) -> KeyframeFile:
    if target not in TARGETS:
        raise KeyframeError(f"unknown clip target {target!r}; use one of {', '.join(TARGETS)}")
    return dataclasses.replace(timeline, target=target)


def landmark_curve(timeline: KeyframeFile) -> str:
    """The landmark curve of faceeditor.core.interpolation for the landmarks track's mode."""
    mode = mode_of(timeline, "landmarks")
    if mode == "smooth":
        return timeline.curve if timeline.curve in ("catmull_rom", "monotone") else "catmull_rom"
    return mode


def duration(timeline: KeyframeFile) -> float:
    """Seconds from 0 to the last keyframe."""
    return max((k.time for k in timeline.keyframes), default=0.0)


def frame_count(timeline: KeyframeFile) -> int:
    """Frames of the clip: frame 0 to the last keyframe's frame."""
    return frame_of(timeline, duration(timeline)) + 1


MAX_EXPORT_FRAMES = 100_000


def frames_for_duration(seconds: float, fps: float) -> int:
    """The frame count of a file that plays ``seconds`` at ``fps`` (what "duration" means on export)."""
    if not (np.isfinite(seconds) and np.isfinite(fps)) or seconds <= 0 or fps <= 0:
        raise KeyframeError(f"a duration needs positive seconds and fps, got {seconds} s at {fps} fps")
    frames = int(round(float(seconds) * float(fps)))
    if frames < 1:
        raise KeyframeError(f"{seconds:g} s at {fps:g} fps is less than one frame")
    return frames


def sample_positions(timeline: KeyframeFile, frames: int | None = None) -> np.ndarray:
    """Timeline frame positions of an export with ``frames`` frames (None: every frame of the timeline).

    The export keeps the keyframes where they are and samples the clip's span (frame 0 to the last
    keyframe) evenly, both ends included: more frames than the timeline has land between its frames
    (slow motion, smooth), fewer skip some. With ``frames`` equal to frame_count the positions are exactly
    0, 1, 2, ..., so an export at the timeline's own length gives the frames the preview shows.
    """
    native = frame_count(timeline)
    if frames is None:
        return np.arange(native, dtype=np.float64)
    if (isinstance(frames, bool) or not isinstance(frames, (int, np.integer))
            or not 1 <= frames <= MAX_EXPORT_FRAMES):
        raise KeyframeError(f"an export needs 1 to {MAX_EXPORT_FRAMES} frames, got {frames!r}")
    if frames == 1:
        return np.zeros(1)
    return np.linspace(0.0, native - 1.0, int(frames))


def with_preset(timeline: KeyframeFile, keys: list, start: float = 0.0) -> KeyframeFile:
    """The landmarks and attributes of a preset's keyframes (faceeditor.core.interpolation.left2right_keyframes,
    nosmile2smile_keyframes; their ``frame`` counted from ``start``) put on their tracks."""
    out = timeline
    for k in keys:
        at = start + k.frame / timeline.fps
        if k.landmarks is not None:
            out = with_key(out, "landmarks", at, k.landmarks)
        if k.attributes:
            old = key_value(out, "attributes", at)
            out = with_key(out, "attributes", at, {**(old or {}).get("attributes", {}), **k.attributes})
    return out


__all__ = ["DEFAULT_MODES", "MAX_EXPORT_FRAMES", "duration", "frame_count", "frame_of", "frames_for_duration",
           "has_channel", "key_times", "key_value", "landmark_curve", "mode_of", "moved_key", "sample_positions",
           "snap", "with_key", "with_mode", "with_preset", "with_target", "without_key"]
