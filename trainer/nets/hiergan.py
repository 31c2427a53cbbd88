"""Networks of the hierarchical expression GAN (shared/papers/hierarchical-expression-gan.md, Figure 2).

- the face-parsing network S (trainer/nets/parser.py, BiSeNet or UNet) whose tempered softmax M (eq. 1)
  gives one soft mask per local part: left eye with brow, right eye with brow, nose, mouth (both lips
  and the inside of the mouth), as the paper groups the parse classes;
- each part M_p ⊗ x (eq. 2) is cropped around the box of its mask and resized to `crop` pixels by
  differentiable resampling (grid_sample on a scale-and-translate grid, the affine_grid of that box), fed
  to its local generator G_p (eq. 3), and pasted back at the same box (the inverse grid);
- the global generator G_global (StarGAN) edits the whole image;
- the fusion network G_f (two convolution blocks, four residual blocks, a convolution) blends the
  concatenation of the global output and the stitched local image (eq. 4).

Pasting: what goes back into the image is the local generator's *change* of its crop, G_p(c) − c,
resampled into the box and added to the input (averaged where boxes overlap). An unchanged crop therefore
pastes back as exactly the input, at full resolution, whatever the crop's scale; a crop holds only the
part (M_p ⊗ x), so the generator learns to leave the rest of its crop alone through the cycle loss.

Boxes come from the masks without gradient (the hard mask M_p > 0.5, its bounding square grown by
`margin`, at least `min_box` of the side; an empty mask falls back to the part's usual place in an aligned
face). Gradients reach S through the masked crops (M_p ⊗ x is resampled by grid_sample, which is
differentiable in its input), which is the path of the paper's eq. 9. Everything here traces to ONNX
(opset 17: GridSample, no AffineGrid), so the whole pipeline exports as one graph.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from faceeditor.core.labels import CLASS_INDEX, EXPRESSIONS
from trainer.nets.parser import tempered_softmax
from trainer.nets.stargan import ResidualBlock, StarGANDiscriminator, StarGANGenerator, instance_norm

N_EXPRESSIONS = len(EXPRESSIONS)

# The paper's four local parts and the parse classes each one gathers (subject's left and right).
PARTS: dict[str, tuple[str, ...]] = {
    "left_eye": ("l_eye", "l_brow"),
    "right_eye": ("r_eye", "r_brow"),
    "nose": ("nose",),
    "mouth": ("u_lip", "l_lip", "mouth"),
}
# Where each part sits in an aligned face (centre x, centre y, half side, in grid_sample's [-1, 1]
# coordinates): the box of a part the segmenter does not find. The subject's left eye is on the image right.
FALLBACK_BOXES: dict[str, tuple[float, float, float]] = {
    "left_eye": (0.3, -0.15, 0.25),
    "right_eye": (-0.3, -0.15, 0.25),
    "nose": (0.0, 0.15, 0.22),
    "mouth": (0.0, 0.5, 0.3),
}


def parse_parts(value: str | Sequence[str]) -> tuple[str, ...]:
    """The local parts named by a comma-separated string (or a sequence), in PARTS order; '' = none
    (the global generator alone). ValueError names the known parts."""
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise ValueError(f"unknown local part(s) {unknown}; known: {', '.join(PARTS)}")
    return tuple(p for p in PARTS if p in names)


def part_matrix(parts: Sequence[str]) -> torch.Tensor:
    """(19, P) 0/1 matrix summing parse-class probabilities into the parts' masks."""
    m = torch.zeros(len(CLASS_INDEX), len(parts))
    for j, part in enumerate(parts):
        for name in PARTS[part]:
            m[CLASS_INDEX[name], j] = 1.0
    return m


def part_boxes(masks: torch.Tensor, parts: Sequence[str], *, margin: float = 0.25,
               min_box: float = 0.125) -> torch.Tensor:
    """(N, P, 3) boxes (centre x, centre y, half side) in [-1, 1] coordinates (align_corners=False) of
    part masks (N, P, H, W) of square images: the bounding square of M_p > 0.5 grown by `margin`, at least
    `min_box` x the side; a part without a pixel gets its FALLBACK_BOXES entry. No gradient."""
    n, p, h, w = masks.shape
    if p == 0:
        return masks.new_zeros(n, 0, 3)
    hard = (masks.detach() > 0.5).to(masks.dtype)
    rows, cols = hard.amax(dim=3), hard.amax(dim=2)                 # (N, P, H), (N, P, W)

    def extent(line: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.arange(size, device=line.device, dtype=line.dtype)
        first = torch.where(line > 0, idx, torch.full_like(line, float(size))).amin(dim=2)
        last = torch.where(line > 0, idx, torch.full_like(line, -1.0)).amax(dim=2)
        return first, last

    top, bottom = extent(rows, h)
    left, right = extent(cols, w)
    found = bottom >= top
    cy = (top + bottom + 1.0) / h - 1.0
    cx = (left + right + 1.0) / w - 1.0
    side = torch.maximum((bottom - top + 1.0) / h, (right - left + 1.0) / w) * (1.0 + margin)
    half = torch.clamp(side, min=min_box * 2.0)
    fallback = torch.tensor([FALLBACK_BOXES[q] for q in parts], device=masks.device, dtype=masks.dtype)
    boxes = torch.stack([cx, cy, half], dim=2)
    return torch.where(found.unsqueeze(2), boxes, fallback.unsqueeze(0).expand(n, -1, -1))


def _grid(centre_x: torch.Tensor, centre_y: torch.Tensor, scale: torch.Tensor, size: int) -> torch.Tensor:
    """(N, size, size, 2) sampling grid base * scale + centre, base the pixel centres of a size² image in
    [-1, 1] (align_corners=False): F.affine_grid of [[scale, 0, cx], [0, scale, cy]], written out because
    opset 17 has no AffineGrid."""
    base = (torch.arange(size, device=scale.device, dtype=scale.dtype) * 2.0 + 1.0) / size - 1.0
    gx = centre_x.view(-1, 1, 1) + scale.view(-1, 1, 1) * base.view(1, 1, size)
    gy = centre_y.view(-1, 1, 1) + scale.view(-1, 1, 1) * base.view(1, size, 1)
    return torch.stack([gx.expand(-1, size, size), gy.expand(-1, size, size)], dim=3)


def crop_box(image: torch.Tensor, box: torch.Tensor, size: int) -> torch.Tensor:
    """The square `box` (N, 3) of `image` (N, C, H, W) resampled to (N, C, size, size) (bilinear,
    differentiable in the image; outside the image reads 0)."""
    grid = _grid(box[:, 0], box[:, 1], box[:, 2], size)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def paste_box(crop: torch.Tensor, box: torch.Tensor, size: int) -> torch.Tensor:
    """Inverse of crop_box: (N, C, s, s) crops placed back at their boxes in a (N, C, size, size) canvas
    of zeros (bilinear; pixels outside the box read 0)."""
    half = box[:, 2]
    grid = _grid(-box[:, 0] / half, -box[:, 1] / half, 1.0 / half, size)
    return F.grid_sample(crop, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def box_coverage(box: torch.Tensor, crop_size: int, size: int) -> torch.Tensor:
    """(N, 1, size, size) weight of each pixel inside `box` (1 inside, fading to 0 over a crop pixel)."""
    ones = torch.ones(box.shape[0], 1, crop_size, crop_size, device=box.device, dtype=box.dtype)
    return paste_box(ones, box, size)


def one_hot_expression(index: torch.Tensor) -> torch.Tensor:
    """(N,) expression indices -> (N, 8) float one-hot in EXPRESSIONS order."""
    return F.one_hot(index.long(), N_EXPRESSIONS).float()


class FusionNetwork(nn.Module):
    """G_f: [x_global, x_local] (6 channels) -> the final image: two convolution blocks, four residual
    blocks and a convolution, as §3.2 lists them (tanh out).

    With `residual` (not in the paper) the output is x_local + that convolution's output, the last
    convolution starting at zero: the untrained network returns the input with the local generators'
    changes pasted in, sharp from the first step, and learns only what to add (SG-GAN's argument for
    residual outputs; the paper's G_f redraws the whole image from scratch)."""

    def __init__(self, width: int = 64, n_res: int = 4, residual: bool = False):
        super().__init__()
        self.residual = residual
        self.main = nn.Sequential(
            nn.Conv2d(6, width, 7, 1, 3, bias=False), instance_norm(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), instance_norm(width), nn.ReLU(inplace=True),
            *[ResidualBlock(width) for _ in range(n_res)],
            nn.Conv2d(width, 3, 7, 1, 3, bias=False),
        )
        if residual:
            nn.init.zeros_(self.main[-1].weight)

    def forward(self, x_global: torch.Tensor, x_local: torch.Tensor) -> torch.Tensor:
        out = self.main(torch.cat([x_global, x_local], dim=1))
        if self.residual:
            return x_local + out
        return torch.tanh(out)


@dataclass
class HierGANShape:
    """Sizes of the generators (the paper: StarGAN's 64 / 6 residual blocks, crops of 64²)."""

    resolution: int = 128
    parts: tuple[str, ...] = tuple(PARTS)
    g_width: int = 64
    n_res: int = 6
    local_width: int = 32
    local_n_res: int = 3
    fusion_width: int = 32
    crop: int = 64
    temperature: float = 0.1
    margin: float = 0.25
    min_box: float = 0.125
    fusion_residual: bool = False       # G_f adds to x_local instead of redrawing (not in the paper)
    refined_residual: bool = False      # G_global and the G_p concatenate their input before the last conv (SG-GAN)
    local_input: str = "masked"         # what a G_p reads: "masked" M_p ⊗ x (eq. 2) or "box" (not in the paper)
    local_residual: bool = False        # G_p returns its crop plus a learnt change, starting at zero (no paper)


LOCAL_INPUTS = ("masked", "box")


class PartGenerator(StarGANGenerator):
    """A local generator G_p on a part's crop (StarGAN layout, the parameters named as StarGAN's).

    With `hint` (local_input "box", not in the paper) it reads the whole box of the image, not only the
    masked part, and the part's mask crop as a fourth channel: an expression moves a part's outline (a
    mouth opens onto skin, a brow rises), and a generator that sees only M_p ⊗ x has neither the skin
    colour it must paint where a part leaves nor a place to draw where it arrives. The mask channel keeps
    the segmenter on the gradient path (eq. 9). With `residual` (not in the paper) the output is the crop
    plus the network's output, clamped to [-1, 1], the last convolution starting at zero: an untrained
    G_p changes nothing and learns only the change, which is what a small edit of a part needs."""

    def __init__(self, width: int, n_res: int, refined_residual: bool = False, residual: bool = False,
                 hint: bool = False):
        super().__init__(N_EXPRESSIONS, 3 + int(hint), 3, width, 2, n_res,
                         out_activation="none" if residual else "tanh", refined_residual=refined_residual)
        self.residual = residual
        self.hint = hint
        if residual:
            nn.init.zeros_((self.out if self.out is not None else self.main[-1]).weight)

    def forward(self, crop: torch.Tensor, y: torch.Tensor, hint: torch.Tensor | None = None) -> torch.Tensor:
        inp = torch.cat([crop, hint], dim=1) if self.hint else crop
        out = super().forward(inp, y)
        return torch.clamp(crop + out, -1.0, 1.0) if self.residual else out


@dataclass
class Forward:
    """What one pass of the pipeline produced, for the losses: part masks, boxes, the masked crops each
    local generator read and what it wrote, the global output, the stitched local image and the result."""

    masks: torch.Tensor                     # (N, P, H, W) tempered-softmax part masks
    boxes: torch.Tensor                     # (N, P, 3)
    crops: dict[str, torch.Tensor]          # part -> (N, 3, c, c) input crop x_s^p (masked, or the box)
    hints: dict[str, torch.Tensor]          # part -> (N, 1, c, c) its mask crop (local_input "box"), else {}
    local_out: dict[str, torch.Tensor]      # part -> (N, 3, c, c) G_p(x_s^p, y_t)
    x_global: torch.Tensor
    x_local: torch.Tensor
    x_out: torch.Tensor


class HierarchicalGenerator(nn.Module):
    """S, G_global, the local G_p and G_f as one module: (image, target vector) -> Forward.

    `segmenter` is a parse network returning 19-class logits; with `end_to_end` False its masks are
    computed without gradient (the paper's "w/o end-to-end")."""

    def __init__(self, segmenter: nn.Module, shape: HierGANShape):
        super().__init__()
        self.shape = shape
        self.segmenter = segmenter
        rr = shape.refined_residual
        if shape.local_input not in LOCAL_INPUTS:
            raise ValueError(f"local_input must be one of {LOCAL_INPUTS}, got {shape.local_input!r}")
        self.g_global = StarGANGenerator(N_EXPRESSIONS, 3, 3, shape.g_width, 2, shape.n_res, refined_residual=rr)
        self.g_local = nn.ModuleDict({p: PartGenerator(shape.local_width, shape.local_n_res, rr, shape.local_residual,
                                                       hint=shape.local_input == "box")
                                      for p in shape.parts})
        self.fusion = FusionNetwork(shape.fusion_width, residual=shape.fusion_residual)
        self.register_buffer("group", part_matrix(shape.parts), persistent=False)
        self.end_to_end = True

    def part_masks(self, x: torch.Tensor) -> torch.Tensor:
        """(N, P, H, W) soft part masks: eq. 1's tempered softmax summed over each part's classes."""
        if not self.shape.parts:
            return x.new_zeros(x.shape[0], 0, x.shape[2], x.shape[3])
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.end_to_end):
            probs = tempered_softmax(self.segmenter(x).float(), self.shape.temperature)
            return torch.einsum("nchw,cp->nphw", probs, self.group).contiguous()

    def stitch(self, base: torch.Tensor, boxes: torch.Tensor, changes: dict[str, torch.Tensor]) -> torch.Tensor:
        """base + the crops' changes pasted at their boxes (averaged where boxes overlap)."""
        if not changes:
            return base
        size, c = base.shape[-1], self.shape.crop
        total = torch.zeros_like(base)
        cover = torch.zeros_like(base[:, :1])
        for j, part in enumerate(self.shape.parts):
            total = total + paste_box(changes[part], boxes[:, j], size)
            cover = cover + box_coverage(boxes[:, j], c, size)
        return base + total / torch.clamp(cover, min=1.0)

    def run(self, x: torch.Tensor, y: torch.Tensor, masks: torch.Tensor | None = None,
            boxes: torch.Tensor | None = None) -> Forward:
        """The pipeline on images x (N, 3, R, R) for target vectors y (N, 8); masks and boxes of x may be
        given (the cycle reuses the source's: eq. 7 crops the translated parts where they were taken)."""
        s = self.shape
        if masks is None:
            masks = self.part_masks(x)
        if boxes is None:
            boxes = part_boxes(masks, s.parts, margin=s.margin, min_box=s.min_box)
        crops, hints, outs, changes = {}, {}, {}, {}
        for j, part in enumerate(s.parts):
            if s.local_input == "box":
                crops[part] = crop_box(x, boxes[:, j], s.crop)
                hints[part] = crop_box(masks[:, j:j + 1], boxes[:, j], s.crop)
            else:
                crops[part] = crop_box(x * masks[:, j:j + 1], boxes[:, j], s.crop)
            outs[part] = self.g_local[part](crops[part], y, hints.get(part))
            changes[part] = outs[part] - crops[part]
        x_global = self.g_global(x, y)
        x_local = self.stitch(x, boxes, changes)
        return Forward(masks, boxes, crops, hints, outs, x_global, x_local, self.fusion(x_global, x_local))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.run(x, y).x_out


class ExpressionEditExport(nn.Module):
    """What the app runs (task edit_expression): image (N, 3, R, R) in [-1, 1] and expression (N, 8),
    one-hot times an intensity, -> edited. The pipeline is conditioned on the direction expression / a
    (a = the sum of the vector, the intensity) and its change is scaled by a: a = 1 is the trained one-hot
    edit, 0 the input itself, values in between a partial edit and above 1 an exaggerated one."""

    def __init__(self, generator: HierarchicalGenerator):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        amount = expression.sum(dim=1, keepdim=True)
        safe = torch.where(amount.abs() > 1e-6, amount, torch.ones_like(amount))
        edited = self.generator(image, expression / safe)
        return image + amount.view(-1, 1, 1, 1) * (edited - image)


def discriminators(shape: HierGANShape, d_width: int, d_layers: int, local_d_layers: int) -> nn.ModuleDict:
    """D_global, D_fusion (on whole images) and one D_p per local part (on crops), each a StarGAN
    PatchGAN with an auxiliary expression classifier (eqs. 5-6)."""
    nets = {"global": StarGANDiscriminator(shape.resolution, N_EXPRESSIONS, 3, d_width, d_layers),
            "fusion": StarGANDiscriminator(shape.resolution, N_EXPRESSIONS, 3, d_width, d_layers)}
    for part in shape.parts:
        nets[part] = StarGANDiscriminator(shape.crop, N_EXPRESSIONS, 3, d_width, local_d_layers)
    return nn.ModuleDict(nets)
