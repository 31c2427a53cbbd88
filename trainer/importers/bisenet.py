"""face-parsing.PyTorch's BiSeNet (`79999_iter.pth`, trained on CelebAMask-HQ) as a `parse` model.

Reference pre-processing (its test script): the image resized to 512², ToTensor ([0, 1]) and ImageNet's
mean/std normalisation; the class map is the argmax of the main head's logits (upsampled bilinearly to the
input). The pack's graph takes the engine's [-1, 1] image and does the normalisation itself, so the app's
resizing and the reference's agree. Its 19 classes are indexed as that project's data preparation numbers
them (0 background, then the CelebAMask-HQ part names in REFERENCE_CLASSES' order), which is this
project's own parse-class order (faceeditor.core.labels.PARSE_CLASSES); the graph reorders its channels by
name should the two ever differ.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from faceeditor.core.labels import PARSE_CLASSES
from trainer.importers import IMPORTERS
from trainer.importers.base import ImportConfig, Importer, ImportOptions
from trainer.methods.base import ExportSpec
from trainer.nets.bisenet import BiSeNet
from trainer.nets.parser import ParserExport

# The reference's label numbering: background, then its prepropess_data.py part list from 1.
REFERENCE_CLASSES = ("background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear",
                     "ear_r", "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BiSeNetParse(nn.Module):
    """image in [-1, 1] -> ImageNet-normalised [0, 1] image -> main-head logits in PARSE_CLASSES order."""

    def __init__(self, net: BiSeNet):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        order = [REFERENCE_CLASSES.index(c) for c in PARSE_CLASSES]
        self.order = None if order == list(range(len(order))) else order

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.net(((image + 1) / 2 - self.mean) / self.std)
        return logits if self.order is None else logits[:, self.order]


@IMPORTERS.register("bisenet")
class BiSeNetImporter(Importer):
    name = "bisenet"
    reference = "zllrunning/face-parsing.PyTorch"
    reference_url = "https://github.com/zllrunning/face-parsing.PyTorch"
    containers = ("state_dict",)
    default_resolution = 512
    resolution_multiple = 32
    data_domain = "celebamask_hq"

    def build(self, **kwargs: Any) -> nn.Module:
        return BiSeNet(**kwargs)

    def configure(self, cfg: ImportConfig, kwargs: dict[str, Any], opts: ImportOptions) -> None:
        cfg.classes = list(PARSE_CLASSES)
        cfg.preprocessing = {"resize": "the whole face image to the resolution (reference: 512, bilinear)",
                             "normalization": {"range": "[0, 1]", "mean": list(IMAGENET_MEAN),
                                               "std": list(IMAGENET_STD), "where": "inside the graph"},
                             "output": "argmax of the main head's logits, upsampled bilinearly (corners aligned)",
                             "reference_classes": list(REFERENCE_CLASSES)}

    def export_spec(self, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
        res = cfg.resolution
        return ExportSpec(name="bisenet", task="parse", module=ParserExport(BiSeNetParse(net)).eval(),
                          example_inputs={"image": torch.rand(1, 3, res, res) * 2 - 1},
                          output_names=["probs", "labels"], backbone="bisenet", resolution=res,
                          classes=list(cfg.classes), extra={"labels": "argmax of probs over dim 1 (int64)"})
