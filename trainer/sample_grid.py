"""Sample grids: a batch of images in [-1, 1] tiled into one PNG (written with Pillow)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def make_grid(images: torch.Tensor, columns: int, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) float images in [-1, 1] (C = 1 or 3) -> (rows*H', columns*W', 3) uint8, row-major,
    with a `pad`-pixel white border between tiles."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"sample images must be (N, 1|3, H, W), got {tuple(images.shape)}")
    x = images.detach().float().cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    n, h, w, _ = x.shape
    columns = max(1, min(columns, n))
    rows = (n + columns - 1) // columns
    grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        y0, x0 = pad + r * (h + pad), pad + c * (w + pad)
        grid[y0:y0 + h, x0:x0 + w] = x[i]
    return grid


def save_grid(images: torch.Tensor, path: str | os.PathLike, columns: int) -> Path:
    """Write the grid of `images` as a PNG (atomically: temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(make_grid(images, columns)).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
