"""STGAN-pytorch's generator (bluestyle97/STGAN-pytorch, the PyTorch port of STGAN) as an
`edit_attributes` model.

Checkpoints are `G_<iter>.pth.tar` = {"state_dict": ..., "optimizer": ...}, the keys possibly prefixed
"module." (trained on several GPUs); the attribute count is read from the shapes and the names are the
reference config's 10 unless --attributes says otherwise. Reference pre-processing: CelebA centre crop
178, resize to 128, [-1, 1]; output tanh. Its condition is the difference vector c_trg - c_org, tested
with values in {-1, 0, 1} (trained up to ±2 * thres_int = ±1), which is the engine's y_diff as it is.
Batch norms use running statistics (the reference tests in eval mode).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from trainer.importers import IMPORTERS
from trainer.importers.base import ImportConfig, Importer, ImportOptions, attribute_list, editor_spec
from trainer.methods.base import ExportSpec
from trainer.nets.stgan_official import STGANOfficialGenerator

# configs/train_stgan.yaml
DEFAULT_ATTRIBUTES = ["Bangs", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses", "Male",
                      "Mouth_Slightly_Open", "Mustache", "Pale_Skin", "Young"]
BOTTLENECK = 1024                 # conv_dim 64 * 2 ** (5 layers - 1)


@IMPORTERS.register("stgan")
class STGANImporter(Importer):
    name = "stgan"
    reference = "bluestyle97/STGAN-pytorch"
    reference_url = "https://github.com/bluestyle97/STGAN-pytorch"
    containers = ("state_dict", "G")
    default_resolution = 128
    resolution_multiple = 32
    data_domain = "celeba"

    def build(self, **kwargs: Any) -> nn.Module:
        return STGANOfficialGenerator(**kwargs)

    def network_kwargs(self, sd: Mapping[str, Any], opts: ImportOptions) -> dict[str, Any]:
        dec0 = sd.get("decoder.0.0.weight")
        if dec0 is not None and getattr(dec0, "ndim", 0) == 4 and dec0.shape[0] > BOTTLENECK:
            return {"n_attrs": int(dec0.shape[0]) - BOTTLENECK}
        return {}

    def configure(self, cfg: ImportConfig, kwargs: dict[str, Any], opts: ImportOptions) -> None:
        cfg.attributes = attribute_list(kwargs.get("n_attrs", 10), DEFAULT_ATTRIBUTES, opts, self.name)
        cfg.condition = {"offset": 0.0, "scale": 1.0, "reference": "difference vector c_trg - c_org",
                         "mapping": "condition = y_diff"}
        cfg.preprocessing = {"crop": "CelebA aligned image, centre crop 178, resize to the resolution",
                             "normalization": "minus1_1", "output": "tanh, [-1, 1]",
                             "batch_norm": "running statistics (eval mode)"}

    def export_spec(self, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
        return editor_spec(self.name, net, cfg)
