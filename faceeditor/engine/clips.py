"""The frames of a document's timeline, rendered through the engine: the one frame code that the app's
preview, the app's export and `faceeditor-cli render` share (so the CLI gives the frames the app exports).

A timeline (faceeditor.core.keyframes.KeyframeFile, its tracks edited through faceeditor.core.timeline)
says what each frame is; its ``target`` says what a frame shows:

- ``synthesis``: SCGAN's face G(z, attributes, mask). The document's mask, drawn for the crop's
  landmarks (or the landmarks the user dragged), is warped to each frame's landmarks
  (faceeditor.core.interpolation); z is the seed track slerped; the attributes the model reads are resolved
  as the synthesis panel does (model default < what the mask says < the user's toggles < the track).
- ``attributes``: the photo through the attribute editor, the sliders' values over time, pasted back.
- ``expression``: the photo through the expression editor, the expression and intensity over time.

Frames go through the engine in batches (one request per batch) and stream into a FrameWriter
(faceeditor.core.video_writer), which publishes the file atomically.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from faceeditor.core.interpolation import FrameSpec, Interpolation, Keyframe
from faceeditor.core.keyframes import KeyframeError, KeyframeFile
from faceeditor.core.labels import EXPRESSIONS
from faceeditor.core.mask_attributes import attributes_from_mask, resolve_attributes
from faceeditor.core.timeline import frame_count, frame_of, landmark_curve, mode_of, sample_positions
from faceeditor.core.video_writer import (
    CancelToken,
    ProgressCallback,
    RenderResult,
    open_writer,
    render_interpolation,
)
from faceeditor.engine.engine import BaseEngine, LoadedModel
from faceeditor.engine.processing import RequestError
from faceeditor.engine.requests import EditAttributesRequest, EditExpressionRequest, SynthesizeRequest

# synthesis masks are rasterised this many times finer than the model reads them and handed over as class
# coverage (SynthesizeRequest.antialias): a boundary moving by a fraction of a pixel per frame then moves
# the model's input by a fraction too, where whole-pixel flips made the clips step unevenly (pops)
SUPERSAMPLE = 4
TASK_OF_TARGET = {"synthesis": "synthesize", "attributes": "edit_attributes", "expression": "edit_expression"}


class ClipError(ValueError):
    """A clip that cannot be rendered (no model for its target, no face, bad keyframes); one line."""


def _model(engine: BaseEngine, task: str, key: str | None) -> LoadedModel:
    try:
        return engine.find_model(task, key)
    except RequestError as exc:
        raise ClipError(f"the clip needs a {task.replace('_', ' ')} model: {exc}") from None


class ClipRenderer:
    """Renders the frames of ``timeline`` for ``document`` with ``engine``.

    settings: the session's values the clip starts from (faceeditor.core.session keys: ``seed``,
    ``synth_attrs``, ``attributes``, ``expression``, ``expression_intensity``, ``keep_outside``,
    ``keep_detail``, ``landmarks``); models: task -> model key (default: the engine's first of each task).
    """

    def __init__(self, engine: BaseEngine, document: Any, timeline: KeyframeFile, *,
                 settings: Mapping[str, Any] | None = None, models: Mapping[str, str | None] | None = None):
        self.engine, self.document, self.timeline = engine, document, timeline
        self.settings = dict(settings or {})
        models = dict(models or {})
        self.target = timeline.target
        self.model = _model(engine, TASK_OF_TARGET[self.target], models.get(TASK_OF_TARGET[self.target]))
        self.parser = None
        if self.target == "attributes" and self.settings.get("keep_outside", True):
            self.parser = _model(engine, "parse", models.get("parse")) if engine.has_task("parse") else None
        self.frames = frame_count(timeline)
        self.fps = timeline.fps
        self._crop = document.crop_image
        self._paste = document.paster()
        self.clip = self._interpolation()

    # --- what each frame is --------------------------------------------------------------------------
    def _interpolation(self) -> Interpolation:
        tl, doc = self.timeline, self.document
        res = self.model.resolution * SUPERSAMPLE if self.target == "synthesis" else doc.mask.data.shape[0]
        scale = res / doc.mask.data.shape[0]
        keys: list[Keyframe] = []
        for spec in tl.keyframes:
            pts = None
            if spec.landmarks is not None and not isinstance(spec.landmarks, str):
                pts = np.asarray(spec.landmarks, np.float64) * scale
            expression = None if spec.expression is None else {
                spec.expression: 1.0 if spec.intensity is None else spec.intensity}
            keys.append(Keyframe(frame=frame_of(tl, spec.time), landmarks=pts, z=spec.seed,
                                 attributes=dict(spec.attributes), expression=expression))
        if not any(k.z is not None for k in keys):
            seed = int(self.settings.get("seed", 0))
            keys = keys or [Keyframe(frame=0)]
            keys[0].z = seed
        reference = None
        if self.target == "synthesis":
            mask = cv2.resize(doc.mask.data, (res, res), interpolation=cv2.INTER_NEAREST)
            ref_pts = self.settings.get("landmarks")
            if ref_pts is None and len(getattr(doc.crop, "landmarks", ())) == 68:
                ref_pts = doc.crop.landmarks
            if ref_pts is not None:
                reference = (mask, np.asarray(ref_pts, np.float64) * scale)
            elif any(k.landmarks is not None for k in keys):
                raise ClipError("the landmarks track needs the face's own landmarks, and this picture has none")
            self._mask = mask
        nz = self.model.input("z").shape[1] if self.target == "synthesis" else 1
        modes = {t: mode_of(tl, t) for t in ("seed", "attributes", "expression")}
        try:
            return Interpolation(keys, size=res, nz=nz, curve=landmark_curve(tl), modes=modes,
                                 reference=reference)
        except KeyframeError as exc:
            raise ClipError(str(exc)) from None

    def spec(self, index: int) -> FrameSpec:
        """What frame ``index`` (0-based) is."""
        return self.clip.spec(int(index))

    # --- rendering -----------------------------------------------------------------------------------
    def render(self, indices: Sequence[int]) -> list[np.ndarray]:
        """uint8 RGB frames for these frame numbers, in one engine request."""
        return self.render_specs([self.spec(i) for i in indices])

    def render_specs(self, specs: list[FrameSpec]) -> list[np.ndarray]:
        if self.target == "synthesis":
            return self._synthesize(specs)
        if self.target == "attributes":
            return self._edit_attributes(specs)
        return self._edit_expression(specs)

    def _synthesize(self, specs: list[FrameSpec]) -> list[np.ndarray]:
        entry = self.model.entry
        masks = [self._mask if s.mask is None else s.mask for s in specs]
        rows = []
        for spec, mask in zip(specs, masks, strict=True):
            user = {**dict(self.settings.get("synth_attrs") or {}),
                    **{k: v for k, v in spec.attributes.items() if k in entry.attributes}}
            values = resolve_attributes(entry.attributes, entry.attribute_defaults(), user=user,
                                        mask=attributes_from_mask(mask)).values
            rows.append([values[name] for name in entry.attributes])
        request = SynthesizeRequest(masks=masks, attrs=np.asarray(rows, np.float32),
                                    z=np.stack([s.z for s in specs]), model=self.model.key, antialias=True)
        return list(self.engine.run(request).images)

    def _edit_attributes(self, specs: list[FrameSpec]) -> list[np.ndarray]:
        names = self.model.entry.attributes
        base = dict(self.settings.get("attributes") or {})
        rows = [[float({**base, **s.attributes}.get(n, 0.0)) for n in names] for s in specs]
        keep = self.parser is not None
        request = EditAttributesRequest([self._crop] * len(specs), np.asarray(rows, np.float32),
                                        model=self.model.key, keep_outside=keep,
                                        parser=self.parser.key if keep else None,
                                        keep_detail=bool(self.settings.get("keep_detail", False)))
        return [self._paste(image) for image in self.engine.run(request).images]

    def _edit_expression(self, specs: list[FrameSpec]) -> list[np.ndarray]:
        names = self.model.entry.expressions or list(EXPRESSIONS)
        start = np.zeros(len(EXPRESSIONS))
        if self.settings.get("expression") in EXPRESSIONS:
            start[EXPRESSIONS.index(self.settings["expression"])] = float(self.settings.get("expression_intensity", 1.0))
        rows = []
        for s in specs:
            weights = start if s.expression is None else s.expression
            rows.append([float(weights[EXPRESSIONS.index(n)]) if n in EXPRESSIONS else 0.0 for n in names])
        request = EditExpressionRequest([self._crop] * len(specs), np.asarray(rows, np.float32),
                                        model=self.model.key)
        return [self._paste(image) for image in self.engine.run(request).images]

    # --- export --------------------------------------------------------------------------------------
    def export_specs(self, frames: int | None = None) -> Iterator[FrameSpec]:
        """The frames of an export of ``frames`` frames (None: the timeline's own), lazily: the clip's span
        sampled evenly (faceeditor.core.timeline.sample_positions; the keyframes are not moved)."""
        try:
            positions = sample_positions(self.timeline, frames)
        except KeyframeError as exc:
            raise ClipError(str(exc)) from None
        return (self.clip.spec(p, index=i) for i, p in enumerate(positions))

    def export(self, path: str | os.PathLike, *, fps: float | None = None, size: int | None = None,
               frames: int | None = None, batch: int = 8, progress: ProgressCallback | None = None,
               cancel: CancelToken | None = None) -> RenderResult:
        """Write the clip to ``path`` (.mp4 H.264, .gif, or a folder of PNGs) atomically; ``size``: the
        frames' longer side in pixels (default: as rendered); ``frames``: how many (default: the timeline's
        frame count; a duration is ``frames_for_duration(seconds, fps)``)."""
        total = self.frames if frames is None else int(frames)
        source = self.export_specs(frames)
        writer = open_writer(path, fps=fps or self.fps)

        def render_batch(specs: list[FrameSpec]) -> list[np.ndarray]:
            return [resize_frame(image, size) for image in self.render_specs(specs)]

        return render_interpolation(source, render_batch, writer, batch_size=batch, progress=progress,
                                    cancel=cancel, total=total)


def resize_frame(image: np.ndarray, size: int | None) -> np.ndarray:
    """``image`` with its longer side ``size`` (even sides, which H.264 needs); as it is for None."""
    if not size:
        return image
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)
    if (nw, nh) == (w, h):
        return image
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (nw, nh), interpolation=interp)


__all__ = ["ClipError", "ClipRenderer", "TASK_OF_TARGET", "resize_frame"]
