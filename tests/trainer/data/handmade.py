"""Tiny hand-made copies of the real datasets' layouts, for loader tests that must not depend on the
SynthFaces renderer. Each image is a flat colour that encodes its number (see `colour_of`), so tests can
tell which file a sample came from."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from faceeditor.core.labels import CELEBA_ATTRIBUTES_40, EXPRESSIONS

LANDMARK_HEADER = ("lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
                   "leftmouth_x leftmouth_y rightmouth_x rightmouth_y")


def colour_of(i: int) -> tuple[int, int, int]:
    return (40 + (i * 37) % 180, 200 - (i * 53) % 150, 60 + (i * 71) % 170)


def write_attr_table(path: Path, names: list[str], files: list[str], values: np.ndarray) -> None:
    with open(path, "w") as fh:
        fh.write(f"{len(files)}\n" + " ".join(names) + " \n")
        for f, row in zip(files, values, strict=True):
            fh.write(f"{f} " + " ".join(f"{int(v):2d}" for v in row) + "\n")


def write_celeba(root: Path, partitions: list[int], seed: int = 0, landmarks: bool = True,
                 names: list[str] | None = None) -> np.ndarray:
    """CelebA layout with len(partitions) images; returns the ±1 attribute table (rows x 40, header order)."""
    rng = np.random.default_rng(seed)
    names = list(names or CELEBA_ATTRIBUTES_40)
    n = len(partitions)
    (root / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    files = [f"{i + 1:06d}.jpg" for i in range(n)]
    values = rng.choice([-1, 1], size=(n, len(names)))
    write_attr_table(root / "list_attr_celeba.txt", names, files, values)
    with open(root / "list_eval_partition.txt", "w") as fh:
        for f, p in zip(files, partitions, strict=True):
            fh.write(f"{f} {p}\n")
    if landmarks:
        with open(root / "list_landmarks_align_celeba.txt", "w") as fh:
            fh.write(f"{n}\n{LANDMARK_HEADER}\n")
            for i, f in enumerate(files):
                fh.write(f"{f}    {69 + i % 3}  111   108  {111 + i % 2}    89   135    73   152   105   152\n")
    for i, f in enumerate(files):
        img = np.zeros((218, 178, 3), np.uint8)
        img[:20] = (255, 0, 255)            # rows the centre crop must drop
        img[198:] = (255, 0, 255)
        img[20:198] = colour_of(i)
        Image.fromarray(img).save(root / "img_align_celeba" / f, quality=95)
    return values


def write_celebamask_hq(root: Path, n: int, mapping: list[int] | None = None, seed: int = 0,
                        image_size: int = 64, mask_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
    """CelebAMask-HQ layout; every image has skin, hair and one eye pair drawn as rectangles, and image k
    also a hat over the hair when k is even. Returns the ±1 attribute table and the expected masks
    (mask_size, class indices) composed in the official order."""
    from faceeditor.core.labels import CLASS_INDEX
    rng = np.random.default_rng(seed)
    (root / "CelebA-HQ-img").mkdir(parents=True, exist_ok=True)
    files = [f"{k}.jpg" for k in range(n)]
    values = rng.choice([-1, 1], size=(n, 40))
    write_attr_table(root / "CelebAMask-HQ-attribute-anno.txt", list(CELEBA_ATTRIBUTES_40), files, values)
    if mapping is not None:
        with open(root / "CelebA-HQ-to-CelebA-mapping.txt", "w") as fh:
            fh.write("idx         orig_idx    orig_file\n")
            for k, orig in enumerate(mapping):
                fh.write(f"{k:<12d}{orig:<12d}{orig + 1:06d}.jpg\n")
    expected = []
    s = mask_size
    for k in range(n):
        Image.fromarray(np.full((image_size, image_size, 3), colour_of(k), np.uint8)).save(
            root / "CelebA-HQ-img" / f"{k}.jpg", quality=95)
        layers = {}
        skin = np.zeros((s, s), bool)
        skin[s // 4: s, s // 8: s - s // 8] = True
        layers["skin"] = skin
        hair = np.zeros((s, s), bool)
        hair[: s // 2] = True                       # overlaps skin: hair comes later and wins
        layers["hair"] = hair
        eye = np.zeros((s, s), bool)
        eye[s // 2: s // 2 + 2, 4:8] = True
        layers["l_eye"] = eye
        reye = np.zeros((s, s), bool)
        reye[s // 2: s // 2 + 2, s - 10: s - 6] = True    # not mirror-symmetric to l_eye
        layers["r_eye"] = reye
        if k % 2 == 0:
            hat = np.zeros((s, s), bool)
            hat[: s // 4] = True
            layers["hat"] = hat
        folder = root / "CelebAMask-HQ-mask-anno" / str(k // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        mask = np.zeros((s, s), np.uint8)
        from faceeditor.core.labels import CELEBAMASK_HQ_ORDER
        for name in CELEBAMASK_HQ_ORDER:
            if name in layers:
                Image.fromarray(layers[name].astype(np.uint8) * 255).save(folder / f"{k:05d}_{name}.png")
                mask[layers[name]] = CLASS_INDEX[name]
        expected.append(mask)
    return values, expected


def write_rafd(root: Path, identities: list[int], size: tuple[int, int] = (68, 102),
               extra_views: bool = True) -> list[str]:
    """RaFD layout: every identity x 8 expressions at angle 090 gazing frontal (plus, with extra_views,
    one 045 and one left-gaze image per identity that the default filter must drop). Returns the names."""
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for n, ident in enumerate(identities):
        gender = "female" if ident % 2 else "male"
        views = [("090", e, "frontal") for e in EXPRESSIONS]
        if extra_views:
            views += [("045", "happy", "frontal"), ("090", "happy", "left")]
        for angle, expr, gaze in views:
            name = f"Rafd{angle}_{ident:02d}_Caucasian_{gender}_{expr}_{gaze}.jpg"
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[:] = colour_of(n * 8 + EXPRESSIONS.index(expr))
            Image.fromarray(img).save(root / name, quality=95)
            names.append(name)
    return names


AFFECTNET_HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,"
                    "valence,arousal")


def affectnet_landmarks(x: float, y: float, w: float, h: float) -> np.ndarray:
    """68 points spread over the face box (a fixed pattern, for transform checks)."""
    t = np.linspace(0, 1, 68)
    return np.stack([x + w * (0.1 + 0.8 * t), y + h * (0.2 + 0.6 * ((t * 7) % 1))], axis=1).astype(np.float32)


def write_affectnet(root: Path, codes_train: list[int], codes_val: list[int], photo: tuple[int, int] = (120, 90),
                    lists_dir: str = "") -> dict[str, list[dict]]:
    """AffectNet layout with one photo per row (face box in the middle), the CSVs in `lists_dir` under root
    (AffectNet ships them in Manually_Annotated_file_lists/). Returns the rows per CSV."""
    out: dict[str, list[dict]] = {}
    for csv_name, codes in (("training.csv", codes_train), ("validation.csv", codes_val)):
        rows = []
        lines = [AFFECTNET_HEADER]
        for i, code in enumerate(codes):
            sub = f"{i % 3}/{csv_name[:5]}_{i:04d}.jpg"
            path = root / "Manually_Annotated_Images" / sub
            path.parent.mkdir(parents=True, exist_ok=True)
            w, h = photo
            img = np.zeros((h, w, 3), np.uint8)
            img[:] = (20, 20, 20)
            box = (30.0 + i % 5, 20.0, 40.0, 44.0)
            x, y, bw, bh = box
            img[int(y):int(y + bh), int(x):int(x + bw)] = colour_of(i)
            Image.fromarray(img).save(path, quality=95)
            pts = affectnet_landmarks(*box)
            lm = ";".join(f"{v:.2f}" for v in pts.reshape(-1))
            lines.append(f"{sub},{int(x)},{int(y)},{int(bw)},{int(bh)},{lm},{code},0.5,-0.25")
            rows.append({"file": sub, "box": box, "code": code, "landmarks": pts, "line": len(lines)})
        (root / lists_dir).mkdir(parents=True, exist_ok=True)
        (root / lists_dir / csv_name).write_text("\n".join(lines) + "\n")
        out[csv_name] = rows
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8-range images (for "equal up to JPEG" checks)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def sample_rgb(sample_image) -> np.ndarray:
    """A sample's (3, H, W) [-1, 1] tensor as (H, W, 3) floats in 0..255."""
    return (sample_image.permute(1, 2, 0).numpy().astype(np.float64) + 1) * 127.5
