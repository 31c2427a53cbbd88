"""An exported attribute editor (an `edit_attributes` or `flip_attributes` model of a pack) run by ONNX Runtime, as the
AttributeEditor of trainer/metrics/editing_accuracy.py: the graph the app runs is judged by the same code
as the method that was trained."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from faceeditor.core.labels import ATTRIBUTES
from faceeditor.engine.manifest import Manifest, ModelEntry


def _cpu_session(path: Path):
    """An ONNX Runtime CPU session of a pack's model file, warnings off."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class OnnxEditor:
    """(image, y_diff) -> edited through the pack's ONNX graph on the CPU. The last call's outputs are
    kept, so that asking for the edit and the predicted mask of the same inputs runs the graph once.

    An editor with a third input (MagGAN's `masks`: parse probabilities (N, 19, H, W) of the image) is fed
    the probabilities of `parser`, by default the same pack's parse model (PackParser); they are computed
    once per image batch."""

    def __init__(self, pack_dir: Path, entry: ModelEntry, parser: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if list(entry.attributes) != list(ATTRIBUTES):
            raise ValueError(f"{pack_dir}: model {entry.name!r} reads the attributes {entry.attributes}, "
                             f"not the 13 of this project in their order")
        self.entry = entry
        self.session = _cpu_session(pack_dir / entry.file)
        self.input_names = [t.name for t in entry.inputs]
        self.output_names = [t.name for t in entry.outputs]
        self.segments = "parse19" if len(entry.classes) == 19 else "secgan12"
        self.parser = parser
        if len(self.input_names) == 3 and parser is None:
            from trainer.pack_parser import PackParser, PackParserError

            try:
                self.parser = PackParser(pack_dir)
            except PackParserError as exc:
                raise ValueError(f"{pack_dir}: editor {entry.name!r} reads parse masks, and {exc}") from None
        elif len(self.input_names) not in (2, 3):
            raise ValueError(f"{pack_dir}: editor {entry.name!r} has {len(self.input_names)} inputs; "
                             "expected (image, y_diff) or (image, y_diff, masks)")
        self._last: tuple[torch.Tensor, torch.Tensor, list[np.ndarray]] | None = None
        self._masks: tuple[torch.Tensor, np.ndarray] | None = None

    def masks(self, x: torch.Tensor) -> np.ndarray:
        """The parse probabilities the editor is fed for x (kept for the last image batch)."""
        if self._masks is None or self._masks[0] is not x:
            probs = self.parser(x.detach().float().cpu())
            self._masks = (x, np.ascontiguousarray(probs.detach().float().cpu().numpy()))
        return self._masks[1]

    def _run(self, x: torch.Tensor, y_diff: torch.Tensor) -> list[np.ndarray]:
        if self._last is None or self._last[0] is not x or self._last[1] is not y_diff:
            arrays = [x.detach().float().cpu().numpy(), y_diff.detach().float().cpu().numpy()]
            if len(self.input_names) == 3:
                arrays.append(self.masks(x))
            feeds = dict(zip(self.input_names, arrays, strict=True))
            self._last = (x, y_diff, self.session.run(self.output_names, feeds))
        return self._last[2]

    def edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._run(x, y_diff)[0])


class OnnxMaskEditor(OnnxEditor):
    """An exported editor with a second output, the predicted target mask (SeCGAN's `mask_probs`)."""

    def predicted_mask(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._run(x, y_diff)[1])


class OnnxFlipEditor:
    """A `flip_attributes` model (SG-GAN: every head's output from one pass) as an AttributeEditor: the
    edit for y_diff is the head of the attribute y_diff changes, at the value it asks (y_diff > 0: present,
    < 0: absent); a face whose y_diff changes none of the model's attributes comes back unchanged. The
    graph runs once per image batch, however many flips are asked of it."""

    def __init__(self, pack_dir: Path, entry: ModelEntry):
        unknown = [a for a in entry.attributes if a not in ATTRIBUTES]
        if unknown or not entry.attributes:
            raise ValueError(f"{pack_dir}: flip model {entry.name!r} names attributes {list(entry.attributes)}; "
                             f"expected some of the 13 of this project")
        self.entry = entry
        self.parser = None                  # reads no parse masks
        self.segments = "parse19"
        self.attributes = list(entry.attributes)
        self.columns = [ATTRIBUTES.index(a) for a in self.attributes]
        self.session = _cpu_session(pack_dir / entry.file)
        self.input_name = self.session.get_inputs()[0].name
        self._last: tuple[torch.Tensor, np.ndarray] | None = None

    def flips(self, x: torch.Tensor) -> np.ndarray:
        """(N, A, 2, 3, R, R): every head's output for the image batch x (kept for the last batch)."""
        if self._last is None or self._last[0] is not x:
            out = self.session.run(["flips"], {self.input_name: x.detach().float().cpu().numpy()})[0]
            self._last = (x, out)
        return self._last[1]

    def edit(self, x: torch.Tensor, y_diff: torch.Tensor) -> torch.Tensor:
        heads = self.flips(x)
        out = x.detach().float().cpu().numpy().copy()
        diff = y_diff.detach().float().cpu().numpy()
        for i in range(len(out)):
            for a, col in enumerate(self.columns):
                if diff[i, col] != 0:
                    out[i] = heads[i, a, int(diff[i, col] > 0)]
                    break
        return torch.from_numpy(out)


def open_pack_editor(pack_dir: str | os.PathLike, model: str | None = None) -> OnnxEditor | OnnxFlipEditor:
    """The pack's `edit_attributes` model named `model` (or its only one) as an editor; a `flip_attributes`
    model when `model` names one (OnnxFlipEditor)."""
    pack = Path(pack_dir)
    manifest = Manifest.load(pack)
    if model is not None:
        flips = [e for e in manifest.models_for("flip_attributes") if e.name == model]
        if flips:
            return OnnxFlipEditor(pack, flips[0])
    entries = manifest.models_for("edit_attributes")
    if model is not None:
        entries = [e for e in entries if e.name == model]
    if len(entries) != 1:
        names = ", ".join(e.name for e in manifest.models_for("edit_attributes")
                          + manifest.models_for("flip_attributes")) or "none"
        raise ValueError(f"{pack}: expected one edit_attributes model{f' named {model!r}' if model else ''}; "
                         f"the pack has: {names}")
    entry = entries[0]
    cls = OnnxMaskEditor if len(entry.outputs) > 1 else OnnxEditor
    return cls(pack, entry)
