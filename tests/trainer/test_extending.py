"""A method and a network added from outside the package, by name (the recipe of docs/architecture.md):
this module defines both, registers them, and trains, evaluates and exports them with the functions
`faceeditor-train train / evaluate / export` call, without any change to trainer/. The exported pack is then
judged by the same §4.4 evaluation as the run."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from faceeditor.core.labels import ATTRIBUTES
from trainer.data.registry import DataConfig
from trainer.methods.base import register_method
from trainer.methods.editing import EditBatch, EditingMethod, EditorConfig
from trainer.nets.editor_backbone import EditorBackbone
from trainer.registry import METHODS, NETWORKS

RES = 32


# --- a network: one file in trainer/nets/ would hold this and register it -----------------------------

class TinyGenerator(nn.Module):
    """G(x, c): the condition tiled over the image, two convolutions."""

    def __init__(self, n_attrs: int, in_channels: int, out_channels: int, width: int, activation: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels + n_attrs, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, out_channels, 3, padding=1))
        self.activation = activation

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c_map = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        y = self.body(torch.cat([x, c_map], dim=1))
        return torch.tanh(y) if self.activation == "tanh" else y


class TinyCritic(nn.Module):
    """D(x) -> (realism patch map, attribute logits)."""

    def __init__(self, n_attrs: int, in_channels: int, width: int):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.01))
        self.adv = nn.Conv2d(width, 1, 3, padding=1)
        self.cls = nn.Linear(width, n_attrs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.adv(h), self.cls(h.mean(dim=(2, 3)))


NETWORKS.register("tiny", EditorBackbone(
    generator=lambda cfg, n_attrs, cin, cout, act: TinyGenerator(n_attrs, cin, cout, cfg.g_width, act),
    critic=lambda cfg, n_attrs, cin: TinyCritic(n_attrs, cin, cfg.d_width),
))


# --- a method: one file in trainer/methods/ would hold this (and its name in trainer/registry.py) ----

@dataclass
class TinyEditConfig(EditorConfig):
    method: str = "tinyedit"
    backbone: str = "tiny"
    lambda_tv: float = 0.1          # the method's own term: smooth edits


@register_method
class TinyEditMethod(EditingMethod):
    """The baseline editor plus a total-variation term on the edits, added through the g_loss hook."""

    name = "tinyedit"
    config_class = TinyEditConfig
    cfg: TinyEditConfig

    def g_loss(self, b: EditBatch, out: dict[str, float]) -> torch.Tensor:
        loss = super().g_loss(b, out)
        tv = (b.x_fake[..., 1:, :] - b.x_fake[..., :-1, :]).abs().mean() \
            + (b.x_fake[..., 1:] - b.x_fake[..., :-1]).abs().mean()
        out["G/tv"] = float(tv.detach())
        return loss + self.cfg.lambda_tv * tv


# --- the test ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from trainer.data.synthfaces.native import write_native

    root = tmp_path_factory.mktemp("sf") / "sf"
    write_native(root, count=30, size=RES, seed=5, workers=1, progress=False)
    return root


def _evaluator_run(run_dir) -> None:
    """An attribute classifier run (config + checkpoint), untrained: the judge only has to exist."""
    from trainer.checkpoint import save_checkpoint
    from trainer.config import save_config
    from trainer.methods.classifier import ClassifierConfig, ClassifierMethod

    cfg = ClassifierConfig(run_dir=str(run_dir), width=4, feature_dim=16, stages=3, data=DataConfig(resolution=RES))
    torch.manual_seed(0)
    method = ClassifierMethod(cfg, torch.device("cpu"))
    save_config(cfg, run_dir / "config.json")
    save_checkpoint({"step": 1, "nets": {"classifier": method.build_networks()["classifier"].state_dict()}},
                    run_dir, 1, keep=1)


def test_a_method_and_network_registered_outside_the_package(synth_root, tmp_path):
    from trainer.checkpoint import load_trained_method
    from trainer.commands.evaluate_pack import evaluate_pack_editor
    from trainer.config import ConfigError, load_config
    from trainer.export import export_run
    from trainer.loop import evaluate_split, train

    assert "tinyedit" in METHODS.names() and "tiny" in NETWORKS.names()
    with pytest.raises(ConfigError, match=r"backbone: unknown editor backbone 'nope'; known: .*tiny"):
        TinyEditConfig(backbone="nope").check()

    _evaluator_run(tmp_path / "evaluator")
    run = tmp_path / "run"
    cfg = TinyEditConfig(run_dir=str(run), evaluator=str(tmp_path / "evaluator"), g_width=8, d_width=8, d_layers=1,
                         data=DataConfig(root=str(synth_root), resolution=RES, num_workers=0),
                         iters=3, n_critic=1, batch_size=4, lr=1e-3, device="cpu", deterministic=True,
                         log_every=1, sample_every=0, ckpt_every=0, eval_limit=2)
    cfg.check()
    result = train(cfg)
    assert result.status == "finished" and result.step == 3
    assert load_config(run / "config.json") == cfg                  # the run's config names the new pieces

    # faceeditor-train evaluate
    method, _ = load_trained_method(run, "cpu")
    assert isinstance(method, TinyEditMethod)
    figures = evaluate_split(method, method.cfg, "test", torch.device("cpu"), batch_size=2)
    assert figures["images"] == 2.0 and set(f"edit_acc/{a}" for a in ATTRIBUTES) <= set(figures)
    assert all(np.isfinite(figures[k]) for k in ("edit_acc", "rec_psnr", "gt_l1", "fd_evaluator"))

    # faceeditor-train export (ONNX, parity-checked against PyTorch)
    pack = tmp_path / "pack"
    manifest = export_run(run, pack, log=lambda *a, **k: None)
    (entry,) = manifest.models
    assert (entry.name, entry.task, entry.method, entry.backbone) == ("tinyedit", "edit_attributes", "tinyedit",
                                                                      "tiny")

    # the pack's graph, judged by the same evaluation, gives the run's figures
    packed = evaluate_pack_editor(pack, synth_root, tmp_path / "evaluator", split="test", batch=2, limit=2)
    for key in ("edit_acc", "rec_psnr", "gt_l1"):
        assert packed[key] == pytest.approx(figures[key], rel=1e-3, abs=1e-3), key

