"""Training throughput: one StarGAN D+G iteration, the official code's way vs the trainer's way.

Reference (as the official StarGAN solver runs): fp32, eager, default memory format, torch.optim.Adam with
default options, losses read back with .item() every iteration. Trainer: the same networks, losses and
batch, set up by the training loop's own code (trainer.loop.place_networks: channels_last on CUDA,
torch.compile when asked, the Method's Adam, fused on CUDA) and run under Method.autocast() (bf16 on
CUDA). One iteration = the WGAN-GP critic step (real/fake/gradient-penalty/classification losses) then
the generator step (adversarial, classification and cycle-reconstruction losses).

Both variants start from the same weights and see the same batch; they are timed in alternating rounds
in one process and the median time per iteration of each is reported, with the ratio.

    python benchmarks/train_throughput.py                     # 128x128, batch 16 (the paper's setting)
    python benchmarks/train_throughput.py --size 64 --batch 4 --iters 3 --device cpu
    python benchmarks/train_throughput.py --compile           # also torch.compile the generator

On CPU the trainer's speed features (channels_last, bf16 autocast, fused Adam) are CUDA-only, so the
ratio there measures only that the loop's step costs nothing extra.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.config import TrainConfig  # noqa: E402
from trainer.loop import batch_to_device, place_networks, resolve_device  # noqa: E402
from trainer.methods.base import Method  # noqa: E402
from trainer.nets.stargan import StarGANDiscriminator, StarGANGenerator  # noqa: E402

LAMBDA_CLS, LAMBDA_REC, LAMBDA_GP = 1.0, 10.0, 10.0


def gradient_penalty(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||d out / d x||_2 - 1)^2, averaged over the batch."""
    grad = torch.autograd.grad(outputs=out, inputs=x, grad_outputs=torch.ones_like(out),
                               retain_graph=True, create_graph=True, only_inputs=True)[0]
    grad = grad.float().flatten(1)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def stargan_iteration(G: nn.Module, D: nn.Module, g_opt: torch.optim.Optimizer, d_opt: torch.optim.Optimizer,
                      batch: dict[str, torch.Tensor], autocast: AbstractContextManager) -> tuple[float, float]:
    """One D step and one G step of StarGAN (Choi et al. 2018, official solver.py losses)."""
    x, c_org, c_trg = batch["image"], batch["attrs"], batch["target"]
    n = x.size(0)
    # --- discriminator ---
    with autocast:
        out_src, out_cls = D(x)
        d_real = -out_src.float().mean()
        d_cls = F.binary_cross_entropy_with_logits(out_cls.float(), c_org, reduction="sum") / n
        x_fake = G(x, c_trg)
        out_src, _ = D(x_fake.detach())
        d_fake = out_src.float().mean()
    alpha = torch.rand(n, 1, 1, 1, device=x.device)
    x_hat = (alpha * x + (1 - alpha) * x_fake.detach().float()).requires_grad_(True)
    with autocast:
        out_src, _ = D(x_hat)
    d_gp = gradient_penalty(out_src, x_hat)
    d_loss = d_real + d_fake + LAMBDA_CLS * d_cls + LAMBDA_GP * d_gp
    g_opt.zero_grad()
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    # --- generator ---
    with autocast:
        x_fake = G(x, c_trg)
        out_src, out_cls = D(x_fake)
        g_fake = -out_src.float().mean()
        g_cls = F.binary_cross_entropy_with_logits(out_cls.float(), c_trg, reduction="sum") / n
        x_rec = G(x_fake, c_org)
        g_rec = (x - x_rec.float()).abs().mean()
    g_loss = g_fake + LAMBDA_REC * g_rec + LAMBDA_CLS * g_cls
    g_opt.zero_grad()
    d_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()


class StarGANStep(Method):
    """The same iteration as a trainer Method, so that the loop's set-up code prepares it."""

    name = "stargan_benchmark"

    def __init__(self, cfg: TrainConfig, device: torch.device, G: nn.Module, D: nn.Module):
        super().__init__(cfg, device)
        self._nets = {"G": G, "D": D}

    def build_networks(self) -> dict[str, nn.Module]:
        return self._nets

    def compilable(self) -> list[str]:
        return ["G"]          # D needs double backward for the gradient penalty

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        d, g = stargan_iteration(self.nets["G"], self.nets["D"], self.optimizers["G"], self.optimizers["D"],
                                 batch, self.autocast())
        return {"loss_d": d, "loss_g": g}


def make_batch(size: int, batch: int, n_attrs: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    attrs = (torch.rand(batch, n_attrs, generator=g) < 0.5).float()
    return {"image": torch.rand(batch, 3, size, size, generator=g) * 2 - 1, "attrs": attrs,
            "target": attrs[torch.randperm(batch, generator=g)]}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iters", type=int, default=20, help="timed iterations per round")
    p.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (median reported)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--attrs", type=int, default=13)
    p.add_argument("--width", type=int, default=64, help="base width of G and D")
    p.add_argument("--n-res", type=int, default=6)
    p.add_argument("--d-layers", type=int, default=6)
    p.add_argument("--compile", action="store_true", help="torch.compile the generator in the trainer's step")
    p.add_argument("--no-amp", action="store_true", help="trainer step without bf16 autocast")
    p.add_argument("--no-channels-last", action="store_true")
    args = p.parse_args(argv)

    device = resolve_device(args.device)
    torch.manual_seed(0)
    G0 = StarGANGenerator(n_attrs=args.attrs, in_channels=3, out_channels=3, base_width=args.width,
                          n_res=args.n_res)
    D0 = StarGANDiscriminator(image_size=args.size, n_attrs=args.attrs, in_channels=3, base_width=args.width,
                              n_layers=args.d_layers)

    # reference: official style
    G_ref, D_ref = copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device)
    g_opt = torch.optim.Adam(G_ref.parameters(), 1e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D_ref.parameters(), 1e-4, betas=(0.5, 0.999))
    cpu_batch = make_batch(args.size, args.batch, args.attrs)
    ref_batch = {k: v.to(device) for k, v in cpu_batch.items()}

    # trainer: the loop's own set-up
    cfg = TrainConfig(method="stargan_benchmark", lr=1e-4, betas=(0.5, 0.999), amp=not args.no_amp,
                      channels_last=not args.no_channels_last, compile=args.compile, batch_size=args.batch)
    method = StarGANStep(cfg, device, copy.deepcopy(G0), copy.deepcopy(D0))
    place_networks(method, method.build_networks(), cfg, device)
    trn_batch = batch_to_device(cpu_batch, device, device.type == "cuda" and cfg.channels_last)

    def ref_iter() -> tuple[float, float]:
        return stargan_iteration(G_ref, D_ref, g_opt, d_opt, ref_batch, nullcontext())

    def trn_iter() -> tuple[float, float]:
        losses = method.train_step(trn_batch, 0)
        return losses["loss_d"], losses["loss_g"]

    torch.manual_seed(1)
    first_ref = ref_iter()
    torch.manual_seed(1)
    first_trn = trn_iter()
    for _ in range(max(0, args.warmup - 1)):
        ref_iter()
        trn_iter()
    sync(device)

    times: dict[str, list[float]] = {"reference": [], "trainer": []}
    for _ in range(args.rounds):
        for name, fn in (("reference", ref_iter), ("trainer", trn_iter)):
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.iters):
                fn()
            sync(device)
            times[name].append((time.perf_counter() - t0) / args.iters)

    features = []
    if device.type == "cuda":
        features += [f"channels_last={'on' if cfg.channels_last else 'off'}",
                     f"bf16 autocast={'on' if cfg.amp else 'off'}", "fused Adam"]
    else:
        features += ["(channels_last, bf16 autocast and fused Adam are CUDA-only: off on CPU)"]
    features.append(f"torch.compile(G)={'on' if cfg.compile else 'off'}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"StarGAN D+G iteration, {args.size}x{args.size}, batch {args.batch}, G width {args.width} "
          f"({args.n_res} res blocks), D {args.d_layers} layers, {args.attrs} attributes; device: {name}")
    print(f"first-iteration losses (D, G): reference {first_ref[0]:.4f}, {first_ref[1]:.4f}; "
          f"trainer {first_trn[0]:.4f}, {first_trn[1]:.4f}")
    print("trainer features: " + ", ".join(features))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in ("reference", "trainer"):
        rounds = ", ".join(f"{1 / t:.2f}" for t in times[k])
        print(f"{k:>9}: {1 / med[k]:8.2f} it/s  (median of {args.rounds} rounds x {args.iters} iterations; "
              f"rounds: {rounds} it/s)")
    print(f"ratio trainer / reference: {med['reference'] / med['trainer']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
