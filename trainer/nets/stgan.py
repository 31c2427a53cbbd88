"""STGAN generator and discriminator (Liu et al. 2019), the backbone of MagGAN (shared/papers/maggan.md §3).

Generator: an encoder of n_layers (Conv4x4 s2, IN, LeakyReLU) doubling the width up to max_width; a
decoder of n_layers (ConvT4x4 s2) back to the input size. The attribute difference (y_diff) enters at the
bottleneck and, through selective transfer units (STUs), on the `shortcut_layers` skip connections: an
STU is a GRU-like cell that reads the encoder feature of its level and a hidden state coming up from the
level below (the bottleneck for the first), and passes on a transformed feature to the decoder and a new
hidden state to the next level, so the skips carry detail that the edit selectively changes (STGAN eqs.
3-6). y_diff is also injected (tiled and concatenated) after the first `inject_layers` decoder layers.

Options of this project, each a constructor argument:
- the condition may be a vector (N, C), tiled as in STGAN, or a spatial map (N, C, H, W) at image size,
  averaged down to every level: MagGAN's mask-guided conditioning (eq. 12) passes att_diff_i x M_i;
- `spade`: the decoder's normalisation is SPADE-style (de-normalised by γ, β predicted from the
  condition map concatenated to the features, MagGAN Figure 3 right) instead of affine IN;
- `refined_residual`: the last decoder layer keeps `base_width` features at full size and the input image
  is concatenated to them before a final 3x3 convolution (SG-GAN's refined residual learning), so the
  generator can copy what it does not change instead of redrawing it through the bottleneck.

Instance norms keep no running statistics, so training, eval and the exported graph normalise alike.

Discriminator: STGAN uses AttGAN's (conv trunk, FC heads for realism and the attributes), with instance
norms in the trunk: no batch statistics, which WGAN-GP's per-sample gradient penalty needs.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trainer.nets.editor_backbone import EditorBackbone
from trainer.nets.stargan import OUT_ACTIVATIONS, apply_out_activation, instance_norm
from trainer.registry import NETWORKS


def condition_at(c: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The condition at the size of `like`: a vector (N, C) tiled, or a map (N, C, H, W) averaged down by
    the (power of two) factor between its size and `like`'s."""
    if c.dim() == 2:
        return c.to(like.dtype).view(c.shape[0], c.shape[1], 1, 1).expand(-1, -1, like.shape[2], like.shape[3])
    factor = c.shape[-1] // like.shape[-1]
    if factor > 1:
        c = F.avg_pool2d(c, factor)
    return c.to(like.dtype)


class SelectiveTransferUnit(nn.Module):
    """STGAN's STU (eqs. 3-6). Inputs: encoder feature f (N, enc, H, W), hidden state s (N, state, H/2, W/2)
    and the condition at the state's size (N, cond, H/2, W/2). Outputs: the transferred feature f_t and the
    new hidden state s' (both (N, enc, H, W)):

        ŝ = ConvT([s, att]);  r = σ(W_r [f, ŝ]);  z = σ(W_z [f, ŝ]);  s' = r ∘ ŝ
        f̂ = tanh(W_h [f, s']);  f_t = (1 − z) ∘ ŝ + z ∘ f̂
    """

    def __init__(self, enc_channels: int, state_channels: int, cond_channels: int, kernel: int = 3):
        super().__init__()
        pad = kernel // 2
        self.up = nn.ConvTranspose2d(state_channels + cond_channels, enc_channels, 4, 2, 1, bias=False)
        self.reset = nn.Sequential(nn.Conv2d(2 * enc_channels, enc_channels, kernel, 1, pad, bias=False),
                                   instance_norm(enc_channels))
        self.update = nn.Sequential(nn.Conv2d(2 * enc_channels, enc_channels, kernel, 1, pad, bias=False),
                                    instance_norm(enc_channels))
        self.hidden = nn.Sequential(nn.Conv2d(2 * enc_channels, enc_channels, kernel, 1, pad, bias=False),
                                    instance_norm(enc_channels))

    def forward(self, f: torch.Tensor, s: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        s_hat = self.up(s if cond is None else torch.cat([s, cond], dim=1))
        fs = torch.cat([f, s_hat], dim=1)
        r = torch.sigmoid(self.reset(fs))
        z = torch.sigmoid(self.update(fs))
        s_new = r * s_hat
        f_hat = torch.tanh(self.hidden(torch.cat([f, s_new], dim=1)))
        return (1 - z) * s_hat + z * f_hat, s_new


class SPADENorm(nn.Module):
    """Parameter-free IN de-normalised by γ, β predicted from [condition map, features] (MagGAN Fig. 3)."""

    def __init__(self, channels: int, cond_channels: int, hidden: int = 64):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
        self.shared = nn.Sequential(nn.Conv2d(cond_channels + channels, hidden, 3, 1, 1), nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        a = self.shared(torch.cat([cond, h], dim=1))
        return self.norm(h) * (1 + self.gamma(a)) + self.beta(a)


class DecoderLayer(nn.Module):
    """ConvT4x4 s2, then IN (affine) or SPADE on the condition, then ReLU."""

    def __init__(self, c_in: int, c_out: int, cond_channels: int, spade: bool):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
        self.spade = SPADENorm(c_out, cond_channels, min(64, c_out)) if spade and cond_channels else None
        self.norm = None if self.spade is not None else instance_norm(c_out)

    def forward(self, h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        h = self.conv(h)
        h = self.spade(h, condition_at(c, h)) if self.spade is not None else self.norm(h)
        return F.relu(h)


class STGANGenerator(nn.Module):
    """G(x, c): encoder, STUs on the skips, decoder; c is y_diff (N, n_attrs) or a map (N, n_attrs, H, W)."""

    def __init__(
        self,
        n_attrs: int = 13,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 64,
        max_width: int = 1024,
        n_layers: int = 5,
        shortcut_layers: int = 4,
        inject_layers: int = 4,
        use_stu: bool = True,
        spade: bool = False,
        refined_residual: bool = False,
        out_activation: str = "tanh",
    ):
        super().__init__()
        if out_activation not in OUT_ACTIVATIONS:
            raise ValueError(f"out_activation must be one of {OUT_ACTIVATIONS}, got {out_activation!r}")
        if n_layers < 1 or not 0 <= shortcut_layers < n_layers or not 0 <= inject_layers < n_layers:
            raise ValueError("STGANGenerator: need n_layers >= 1 and shortcut/inject layers in [0, n_layers)")
        if n_attrs < 0 or in_channels < 1 or out_channels < 1 or base_width < 1 or max_width < base_width:
            raise ValueError("STGANGenerator: sizes must be positive (n_attrs may be 0)")
        self.n_attrs, self.in_channels, self.out_channels = n_attrs, in_channels, out_channels
        self.n_layers, self.shortcut_layers, self.inject_layers = n_layers, shortcut_layers, inject_layers
        self.use_stu, self.refined_residual, self.out_activation = use_stu, refined_residual, out_activation
        widths = [min(base_width * 2 ** i, max_width) for i in range(n_layers)]
        self.widths = widths

        self.encoder = nn.ModuleList()
        c_in = in_channels
        for w in widths:
            self.encoder.append(nn.Sequential(nn.Conv2d(c_in, w, 4, 2, 1, bias=False), instance_norm(w),
                                              nn.LeakyReLU(0.2, inplace=True)))
            c_in = w
        # STU i sits on the skip of encoder level n_layers - 2 - i (the deepest skip first); its state comes
        # from the bottleneck (i = 0) or the STU below it
        self.stus = nn.ModuleList()
        if use_stu:
            state = widths[-1]
            for i in range(shortcut_layers):
                enc = widths[n_layers - 2 - i]
                self.stus.append(SelectiveTransferUnit(enc, state, n_attrs))
                state = enc
        self.decoder = nn.ModuleList()
        c_in = widths[-1] + n_attrs
        for i in range(n_layers - 1):
            w = widths[n_layers - 2 - i]
            self.decoder.append(DecoderLayer(c_in, w, n_attrs, spade))
            c_in = w
            if i < shortcut_layers:
                c_in += widths[n_layers - 2 - i]
            if i < inject_layers:
                c_in += n_attrs
        if refined_residual:
            self.last = DecoderLayer(c_in, base_width, n_attrs, spade)
            self.out = nn.Conv2d(base_width + in_channels, out_channels, 3, 1, 1)
        else:
            self.last = nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1)
            self.out = None

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W) with H, W divisible by 2**n_layers; c: (N, n_attrs) or (N, n_attrs, H, W)."""
        cond = c if self.n_attrs else None
        feats = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            feats.append(h)
        skips: list[torch.Tensor] = []
        if self.use_stu:
            state = feats[-1]
            for i, stu in enumerate(self.stus):
                f = feats[self.n_layers - 2 - i]
                f_t, state = stu(f, state, condition_at(cond, state) if cond is not None else None)
                skips.append(f_t)
        else:
            skips = [feats[self.n_layers - 2 - i] for i in range(self.shortcut_layers)]
        if cond is not None:
            h = torch.cat([h, condition_at(cond, h)], dim=1)
        for i, layer in enumerate(self.decoder):
            h = layer(h, cond)
            if i < self.shortcut_layers:
                h = torch.cat([h, skips[i]], dim=1)
            if i < self.inject_layers and cond is not None:
                h = torch.cat([h, condition_at(cond, h)], dim=1)
        if self.out is not None:
            h = self.out(torch.cat([self.last(h, cond), x], dim=1))
        else:
            h = self.last(h)
        return apply_out_activation(h, self.out_activation)


class STGANDiscriminator(nn.Module):
    """AttGAN's critic as STGAN uses it: n_layers (Conv4x4 s2, IN, LeakyReLU) doubling the width up to
    max_width, then FC(fc_width), LeakyReLU, FC(1) for realism and FC(fc_width), LeakyReLU, FC(n_attrs)
    for the attribute logits. Returns (realism (N, 1), logits (N, n_attrs))."""

    def __init__(self, image_size: int = 128, n_attrs: int = 13, in_channels: int = 3, base_width: int = 64,
                 max_width: int = 1024, n_layers: int = 5, fc_width: int = 1024):
        super().__init__()
        if n_layers < 1 or image_size % (2 ** n_layers):
            raise ValueError(f"image_size {image_size} must be divisible by 2**n_layers = {2 ** n_layers}")
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(n_layers):
            w = min(base_width * 2 ** i, max_width)
            layers += [nn.Conv2d(c_in, w, 4, 2, 1), instance_norm(w), nn.LeakyReLU(0.2, inplace=True)]
            c_in = w
        self.main = nn.Sequential(*layers)
        self.image_size, self.n_attrs = image_size, n_attrs
        flat = c_in * (image_size // 2 ** n_layers) ** 2
        self.adv = nn.Sequential(nn.Flatten(), nn.Linear(flat, fc_width), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(fc_width, 1))
        self.cls = nn.Sequential(nn.Flatten(), nn.Linear(flat, fc_width), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(fc_width, n_attrs)) if n_attrs else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.main(x)
        return self.adv(h), (self.cls(h) if self.cls is not None else None)


def _generator(cfg: Any, n_attrs: int, in_channels: int, out_channels: int, activation: str) -> STGANGenerator:
    return STGANGenerator(n_attrs, in_channels, out_channels, cfg.g_width, cfg.g_max_width, cfg.g_layers,
                          getattr(cfg, "shortcut_layers", 4), getattr(cfg, "inject_layers", 4),
                          getattr(cfg, "use_stu", True), getattr(cfg, "spade", False),
                          getattr(cfg, "refined_residual", False), activation)


def _critic(cfg: Any, n_attrs: int, in_channels: int) -> STGANDiscriminator:
    return STGANDiscriminator(cfg.data.resolution, n_attrs, in_channels, cfg.d_width, cfg.g_max_width,
                              cfg.d_layers, cfg.fc_width)


def _check(cfg: Any) -> None:
    if cfg.data.resolution % (2 ** cfg.g_layers):
        raise ValueError(f"g_layers: data.resolution {cfg.data.resolution} must be divisible by 2**g_layers")
    if not 0 <= getattr(cfg, "shortcut_layers", 4) < cfg.g_layers:
        raise ValueError(f"shortcut_layers: expected 0..{cfg.g_layers - 1}")
    if not 0 <= getattr(cfg, "inject_layers", 4) < cfg.g_layers:
        raise ValueError(f"inject_layers: expected 0..{cfg.g_layers - 1}")


# STGAN's λ: λ_rec 100, λ_cls(G) 10, λ_cls(D) 1 (as AttGAN)
NETWORKS.register("stgan", EditorBackbone(
    _generator, _critic, {"lambda_cls": 1.0, "lambda_cls_g": 10.0, "lambda_rec": 100.0}, _check))
