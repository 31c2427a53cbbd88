"""SynthFaces written in the on-disk layouts of the real datasets (CelebA, CelebAMask-HQ, RaFD), so that
the real loaders in trainer/data/ are exercised by exactly the files they will meet, with labels known.

- ``write_celeba``: each render is warped by the similarity that puts its eye centres, nose tip and mouth
  corners on CelebA's mean aligned landmarks (faceeditor.core.face_align.CELEBA_CANONICAL_POINTS) in the
  178x218 frame, as CelebA's own alignment does (the frame outside the render mirrors it); the five
  transformed points are written (rounded to integers, as CelebA's file has them). Faces are rendered
  at ``render_size`` (256: eye distance about 39 px, CelebA's own) and resampled once.
- ``write_celebamask_hq``: renders at ``size`` (512); the image is that render upscaled 2x (1024 for 512,
  bicubic; the real set's images are true 1024² photos) and the masks are the render's exact 19-class
  mask at ``size``, one binary PNG per class present. Classes never overlap, so composing them in the
  official order gives back the render's mask exactly.
- ``write_rafd``: ``identities`` faces, each posed frontally (yaw = pitch = roll = 0) and re-rendered
  with every one of the 8 expressions (``with_expression``, identity held), placed in a 681:1024
  portrait canvas exactly where the RaFD loader's crop (trainer.data.layouts.rafd_face_box) looks; the
  canvas outside the render mirrors it. The ethnicity field is filler ("Caucasian" or "Moroccan",
  alternating): the renderer has no notion of ethnicity.

Every writer also leaves ``synthfaces.json`` at the root (``RENDERED_MARKER``: layout, seed, count): the
real datasets have no such file, so an export can tell SynthFaces in CelebA's or RaFD's layout from the
photographs (``rendered_layout``), and the pack says its models were trained on renders.

Every writer is deterministic for a seed (sample i is render_seed(sample_seed(seed, i)), the native
format's rule), runs in worker processes over fixed chunks of samples (as write_native does) with a tqdm
progress bar, and writes the images from the workers, then the label files (each atomically: a temporary
file, then a rename).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from faceeditor.core.face_align import (
    CELEBA_ALIGNED_HEIGHT,
    CELEBA_ALIGNED_WIDTH,
    CELEBA_CANONICAL_POINTS,
    five_points,
    similarity_transform,
    transform_points,
    warp,
)
from faceeditor.core.labels import CELEBA_ATTRIBUTES_40, CELEBAMASK_HQ_ORDER, CLASS_INDEX, EXPRESSIONS
from trainer.data.layouts import (
    CELEBA_COUNT,
    CELEBA_LANDMARK_COLUMNS,
    CELEBA_TRAIN_END,
    CELEBA_VAL_END,
    RAFD_SIZE,
    proportional_split,
    rafd_face_box,
    split_of_position,
)
from trainer.data.synthfaces.native import default_workers, sample_seed

JPEG_QUALITY = 95
CHUNK = 16


# -- shared plumbing ----------------------------------------------------------------------------------
def _pool_map(fn: Callable[[Sequence[int]], list], n: int, workers: int | None, progress: bool,
              desc: str, args: tuple = ()) -> Iterator[Any]:
    """Run fn over fixed chunks of range(n) (in order), in worker processes when workers > 1; yield each
    chunk's results one by one, advancing a progress bar per sample."""
    chunks = [range(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)]
    workers = default_workers() if workers is None else int(workers)
    workers = max(0, min(workers, len(chunks)))
    tasks = [(fn, c, args) for c in chunks]
    with tqdm(total=n, desc=desc, unit="img", disable=not progress, dynamic_ncols=True) as bar:
        if workers <= 1:
            for chunk in map(_call, tasks):
                bar.update(len(chunk))
                yield from chunk
            return
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for chunk in pool.map(_call, tasks):
                bar.update(len(chunk))
                yield from chunk


def _call(task: tuple) -> list:
    fn, chunk, args = task
    return fn(chunk, *args)


def _save_jpeg(path: Path, image: np.ndarray) -> None:
    # 4:4:4 (no chroma subsampling): thin coloured features of small renders (stripes, lips) survive.
    Image.fromarray(np.ascontiguousarray(image)).save(path, quality=JPEG_QUALITY, subsampling=0)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


RENDERED_MARKER = "synthfaces.json"


def _write_marker(out: Path, layout: str, seed: int, count: int, **extra: Any) -> None:
    info = {"rendered_by": "SynthFaces", "layout": layout, "seed": int(seed), "count": int(count), **extra}
    _write_text(out / RENDERED_MARKER, json.dumps(info, indent=1) + "\n")


def rendered_layout(root: str | os.PathLike) -> str | None:
    """The layout name ("celeba", "celebamask-hq", "rafd") when the dataset at `root` was written by
    SynthFaces in a real dataset's layout (its marker file), else None (a real dataset, or no such folder)."""
    try:
        info = json.loads((Path(root) / RENDERED_MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("rendered_by") != "SynthFaces":
        return None
    return str(info.get("layout") or "") or None


def _attr_row(attributes: dict[str, bool]) -> list[int]:
    """The 40 CelebA columns as ±1 (attributes the renderer does not label are -1)."""
    return [1 if attributes.get(name, False) else -1 for name in CELEBA_ATTRIBUTES_40]


def _attr_table(names: list[str], rows: list[list[int]]) -> str:
    lines = [str(len(rows)), " ".join(CELEBA_ATTRIBUTES_40) + " "]
    lines += [f"{name} " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, rows, strict=True)]
    return "\n".join(lines) + "\n"


def partition_sizes(n: int) -> tuple[int, int, int]:
    """(train, val, test) of n samples at CelebA's official proportions, none empty when n >= 3."""
    return proportional_split(n, CELEBA_COUNT, CELEBA_TRAIN_END, CELEBA_VAL_END - CELEBA_TRAIN_END)


def official_partition(i: int, n: int) -> int:
    """CelebA's partition code (0 train, 1 val, 2 test) of sample i of n, in file order."""
    return ("train", "val", "test").index(split_of_position(i, partition_sizes(n)))


def celeba_index_of(i: int, n: int) -> int:
    """An original CelebA index for CelebA-HQ image i of n: spread over the part of CelebA's index range
    whose official partition is the one `partition_sizes` gives i, so the mapping split has every part."""
    sizes = partition_sizes(n)
    bounds = ((0, CELEBA_TRAIN_END), (CELEBA_TRAIN_END, CELEBA_VAL_END), (CELEBA_VAL_END, CELEBA_COUNT))
    part = ("train", "val", "test").index(split_of_position(i, sizes))
    start = sum(sizes[:part])
    lo, hi = bounds[part]
    return lo + ((i - start) * (hi - lo)) // sizes[part]


def _render(seed: int, size: int):
    from trainer.data.synthfaces import render_seed
    return render_seed(seed, size)


# -- CelebA -------------------------------------------------------------------------------------------
def celeba_alignment(landmarks: np.ndarray) -> np.ndarray:
    """The 2x3 matrix putting a render's five points on CelebA's mean aligned positions (178x218)."""
    return similarity_transform(five_points(landmarks), CELEBA_CANONICAL_POINTS)


def _celeba_chunk(chunk: Sequence[int], out: str, seed: int, render_size: int) -> list[tuple]:
    rows = []
    for i in chunk:
        s = _render(sample_seed(seed, i), render_size)
        m = celeba_alignment(s.landmarks)
        image = warp(s.image, m, (CELEBA_ALIGNED_WIDTH, CELEBA_ALIGNED_HEIGHT), border="reflect")
        pts = np.rint(transform_points(five_points(s.landmarks), m)).astype(int)
        name = f"{i + 1:06d}.jpg"
        _save_jpeg(Path(out) / "img_align_celeba" / name, image)
        rows.append((name, _attr_row(s.attributes), pts.reshape(-1).tolist(), int(s.identity)))
    return rows


def write_celeba(out_dir: str | os.PathLike, count: int, seed: int = 0, workers: int | None = None,
                 progress: bool = True, render_size: int = 256, overwrite: bool = False) -> Path:
    """CelebA's aligned layout: img_align_celeba/000001.jpg ... (178x218), list_attr_celeba.txt,
    list_eval_partition.txt (CelebA's proportions in file order), list_landmarks_align_celeba.txt and
    identity_CelebA.txt."""
    out = Path(out_dir)
    _check_count(count)
    _prepare_out(out, "CelebA", [out / "img_align_celeba", out / "list_attr_celeba.txt"], overwrite)
    (out / "img_align_celeba").mkdir(exist_ok=True)
    rows = list(_pool_map(_celeba_chunk, count, workers, progress, "SynthFaces -> CelebA",
                          (str(out), int(seed), int(render_size))))
    names = [r[0] for r in rows]
    _write_text(out / "list_attr_celeba.txt", _attr_table(names, [r[1] for r in rows]))
    _write_text(out / "list_eval_partition.txt",
                "".join(f"{n} {official_partition(i, count)}\n" for i, n in enumerate(names)))
    lm = [str(count), " ".join(CELEBA_LANDMARK_COLUMNS)]
    lm += [f"{r[0]} " + " ".join(f"{v:5d}" for v in r[2]) for r in rows]
    _write_text(out / "list_landmarks_align_celeba.txt", "\n".join(lm) + "\n")
    _write_text(out / "identity_CelebA.txt", "".join(f"{r[0]} {r[3]}\n" for r in rows))
    _write_marker(out, "celeba", seed, count, render_size=int(render_size))
    return out


# -- CelebAMask-HQ ------------------------------------------------------------------------------------
def mask_files(mask: np.ndarray) -> dict[str, np.ndarray]:
    """The per-class binary layers (uint8 0/255) of the classes present in a 19-class mask."""
    return {name: (mask == CLASS_INDEX[name]).astype(np.uint8) * 255
            for name in CELEBAMASK_HQ_ORDER if (mask == CLASS_INDEX[name]).any()}


def _hq_chunk(chunk: Sequence[int], out: str, seed: int, size: int) -> list[tuple]:
    rows = []
    root = Path(out)
    for k in chunk:
        s = _render(sample_seed(seed, k), size)
        big = cv2.resize(s.image, (2 * size, 2 * size), interpolation=cv2.INTER_CUBIC)
        _save_jpeg(root / "CelebA-HQ-img" / f"{k}.jpg", big)
        folder = root / "CelebAMask-HQ-mask-anno" / str(k // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        for name, layer in mask_files(s.mask).items():
            Image.fromarray(layer, "L").save(folder / f"{k:05d}_{name}.png")
        rows.append((f"{k}.jpg", _attr_row(s.attributes)))
    return rows


def write_celebamask_hq(out_dir: str | os.PathLike, count: int, size: int = 512, seed: int = 0,
                        workers: int | None = None, progress: bool = True, overwrite: bool = False) -> Path:
    """CelebAMask-HQ's layout: CelebA-HQ-img/{k}.jpg at 2*size, CelebAMask-HQ-mask-anno/{k//2000}/
    {k:05d}_{class}.png at size, CelebAMask-HQ-attribute-anno.txt and CelebA-HQ-to-CelebA-mapping.txt
    (original CelebA indices chosen so that the mapping split has CelebA's train/val/test proportions,
    see ``celeba_index_of``)."""
    out = Path(out_dir)
    _check_count(count)
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    _prepare_out(out, "CelebAMask-HQ", [out / "CelebA-HQ-img", out / "CelebAMask-HQ-mask-anno",
                                        out / "CelebAMask-HQ-attribute-anno.txt"], overwrite)
    (out / "CelebA-HQ-img").mkdir(exist_ok=True)
    (out / "CelebAMask-HQ-mask-anno").mkdir(exist_ok=True)
    rows = list(_pool_map(_hq_chunk, count, workers, progress, "SynthFaces -> CelebAMask-HQ",
                          (str(out), int(seed), int(size))))
    _write_text(out / "CelebAMask-HQ-attribute-anno.txt", _attr_table([r[0] for r in rows], [r[1] for r in rows]))
    lines = ["idx         orig_idx    orig_file"]
    for k in range(count):
        orig = celeba_index_of(k, count)
        lines.append(f"{k:<12d}{orig:<12d}{orig + 1:06d}.jpg")
    _write_text(out / "CelebA-HQ-to-CelebA-mapping.txt", "\n".join(lines) + "\n")
    _write_marker(out, "celebamask-hq", seed, count, size=int(size))
    return out


# -- RaFD ---------------------------------------------------------------------------------------------
def rafd_canvas(size: int) -> tuple[int, int, tuple[int, int, int, int]]:
    """(width, height, face box) of the portrait a `size` render is placed in."""
    width = int(round(size * RAFD_SIZE[0] / 600))
    height = int(round(size * RAFD_SIZE[1] / 600))
    return width, height, rafd_face_box(width, height)


def frontal(p):
    """The same face looking straight at the camera (RaFD's 090 camera, frontal gaze)."""
    from trainer.data import synthfaces
    if hasattr(synthfaces, "with_pose"):
        return synthfaces.with_pose(p, 0.0, 0.0, 0.0)
    return replace(p, yaw=0.0, pitch=0.0, roll=0.0)


def rafd_name(identity: int, ethnicity: str, male: bool, expression: str) -> str:
    return f"Rafd090_{identity:02d}_{ethnicity}_{'male' if male else 'female'}_{expression}_frontal.jpg"


def _rafd_chunk(chunk: Sequence[int], out: str, seed: int, size: int) -> list[tuple]:
    from trainer.data.synthfaces import render, sample_params, with_expression
    width, height, (x0, y0, x1, y1) = rafd_canvas(size)
    rows = []
    for j in chunk:
        p = frontal(sample_params(sample_seed(seed, j)))
        ethnicity = ("Caucasian", "Moroccan")[j % 2]
        for expression in EXPRESSIONS:
            s = render(with_expression(p, expression, 1.0), size)
            face = s.image if x1 - x0 == size else cv2.resize(s.image, (x1 - x0, y1 - y0),
                                                               interpolation=cv2.INTER_AREA)
            canvas = cv2.copyMakeBorder(face, y0, height - y1, x0, width - x1, cv2.BORDER_REFLECT_101)
            name = rafd_name(j + 1, ethnicity, bool(s.attributes.get("Male")), expression)
            _save_jpeg(Path(out) / name, canvas)
            rows.append(name)
    return rows


def write_rafd(out_dir: str | os.PathLike, identities: int, seed: int = 0, size: int = 256,
               workers: int | None = None, progress: bool = True, overwrite: bool = False) -> Path:
    """RaFD's layout: Rafd090_{id:02d}_{Ethnicity}_{gender}_{expression}_frontal.jpg for every identity
    (numbered from 01) and each of the 8 expressions; portraits of round(size*681/600) x
    round(size*1024/600) whose head square (the loader's crop) is the `size` render."""
    if identities < 1:
        raise ValueError(f"identities must be at least 1, got {identities}")
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    out = Path(out_dir)
    _prepare_out(out, "RaFD", sorted(out.glob("Rafd*.jpg"))[:1] if out.is_dir() else [], overwrite)
    list(_pool_map(_rafd_chunk, identities, workers, progress, "SynthFaces -> RaFD identities",
                   (str(out), int(seed), int(size))))
    _write_marker(out, "rafd", seed, identities, size=int(size))
    return out


def _check_count(count: int) -> None:
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")


def _prepare_out(out: Path, what: str, markers: list[Path], overwrite: bool) -> None:
    """Create `out`; refuse (FileExistsError) to write over a layout already there unless `overwrite`,
    so that a mistyped --out never clobbers a real dataset."""
    if not overwrite:
        for m in markers:
            if m.is_file() or (m.is_dir() and any(m.iterdir())):
                raise FileExistsError(f"{out} already holds a {what} layout ({m.name}); choose an empty "
                                      "folder (from Python: overwrite=True writes over it)")
    out.mkdir(parents=True, exist_ok=True)


FORMAT_WRITERS: dict[str, Callable[..., Path]] = {
    "celeba": write_celeba, "celebamask-hq": write_celebamask_hq, "rafd": write_rafd,
}
