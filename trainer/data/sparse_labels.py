"""Sparsely labelled training data (SG-GAN, shared/papers/sggan.md §3.2 "Coping with Unbalanced Dataset" and
§4.3): which attribute labels a run may read, the dataset view that hides the others, the batches that
repeat the labelled images, and the same labelled images for the fully supervised editors.

The fields live in DataConfig (trainer/data/registry.py), so that SG-GAN and StarGAN pick their labelled
images by the same code and the same flags:

    data.labeled_fraction  F in (0, 1]; 1 = ALL (every label known, nothing hidden)
    data.labeled_ids       a text file naming the labelled images instead (see below); overrides F
    data.labeled_seed      seeds the draw of the labelled images (not the training seed, so that runs of
                           several seeds share one labelled set)
    data.labeled_attributes the attributes whose labels are kept, comma-separated; empty = the method's
                           own (sggan: its `attributes`); the editors' labeled_only needs it
    data.labeled_only      the fully supervised editors (stargan, ...): train only on the labelled images

Selection by fraction (the paper's undersampling of the majority value): for each labelled attribute and
each of its two values, round(F · N / 2) training images of that value (N = the training split's size;
capped by how many there are), drawn without replacement by a generator seeded with (labeled_seed,
attribute column, value), keep their label for that attribute. Every other label of the split — the
other images' labels of these attributes and every label of the other attributes — is hidden. The draw
has to look at all the labels once (it plays the annotator who picks a balanced set to label); after
that, training never reads a hidden label. With `labeled_ids` not even the draw does.

The labelled set is written to the run folder as `labeled.txt` (the `labeled_ids` format, so a run's set
can be given to another run: `--data.labeled-ids RUN/labeled.txt`); a resumed run checks that it draws the
same set. The format: one image per line, `INDEX` (its labels of every labelled attribute are known) or
`INDEX ATTR[,ATTR...]` (only those), INDEX the position in the training split (0-based, after
data.limit); `#` starts a comment.

Where it enters: the loop asks the method for its view of the training split (Method.train_data) and for
a batch order (Method.batch_sampler). SG-GAN wraps the split in SparseLabels (hidden labels set to 0 and
`attrs_known` False, so nothing downstream can see them; the images still feed the adversarial and
reconstruction losses) and draws its batches with MixedBatches (a share of every batch from the labelled
images: the paper repeats its labelled data "to increase the probability of their participation in
training for every iteration"). The editors with labeled_only train on `Subset(split, pool)`: every image
labelled for at least one labelled attribute, with ALL its labels — StarGAN's y_diff needs every source
label, so this favours StarGAN (it reads labels SG-GAN never sees).
"""
from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from faceeditor.core.atomic_io import write_text_atomic
from faceeditor.core.labels import ATTRIBUTES, EVALUATOR_ATTRIBUTES
from faceeditor.core.safe_read import ReadError, read_regular_file
from trainer.data.stream import _mix64, sample_seed

LABELED_FILE = "labeled.txt"
N_LABELS = len(EVALUATOR_ATTRIBUTES)


class LabelSetError(ValueError):
    """A labelled set that cannot be used (bad file, a value with no labelled image); one line."""


def parse_attributes(text: str | Sequence[str], key: str = "attributes") -> list[str]:
    """Attribute names from "A,B,C" (or a list), each one of the 13 ATTRIBUTES, no repeats."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise LabelSetError(f"{key}: name at least one attribute (of {', '.join(ATTRIBUTES)})")
    for n in names:
        if n not in ATTRIBUTES:
            raise LabelSetError(f"{key}: unknown attribute {n!r}; expected names of {', '.join(ATTRIBUTES)}")
    if len(set(names)) != len(names):
        raise LabelSetError(f"{key}: an attribute is named twice in {','.join(names)}")
    return names


@dataclass
class LabeledSet:
    """Which labels of the training split are known: attribute name -> sorted image indices."""

    attributes: list[str]
    length: int
    known: dict[str, list[int]] = field(default_factory=dict)
    note: str = ""

    def pool(self) -> list[int]:
        """Every image labelled for at least one attribute, sorted."""
        return sorted(set().union(*[set(v) for v in self.known.values()]))

    def mask(self) -> np.ndarray:
        """(length, 15) bool: the label entries (EVALUATOR_ATTRIBUTES columns) that may be read."""
        m = np.zeros((self.length, N_LABELS), dtype=bool)
        for name, idx in self.known.items():
            m[np.asarray(idx, dtype=np.int64), EVALUATOR_ATTRIBUTES.index(name)] = True
        return m

    def to_text(self) -> str:
        rows: dict[int, list[str]] = {}
        for name in self.attributes:
            for i in self.known.get(name, []):
                rows.setdefault(i, []).append(name)
        head = [f"# labelled images of a training split of {self.length}: INDEX ATTR[,ATTR...]"]
        if self.note:
            head.append(f"# {self.note}")
        head.append("# per attribute: " + ", ".join(f"{a} {len(self.known.get(a, []))}" for a in self.attributes))
        lines = [f"{i} {','.join(rows[i])}" for i in sorted(rows)]
        return "\n".join(head + lines) + "\n"

    @classmethod
    def from_text(cls, text: str, attributes: list[str], length: int, where: str) -> LabeledSet:
        known: dict[str, set[int]] = {a: set() for a in attributes}
        for no, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 1)
            try:
                i = int(parts[0])
            except ValueError:
                raise LabelSetError(f"{where} line {no}: expected an image index, got {parts[0]!r}") from None
            if not 0 <= i < length:
                raise LabelSetError(f"{where} line {no}: index {i} is outside the training split (0..{length - 1})")
            names = attributes if len(parts) == 1 else [n.strip() for n in parts[1].split(",") if n.strip()]
            for n in names:
                if n not in known:
                    raise LabelSetError(f"{where} line {no}: {n!r} is not one of the labelled attributes "
                                        f"({', '.join(attributes)})")
                known[n].add(i)
        if not any(known.values()):
            raise LabelSetError(f"{where}: names no labelled image")
        return cls(list(attributes), length, {a: sorted(v) for a, v in known.items()})

    def counts(self, labels: np.ndarray | None = None) -> dict[str, list[int]]:
        """Per attribute: how many labelled images, or with `labels` (length, 15), how many of value 0 and 1."""
        out = {}
        for a in self.attributes:
            idx = np.asarray(self.known.get(a, []), dtype=np.int64)
            if labels is None:
                out[a] = [len(idx)]
            else:
                col = labels[idx, EVALUATOR_ATTRIBUTES.index(a)] > 0.5
                out[a] = [int((~col).sum()), int(col.sum())]
        return out


def per_value_count(fraction: float, length: int) -> int:
    """round(F · N / 2), halves rounded up."""
    return int(np.floor(fraction * length / 2 + 0.5))


def select_labeled(labels: np.ndarray, attributes: list[str], fraction: float, seed: int,
                   known: np.ndarray | None = None) -> LabeledSet:
    """The balanced labelled set of `fraction` (< 1) over `labels` (N, >= 13 columns of 0/1, the
    EVALUATOR_ATTRIBUTES order; `known` (N, ...) the dataset's own labelled entries)."""
    n_img = labels.shape[0]
    want = per_value_count(fraction, n_img)
    chosen: dict[str, list[int]] = {}
    for name in attributes:
        col = EVALUATOR_ATTRIBUTES.index(name)
        ok = np.ones(n_img, bool) if known is None else known[:, col].astype(bool)
        picked: list[int] = []
        for value in (0, 1):
            pool = np.flatnonzero(ok & ((labels[:, col] > 0.5) == bool(value)))
            n = min(want, len(pool))
            if n == 0:
                raise LabelSetError(
                    f"data.labeled_fraction {fraction:g} keeps no image of {name}={value} "
                    f"(round({fraction:g} x {n_img} / 2) = {want}, {len(pool)} such images in the split); "
                    f"use a larger fraction or data.labeled_ids")
            rng = np.random.default_rng([seed, col, value])
            picked += rng.choice(pool, size=n, replace=False).tolist()
        chosen[name] = sorted(int(i) for i in picked)
    return LabeledSet(list(attributes), n_img, chosen,
                      note=f"labeled_fraction {fraction:g}, labeled_seed {seed}: {want} per value (capped by the pool)")


def label_table(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """(labels (N, 15) float, known (N, 15) bool) of every sample of a dataset, read from its label arrays
    where it has them (SynthFaces shards, a real dataset's cache) and else sample by sample (with the global
    RNGs restored, so a random flip inside __getitem__ shifts nothing)."""
    n = len(dataset)
    shards = getattr(dataset, "shards", None)
    if shards is not None and hasattr(dataset, "_arrays") and hasattr(dataset, "start"):
        import bisect

        out = np.zeros((n, N_LABELS), np.float32)
        for k in range(n):
            index = dataset.start + k
            s = bisect.bisect_right(dataset.shard_starts, index) - 1
            out[k] = np.asarray(dataset._arrays(s)["attrs"][index - dataset.shard_starts[s]], np.float32)
        return out, np.ones((n, N_LABELS), bool)
    cache = getattr(dataset, "cache", None)
    if cache is not None and hasattr(cache, "array") and "attrs" in getattr(cache, "keys", []):
        labels = np.asarray(cache.array("attrs"), np.float32)
        known = (np.asarray(cache.array("attrs_known"), bool) if "attrs_known" in cache.keys
                 else np.ones_like(labels, bool))
        return labels, known
    saved = (random.getstate(), np.random.get_state())
    labels = np.zeros((n, N_LABELS), np.float32)
    known = np.zeros((n, N_LABELS), bool)
    with torch.random.fork_rng(devices=[]):
        for k in range(n):
            s = dataset[k]
            labels[k] = s["attrs"].numpy()
            known[k] = s["attrs_known"].numpy() if "attrs_known" in s else True
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    return labels, known


def sparse_requested(data_cfg: Any) -> bool:
    """Whether the config asks for anything but every label."""
    return bool(data_cfg.labeled_ids) or data_cfg.labeled_fraction < 1.0 or bool(data_cfg.labeled_only)


LABELED_IDS_LIMIT = 64 << 20          # bytes; a line per labelled image, a few MB for CelebA's 200k


def labeled_set(dataset: Any, data_cfg: Any, attributes: list[str], run_dir: str | os.PathLike | None,
                write: bool = True) -> LabeledSet | None:
    """The run's labelled set (None = ALL: every label known), checked against and written to
    RUN/labeled.txt."""
    n = len(dataset)
    if data_cfg.labeled_ids:
        path = Path(data_cfg.labeled_ids)
        try:   # a regular file of bounded size: a named pipe or a huge file is refused, not waited on
            text = read_regular_file(path, LABELED_IDS_LIMIT, "labelled-ids file").decode("utf-8")
        except ReadError as exc:
            raise LabelSetError(f"data.labeled_ids: {exc}") from None
        except UnicodeDecodeError:
            raise LabelSetError(f"data.labeled_ids: {path} is not UTF-8 text") from None
        chosen = LabeledSet.from_text(text, attributes, n, str(path))
        chosen.note = f"from {path}"
    elif data_cfg.labeled_fraction >= 1.0:
        return None
    else:
        labels, known = label_table(dataset)
        chosen = select_labeled(labels, attributes, data_cfg.labeled_fraction, data_cfg.labeled_seed, known)
    if run_dir is not None:
        saved = Path(run_dir) / LABELED_FILE
        if saved.is_file():
            old = LabeledSet.from_text(saved.read_text(encoding="utf-8"), attributes, n, str(saved))
            if old.known != chosen.known:
                raise LabelSetError(f"{saved}: the run was trained on another labelled set than this config "
                                    f"draws (the data or the labeled_* settings changed); resume with "
                                    f"--data.labeled-ids {saved}")
        elif write:
            saved.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(saved, chosen.to_text())
    return chosen


class SparseLabels(Dataset):
    """A dataset whose attribute labels outside `known` (N, 15) are hidden: set to 0, with `attrs_known`
    False. Everything else of a sample passes through."""

    def __init__(self, dataset: Any, known: np.ndarray):
        if known.shape != (len(dataset), N_LABELS):
            raise ValueError(f"known: expected shape {(len(dataset), N_LABELS)}, got {known.shape}")
        self.dataset = dataset
        self.known = torch.from_numpy(np.ascontiguousarray(known, dtype=bool))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = dict(self.dataset[i])
        keep = self.known[i]
        if "attrs_known" in s:
            keep = keep & s["attrs_known"].bool()
        if "attrs" in s:
            s["attrs"] = torch.where(keep, s["attrs"], torch.zeros((), dtype=s["attrs"].dtype))
        s["attrs_known"] = keep.clone()
        return s

    def __getattr__(self, name: str) -> Any:         # meta, root, ... of the wrapped dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


def labeled_subset(dataset: Any, chosen: LabeledSet) -> Subset:
    """The fully supervised editors' view: only the labelled images, with all their labels."""
    return Subset(dataset, chosen.pool())


class MixedBatches:
    """Endless batches of (index, seed) keys (trainer/data/stream.py's EpochBatches contract) where
    round(share · B) of every batch come from the labelled `pool` (its own seeded permutations, cycled) and
    the rest from all images (permutations of the whole split). Batch p depends only on p, so a resumed run
    continues exactly."""

    def __init__(self, length: int, batch_size: int, pool: Sequence[int], share: float, seed: int = 0,
                 rank: int = 0, world_size: int = 1, start: int = 0):
        self.length = length
        self.batch_size = batch_size
        self.pool = list(pool)
        self.n_labeled = min(batch_size, max(1, int(np.floor(share * batch_size + 0.5)))) if self.pool else 0
        self.seed, self.rank, self.world_size, self.start = seed, rank, world_size, start
        self.batches_per_epoch = (length // world_size) // batch_size
        if self.batches_per_epoch < 1:
            raise ValueError(f"the training split has {length} samples, fewer than one batch of {batch_size} "
                             f"per process; lower batch_size or use more data")
        self._orders: dict[tuple[str, int], list[int]] = {}

    def _order(self, kind: str, epoch: int) -> list[int]:
        key = (kind, epoch)
        if key not in self._orders:
            if len(self._orders) > 4:
                self._orders.clear()
            g = torch.Generator()
            items = self.pool if kind == "labeled" else list(range(self.length))
            g.manual_seed(_mix64(self.seed ^ (0x5EED if kind == "labeled" else 0)) ^ epoch)
            perm = [items[j] for j in torch.randperm(len(items), generator=g).tolist()]
            mine = perm[self.rank::self.world_size]
            self._orders[key] = mine or perm
        return self._orders[key]

    def _take(self, kind: str, count: int, position: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        size = len(self._order(kind, 0))
        offset = position * count
        tag = (1 << 40) if kind == "labeled" else 0
        while len(out) < count:
            epoch, j = divmod(offset, size)
            chunk = self._order(kind, epoch)[j:j + count - len(out)]
            out += [(i, sample_seed(self.seed, tag + epoch, i)) for i in chunk]
            offset += len(chunk)
        return out

    def batch(self, position: int) -> list[tuple[int, int]]:
        return (self._take("labeled", self.n_labeled, position)
                + self._take("all", self.batch_size - self.n_labeled, position))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        position = self.start
        while True:
            yield self.batch(position)
            position += 1
