"""The official StarGAN generator (yunjey/stargan; `200000-G.ckpt`, CelebA 128², 5 attributes) as an
`edit_attributes` model.

Reference pre-processing: CelebA's aligned image centre-cropped to 178 and resized to 128, in [-1, 1]
(the app's aligned face crop is that framing); output tanh in [-1, 1]. Instance norms normalise with
each image's own statistics (trainer/nets/stargan_official.py says why). The reference's condition is the
target domain labels (0/1, in its `selected_attrs` order). The engine gives a difference vector y_diff (0 =
keep) and no source labels, so the graph feeds G the target 0.5 + 0.5 * y_diff: +1 = has it, -1 = has it
not, 0 = undecided (the midpoint); docs/importers.md says what that costs and how keep_detail helps.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from trainer.importers import IMPORTERS
from trainer.importers.base import ImportConfig, Importer, ImportOptions, attribute_list, editor_spec
from trainer.methods.base import ExportSpec
from trainer.nets.stargan_official import StarGANOfficialGenerator

DEFAULT_ATTRIBUTES = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]   # its main.py default


@IMPORTERS.register("stargan")
class StarGANImporter(Importer):
    name = "stargan"
    reference = "yunjey/stargan"
    reference_url = "https://github.com/yunjey/stargan"
    containers = ("G", "state_dict")
    default_resolution = 128
    resolution_multiple = 4
    data_domain = "celeba"

    def build(self, **kwargs: Any) -> nn.Module:
        return StarGANOfficialGenerator(**kwargs)

    def network_kwargs(self, sd: Mapping[str, Any], opts: ImportOptions) -> dict[str, Any]:
        first = sd.get("main.0.weight")
        if first is not None and getattr(first, "ndim", 0) == 4 and first.shape[1] > 3:
            return {"c_dim": int(first.shape[1]) - 3}
        return {}

    def configure(self, cfg: ImportConfig, kwargs: dict[str, Any], opts: ImportOptions) -> None:
        cfg.attributes = attribute_list(kwargs.get("c_dim", 5), DEFAULT_ATTRIBUTES, opts, self.name)
        cfg.condition = {"offset": 0.5, "scale": 0.5,
                         "reference": "target domain labels in {0, 1}",
                         "mapping": "target = 0.5 + 0.5 * y_diff (0 = the midpoint: no source labels at run time)"}
        cfg.preprocessing = {"crop": "CelebA aligned image, centre crop 178, resize to the resolution",
                             "normalization": "minus1_1", "output": "tanh, [-1, 1]",
                             "instance_norm": "each image's own statistics at test time (running statistics "
                                              "in the checkpoint are loaded and not used)"}

    def export_spec(self, net: nn.Module, cfg: ImportConfig) -> ExportSpec:
        return editor_spec(self.name, net, cfg)
