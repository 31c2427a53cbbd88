"""SG-GAN's networks (shared/papers/sggan.md, appendix Tables 4 and 5): a one-input multi-output generator
and a discriminator with a realism map and one softmax classifier per attribute.

Generator (Table 4), widths scaled by `g_width` (the paper: 64):

    shared encoder   conv7 s1 (w), conv4 s2 (2w), conv4 s2 (4w); each CONV, ReLU, InstanceNorm in the
                     table's order (ReLU before the norm)
    bottleneck       `n_res` residual blocks of 4w (the paper: 6); Table 4 lists one CONV3, ReLU, IN per
                     block, so a block is x + IN(ReLU(conv3(x)))
    heads            one decoder per (attribute, value), A x 2 of them, sharing no variables:
                     deconv4 s2 (2w), deconv4 s2 (w) (each ReLU, IN), then the output layer

Output layer (`output`):

    "refined"   the paper's refined residual learning: conv7(concat(F, x)) -> tanh, so the last layer reads
                the input image and learns how to combine it with the features F
    "residual"  ResidualGAN's plain residual: x + conv7(F), clamped to [-1, 1]. A clamp, not a tanh: with a
                zero residual the output is exactly the input (tanh(x + r) would shift every pixel), which is
                what residual learning is for; the clamp passes no gradient where a pixel is saturated
    "none"      no residual: tanh(conv7(F))

`identity_start` (not in the paper; for short CPU budgets): the output layer starts as a copy of the input,
so training begins from "change nothing" instead of from noise: "refined" gets the x channels of its last
convolution set to the identity at the centre tap and the F channels to zero (tanh(x) at the start),
"residual" gets a zero last convolution (exactly x). The paper says of the refined residual that it lets G
"choose a good initial point"; this makes the initial point the input itself.

forward(x) returns every head's output, (N, A, 2, 3, H, W): [:, a, v] is attribute a set to value v
(0 = absent, 1 = present). `heads(x, pairs)` runs the encoder once and only the listed heads, and
`per_row(x, head)` runs a possibly different head for each image (the reconstruction loss of eq. 5 and the
evaluation's editor). Convolutions keep their biases (the norm comes after the ReLU, so a bias matters);
instance norms are affine without running statistics (training, eval and ONNX normalise alike).

Discriminator (Table 5): conv5 s2 + LeakyReLU(0.2) layers of widths 64, 128, 256, 512, 512, 1024 (scaled
by d_width / 64, capped at d_max_width; layers past the sixth keep the last width) until the map is 2x2
(6 layers at 128², 5 at 64²; the resolution must be a power of two >= 8); D_adv = conv3 s1 -> a 2x2 patch
map; D_cls = one conv2 'valid' per attribute -> 2 logits (a softmax over the attribute's two values).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainer.registry import NETWORKS

OUTPUT_MODES = ("refined", "residual", "none")
D_WIDTHS = (64, 128, 256, 512, 512, 1024)      # Table 5 at w = 64


@dataclass
class SGGANNetConfig:
    n_attrs: int = 4
    resolution: int = 128
    g_width: int = 64
    n_res: int = 6
    output: str = "refined"
    d_width: int = 64
    d_max_width: int = 1024
    identity_start: bool = False

    def check(self) -> None:
        if self.output not in OUTPUT_MODES:
            raise ValueError(f"output: expected one of {', '.join(OUTPUT_MODES)}, got {self.output!r}")
        if self.identity_start and self.output == "none":
            raise ValueError("identity_start: output 'none' does not read the input, so it cannot start as a copy "
                             "of it (use 'refined' or 'residual')")
        for name in ("n_attrs", "g_width", "d_width", "d_max_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if self.n_res < 0:
            raise ValueError(f"n_res: expected an integer >= 0, got {self.n_res!r}")
        d_layers(self.resolution)


def d_layers(resolution: int) -> int:
    """Discriminator layers that bring `resolution` to a 2x2 map (Table 5: 6 at 128²)."""
    n = resolution.bit_length() - 2
    if resolution < 8 or resolution & (resolution - 1):
        raise ValueError(f"data.resolution: SG-GAN's discriminator halves the image down to 2x2, so the "
                         f"resolution must be a power of two >= 8, got {resolution}")
    return n


def d_widths(resolution: int, d_width: int = 64, d_max_width: int = 1024) -> list[int]:
    """Output widths of the discriminator's stride-2 layers at this resolution."""
    n = d_layers(resolution)
    base = [D_WIDTHS[min(i, len(D_WIDTHS) - 1)] for i in range(n)]
    return [max(1, min(d_max_width, w * d_width // 64)) for w in base]


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


def _conv_relu_in(cin: int, cout: int, k: int, s: int, p: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p), nn.ReLU(inplace=True), _norm(cout))


def _deconv_relu_in(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.ReLU(inplace=True), _norm(cout))


class TableResBlock(nn.Module):
    """x + IN(ReLU(conv3(x))): one CONV, ReLU, IN per residual block, as Table 4 lists it."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = _conv_relu_in(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DecoderHead(nn.Module):
    """One (attribute, value) decoder: deconv4 s2 (2w), deconv4 s2 (w), output layer."""

    def __init__(self, width: int, output: str, identity_start: bool = False):
        super().__init__()
        self.output = output
        self.up = nn.Sequential(_deconv_relu_in(4 * width, 2 * width), _deconv_relu_in(2 * width, width))
        self.out = nn.Conv2d(width + (3 if output == "refined" else 0), 3, 7, 1, 3)
        if identity_start:
            self.start_as_identity(width)

    @torch.no_grad()
    def start_as_identity(self, width: int) -> None:
        """The output layer copies the input (see the module docstring, `identity_start`)."""
        self.out.weight.zero_()
        self.out.bias.zero_()
        if self.output == "refined":
            k = self.out.kernel_size[0] // 2
            for c in range(3):
                self.out.weight[c, width + c, k, k] = 1.0

    def forward(self, feat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self.up(feat)
        if self.output == "refined":
            return torch.tanh(self.out(torch.cat([h, x.to(h.dtype)], dim=1)))
        if self.output == "residual":
            return torch.clamp(x.to(h.dtype) + self.out(h), -1.0, 1.0)
        return torch.tanh(self.out(h))


class SGGANGenerator(nn.Module):
    """G(x) -> (N, A, 2, 3, H, W): a shared encoder and bottleneck, one decoder head per attribute value."""

    def __init__(self, n_attrs: int = 4, g_width: int = 64, n_res: int = 6, output: str = "refined",
                 identity_start: bool = False):
        super().__init__()
        SGGANNetConfig(n_attrs=n_attrs, g_width=g_width, n_res=n_res, output=output,
                       identity_start=identity_start).check()
        w = g_width
        self.n_attrs = n_attrs
        self.output = output
        self.encoder = nn.Sequential(
            _conv_relu_in(3, w, 7, 1, 3), _conv_relu_in(w, 2 * w, 4, 2, 1), _conv_relu_in(2 * w, 4 * w, 4, 2, 1),
            *[TableResBlock(4 * w) for _ in range(n_res)])
        # head a * 2 + v: attribute a set to value v
        self.decoders = nn.ModuleList(DecoderHead(w, output, identity_start) for _ in range(2 * n_attrs))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"SG-GAN's generator needs a height and width divisible by 4, got {tuple(x.shape)}")
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.encode(x)
        out = torch.stack([head(feat, x) for head in self.decoders], dim=1)
        return out.view(x.shape[0], self.n_attrs, 2, *out.shape[2:])

    def heads(self, x: torch.Tensor, pairs: list[tuple[int, int]]) -> torch.Tensor:
        """The encoder once, then only the heads (attribute, value) of `pairs`: (N, len(pairs), 3, H, W)."""
        feat = self.encode(x)
        return torch.stack([self.decoders[a * 2 + v](feat, x) for a, v in pairs], dim=1)

    def per_row(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """Image i through head `head[i]` (= attribute * 2 + value; -1 = return the image unchanged):
        (N, 3, H, W); the encoder runs once, each head on its rows only."""
        out = x.clone()
        need = head >= 0
        if not bool(need.any()):
            return out
        rows = need.nonzero().flatten()
        feat = self.encode(x[rows])
        sub = head[rows]
        for h in sorted(set(sub.tolist())):
            sel = (sub == h).nonzero().flatten()
            out[rows[sel]] = self.decoders[h](feat[sel], x[rows[sel]]).to(out.dtype)
        return out


class SGGANDiscriminator(nn.Module):
    """D(x) -> (adv (N, 1, 2, 2), cls logits (N, A, 2))."""

    def __init__(self, n_attrs: int = 4, resolution: int = 128, d_width: int = 64, d_max_width: int = 1024):
        super().__init__()
        widths = d_widths(resolution, d_width, d_max_width)
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:
            layers += [nn.Conv2d(cin, w, 5, 2, 2), nn.LeakyReLU(0.2)]
            cin = w
        self.main = nn.Sequential(*layers)
        self.resolution = resolution
        self.n_attrs = n_attrs
        self.adv = nn.Conv2d(cin, 1, 3, 1, 1)
        self.cls = nn.ModuleList(nn.Conv2d(cin, 2, 2, 1, 0) for _ in range(n_attrs))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        cls = torch.stack([c(h).flatten(1) for c in self.cls], dim=1)
        return self.adv(h), cls

    def attribute_probs(self, x: torch.Tensor) -> torch.Tensor:
        """P(value 1) of each attribute, (N, A): the softmax of its two logits."""
        return F.softmax(self.forward(x)[1].float(), dim=2)[:, :, 1]


def build_sggan_nets(cfg: SGGANNetConfig) -> dict[str, nn.Module]:
    """{"G": generator, "D": discriminator} of one config."""
    cfg.check()
    return {"G": SGGANGenerator(cfg.n_attrs, cfg.g_width, cfg.n_res, cfg.output, cfg.identity_start),
            "D": SGGANDiscriminator(cfg.n_attrs, cfg.resolution, cfg.d_width, cfg.d_max_width)}


NETWORKS.register("sggan", build_sggan_nets)
