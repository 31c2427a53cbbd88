"""The one-time preprocessing step: every sample of a split decoded, cropped and resized once into uint8
memory-mapped .npy arrays, so that training reads pixels with no JPEG decoding at all.

Layout of one cache (``<cache_dir or root/.cache>/<dataset>[-<scheme>]-<split>-<res>[-limitN]/``):

    images.npy        uint8 (N, R, R, 3)
    masks.npy         uint8 (N, R, R)                   datasets with masks only
    <label>.npy       one array per label key (attrs, attrs_known, expression, landmarks, ...)
    source_index.npy  int64 (N,)  position of each sample in the dataset's record list
    meta.json         fingerprint, count, array shapes, skipped samples

The fingerprint covers the loader version, the settings that change the arrays, the stats (name, size,
mtime) of the label files and a digest of every sample file's name, size and mtime: any change rebuilds the
cache. A build writes into a temporary folder that is renamed into place only when complete, under a lock
file, so that an interrupted build leaves no half cache and concurrent ranks build it once.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing as mp
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from faceeditor.core.safe_read import JSONReadError, load_json_file
from trainer.data.errors import DatasetError, SkipLog

if TYPE_CHECKING:
    from trainer.data.base import FaceFolderDataset

log = logging.getLogger("trainer.data")

CACHE_FORMAT = 1
_CHUNK = 32          # samples per task sent to a worker process
_FILE_STEMS = {"image": "images", "mask": "masks"}


def cache_path(ds: FaceFolderDataset) -> Path:
    """Where the cache of this dataset split lives."""
    cfg = ds.cfg
    parts = [ds.name]
    if cfg.split_scheme != "default":
        parts.append(cfg.split_scheme)
    parts += [ds.split, str(ds.resolution)]
    if cfg.limit:
        parts.append(f"limit{cfg.limit}")
    base = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else ds.root / ".cache"
    return base / "-".join(parts)


def fingerprint(ds: FaceFolderDataset) -> dict[str, Any]:
    """Everything a cache's content depends on, as a JSON-able dict."""
    digest = hashlib.sha256()
    for stats, rec in zip(ds.file_stats, ds.records, strict=True):
        digest.update(json.dumps([stats, rec.source]).encode())
    labels = []
    for p in ds.label_files():
        if p.exists():
            st = p.stat()
            labels.append([p.name, st.st_size, st.st_mtime_ns])
    cfg = ds.cfg
    return {
        "format": CACHE_FORMAT, "dataset": ds.name, "loader_version": ds.version, "split": ds.split,
        "resolution": ds.resolution, "split_scheme": cfg.split_scheme, "limit": cfg.limit,
        "skip_bad": cfg.skip_bad, "options": ds.options(), "label_files": labels,
        "samples_listed": len(ds.records), "files_sha256": digest.hexdigest(),
    }


class CacheArrays:
    """The arrays of one built cache, memory-mapped on first access in each process (so that a dataset
    sent to DataLoader workers carries paths, not pixels)."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.meta = meta
        self.count = int(meta["count"])
        self.keys = list(meta["arrays"])
        self._arrays: dict[str, np.ndarray] | None = None

    def _open(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {k: np.load(self.path / f"{_FILE_STEMS.get(k, k)}.npy", mmap_mode="r")
                            for k in self.keys}
        return self._arrays

    def array(self, key: str) -> np.ndarray:
        """The whole memory-mapped array of one key (e.g. "attrs" for label statistics)."""
        return self._open()[key]

    def sample(self, i: int) -> dict[str, np.ndarray]:
        return {k: a[i] for k, a in self._open().items() if k != "source_index"}

    def __len__(self) -> int:
        return self.count

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_arrays"] = None
        return state


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = load_json_file(path / "meta.json", what="cache index")
    except JSONReadError:
        return None
    return meta if isinstance(meta, dict) else None


def open_cache(path: Path, expected: dict[str, Any] | None = None) -> CacheArrays | None:
    """The cache at `path` if it is complete (and matches `expected` when given), else None."""
    meta = _read_meta(path)
    if meta is None or (expected is not None and meta.get("fingerprint") != expected):
        return None
    try:
        for key, (shape, dtype) in meta["arrays"].items():
            arr = np.load(path / f"{_FILE_STEMS.get(key, key)}.npy", mmap_mode="r")
            if list(arr.shape) != list(shape) or str(arr.dtype) != dtype:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return CacheArrays(path, meta)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:          # Windows: no lock; the atomic rename still prevents half caches
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_or_build(ds: FaceFolderDataset, workers: int | None = None, progress: bool = True,
                  rebuild: bool = False) -> CacheArrays:
    """Open the cache of `ds`, building it first when it is missing, stale or `rebuild` is set."""
    path = cache_path(ds)
    fp = fingerprint(ds)
    if not rebuild:
        found = open_cache(path, fp)
        if found is not None:
            _log_opened(ds, found)
            return found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock(path.parent / f".{path.name}.lock"):
            found = None if rebuild else open_cache(path, fp)
            if found is None:
                if path.exists():
                    log.info("%s: cache is stale or incomplete; rebuilding", path)
                build(ds, path, fp, workers=workers, progress=progress)
    except PermissionError as exc:
        raise DatasetError(f"{exc.filename or path}: cannot write the dataset cache here "
                           "(set cache_dir / --cache-dir to a writable folder)") from None
    found = open_cache(path, fp)
    if found is None:
        raise DatasetError(f"{path}: the cache just built does not read back")
    _log_opened(ds, found)
    return found


def _log_opened(ds: FaceFolderDataset, cache: CacheArrays) -> None:
    skipped = cache.meta.get("skipped_bad", 0)
    log.info("%s %s: %d samples from cache %s%s", ds.name, ds.split, len(cache), cache.path,
             f" ({skipped} bad sample(s) skipped when built)" if skipped else "")


# -- building -------------------------------------------------------------------------------------------
_WORKER_DS: FaceFolderDataset | None = None


def _init_worker(ds: FaceFolderDataset) -> None:
    # Never cv2.setNumThreads() here: in a forked child it waits forever on the parent's thread pool.
    global _WORKER_DS
    _WORKER_DS = ds


def _decode_one(ds: FaceFolderDataset, i: int) -> dict[str, np.ndarray] | str:
    try:
        return ds.decode_checked(i)
    except DatasetError as exc:
        return str(exc)


def _decode_chunk(indices: range) -> list[tuple[int, dict[str, np.ndarray] | str]]:
    assert _WORKER_DS is not None
    return [(i, _decode_one(_WORKER_DS, i)) for i in indices]


def _decoded(ds: FaceFolderDataset, workers: int) -> Iterator[tuple[int, dict[str, np.ndarray] | str]]:
    n = len(ds.records)
    if workers <= 0:
        for i in range(n):
            yield i, _decode_one(ds, i)
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else None)
    chunks = [range(s, min(s + _CHUNK, n)) for s in range(0, n, _CHUNK)]
    with ctx.Pool(workers, initializer=_init_worker, initargs=(ds,)) as pool:
        for results in pool.imap(_decode_chunk, chunks):
            yield from results


def build(ds: FaceFolderDataset, path: Path, fp: dict[str, Any], workers: int | None = None,
          progress: bool = True) -> None:
    """Decode every record of `ds` into a new cache at `path` (replacing what is there)."""
    n, res = len(ds.records), ds.resolution
    if workers is None:
        workers = ds.cfg.num_workers if n >= 256 else 0
    specs: dict[str, tuple[tuple[int, ...], Any]] = {"image": ((res, res, 3), np.uint8)}
    if ds.has_mask:
        specs["mask"] = ((res, res), np.uint8)
    specs.update(ds.label_specs)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    skips = SkipLog()
    started = time.monotonic()
    try:
        arrays = {k: np.lib.format.open_memmap(tmp / f"{_FILE_STEMS.get(k, k)}.npy", mode="w+",
                                               dtype=dt, shape=(n, *shape))
                  for k, (shape, dt) in specs.items()}
        source_index = np.empty(n, dtype=np.int64)
        kept = 0
        desc = f"caching {ds.name} {ds.split} {res}px"
        with tqdm(total=n, desc=desc, unit="img", disable=not progress, dynamic_ncols=True) as bar:
            for i, result in _decoded(ds, workers):
                bar.update(1)
                if isinstance(result, str):
                    if not ds.cfg.skip_bad:
                        raise DatasetError(result + " (set skip_bad / --skip-bad to skip bad samples)")
                    skips.add_bad(result)
                    continue
                missing = set(specs) - set(result)
                if missing:
                    raise DatasetError(f"{ds.name}: decoded sample {i} lacks {sorted(missing)}")
                for k, arr in arrays.items():
                    arr[kept] = result[k]
                source_index[kept] = i
                kept += 1
        if kept == 0:
            raise DatasetError(f"{ds.root}: no sample of the {ds.split!r} split could be decoded")
        for arr in arrays.values():
            arr.flush()
        if kept < n:
            arrays = _shrink(tmp, arrays, kept)
        np.save(tmp / "source_index.npy", source_index[:kept])
        shapes = {k: [list(a.shape), str(a.dtype)] for k, a in arrays.items()}
        shapes["source_index"] = [[kept], "int64"]
        del arrays
        meta = {
            "fingerprint": fp, "count": kept, "arrays": shapes, "skipped_bad": skips.bad,
            "skipped_reasons": skips.reasons, "built_seconds": round(time.monotonic() - started, 3),
            "first_file": ds.records[0].files[0], "last_file": ds.records[-1].files[0],
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        _swap_in(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    skips.report(f"{ds.name} {ds.split} cache")
    ds.skips.merge(skips)


def _shrink(tmp: Path, arrays: dict[str, np.memmap], kept: int) -> dict[str, np.memmap]:
    """Rewrite arrays to their first `kept` rows (after samples were skipped)."""
    out = {}
    for key, arr in arrays.items():
        stem = _FILE_STEMS.get(key, key)
        small = np.lib.format.open_memmap(tmp / f"{stem}.tmp.npy", mode="w+", dtype=arr.dtype,
                                          shape=(kept, *arr.shape[1:]))
        for s in range(0, kept, 1024):
            small[s:min(s + 1024, kept)] = arr[s:min(s + 1024, kept)]
        small.flush()
        del arr, small
        os.replace(tmp / f"{stem}.tmp.npy", tmp / f"{stem}.npy")
        out[key] = np.load(tmp / f"{stem}.npy", mmap_mode="r")
    return out


def _swap_in(tmp: Path, path: Path) -> None:
    trash = None
    if path.exists():
        trash = path.parent / f".{path.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(path, trash)
    os.rename(tmp, path)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
