"""Project-wide label conventions (shared/DESIGN.md §3).

Every module that speaks of classes, attributes, expressions or landmark groups imports them from here,
so that an index means the same thing in the renderer, the trainer, the engine and the app.
"""
from __future__ import annotations

# 19 face-parsing classes, face-parsing.PyTorch order.
PARSE_CLASSES: tuple[str, ...] = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARSE_CLASSES)}
NUM_CLASSES = len(PARSE_CLASSES)

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


def to_parse_classes(mask, classes):
    """A model's class indices -> the 19 parse classes (by name; unknown names -> background)."""
    import numpy as np

    if tuple(classes) == PARSE_CLASSES:
        return mask
    lut = np.array([CLASS_INDEX.get(name, 0) for name in classes] + [0] * 256, np.uint8)[:256]
    return lut[mask]
