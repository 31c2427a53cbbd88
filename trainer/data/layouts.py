"""Facts about the real datasets' layouts that both their loaders (trainer/data/<dataset>.py) and the
SynthFaces writers of those layouts (trainer/data/synthfaces/formats.py) need: sizes, split boundaries,
crop boxes. numpy-free and torch-free, so the writers' worker processes stay light."""
from __future__ import annotations

# CelebA: 202599 aligned images; the official partition is by file number (000001..162770 train,
# ..182637 val, the rest test), i.e. 0-based index < 162770 train, < 182637 val.
CELEBA_COUNT = 202599
CELEBA_TRAIN_END, CELEBA_VAL_END = 162770, 182637
CELEBA_ATTGAN_SPLIT = (182000, 637)            # AttGAN/STGAN: train, val; test = the rest (19962)
CELEBA_LANDMARK_COLUMNS = ("lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
                           "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y")

# CelebA-HQ / CelebAMask-HQ: 30000 images; SeCGAN/AttGAN split them 28000 / 500 / 1500 by number.
HQ_COUNT = 30000
HQ_ATTGAN_SPLIT = (28000, 500)

# RaFD: 681x1024 portraits; the head square (SeCGAN's "600x600 crop around the centre of the head").
RAFD_SIZE = (681, 1024)
RAFD_CROP_SIDE_OF_WIDTH = 600 / 681
RAFD_CROP_CENTER_Y_OF_HEIGHT = 0.43


def proportional_split(n: int, full: int, train: int, val: int) -> tuple[int, int, int]:
    """Sizes (train, val, test) of a fixed-size split of `full` samples applied to `n` samples: the same
    sizes when n >= full, otherwise each part scaled by n / full, with at least one val and one test
    sample when n >= 3 (so that a small synthetic copy of the layout still has all three splits)."""
    if n >= full:
        return train, val, n - train - val
    if n < 3:
        return n, 0, 0
    n_val = max(1, round(val * n / full))
    n_train = min(round(train * n / full), n - n_val - 1)
    return n_train, n_val, n - n_train - n_val


def split_of_position(pos: int, sizes: tuple[int, int, int]) -> str:
    """"train", "val" or "test" for position `pos` of an ordered split of `sizes`."""
    if pos < sizes[0]:
        return "train"
    return "val" if pos < sizes[0] + sizes[1] else "test"


def celeba_partition_of_index(orig_idx: int) -> str:
    """The official CelebA split of a 0-based CelebA index (as in CelebA-HQ-to-CelebA-mapping.txt)."""
    if orig_idx < CELEBA_TRAIN_END:
        return "train"
    return "val" if orig_idx < CELEBA_VAL_END else "test"


def rafd_face_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The square crop (x0, y0, x1, y1) around the head of a RaFD portrait: 600/681 of the width, centred
    horizontally and at 0.43 of the height (rows 140..740 of a 1024-row image), kept inside the image."""
    side = min(int(round(width * RAFD_CROP_SIDE_OF_WIDTH)), width, height)
    x0 = (width - side) // 2
    y0 = int(round(height * RAFD_CROP_CENTER_Y_OF_HEIGHT)) - side // 2
    y0 = min(max(y0, 0), height - side)
    return x0, y0, x0 + side, y0 + side
