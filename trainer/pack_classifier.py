"""A pack's attribute classifier (its `classify_attributes` model) run by ONNX Runtime as a frozen judge:
an evaluation can read the edits or syntheses with the evaluator the app itself ships, where no classifier
run folder is at hand (runs do not travel; packs do)."""
from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F

from faceeditor.core.labels import ATTRIBUTES, EXPRESSIONS
from trainer.pack_parser import PackParserError, open_pack_model


class PackAttributeClassifier:
    """images (N, 3, H, W) in [-1, 1] -> (logits (N, 13) in ATTRIBUTES order, features (N, F))."""

    task, field, names = "classify_attributes", "attributes", ATTRIBUTES

    def __init__(self, pack_dir: str | os.PathLike, threads: int = 1):
        pack, entry, session = open_pack_model(pack_dir, self.task, threads)
        labels = list(getattr(entry, self.field))
        missing = [a for a in self.names if a not in labels]
        if missing:
            raise PackParserError(f"{pack}: classifier {entry.name!r} does not judge {', '.join(missing)}")
        self.columns = [labels.index(a) for a in self.names]
        self.pack, self.entry, self.session = pack, entry, session
        self.resolution = int(entry.resolution)
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


class PackExpressionClassifier(PackAttributeClassifier):
    """The pack's `classify_expression` model (the expression evaluator the app shows): images -> (logits
    (N, 8) in EXPRESSIONS order, features (N, F))."""

    task, field, names = "classify_expression", "expressions", EXPRESSIONS
