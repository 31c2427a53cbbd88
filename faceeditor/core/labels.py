"""Project-wide label conventions (shared/DESIGN.md §3).

Every module that speaks of classes, attributes, expressions or landmark groups imports them from here,
so that an index means the same thing in the renderer, the trainer, the engine and the app.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# 19 face-parsing classes, face-parsing.PyTorch order.
PARSE_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARSE_CLASSES)}
NUM_CLASSES = len(PARSE_CLASSES)

# What a user reads for each of the 19 (palette, status bar, undo steps, combos); files, JSON and the
# manifests keep the technical names above. "left"/"right" are the subject's own (see FLIP_PAIRS).
CLASS_LABELS: tuple[str, ...] = (
    "background", "skin", "left eyebrow", "right eyebrow", "left eye", "right eye", "eyeglasses",
    "left ear", "right ear", "earring", "nose", "mouth (inside)", "upper lip", "lower lip", "neck",
    "necklace", "clothes", "hair", "hat",
)
assert len(CLASS_LABELS) == NUM_CLASSES


def class_label(index_or_name: int | str) -> str:
    """The human name of one of the 19 classes, by index or technical name ("ear_r" -> "earring")."""
    index = CLASS_INDEX[index_or_name] if isinstance(index_or_name, str) else int(index_or_name)
    return CLASS_LABELS[index]


def class_help(index: int) -> str:
    """A one-line explanation of a class for tooltips: its human name, its technical name, and which side
    "left"/"right" means."""
    name = PARSE_CLASSES[index]
    side = ("" if name not in ("l_brow", "r_brow", "l_eye", "r_eye", "l_ear", "r_ear") else
            f" (the subject's own {'left' if name[0] == 'l' else 'right'}: on the image's "
            f"{'right' if name[0] == 'l' else 'left'} in a frontal face)")
    return f"{CLASS_LABELS[index]}{side} \u2014 class {index}, \"{name}\" in mask files"


# "l_" and "r_" name the subject's own left and right (as iBUG does: its "left eye", points 42-47, lies on
# the image's right in an unmirrored frontal face). Horizontal flips swap these class pairs.
FLIP_PAIRS: tuple[tuple[int, int], ...] = ((2, 3), (4, 5), (7, 8))


def flip_class_lut() -> list[int]:
    """Lookup table mapping a class index to its mirror-image class."""
    lut = list(range(NUM_CLASSES))
    for a, b in FLIP_PAIRS:
        lut[a], lut[b] = b, a
    return lut


# CelebAMask-HQ per-class PNGs are composed in this order; later names overwrite earlier ones.
CELEBAMASK_HQ_ORDER: tuple[str, ...] = (
    "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear", "mouth",
    "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)

# SeCGAN's 12 semantic segments as a grouping of the 19 classes.
SECGAN_SEGMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("skin", ("skin",)),
    ("eyebrows", ("l_brow", "r_brow")),
    ("eyes", ("l_eye", "r_eye")),
    ("eyeglasses", ("eye_g",)),
    ("ears", ("l_ear", "r_ear")),
    ("earrings", ("ear_r",)),
    ("nose", ("nose",)),
    ("mouth", ("mouth",)),
    ("lips", ("u_lip", "l_lip")),
    ("neck", ("neck",)),
    ("hair", ("hair",)),
    ("others", ("background", "neck_l", "cloth", "hat")),
)


def secgan_segment_lut() -> list[int]:
    """Lookup table mapping each of the 19 class indices to its SeCGAN segment index (0..11)."""
    lut = [0] * NUM_CLASSES
    for seg_index, (_, members) in enumerate(SECGAN_SEGMENTS):
        for name in members:
            lut[CLASS_INDEX[name]] = seg_index
    return lut


# SCGAN's six landmark regions plus background (§5.1) as a grouping of the 19: the parts the 68 landmarks
# outline; everything else (hair, ears, neck, cloth, hat, background) is region 0. Glasses lie on the face.
LANDMARK_REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("background", ("background", "l_ear", "r_ear", "ear_r", "neck", "neck_l", "cloth", "hair", "hat")),
    ("face", ("skin", "eye_g")),
    ("eyebrows", ("l_brow", "r_brow")),
    ("eyes", ("l_eye", "r_eye")),
    ("nose", ("nose",)),
    ("lips", ("u_lip", "l_lip")),
    ("mouth", ("mouth",)),
)


# --- class mappings between a model's classes and the 19 ---------------------------------------------
#
# Models name their classes in their manifest: the 19 themselves, SeCGAN's 12 segments or SCGAN's six
# landmark regions. These functions are the one place where such names are matched with the 19, both ways,
# for the engine, the CLI, the app and the trainer.

class LabelError(ValueError):
    """A mask or class list that cannot be mapped; the message says what is wrong."""


# The member of the 19 that a group's pixels become in a 19-class mask (a group's name that is itself
# one of the 19, e.g. "hair", "nose", "background", is that class). The l_/r_ pairs are split by side.
GROUP_CLASS: dict[str, str] = {
    "eyeglasses": "eye_g",
    "earrings": "ear_r",
    "lips": "u_lip",          # upper and lower lip are one segment; the upper lip stands for both
    "face": "skin",           # SCGAN's face region: skin and glasses
    "others": "background",   # SeCGAN's catch-all: background, neck_l, cloth and hat; mostly background
}
# Groups of an l_/r_ pair: pixels on the image's left of the group's centre become the r_ class (the
# subject's right, iBUG and CelebAMask-HQ naming), those on the right the l_ class.
PAIRED_GROUPS: dict[str, tuple[str, str]] = {
    "eyebrows": ("r_brow", "l_brow"),
    "eyes": ("r_eye", "l_eye"),
    "ears": ("r_ear", "l_ear"),
}


def _group_members() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for grouping in (SECGAN_SEGMENTS, LANDMARK_REGIONS):
        for name, members in grouping:
            out.setdefault(name, members)
    return out


GROUP_MEMBERS: dict[str, tuple[str, ...]] = _group_members()


def parse_class_of(name: str) -> int:
    """The index in the 19 that a model class's pixels take: the class itself, a group's member
    (GROUP_CLASS; for the paired groups the subject's right one, see to_parse_classes for the split), and
    background (0) for a name that is neither, so an unknown class never lands on a face part."""
    if name in CLASS_INDEX:
        return CLASS_INDEX[name]
    if name in PAIRED_GROUPS:
        return CLASS_INDEX[PAIRED_GROUPS[name][0]]
    if name in GROUP_CLASS:
        return CLASS_INDEX[GROUP_CLASS[name]]
    return 0


def is_known_class(name: str) -> bool:
    """Whether a model class name is one of the 19 or one of the groups above."""
    return name in CLASS_INDEX or name in GROUP_MEMBERS


def model_to_parse_lut(classes: Sequence[str]) -> np.ndarray:
    """uint8 lookup table: a model's class index -> index in the 19 (parse_class_of each name)."""
    return np.asarray([parse_class_of(n) for n in _check_classes(classes)], np.uint8)


def _check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    names = tuple(classes)
    if not names or not all(isinstance(n, str) for n in names):
        raise LabelError(f"a model's classes must be a non-empty list of names, got {list(names)!r}")
    return names


def to_parse_classes(mask: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """A model's (H, W) class-index mask in the 19 parse classes, by class name.

    The 19 are kept as they are; a group becomes its member (GROUP_CLASS), a paired group is split into its
    l_/r_ classes by side about the centre of the group's pixels, and an unknown name becomes background.
    Raises LabelError for a mask that is not an integer (H, W) array or holds an index past ``classes``.
    """
    names = _check_classes(classes)
    arr = np.asarray(mask)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise LabelError(f"a class mask must be an integer (H, W) array, got {arr.dtype} {arr.shape}")
    bad = arr[(arr < 0) | (arr >= len(names))] if arr.size else arr[:0]
    if bad.size:
        raise LabelError(f"the mask holds class index {int(bad[0])}, outside the model's {len(names)} classes")
    if names == PARSE_CLASSES:
        return arr.astype(np.uint8, copy=False)
    out = model_to_parse_lut(names)[arr]
    for k, name in enumerate(names):
        if name in PAIRED_GROUPS and name not in CLASS_INDEX:
            right_side, left_side = PAIRED_GROUPS[name]
            ys, xs = np.nonzero(arr == k)
            if xs.size:
                centre = xs.mean()
                out[ys[xs > centre], xs[xs > centre]] = CLASS_INDEX[left_side]
                out[ys[xs <= centre], xs[xs <= centre]] = CLASS_INDEX[right_side]
    return out


def to_parse_probs(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """A model's (C, H, W) class probabilities as (19, H, W): each model class's probability goes to the
    class its pixels take in to_parse_classes (paired groups split by the same side rule, around the centre
    of the pixels where the group wins), summed where several model classes meet."""
    names = _check_classes(classes)
    p = np.asarray(probs, np.float32)
    if p.ndim != 3 or p.shape[0] != len(names):
        raise LabelError(f"probabilities must be ({len(names)}, H, W) for the model's classes, got {p.shape}")
    if names == PARSE_CLASSES:
        return p
    out = np.zeros((NUM_CLASSES, *p.shape[1:]), np.float32)
    winners = p.argmax(axis=0)
    xs = np.arange(p.shape[2])[None, :]
    for k, name in enumerate(names):
        if name in PAIRED_GROUPS and name not in CLASS_INDEX:
            right_side, left_side = (CLASS_INDEX[c] for c in PAIRED_GROUPS[name])
            cols = np.nonzero(winners == k)[1]
            centre = cols.mean() if cols.size else (p.shape[2] - 1) / 2.0
            left_of = np.broadcast_to(xs <= centre, p.shape[1:])
            out[right_side] += np.where(left_of, p[k], 0.0)
            out[left_side] += np.where(left_of, 0.0, p[k])
        else:
            out[parse_class_of(name)] += p[k]
    return out


def parse_to_model_lut(classes: Sequence[str]) -> np.ndarray:
    """int64 lookup table: index in the 19 -> a model's class index, for masks fed to a model.

    A parse class goes to the model class of the same name, else to the group (SeCGAN segment, SCGAN
    landmark region) that contains it, e.g. "l_brow" -> "eyebrows", "hair" -> "background" (SCGAN).
    Raises LabelError naming the parse classes the model's list has no counterpart for.
    """
    names = _check_classes(classes)
    index = {name: i for i, name in enumerate(names)}
    groupings = [{member: group for group, members in grouping for member in members}
                 for grouping in (SECGAN_SEGMENTS, LANDMARK_REGIONS)]
    lut = np.zeros(NUM_CLASSES, dtype=np.int64)
    missing = []
    for name in PARSE_CLASSES:
        if name in index:
            lut[CLASS_INDEX[name]] = index[name]
            continue
        group = next((g[name] for g in groupings if g.get(name) in index), None)
        if group is None:
            missing.append(name)
        else:
            lut[CLASS_INDEX[name]] = index[group]
    if missing:
        raise LabelError(f"the model's classes {list(names)} have no counterpart for {missing}")
    return lut


# The 13 CelebA attributes the editors use.
ATTRIBUTES: tuple[str, ...] = (
    "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses", "Male",
    "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young",
)
# The evaluator classifier also judges these two (SG-GAN's experiments).
EXTRA_ATTRIBUTES: tuple[str, ...] = ("Smiling", "Wearing_Lipstick")
EVALUATOR_ATTRIBUTES: tuple[str, ...] = ATTRIBUTES + EXTRA_ATTRIBUTES

# All 40 CelebA attributes in list_attr_celeba.txt column order.
CELEBA_ATTRIBUTES_40: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby",
    "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male",
    "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose",
    "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair",
    "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)

# The 8 RaFD expressions.
EXPRESSIONS: tuple[str, ...] = (
    "angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised",
)

# 68 landmarks, iBUG 300-W order: name -> index range (inclusive start, exclusive end).
LANDMARK_GROUPS: dict[str, tuple[int, int]] = {
    "jaw": (0, 17),
    "r_brow": (17, 22),   # subject's right = image left for a frontal face
    "l_brow": (22, 27),
    "nose_bridge": (27, 31),
    "nose_base": (31, 36),
    "r_eye": (36, 42),
    "l_eye": (42, 48),
    "outer_lips": (48, 60),
    "inner_lips": (60, 68),
}
NUM_LANDMARKS = 68

