"""Engine requests and results, and the tensor conventions every exported model follows.

Callers (the UI, the CLI) hand the engine one request value and get one result value back. Images are
uint8 RGB arrays of shape (H, W, 3); masks are uint8 class-index arrays of shape (H, W). A request carries
a list of images (a batch); each may have its own size, and every returned image/mask has the size of the
input it came from. The engine does the rest: resizing to the model's resolution (cv2 INTER_AREA when
shrinking, INTER_LINEAR when enlarging; masks nearest-neighbour only), normalisation (manifest
`normalization`), batching (chunks of at most the engine's `max_batch`, or the graph's fixed batch size),
and back. Non-square inputs are stretched to the square model resolution and back.

Tensor conventions of the ONNX graphs (the trainer's exporter writes exactly these names; the pack
validator refuses a model whose task inputs/outputs differ). N is the batch dim and is dynamic (a string
dim in the manifest, e.g. "batch"); images are float32 NCHW RGB in [-1, 1] (`normalization` "minus1_1"):

  parse                inputs:  image (N,3,H,W)
                       outputs: probs float32 (N,C,H,W) class probabilities (softmax over C),
                                labels int64 (N,H,W) argmax class indices; C = len(manifest `classes`)
  edit_attributes      inputs:  image (N,3,H,W); y_diff float32 (N,A) = y_target - y_source in the order of
                                manifest `attributes` (STGAN difference vector; continuous intensities,
                                0 = keep); optional mask float32 (N,C,H,W) one-hot in manifest `classes`
                                for generators that read a semantic mask; optional masks float32
                                (N,19,H,W) parse probabilities of the image (MagGAN, which computes its
                                attribute regions inside): the engine feeds the pack's parser's
                                probabilities, or the caller's painted masks one-hot (use_painted_mask)
                       outputs: edited (N,3,H,W) in [-1,1]; optional mask_probs float32 (N,C,H,W) (the
                                semantic branch's predicted target mask, e.g. SeCGAN's G_seg)
  flip_attributes      inputs:  image (N,3,H,W)
                       outputs: flips float32 (N,A,2,3,H,W): for each attribute a of manifest `attributes`
                                and each value v (0 = absent, 1 = present) the face re-rendered with a at
                                v (SG-GAN: every flip from one pass); attr_probs float32 (N,A) the model's
                                own P(a present) for the input. The flip of a is the head of the value the
                                face does not have: 1 - (attr_probs >= 0.5)
  edit_expression      inputs:  image (N,3,H,W); expression float32 (N,8) one-hot times intensity in the
                                order of manifest `expressions` (RaFD order, faceeditor.core.labels)
                       outputs: edited (N,3,H,W)
  synthesize           inputs:  mask float32 (N,C,H,W) one-hot; z float32 (N,nz) latent;
                                attrs float32 (N,A) target attributes in manifest `attributes` order
                       outputs: image (N,3,H,W)
  classify_attributes  inputs:  image (N,3,H,W)
                       outputs: logits float32 (N,A) (sigmoid gives probabilities); optional
                                features float32 (N,F)
  classify_expression  inputs:  image (N,3,H,W)
                       outputs: logits float32 (N,8) (softmax gives probabilities); optional features

Edited images are output as `edited`, not `image`: an ONNX graph cannot have an output named like one
of its inputs (the TorchScript exporter silently renames the input to "image.1").
Inputs must be exactly these (no others: the engine could not feed them); outputs may include extra
tensors, which the engine ignores. Masks given by callers use the 19 parse classes of
faceeditor.core.labels; the engine maps them onto a model's own `classes` (same names, or SeCGAN's 12
segments). Parse results come back in the 19 whatever the parser's own classes; an editor's predicted
masks come back as indices into `mask_classes` of the result (faceeditor.core.labels.to_parse_classes
brings them into the 19).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from faceeditor.core.document import Placement

# --- tensor conventions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorRule:
    """One input or output a task's graph must (or may) have."""

    name: str
    rank: int
    dtype: str = "float32"
    required: bool = True


TASK_INPUTS: dict[str, tuple[TensorRule, ...]] = {
    "parse": (TensorRule("image", 4),),
    "edit_attributes": (TensorRule("image", 4), TensorRule("y_diff", 2), TensorRule("mask", 4, required=False),
                        TensorRule("masks", 4, required=False)),
    "flip_attributes": (TensorRule("image", 4),),
    "edit_expression": (TensorRule("image", 4), TensorRule("expression", 2)),
    "synthesize": (TensorRule("mask", 4), TensorRule("z", 2), TensorRule("attrs", 2)),
    "classify_attributes": (TensorRule("image", 4),),
    "classify_expression": (TensorRule("image", 4),),
}
TASK_OUTPUTS: dict[str, tuple[TensorRule, ...]] = {
    "parse": (TensorRule("probs", 4), TensorRule("labels", 3, "int64")),
    "edit_attributes": (TensorRule("edited", 4), TensorRule("mask_probs", 4, required=False)),
    "flip_attributes": (TensorRule("flips", 6), TensorRule("attr_probs", 2)),
    "edit_expression": (TensorRule("edited", 4),),
    "synthesize": (TensorRule("image", 4),),
    "classify_attributes": (TensorRule("logits", 2), TensorRule("features", 2, required=False)),
    "classify_expression": (TensorRule("logits", 2), TensorRule("features", 2, required=False)),
}

# uint8 RGB x maps to x / 255 * scale + offset at the network input (and back at its output).
NORMALIZATIONS: dict[str, tuple[float, float]] = {
    "minus1_1": (2.0, -1.0),
    "zero_1": (1.0, 0.0),
}

Images = Sequence[np.ndarray]
# A condition vector: {name: value} (names missing = 0), one vector for all images, or one row per image.
Condition = Mapping[str, float] | Sequence[float] | np.ndarray


# --- requests -------------------------------------------------------------------------------------


@dataclass(eq=False)  # requests and results hold arrays: compare by identity
class Request:
    """Base of all requests. `model` picks a model of the task: "name" or "pack/name"; None = the first
    loaded model of the task."""

    task = ""
    model: str | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class ParseRequest(Request):
    """Face parsing: one 19-class (or the model's classes) mask per image."""

    task = "parse"
    images: Images
    want_probs: bool = False      # also return the class probabilities (at the model's resolution)


@dataclass(eq=False)
class EditAttributesRequest(Request):
    """Attribute editing with the difference vector y_diff (slider intensities; 0 = unchanged)."""

    task = "edit_attributes"
    images: Images
    y_diff: Condition
    masks: Images | None = None   # uint8 (H, W) parse-class masks, for models with a `mask` input
    # For models with a `masks` input (parse probabilities, MagGAN): feed `masks` (the user's painted
    # masks) as one-hot probabilities instead of the parser's. Without it the engine parses each image with
    # `parser` (once: keep_outside reuses that parse).
    use_painted_mask: bool = False
    # Keep every pixel outside the edited attributes' regions (faceeditor.core.attribute_regions) as it
    # was: the regions come from a face parser's masks of the input (or `masks`, when given) and of the
    # output. Needs a loaded parse model (`parser`: its key; default: the first one loaded).
    keep_outside: bool = False
    parser: str | None = None
    # Add the editor's change (its output minus its output with y_diff = 0) to the input instead of taking
    # its output: the input's detail and sharpness survive an editor that blurs, at the cost of fainter
    # shape edits (removed hair, added glasses). One more forward pass.
    keep_detail: bool = False
    # Run the model's preview (a faster, rougher stand-in: ModelEntry.preview_of) when its pack has one,
    # the model itself otherwise: for results shown while a slider is dragged.
    preview: bool = False


FLIP_PASTE = ("none", "flips", "both")


@dataclass(eq=False)
class FlipAttributesRequest(Request):
    """Every attribute flip of each face from ONE forward pass of a `flip_attributes` model (SG-GAN).

    `images` are face crops (as the attribute editor gets them: the document's crop, or the CLI's
    aligned/whole crop). With `placements` (faceeditor.core.document.Placement, one per image: the photo,
    the crop and its mode) the heads are also pasted back into the full picture by the same rule as the
    attribute edit; `paste` says which: "flips" (the flip of each attribute), "both" (also the other
    head, the face re-rendered with the value it has) or "none". Cancel with `engine.cancel(request)`."""

    task = "flip_attributes"
    images: Images
    placements: Sequence[Placement] | None = None
    paste: str = "both"


@dataclass(eq=False)
class EditExpressionRequest(Request):
    """Expression editing: a name (with intensity) or a vector in the model's expression order."""

    task = "edit_expression"
    images: Images
    expression: str | Condition
    intensity: float = 1.0        # scales a named expression (ignored for vectors)


@dataclass(eq=False)
class SynthesizeRequest(Request):
    """Mask-to-face synthesis G(z, attrs, mask). Give z, or seeds (one per mask, or one for all)."""

    task = "synthesize"
    masks: Images
    attrs: Condition
    z: np.ndarray | None = None   # (nz,) or (N, nz)
    seeds: int | Sequence[int] | None = None
    antialias: bool = False       # masks finer than the model: class coverage per pixel; images at its size


@dataclass(eq=False)
class ClassifyAttributesRequest(Request):
    task = "classify_attributes"
    images: Images
    want_features: bool = False


@dataclass(eq=False)
class ClassifyExpressionRequest(Request):
    task = "classify_expression"
    images: Images
    want_features: bool = False


REQUEST_TYPES: dict[str, type[Request]] = {
    cls.task: cls
    for cls in (ParseRequest, EditAttributesRequest, FlipAttributesRequest, EditExpressionRequest, SynthesizeRequest,
                ClassifyAttributesRequest, ClassifyExpressionRequest)
}

# --- results --------------------------------------------------------------------------------------


@dataclass(eq=False)
class Result:
    """Base of all results: which model answered, on which execution provider, and how long the
    inference itself took (pre/post-processing excluded)."""

    model: str = field(default="", kw_only=True)
    provider: str = field(default="", kw_only=True)
    inference_ms: float = field(default=0.0, kw_only=True)


@dataclass(eq=False)
class ParseResult(Result):
    """Always in the 19 parse classes (`classes` == PARSE_CLASSES), whatever the model predicts: a model
    with other classes (SeCGAN's segments, ...) is mapped by faceeditor.core.labels.to_parse_classes."""

    masks: list[np.ndarray]                 # uint8 (H, W) indices into `classes`, at each input's size
    classes: tuple[str, ...]
    probs: list[np.ndarray] | None = None   # float32 (19, h, w) at the model's resolution
    model_classes: tuple[str, ...] = ()     # the model's own class list (manifest `classes`)


@dataclass(eq=False)
class EditResult(Result):
    """Result of edit_attributes and edit_expression."""

    images: list[np.ndarray]                # uint8 (H, W, 3) at each input's size
    masks: list[np.ndarray] | None = None   # uint8 (H, W) predicted target mask, indices into mask_classes
    mask_classes: tuple[str, ...] = ()
    # keep_outside only: the editor's own output before blending, and the region it was kept to
    raw_images: list[np.ndarray] | None = None
    regions: list[np.ndarray] | None = None  # bool (H, W)


@dataclass(eq=False)
class SynthesizeResult(Result):
    images: list[np.ndarray]                # uint8 (H, W, 3) at each mask's size
    z: np.ndarray | None = None             # float32 (N, nz): the latents used (seeds resolved)


@dataclass(eq=False)
class ClassifyResult(Result):
    logits: np.ndarray                      # float32 (N, K)
    probs: np.ndarray                       # float32 (N, K): sigmoid (attributes) or softmax (expression)
    names: tuple[str, ...]                  # attribute or expression names, in column order
    features: np.ndarray | None = None      # float32 (N, F)


@dataclass(eq=False)
class FlipSheet:
    """Every flip of one face: per attribute (manifest `attributes` order) the two heads of the model,
    value 0 (absent) and 1 (present), at the input crop's size, the model's P(present) and which value is
    the flip (the one the face does not have: 1 - (probs >= 0.5)); with placements, the heads pasted into
    the full picture (`pasted[a][v]`, None where the request's `paste` left it out)."""

    attributes: tuple[str, ...]
    probs: np.ndarray                                   # float32 (A,) the model's P(attribute present)
    flip_values: tuple[int, ...]                        # the value each attribute's flip sets (0 or 1)
    heads: list[tuple[np.ndarray, np.ndarray]]          # uint8 (H, W, 3) crops, [a][v]
    pasted: list[tuple[np.ndarray | None, np.ndarray | None]] | None = None

    def index(self, name: str) -> int:
        if name not in self.attributes:
            raise KeyError(f"{name!r} is not one of the model's attributes {list(self.attributes)}")
        return self.attributes.index(name)

    def flip_value(self, name: str) -> int:
        return self.flip_values[self.index(name)]

    def head(self, name: str, value: int) -> np.ndarray:
        """The crop re-rendered with `name` at `value` (0 absent, 1 present)."""
        return self.heads[self.index(name)][int(value)]

    def flip(self, name: str) -> np.ndarray:
        """The flip of `name` (the crop with the value the face does not have)."""
        return self.head(name, self.flip_value(name))

    def other(self, name: str) -> np.ndarray:
        """The other head: the crop re-rendered with the value the face has."""
        return self.head(name, 1 - self.flip_value(name))

    def photo(self, name: str, value: int) -> np.ndarray | None:
        """The head of `name` at `value` pasted into the full picture (None when not pasted)."""
        return None if self.pasted is None else self.pasted[self.index(name)][int(value)]

    def flip_photo(self, name: str) -> np.ndarray | None:
        return self.photo(name, self.flip_value(name))

    def other_photo(self, name: str) -> np.ndarray | None:
        return self.photo(name, 1 - self.flip_value(name))

    def label(self, name: str, value: int | None = None) -> str:
        """"+Eyeglasses" (the head that adds it) or "\u2212Male" (the one that removes it); default: the flip."""
        v = self.flip_value(name) if value is None else int(value)
        return f"{'+' if v else chr(0x2212)}{name}"


@dataclass(eq=False)
class FlipResult(Result):
    """Result of flip_attributes: one sheet per input image (`sheet` is the first)."""

    sheets: list[FlipSheet]

    @property
    def sheet(self) -> FlipSheet:
        return self.sheets[0]
