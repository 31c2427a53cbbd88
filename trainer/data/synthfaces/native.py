"""SynthFaces' native on-disk format: shards of ``.npy`` arrays plus ``meta.json``.

    out_dir/
      meta.json                     written last (a folder without it is an unfinished dataset)
      shard_00000/images.npy        uint8 (N, S, S, 3) RGB
                  masks.npy         uint8 (N, S, S) PARSE_CLASSES indices
                  landmarks.npy     float32 (N, 68, 2) pixel (x, y), iBUG order
                  attrs.npy         int8 (N, 15) 0/1 in EVALUATOR_ATTRIBUTES order
                  expression.npy    int8 (N,) index into EXPRESSIONS
                  identity.npy      int64 (N,)
                  seed.npy          int64 (N,) the seed each face was drawn from (sample_params(seed))
                  pose.npy          float32 (N, 3) yaw, pitch, roll in degrees
      shard_00001/...

With ``edited_fraction`` > 0 that share of the samples is re-rendered with one of the 13 editing attributes
flipped (``sample_face``), so that attributes which go together in natural faces (a mustache and a male face,
baldness and age) also appear apart: evaluators trained on such data judge edits, not correlations.

Plain ``.npy`` files (not ``.npz``) because they can be memory-mapped for random access during
training, and because ``np.save`` output is byte-for-byte reproducible (zip archives carry timestamps).
Sample ``i`` is always ``render(sample_face(seed, i, edited_fraction))`` and shards always hold ``shard_size``
consecutive samples, so the bytes do not depend on the number of worker processes.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from faceeditor.core.labels import ATTRIBUTES, EVALUATOR_ATTRIBUTES, EXPRESSIONS, PARSE_CLASSES

from .params import FaceParams, attribute_labels, sample_params, with_attribute
from .render import RENDERER_VERSION, render

FORMAT_VERSION = 1
ARRAYS = ("images", "masks", "landmarks", "attrs", "expression", "identity", "seed", "pose")
DEFAULT_SHARD_SIZE = 1000
CHUNK = 50                      # samples per worker task
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def sample_seed(seed: int, index: int) -> int:
    """Seed of sample ``index`` of a dataset generated with ``seed`` (distinct datasets do not overlap
    for fewer than a billion samples)."""
    return int(seed) * 1_000_000_000 + int(index)


def split_ranges(count: int) -> dict[str, tuple[int, int]]:
    """train / val / test as [start, end) ranges of sample indices (80 / 10 / 10)."""
    n_train = int(round(count * SPLIT_FRACTIONS[0]))
    n_val = int(round(count * SPLIT_FRACTIONS[1]))
    return {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, count)}


def edit_of_sample(sample_seed_: int, edited_fraction: float) -> int | None:
    """Index into ATTRIBUTES of the attribute flipped in this sample, or None (a natural sample)."""
    if edited_fraction <= 0:
        return None
    rng = np.random.default_rng([int(sample_seed_), 0xED17])
    if rng.random() >= edited_fraction:
        return None
    return int(rng.integers(len(ATTRIBUTES)))


def sample_face(seed: int, index: int, edited_fraction: float = 0.0) -> FaceParams:
    """The face parameters of sample ``index`` of a dataset (natural, or with one attribute flipped)."""
    sd = sample_seed(seed, index)
    p = sample_params(sd)
    k = edit_of_sample(sd, edited_fraction)
    if k is None:
        return p
    name = ATTRIBUTES[k]
    present = attribute_labels(p)[name]
    return with_attribute(p, name, 0.0 if present else 1.0)


def render_chunk(seed: int, start: int, stop: int, size: int,
                 edited_fraction: float = 0.0) -> dict[str, np.ndarray]:
    """Render samples [start, stop) of a dataset into stacked arrays."""
    n = stop - start
    out = {
        "images": np.zeros((n, size, size, 3), np.uint8),
        "masks": np.zeros((n, size, size), np.uint8),
        "landmarks": np.zeros((n, 68, 2), np.float32),
        "attrs": np.zeros((n, len(EVALUATOR_ATTRIBUTES)), np.int8),
        "expression": np.zeros((n,), np.int8),
        "identity": np.zeros((n,), np.int64),
        "seed": np.zeros((n,), np.int64),
        "pose": np.zeros((n, 3), np.float32),
    }
    for j in range(n):
        sd = sample_seed(seed, start + j)
        s = render(sample_face(seed, start + j, edited_fraction), size)
        out["images"][j] = s.image
        out["masks"][j] = s.mask
        out["landmarks"][j] = s.landmarks
        out["attrs"][j] = [int(s.attributes[a]) for a in EVALUATOR_ATTRIBUTES]
        out["expression"][j] = EXPRESSIONS.index(s.expression)
        out["identity"][j] = s.identity
        out["seed"][j] = sd
        out["pose"][j] = s.pose
    return out


def _single_thread() -> None:
    """Worker processes are the parallelism: keep OpenCV from starting threads of its own."""
    import cv2

    cv2.setNumThreads(1)


def _render_task(args: tuple[int, int, int, int, float]) -> dict[str, np.ndarray]:
    return render_chunk(*args)


def _chunks(count: int, shard_size: int) -> list[tuple[int, int]]:
    """Chunks never straddle a shard boundary."""
    out = []
    for shard_start in range(0, count, shard_size):
        shard_stop = min(shard_start + shard_size, count)
        for a in range(shard_start, shard_stop, CHUNK):
            out.append((a, min(a + CHUNK, shard_stop)))
    return out


def _results(seed: int, size: int, chunks: list[tuple[int, int]], workers: int,
             edited_fraction: float = 0.0) -> Iterator[dict]:
    tasks = [(seed, a, b, size, edited_fraction) for a, b in chunks]
    if workers <= 1:
        for t in tasks:
            yield _render_task(t)
        return
    # Not "fork": cv2.setNumThreads() in a forked child can wait forever on the parent's OpenCV pool.
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_single_thread) as pool:
        yield from pool.map(_render_task, tasks)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return max(1, os.cpu_count() or 1)


def write_native(out_dir, count: int, size: int = 128, seed: int = 0, workers: int | None = None,
                 progress: bool = True, shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False,
                 edited_fraction: float = 0.0) -> Path:
    """Render ``count`` faces into the native format; returns the dataset folder."""
    count, size, shard_size = int(count), int(size), int(shard_size)
    edited_fraction = float(edited_fraction)
    if not 0.0 <= edited_fraction <= 1.0:
        raise ValueError(f"edited_fraction must be between 0 and 1, got {edited_fraction}")
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    if not 32 <= size <= 2048:
        raise ValueError(f"size must be between 32 and 2048 pixels, got {size}")
    if shard_size <= 0:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty; choose another folder or pass overwrite")
        if not (out / "meta.json").exists() and not any(out.glob("shard_*")):
            raise FileExistsError(f"{out} is not a SynthFaces folder; refusing to overwrite it")
        (out / "meta.json").unlink(missing_ok=True)
        for d in out.glob("shard_*"):
            shutil.rmtree(d)
    out.mkdir(parents=True, exist_ok=True)
    workers = default_workers() if workers is None else max(1, int(workers))

    from tqdm import tqdm

    chunks = _chunks(count, shard_size)
    shards = []
    buf: dict[str, list[np.ndarray]] = {k: [] for k in ARRAYS}
    filled = 0
    shard_index = 0
    with tqdm(total=count, unit="img", disable=not progress, desc="SynthFaces") as bar:
        for res in _results(seed, size, chunks, workers, edited_fraction):
            n = len(res["seed"])
            for k in ARRAYS:
                buf[k].append(res[k])
            filled += n
            bar.update(n)
            start = shard_index * shard_size
            if filled == min(shard_size, count - start):
                name = f"shard_{shard_index:05d}"
                tmp = out / (name + ".partial")
                if tmp.exists():
                    shutil.rmtree(tmp)
                tmp.mkdir()
                for k in ARRAYS:
                    np.save(tmp / f"{k}.npy", np.concatenate(buf[k]))
                os.replace(tmp, out / name)
                shards.append({"name": name, "start": start, "count": filled})
                buf = {k: [] for k in ARRAYS}
                filled = 0
                shard_index += 1
    meta = {
        "format": "synthfaces-native",
        "version": FORMAT_VERSION,
        "renderer_version": RENDERER_VERSION,
        "size": size,
        "count": count,
        "seed": int(seed),
        "sample_seed": "seed * 1000000000 + index",
        "edited_fraction": edited_fraction,
        "shard_size": shard_size,
        "shards": shards,
        "attributes": list(EVALUATOR_ATTRIBUTES),
        "expressions": list(EXPRESSIONS),
        "classes": list(PARSE_CLASSES),
        "splits": {k: list(v) for k, v in split_ranges(count).items()},
        "landmarks": "68 iBUG points, pixel (x, y), pixel centres at integers",
        "pose": "yaw, pitch, roll in degrees; yaw > 0 turns the face to the image's right",
    }
    tmp = out / "meta.json.partial"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, out / "meta.json")
    return out


class NativeReadError(ValueError):
    """A native SynthFaces folder that cannot be read."""


def read_meta(root) -> dict:
    root = Path(root)
    path = root / "meta.json"
    if not path.exists():
        raise NativeReadError(f"{root} is not a SynthFaces dataset (no meta.json; unfinished or wrong folder)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NativeReadError(f"{path} cannot be read: {exc}") from None
    if meta.get("format") != "synthfaces-native":
        raise NativeReadError(f"{path} is not a SynthFaces native meta file")
    if meta.get("version") != FORMAT_VERSION:
        raise NativeReadError(f"{path} has format version {meta.get('version')}, this reader knows {FORMAT_VERSION}")
    for key in ("size", "count", "shards", "splits"):
        if key not in meta:
            raise NativeReadError(f"{path} lacks the field {key!r}")
    return meta


def open_shard(root, shard: dict, mmap: bool = True) -> dict[str, np.ndarray]:
    """Arrays of one shard (memory-mapped by default)."""
    d = Path(root) / shard["name"]
    out = {}
    for k in ARRAYS:
        try:
            out[k] = np.load(d / f"{k}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise NativeReadError(f"{d / (k + '.npy')} cannot be read: {exc}") from None
        if len(out[k]) != shard["count"]:
            raise NativeReadError(f"{d / (k + '.npy')} has {len(out[k])} rows, meta.json says {shard['count']}")
    return out
