"""The inference engine: requests in, results out (faceeditor.engine.requests).

`BaseEngine` holds the loaded models and does everything around a forward pass — checking requests,
resizing, normalising, batching, mask/label conversion, cancellation. `Engine` runs the forward passes
with ONNX Runtime; `faceeditor.engine.fake.FakeEngine` runs cheap numpy stand-ins for UI tests.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceeditor.core.labels import PARSE_CLASSES, to_parse_classes, to_parse_probs
from faceeditor.engine import processing as P
from faceeditor.engine.manifest import Manifest, ModelEntry, TensorSpec
from faceeditor.engine.processing import RequestError
from faceeditor.engine.requests import (
    ClassifyAttributesRequest,
    ClassifyExpressionRequest,
    ClassifyResult,
    EditAttributesRequest,
    EditExpressionRequest,
    EditResult,
    FlipAttributesRequest,
    FlipResult,
    FlipSheet,
    ParseRequest,
    ParseResult,
    Request,
    Result,
    SynthesizeRequest,
    SynthesizeResult,
)
from faceeditor.engine.session import CPU, SessionCache, SessionSettings
from faceeditor.engine.validate import model_path, validate_pack

log = logging.getLogger(__name__)

__all__ = ["BaseEngine", "Cancelled", "Engine", "EngineError", "LoadedModel", "RequestError"]


class EngineError(RuntimeError):
    """A model failed while running (e.g. out of memory, a provider failure). The message names it."""


class Cancelled(Exception):
    """The request was cancelled by `cancel()` before it finished."""


@dataclass(frozen=True)
class LoadedModel:
    """A model of a loaded pack, addressed as "pack/name"."""

    pack: str
    pack_dir: Path | None
    entry: ModelEntry

    @property
    def key(self) -> str:
        return f"{self.pack}/{self.entry.name}"

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.entry.inputs if t.name == name), None)

    def has_output(self, name: str) -> bool:
        return any(t.name == name for t in self.entry.outputs)

    @property
    def resolution(self) -> int:
        """Spatial size the model is fed at: the graph's fixed size, else the manifest's resolution."""
        spec = self.input("image") or self.input("mask")
        if spec is not None and isinstance(spec.shape[2], int):
            return spec.shape[2]
        return self.entry.resolution

    def batch_size(self, max_batch: int) -> tuple[int, bool]:
        """(chunk size, fixed): the graph's fixed batch dim, or max_batch when it is dynamic."""
        dim = self.entry.inputs[0].shape[0]
        return (dim, True) if isinstance(dim, int) else (max_batch, False)


class _RunToken:
    """State of one request in flight (so concurrent requests never mix their timings)."""

    def __init__(self, request: Request | None = None) -> None:
        self.request = request      # the request it runs (cancel(request) stops only that one)
        self.cancelled = False
        self.run_options = None     # onnxruntime.RunOptions of the real engine, to terminate a run
        self.elapsed_ms = 0.0       # time spent in forward passes
        self.provider = ""          # execution provider that ran them


# How many editor inputs' parses the engine remembers (BaseEngine._input_parse).
PARSE_CACHE_SIZE = 8


class BaseEngine:
    """Task logic shared by the real and the fake engine. Subclasses implement `_infer`."""

    def __init__(self, max_batch: int = 16):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.max_batch = max_batch
        self._packs: dict[str, tuple[Path | None, Manifest]] = {}
        self._models: dict[str, LoadedModel] = {}
        self._tokens: set[_RunToken] = set()
        self._lock = threading.Lock()
        self.last_inference_ms: float | None = None
        self.last_provider: str = ""
        # parses of the last few edited inputs (a slider drag edits the same crop at every step)
        self._parse_cache: OrderedDict[tuple, tuple[ParseResult, dict[int, np.ndarray]]] = OrderedDict()

    # --- models -------------------------------------------------------------------------------
    @property
    def packs(self) -> dict[str, Manifest]:
        return {name: manifest for name, (_, manifest) in self._packs.items()}

    def _add_pack(self, manifest: Manifest, pack_dir: Path | None) -> None:
        if manifest.name in self._packs:
            self.unload_pack(manifest.name)
        self._clear_parse_cache()
        self._packs[manifest.name] = (pack_dir, manifest)
        for entry in manifest.models:
            model = LoadedModel(manifest.name, pack_dir, entry)
            self._models[model.key] = model

    def unload_pack(self, name: str) -> None:
        self._clear_parse_cache()
        self._packs.pop(name, None)
        for key in [k for k, m in self._models.items() if m.pack == name]:
            del self._models[key]

    def models(self, task: str | None = None, *, previews: bool = False) -> list[LoadedModel]:
        """The loaded models (of `task`); preview models (ModelEntry.preview_of) only if `previews`."""
        return [m for m in self._models.values()
                if (task is None or m.entry.task == task) and (previews or not m.entry.preview_of)]

    def preview_for(self, model: LoadedModel) -> LoadedModel | None:
        """The loaded preview model of `model` (same pack, `preview_of` naming it), if any."""
        return next((m for m in self._models.values()
                     if m.pack == model.pack and m.entry.preview_of == model.entry.name), None)

    def has_task(self, task: str) -> bool:
        return bool(self.models(task))

    def model_for(self, request: Request) -> LoadedModel:
        """The model that runs `request`: a preview request runs the model's preview when it has one."""
        model = self.find_model(request.task, request.model)
        if getattr(request, "preview", False) and not model.entry.preview_of:
            model = self.preview_for(model) or model
        return model

    def find_model(self, task: str, name: str | None = None) -> LoadedModel:
        """The loaded model `name` ("pack/model", or a model name within `task`), or the first for `task`."""
        if name is None:
            found = self.models(task)
            if not found:
                raise RequestError(f"no loaded model can do {task!r} (load a pack that has one)")
            return found[0]
        if "/" in name:
            model = self._models.get(name)
        else:
            model = next((m for m in self.models(task, previews=True) if m.entry.name == name), None)
        if model is None:
            raise RequestError(f"model: no loaded model {name!r}")
        if model.entry.task != task:
            raise RequestError(f"model: {model.key} does {model.entry.task!r}, not {task!r}")
        return model

    @property
    def providers(self) -> list[str]:
        """Execution providers the engine runs on (first = preferred)."""
        raise NotImplementedError

    # --- running ------------------------------------------------------------------------------
    def cancel(self, request: Request | None = None) -> None:
        """Cancel every request in flight, or only `request` (from any thread); they raise Cancelled.
        Later requests run."""
        with self._lock:
            tokens = [t for t in self._tokens if request is None or t.request is request]
        for token in tokens:
            token.cancelled = True
            if token.run_options is not None:
                token.run_options.terminate = True

    def run(self, request: Request) -> Result:
        """Run one request; raises RequestError (bad request), EngineError (model failed) or Cancelled."""
        handlers = {
            "parse": self._parse,
            "edit_attributes": self._edit_attributes,
            "flip_attributes": self._flip_attributes,
            "edit_expression": self._edit_expression,
            "synthesize": self._synthesize,
            "classify_attributes": self._classify,
            "classify_expression": self._classify,
        }
        if not isinstance(request, Request) or request.task not in handlers:
            raise RequestError(f"not an engine request: {type(request).__name__}")
        model = self.model_for(request)
        token = _RunToken(request)
        with self._lock:
            self._tokens.add(token)
        try:
            result = handlers[request.task](request, model, token)
        finally:
            with self._lock:
                self._tokens.discard(token)
        result.model = model.key
        result.provider = token.provider or self.last_provider
        result.inference_ms = token.elapsed_ms
        return result

    def all_flips(self, request: FlipAttributesRequest) -> FlipResult:
        """Every attribute flip of each face of `request` from one forward pass (`run`, typed)."""
        if not isinstance(request, FlipAttributesRequest):
            raise RequestError(f"all_flips takes a FlipAttributesRequest, not {type(request).__name__}")
        return self.run(request)

    def forward(self, model: LoadedModel | str, feeds: dict[str, np.ndarray],
                outputs: list[str] | None = None) -> dict[str, np.ndarray]:
        """Run a model's graph on raw tensors (already normalised, model resolution), batched like
        requests. For evaluation, parity checks and benchmarks; the app uses `run`."""
        if isinstance(model, str):
            if model not in self._models:
                raise RequestError(f"model: no loaded model {model!r}")
            model = self._models[model]
        names = outputs if outputs is not None else [t.name for t in model.entry.outputs]
        token = _RunToken()
        with self._lock:
            self._tokens.add(token)
        try:
            return self._forward(model, feeds, names, token)
        finally:
            with self._lock:
                self._tokens.discard(token)

    def _infer(self, model: LoadedModel, feeds: dict[str, np.ndarray], outputs: list[str],
               token: _RunToken) -> list[np.ndarray]:
        """One forward pass on one chunk; returns the named outputs in order."""
        raise NotImplementedError

    def _forward(self, model: LoadedModel, feeds: dict[str, np.ndarray], outputs: list[str],
                 token: _RunToken) -> dict[str, np.ndarray]:
        """Forward a whole batch in chunks the graph accepts, padding a fixed batch dim."""
        n = next(iter(feeds.values())).shape[0]
        chunk, fixed = model.batch_size(self.max_batch)
        parts: list[list[np.ndarray]] = []
        for start in range(0, n, chunk):
            if token.cancelled:
                raise Cancelled()
            part = {k: v[start:start + chunk] for k, v in feeds.items()}
            real = next(iter(part.values())).shape[0]
            if fixed and real < chunk:
                part = {k: np.concatenate([v, np.repeat(v[-1:], chunk - real, axis=0)]) for k, v in part.items()}
            t0 = time.perf_counter()
            out = self._infer(model, part, outputs, token)
            token.elapsed_ms += (time.perf_counter() - t0) * 1000.0
            parts.append([o[:real] for o in out])
        self.last_inference_ms = token.elapsed_ms
        return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(outputs)}

    # --- tasks --------------------------------------------------------------------------------
    @staticmethod
    def _images(where: str, items) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        images = [P.check_image(f"{where}[{i}]", im) for i, im in enumerate(P.as_list(where, items))]
        return images, [im.shape[:2] for im in images]

    @staticmethod
    def _masks(where: str, items, n: int | None = None) -> list[np.ndarray]:
        masks = [P.check_mask(f"{where}[{i}]", m) for i, m in enumerate(P.as_list(where, items))]
        if n is not None and len(masks) != n:
            raise RequestError(f"{where}: {len(masks)} masks for {n} images")
        return masks

    def _image_tensor(self, model: LoadedModel, images: list[np.ndarray]) -> np.ndarray:
        return P.images_to_tensor(images, model.resolution, model.entry.normalization)

    def _onehot(self, model: LoadedModel, masks: list[np.ndarray], antialias: bool = False) -> np.ndarray:
        return P.masks_to_onehot(masks, model.resolution, P.class_lut(model.entry.classes),
                                 len(model.entry.classes), antialias)

    def _parse(self, req: ParseRequest, model: LoadedModel, token: _RunToken) -> ParseResult:
        images, sizes = self._images("images", req.images)
        out = self._forward(model, {"image": self._image_tensor(model, images)}, ["probs", "labels"], token)
        classes = tuple(model.entry.classes)
        return ParseResult(        # in the 19 parse classes whatever the model's own (faceeditor.core.labels)
            masks=[to_parse_classes(m, classes) for m in P.labels_to_masks(out["labels"], sizes)],
            classes=PARSE_CLASSES,
            probs=[to_parse_probs(p, classes) for p in out["probs"]] if req.want_probs else None,
            model_classes=classes,
        )

    def _edit_attributes(self, req: EditAttributesRequest, model: LoadedModel, token: _RunToken) -> EditResult:
        images, sizes = self._images("images", req.images)
        feeds = {
            "image": self._image_tensor(model, images),
            "y_diff": P.condition_matrix("y_diff", req.y_diff, model.entry.attributes, len(images)),
        }
        masks_given = None if req.masks is None else self._masks("masks", req.masks, len(images))
        if model.input("mask") is not None:
            if masks_given is None:
                raise RequestError(f"masks: {model.key} reads a semantic mask; pass one mask per image "
                                   f"(e.g. from a parse request)")
            feeds["mask"] = self._onehot(model, masks_given)
        parsed = None
        if model.input("masks") is not None:
            feeds["masks"], parsed = self._parse_probs(req, model, images, masks_given, token)
        names = ["edited"] + (["mask_probs"] if model.has_output("mask_probs") else [])
        n = len(images)
        if req.keep_detail:             # the same batch again with y_diff = 0: the editor's reconstruction
            feeds = {k: np.concatenate([v, np.zeros_like(v) if k == "y_diff" else v]) for k, v in feeds.items()}
        out = self._forward(model, feeds, names, token)
        masks = None
        if "mask_probs" in out:
            masks = P.labels_to_masks(out["mask_probs"][:n].argmax(axis=1), sizes)
        if req.keep_detail:
            edited = P.add_change(images, out["edited"][:n] - out["edited"][n:], model.entry.normalization)
        elif model.entry.preview_of:    # a preview's change, upsampled onto the input: x + up(G(x') - x')
            edited = P.add_change(images, out["edited"][:n] - feeds["image"][:n], model.entry.normalization)
        else:
            edited = P.tensor_to_images(out["edited"], sizes, model.entry.normalization)
        result = EditResult(
            images=edited,
            masks=masks,
            mask_classes=tuple(model.entry.classes) if masks is not None else (),
        )
        if req.keep_outside:
            if masks_given is None and parsed is not None:
                masks_given = parsed.masks      # the parse made for the `masks` input: not parsed twice
            self._keep_outside(req.parser, images, masks_given, feeds["y_diff"][:n], model.entry.attributes,
                               result, token)
        return result

    def _parse_probs(self, req: EditAttributesRequest, model: LoadedModel, images: list[np.ndarray],
                     masks: list[np.ndarray] | None, token: _RunToken) -> tuple[np.ndarray, ParseResult | None]:
        """The `masks` input of a model that reads parse probabilities (N, 19, res, res): the painted masks
        one-hot (use_painted_mask), else the parser's probabilities (and that parse, for reuse)."""
        from faceeditor.core.attribute_parts import one_hot

        spec = model.input("masks")
        if spec is not None and spec.shape[1] != len(PARSE_CLASSES):
            raise RequestError(f"masks: {model.key} reads {spec.shape[1]} mask channels, not the "
                               f"{len(PARSE_CLASSES)} parse classes")
        res = model.resolution
        if req.use_painted_mask:
            if masks is None:
                raise RequestError("use_painted_mask: pass the painted mask of each image in `masks`")
            return np.stack([one_hot(P.resize_mask(m, res, res)) for m in masks]), None
        if req.parser is None and not self.has_task("parse"):
            raise RequestError(f"masks: {model.key} needs a face parser's probabilities; load a pack with a "
                               f"parse model, or edit with the painted mask (use_painted_mask)")
        parser = self.find_model("parse", req.parser)
        return self._input_parse(parser, images, res, token)

    def _input_parse(self, parser: LoadedModel, images: list[np.ndarray], res: int,
                     token: _RunToken) -> tuple[np.ndarray, ParseResult]:
        """The parse of an editor's input images and its probabilities at the editor's resolution (N, C,
        res, res), remembered for the last PARSE_CACHE_SIZE inputs: while a slider is dragged every step
        edits the same crop, so its parse is computed once, and resized once per resolution (the preview
        model's while dragging, the full model's on release). Keyed by the parser and a digest of the
        pixels; cleared when packs change. The results are shared: callers must not modify them."""
        key = (parser.key, *(hashlib.blake2b(np.ascontiguousarray(im).tobytes(), digest_size=16,
                                             person=b"parse-in").hexdigest() + str(im.shape) for im in images))
        with self._lock:
            entry = self._parse_cache.get(key)
            if entry is not None:
                self._parse_cache.move_to_end(key)
        if entry is None:
            entry = (self._parse(ParseRequest(images=images, want_probs=True), parser, token), {})
        parsed, resized = entry
        probs = resized.get(res)
        if probs is None:
            probs = np.stack([_resize_probs(p, res) for p in parsed.probs])
            probs.setflags(write=False)
            resized[res] = probs
        with self._lock:
            self._parse_cache[key] = entry
            while len(self._parse_cache) > PARSE_CACHE_SIZE:
                self._parse_cache.popitem(last=False)
        return probs, parsed

    def _clear_parse_cache(self) -> None:
        with self._lock:
            self._parse_cache.clear()

    def _keep_outside(self, parser_name: str | None, images: list[np.ndarray], masks: list[np.ndarray] | None,
                      y_diff: np.ndarray, attributes: Iterable[str], result: EditResult, token: _RunToken) -> None:
        """Blend each edited image back into its input outside the regions of its non-zero attributes
        (each attribute's AR+ or AR- region by the sign of its y_diff; faceeditor.core.attribute_regions)."""
        from faceeditor.core.attribute_regions import ATTRIBUTE_REGIONS, edit_region, keep_outside
        from faceeditor.core.labels import ATTRIBUTES

        if parser_name is None and not self.has_task("parse"):
            raise RequestError("keep_outside: no face parser is loaded to find the edited regions (load a "
                               "pack with a parse model, or edit without keep_outside)")
        parser = self.find_model("parse", parser_name)
        if tuple(parser.entry.classes) != PARSE_CLASSES:
            raise RequestError(f"keep_outside: the parser {parser.key} does not predict the 19 parse classes")
        names = list(attributes)
        if masks is not None:
            before = [P.resize_mask(m, im.shape[1], im.shape[0]) for m, im in zip(masks, images, strict=True)]
        else:
            before = self._parse(ParseRequest(images=images), parser, token).masks
        after = self._parse(ParseRequest(images=result.images), parser, token).masks
        raw, kept, regions = result.images, [], []
        for i, (original, edited) in enumerate(zip(images, raw, strict=True)):
            asked = {n: float(v) for n, v in zip(names, y_diff[i], strict=True) if v != 0.0}
            if all(n in ATTRIBUTE_REGIONS or n in ATTRIBUTES for n in asked):
                region = edit_region(before[i], after[i], asked)
            else:                               # an attribute of unknown extent: keep the whole edit
                region = np.ones(original.shape[:2], bool)
            regions.append(region)
            kept.append(keep_outside(original, edited, region))
        result.raw_images, result.images, result.regions = raw, kept, regions

    def _flip_attributes(self, req: FlipAttributesRequest, model: LoadedModel, token: _RunToken) -> FlipResult:
        """SG-GAN: one forward pass gives, per attribute, the face with it absent and present; the flip is
        the head of the value the face does not have (by the model's own attr_probs)."""
        from faceeditor.engine.requests import FLIP_PASTE

        images, sizes = self._images("images", req.images)
        placements = None if req.placements is None else list(req.placements)
        if placements is not None:
            if len(placements) != len(images):
                raise RequestError(f"placements: {len(placements)} placements for {len(images)} images")
            if req.paste not in FLIP_PASTE:
                raise RequestError(f"paste: expected one of {', '.join(FLIP_PASTE)}, got {req.paste!r}")
        out = self._forward(model, {"image": self._image_tensor(model, images)}, ["flips", "attr_probs"], token)
        flips, probs = out["flips"], np.asarray(out["attr_probs"], np.float32)
        names = tuple(model.entry.attributes)
        n_attrs = len(names)
        if flips.ndim != 6 or flips.shape[1:4] != (n_attrs, 2, 3) or probs.shape != (len(images), n_attrs):
            raise EngineError(f"{model.key}: flips {flips.shape} / attr_probs {probs.shape} do not match "
                              f"{n_attrs} attributes")
        sheets = []
        for i, size in enumerate(sizes):
            res = flips.shape[4:]
            crops = P.tensor_to_images(flips[i].reshape(n_attrs * 2, 3, *res), [size] * (n_attrs * 2),
                                       model.entry.normalization)
            heads = [(crops[2 * a], crops[2 * a + 1]) for a in range(n_attrs)]
            flip_values = tuple(int(not p >= 0.5) for p in probs[i])
            pasted = None
            if placements is not None and req.paste != "none":
                pasted = []
                for a, (absent, present) in enumerate(heads):
                    if token.cancelled:
                        raise Cancelled()
                    both = req.paste == "both"
                    pasted.append(tuple(placements[i].paste(h) if both or v == flip_values[a] else None
                                        for v, h in enumerate((absent, present))))
            sheets.append(FlipSheet(attributes=names, probs=probs[i].copy(), flip_values=flip_values,
                                    heads=heads, pasted=pasted))
        return FlipResult(sheets=sheets)

    def _edit_expression(self, req: EditExpressionRequest, model: LoadedModel, token: _RunToken) -> EditResult:
        images, sizes = self._images("images", req.images)
        names = model.entry.expressions
        expression = req.expression
        if isinstance(expression, str):
            if expression not in names:
                raise RequestError(f"expression: unknown {expression!r}; the model knows {list(names)}")
            expression = {expression: req.intensity}
        feeds = {
            "image": self._image_tensor(model, images),
            "expression": P.condition_matrix("expression", expression, names, len(images)),
        }
        out = self._forward(model, feeds, ["edited"], token)
        return EditResult(images=P.tensor_to_images(out["edited"], sizes, model.entry.normalization))

    def _synthesize(self, req: SynthesizeRequest, model: LoadedModel, token: _RunToken) -> SynthesizeResult:
        masks = self._masks("masks", req.masks)
        n = len(masks)
        nz = model.input("z").shape[1]
        if req.z is not None:
            z = np.asarray(req.z, dtype=np.float32)
            if z.shape == (nz,):
                z = np.repeat(z[None], n, axis=0)
            if z.shape != (n, nz) or not np.isfinite(z).all():
                raise RequestError(f"z: expected finite values of shape ({nz},) or ({n}, {nz}), got {z.shape}")
        elif req.seeds is not None:
            seeds = [req.seeds] * n if isinstance(req.seeds, int) else list(req.seeds)
            if len(seeds) != n or not all(isinstance(s, int | np.integer) and s >= 0 for s in seeds):
                raise RequestError(f"seeds: expected one non-negative int or {n} of them, got {req.seeds!r}")
            z = np.stack([np.random.default_rng(int(s)).standard_normal(nz) for s in seeds]).astype(np.float32)
        else:
            raise RequestError("z: give a latent vector z or seeds")
        feeds = {
            "mask": self._onehot(model, masks, req.antialias),
            "z": np.ascontiguousarray(z),
            "attrs": P.condition_matrix("attrs", req.attrs, model.entry.attributes, n),
        }
        out = self._forward(model, feeds, ["image"], token)
        return SynthesizeResult(
            images=P.tensor_to_images(out["image"], [m.shape[:2] for m in masks] if not req.antialias else
                                      [(model.resolution, model.resolution)] * n, model.entry.normalization),
            z=z,
        )

    def _classify(self, req: ClassifyAttributesRequest | ClassifyExpressionRequest, model: LoadedModel,
                  token: _RunToken) -> ClassifyResult:
        images, _ = self._images("images", req.images)
        want_features = req.want_features and model.has_output("features")
        names = ["logits"] + (["features"] if want_features else [])
        out = self._forward(model, {"image": self._image_tensor(model, images)}, names, token)
        logits = out["logits"].astype(np.float32)
        if req.task == "classify_attributes":
            probs, labels = P.sigmoid(logits), model.entry.attributes
        else:
            probs, labels = P.softmax(logits, axis=1), model.entry.expressions
        return ClassifyResult(logits=logits, probs=probs, names=tuple(labels),
                              features=out.get("features"))


class Engine(BaseEngine):
    """Runs validated model packs with ONNX Runtime.

    provider: "auto" (CUDA when available), "cuda" (falls back to CPU with the reason logged and kept in
    `provider_note`) or "cpu". Thread counts of 0 let ONNX Runtime choose. Sessions are built on first
    use and shared through `cache` (pass one cache to several engines to share sessions).
    """

    def __init__(
        self,
        packs: Iterable[str | os.PathLike] = (),
        *,
        provider: str = "auto",
        intra_op_threads: int = 0,
        inter_op_threads: int = 0,
        max_batch: int = 16,
        cache: SessionCache | None = None,
    ):
        super().__init__(max_batch=max_batch)
        self.settings = SessionSettings(provider, intra_op_threads, inter_op_threads)
        self.cache = cache if cache is not None else SessionCache()
        self.provider_note: str | None = None
        for pack in packs:
            self.load_pack(pack)

    def load_pack(self, pack_dir: str | os.PathLike) -> Manifest:
        """Validate and load a pack (raises validate.PackError, naming every problem)."""
        manifest = validate_pack(pack_dir)
        self._add_pack(manifest, Path(pack_dir))
        return manifest

    def unload_pack(self, name: str) -> None:
        """Forget a pack and free its sessions."""
        for model in self.models(previews=True):
            if model.pack == name and model.pack_dir is not None:
                self.cache.discard_file(model_path(model.pack_dir, model.entry))
        super().unload_pack(name)

    def set_threads(self, intra_op_threads: int = 0, inter_op_threads: int = 0) -> None:
        self.settings = SessionSettings(self.settings.provider, intra_op_threads, inter_op_threads,
                                        self.settings.cuda_device)

    def set_provider(self, provider: str) -> None:
        self.settings = SessionSettings(provider, self.settings.intra_op_threads,
                                        self.settings.inter_op_threads, self.settings.cuda_device)

    def session(self, model: LoadedModel | str):
        """The (cached) ONNX Runtime session of a model ("pack/name" or a LoadedModel)."""
        if isinstance(model, str):
            if model not in self._models:
                raise RequestError(f"model: no loaded model {model!r}")
            model = self._models[model]
        path = model_path(model.pack_dir, model.entry)
        try:
            sess = self.cache.get(path, self.settings)
        except Exception as exc:
            raise EngineError(f"{model.key}: cannot create an ONNX Runtime session ({_first_line(exc)})") from exc
        self.provider_note = self.cache.note_for(path, self.settings)
        return sess

    @property
    def providers(self) -> list[str]:
        if self.last_provider:
            return [self.last_provider] + ([CPU] if self.last_provider != CPU else [])
        from faceeditor.engine.session import choose_providers

        return choose_providers(self.settings.provider)[0]

    def _infer(self, model, feeds, outputs, token):
        import onnxruntime as ort

        sess = self.session(model)
        token.provider = self.last_provider = sess.get_providers()[0]
        token.run_options = ort.RunOptions()
        if token.cancelled:
            raise Cancelled()
        try:
            return sess.run(outputs, feeds, token.run_options)
        except Exception as exc:
            if token.cancelled:
                raise Cancelled() from None
            raise EngineError(f"{model.key}: inference failed ({_first_line(exc)})") from exc


def _resize_probs(probs: np.ndarray, size: int) -> np.ndarray:
    """(C, h, w) probabilities at (C, size, size): area-averaged when shrinking, bilinear when enlarging
    (both keep the per-pixel sums)."""
    import cv2

    if probs.shape[1:] == (size, size):
        return probs.astype(np.float32, copy=False)
    interp = cv2.INTER_AREA if probs.shape[1] > size else cv2.INTER_LINEAR
    planes = [cv2.resize(np.ascontiguousarray(p, np.float32), (size, size), interpolation=interp) for p in probs]
    return np.stack(planes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
