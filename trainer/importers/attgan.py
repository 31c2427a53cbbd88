"""AttGAN-PyTorch's generators (elvisyjlin/AttGAN-PyTorch; 13 attributes, 128² on CelebA and 384² on
CelebA-HQ, with or without label injection) as an `edit_attributes` model.

Checkpoints are `weights.<epoch>.pth` = {"G": ..., "D": ..., "optim_G": ..., "optim_D": ...} (or only
"G"); the variant (attribute count, injection) is read from the shapes and the resolution, which no
weight reveals, comes from --resolution (default 128). Reference pre-processing: CelebA centre crop 170
and resize (CelebA-HQ: resize), [-1, 1]; output tanh. Its condition is the whole target vector
(0/1 * 2 - 1) * thres_int with thres_int 0.5, and its tests scale the edited attribute by test_int / thres_int.
The engine gives y_diff (0 = keep) and no source labels, so the graph feeds thres_int * y_diff: a slider
at ±1 is the reference's ±0.5, beyond it the reference's test_int exaggeration, 0 the neutral midpoint.
Batch norms use running statistics (the reference tests in eval mode).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from trainer.importers import IMPORTERS
from trainer.importers.base import ImportConfig, Importer, ImportOptions, attribute_list, editor_spec
from trainer.methods.base import ExportSpec
from trainer.nets.attgan_official import MAX_WIDTH, AttGANOfficialGenerator

DEFAULT_ATTRIBUTES = ["Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses",
                      "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young"]  # train.py
THRES_INT = 0.5


@IMPORTERS.register("attgan")
class AttGANImporter(Importer):
    name = "attgan"
    reference = "elvisyjlin/AttGAN-PyTorch"
    reference_url = "https://github.com/elvisyjlin/AttGAN-PyTorch"
    containers = ("G", "state_dict")
    default_resolution = 128
    resolution_multiple = 32
    data_domain = "celeba"

    def build(self, **kwargs: Any) -> nn.Module:
        return AttGANOfficialGenerator(**kwargs)

    def network_kwargs(self, sd: Mapping[str, Any], opts: ImportOptions) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        dec0, dec1 = sd.get("dec_layers.0.layers.0.weight"), sd.get("dec_layers.1.layers.0.weight")
        if dec0 is not None and getattr(dec0, "ndim", 0) == 4 and dec0.shape[0] > MAX_WIDTH:
            n = int(dec0.shape[0]) - MAX_WIDTH
            kwargs["n_attrs"] = n
            if dec1 is not None and getattr(dec1, "ndim", 0) == 4:
                kwargs["inject_layers"] = 1 if int(dec1.shape[0]) == MAX_WIDTH + MAX_WIDTH // 2 + n else 0
        return kwargs

    def configure(self, cfg: ImportConfig, kwargs: dict[str, Any], opts: ImportOptions) -> None:
        cfg.attributes = attribute_list(kwargs.get("n_attrs", 13), DEFAULT_ATTRIBUTES, opts, self.name)
        if not opts.data_domain and cfg.resolution != 128:
            cfg.data_domain = "celeba_hq"          # the reference's 256² and 384² generators are CelebA-HQ's
        cfg.condition = {"offset": 0.0, "scale": THRES_INT,
                         "reference": "target attributes (0/1 * 2 - 1) * thres_int, thres_int 0.5",
                         "mapping": "condition = 0.5 * y_diff (0 = the neutral midpoint: no source labels "
                                    "at run time; |y_diff| > 1 = the reference's test_int exaggeration)"}
        cfg.preprocessing = {"crop": "CelebA: centre crop 170 then resize; CelebA-HQ: resize",
                             "normalization": "minus1_1", "output": "tanh, [-1, 1]",
                             "batch_norm": "running statistics (eval mode)"}

    def export_spec(self, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
        return editor_spec(self.name, net, cfg)

