"""A fake engine for UI tests: the real request/result interface and pre/post-processing, with cheap,
deterministic numpy stand-ins for the networks, plus knobs to make it slow, cancellable or failing.

It "loads" one in-memory pack named "fake" with a model for every task, using the project's label lists
(faceeditor.core.labels), so panels built from a manifest's lists work unchanged.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS, PARSE_CLASSES
from faceeditor.engine.engine import BaseEngine, Cancelled, EngineError, LoadedModel, _RunToken
from faceeditor.engine.manifest import Manifest, ModelEntry, TensorSpec
from faceeditor.engine.requests import TASK_INPUTS, TASK_OUTPUTS, Request, Result

FAKE_PACK = "fake"
NZ = 16


def fake_manifest(resolution: int = 64, mask_input: bool = False, data_domain: str = "none",
                  masks_input: bool = False) -> Manifest:
    """A manifest with one model per task whose tensors follow the conventions of requests.py: every
    output, the optional `mask` inputs only if `mask_input` (then edit_attributes needs masks) and the
    editor's `masks` (parse probabilities, as MagGAN) only if `masks_input`; every model says it was
    trained on `data_domain` (e.g. "synthfaces", to be warned about on a photo)."""
    sizes = {"image": 3, "edited": 3, "y_diff": len(ATTRIBUTES), "attrs": len(ATTRIBUTES), "expression": len(EXPRESSIONS),
             "z": NZ, "mask": len(PARSE_CLASSES), "masks": len(PARSE_CLASSES), "probs": len(PARSE_CLASSES),
             "mask_probs": len(PARSE_CLASSES), "features": 32}
    models = []
    for task in TASK_INPUTS:
        def spec(rule, task=task):
            if rule.rank == 6:                  # flip_attributes' flips (N, A, 2, 3, H, W)
                shape = ["batch", len(ATTRIBUTES), 2, 3, resolution, resolution]
            elif rule.rank == 4:
                shape = ["batch", sizes[rule.name], resolution, resolution]
            elif rule.rank == 3:
                shape = ["batch", resolution, resolution]
            else:
                n = sizes.get(rule.name) or (len(ATTRIBUTES) if task in ("classify_attributes", "flip_attributes")
                                             else len(EXPRESSIONS))
                shape = ["batch", n]
            return TensorSpec(rule.name, shape, rule.dtype)

        models.append(ModelEntry(
            name=task, task=task, file=f"{task}.onnx", sha256="0" * 64,
            inputs=[spec(r) for r in TASK_INPUTS[task]
                    if r.required or (masks_input if r.name == "masks" else mask_input)],
            outputs=[spec(r) for r in TASK_OUTPUTS[task]],
            method="fake", backbone="numpy", resolution=resolution, classes=list(PARSE_CLASSES),
            attributes=list(ATTRIBUTES), expressions=list(EXPRESSIONS), data_domain=data_domain,
        ))
    return Manifest(name=FAKE_PACK, models=models, description="FakeEngine stand-ins (no networks)")


class FakeEngine(BaseEngine):
    """Same interface as Engine. Knobs (settable at any time, from any thread):

    delay_s   seconds each forward chunk takes (sleeps in small steps, so cancel() interrupts it)
    fail_with an exception raised by the next forward pass (then cleared), e.g. to test error dialogs
    calls     every request run so far, in order (for assertions)
    """

    def __init__(self, resolution: int = 64, delay_s: float = 0.0, max_batch: int = 16, mask_input: bool = False,
                 data_domain: str = "none", masks_input: bool = False, flips: bool = True):
        super().__init__(max_batch=max_batch)
        self.delay_s = delay_s
        self.fail_with: BaseException | None = None
        self.calls: list[Request] = []
        self.started = threading.Event()   # set when a forward pass starts (for cancellation tests)
        manifest = fake_manifest(resolution, mask_input, data_domain, masks_input)
        if not flips:                   # an engine without SG-GAN (the All flips view says so)
            manifest.models = [m for m in manifest.models if m.task != "flip_attributes"]
        self._add_pack(manifest, None)
        self.last_provider = "FakeExecutionProvider"
        rng = np.random.default_rng(1234)
        self._colours = {
            "y_diff": rng.uniform(-0.3, 0.3, (len(ATTRIBUTES), 3)).astype(np.float32),
            "attrs": rng.uniform(-0.3, 0.3, (len(ATTRIBUTES), 3)).astype(np.float32),
            "expression": rng.uniform(-0.3, 0.3, (len(EXPRESSIONS), 3)).astype(np.float32),
        }
        # flip_attributes: head (a, v) shifts the colour by (2v - 1) * this, so every head differs
        self._flip_colours = rng.uniform(0.15, 0.45, (len(ATTRIBUTES), 3)).astype(np.float32)
        self._palette = rng.uniform(-1, 1, (len(PARSE_CLASSES), 3)).astype(np.float32)
        self._z_tint = rng.uniform(-0.05, 0.05, (NZ, 3)).astype(np.float32)
        # a fixed random colour-to-label map per evaluator: some labels read as present, others absent
        self._judges = {task: rng.normal(0.0, 8.0, (3, len(labels))).astype(np.float32)
                        for task, labels in (("classify_attributes", ATTRIBUTES), ("classify_expression", EXPRESSIONS))}

    @property
    def providers(self) -> list[str]:
        return ["FakeExecutionProvider"]

    def run(self, request: Request) -> Result:
        self.calls.append(request)
        return super().run(request)

    def _wait(self, token: _RunToken) -> None:
        self.started.set()
        end = time.perf_counter() + self.delay_s
        while True:
            if token.cancelled:
                raise Cancelled()
            left = end - time.perf_counter()
            if left <= 0:
                return
            time.sleep(min(left, 0.01))

    def _infer(self, model: LoadedModel, feeds, outputs, token) -> list[np.ndarray]:
        token.provider = self.last_provider
        self._wait(token)
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise EngineError(f"{model.key}: inference failed ({exc})") from exc
        task = model.entry.task
        image = feeds.get("image")
        made: dict[str, np.ndarray] = {}
        if task == "parse":
            labels = self._labels_from(image)
            made["labels"] = labels
            made["probs"] = self._labels_onehot(labels)
        elif task in ("edit_attributes", "edit_expression"):
            cond = "y_diff" if task == "edit_attributes" else "expression"
            shift = feeds[cond] @ self._colours[cond]                           # (N, 3)
            change = shift[:, :, None, None]
            if "masks" in feeds:                # parse probabilities: the background changes half as much
                change = change * (1.0 - 0.5 * feeds["masks"][:, :1])
            made["edited"] = np.clip(image + change, -1, 1).astype(np.float32)
            if "mask" in feeds:
                made["mask_probs"] = feeds["mask"].copy()
            else:
                made["mask_probs"] = self._labels_onehot(self._labels_from(made["edited"]))
        elif task == "flip_attributes":     # head (a, v): the image shifted by (2v - 1) * colour[a]
            sign = np.array([-1.0, 1.0], np.float32)
            shift = sign[None, :, None] * self._flip_colours[:, None, :]           # (A, 2, 3)
            made["flips"] = np.clip(image[:, None, None] + shift[None, :, :, :, None, None], -1, 1).astype(np.float32)
            means = image.mean(axis=(2, 3))
            made["attr_probs"] = (1.0 / (1.0 + np.exp(-(means @ self._judges["classify_attributes"])))).astype(np.float32)
        elif task == "synthesize":
            base = np.einsum("nchw,ck->nkhw", feeds["mask"], self._palette)
            tint = feeds["z"] @ self._z_tint + feeds["attrs"] @ self._colours["attrs"]
            made["image"] = np.clip(base + tint[:, :, None, None], -1, 1).astype(np.float32)
        else:
            means = image.mean(axis=(2, 3))                                     # (N, 3)
            made["logits"] = (means @ self._judges[task]).astype(np.float32)
            made["features"] = np.repeat(means, 11, axis=1)[:, :32].astype(np.float32)
        return [made[name] for name in outputs]

    @staticmethod
    def _labels_from(image: np.ndarray) -> np.ndarray:
        """Brightness bands as classes: deterministic and spatially meaningful."""
        gray = (image.mean(axis=1) + 1) / 2                                      # (N, H, W) in [0, 1]
        return np.clip((gray * len(PARSE_CLASSES)).astype(np.int64), 0, len(PARSE_CLASSES) - 1)

    @staticmethod
    def _labels_onehot(labels: np.ndarray) -> np.ndarray:
        n, h, w = labels.shape
        out = np.zeros((n, len(PARSE_CLASSES), h, w), dtype=np.float32)
        np.put_along_axis(out, labels[:, None], 1.0, axis=1)
        return out
