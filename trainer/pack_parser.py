"""A pack's face parser (its `parse` model) run by ONNX Runtime as a frozen torch-side helper: MagGAN needs
only the parse probabilities of its input images (no gradient flows through the parser), so a method can
read them from the exported parser the app itself uses instead of a parser run folder."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from faceeditor.core.labels import PARSE_CLASSES
from faceeditor.engine.manifest import Manifest


class PackParserError(ValueError):
    """The folder holds no usable parse model (the message says why)."""


def open_pack_model(pack_dir: str | os.PathLike, task: str, threads: int = 1):
    """(pack folder, the pack's first `task` model entry, its ONNX Runtime session on the CPU), or
    PackParserError naming what is wrong with the pack."""
    import onnxruntime as ort

    pack = Path(pack_dir)
    try:
        entries = Manifest.load(pack).models_for(task)
    except Exception as exc:  # noqa: BLE001 - any manifest problem is one line for the user
        raise PackParserError(f"{pack}: not a usable model pack ({exc})") from None
    if not entries:
        raise PackParserError(f"{pack}: the pack has no {task} model")
    entry = entries[0]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(pack / entry.file), sess_options=opts, providers=["CPUExecutionProvider"])
    return pack, entry, session


class PackParser:
    """images (N, 3, H, W) in [-1, 1] -> probabilities (N, 19, H, W) over the 19 parse classes."""

    def __init__(self, pack_dir: str | os.PathLike, threads: int = 1):
        pack, entry, session = open_pack_model(pack_dir, "parse", threads)
        if list(entry.classes) != list(PARSE_CLASSES):
            raise PackParserError(f"{pack}: parser {entry.name!r} has classes {entry.classes}, not the 19 of "
                                  f"this project in their order")
        self.pack, self.entry, self.session = pack, entry, session
        self.resolution = int(entry.resolution)
        self.input_name = entry.inputs[0].name
        self.output_name = entry.outputs[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Images of another size are resized to the parser's resolution and the probabilities back to
        theirs (bilinear both ways; e.g. a 64² editor run with the demo pack's 128² parser)."""
        size = tuple(x.shape[-2:])
        inp = x.detach().float().cpu()
        if size != (self.resolution, self.resolution):
            inp = F.interpolate(inp, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                                antialias=True)
        arr = np.ascontiguousarray(inp.numpy())
        probs = torch.from_numpy(self.session.run([self.output_name], {self.input_name: arr})[0])
        if size != (self.resolution, self.resolution):
            probs = F.interpolate(probs, size=size, mode="bilinear", align_corners=False)
            probs = probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-6)
        return probs.to(x.device)


def is_pack(path: str | os.PathLike) -> bool:
    """A folder with a manifest.json (a model pack), as opposed to a training run folder."""
    return (Path(path) / "manifest.json").is_file()
