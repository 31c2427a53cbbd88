"""A pack's attribute classifier (its `classify_attributes` model) run by ONNX Runtime as a frozen judge:
an evaluation can read the edits or syntheses with the evaluator the app itself ships, where no classifier
run folder is at hand (runs do not travel; packs do)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from faceeditor.core.labels import ATTRIBUTES
from faceeditor.engine.manifest import Manifest
from trainer.pack_parser import PackParserError


class PackAttributeClassifier:
    """images (N, 3, H, W) in [-1, 1] -> (logits (N, 13) in ATTRIBUTES order, features (N, F))."""

    def __init__(self, pack_dir: str | os.PathLike, threads: int = 1):
        import onnxruntime as ort

        pack = Path(pack_dir)
        try:
            entries = Manifest.load(pack).models_for("classify_attributes")
        except Exception as exc:  # noqa: BLE001 - any manifest problem is one line for the user
            raise PackParserError(f"{pack}: not a usable model pack ({exc})") from None
        if not entries:
            raise PackParserError(f"{pack}: the pack has no attribute classifier")
        entry = entries[0]
        missing = [a for a in ATTRIBUTES if a not in entry.attributes]
        if missing:
            raise PackParserError(f"{pack}: classifier {entry.name!r} does not judge {', '.join(missing)}")
        self.columns = [list(entry.attributes).index(a) for a in ATTRIBUTES]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.pack, self.entry = pack, entry
        self.resolution = int(entry.resolution)
        self.session = ort.InferenceSession(str(pack / entry.file), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.input_name = entry.inputs[0].name
        self.output_names = [o.name for o in entry.outputs]
        if "features" not in self.output_names:
            raise PackParserError(f"{pack}: classifier {entry.name!r} has no features output")

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images of another size are resized to the classifier's (bilinear, antialiased)."""
        inp = x.detach().float().cpu()
        if tuple(inp.shape[-2:]) != (self.resolution, self.resolution):
            inp = F.interpolate(inp, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                                antialias=True)
        outs = self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(inp.numpy())})
        named = dict(zip(self.output_names, outs, strict=True))
        logits = torch.from_numpy(named[self.output_names[0]])[:, self.columns]
        return logits.to(x.device), torch.from_numpy(named["features"]).to(x.device)
