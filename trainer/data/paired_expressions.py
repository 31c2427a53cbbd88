"""Paired expressions: each training face with the same identity's picture in another expression.

RaFD shows every identity in all 8 expressions, and SynthFaces written in RaFD's layout
(`faceeditor-train synthfaces --format rafd`) does the same with the `with_expression` re-render of one
face, so for a face (identity i, expression e_src) and a target e_trg the split itself holds the answer:
(i, e_trg). `--data.paired-expressions true` gives the hierarchical expression GAN that answer during
training: every sample gets a random target expression `pair_expression` (uniform among the other
expressions its identity has in the split) and `pair_image`, that identity's face in it (the same camera
angle and gaze when the split holds it), mirrored together with the input. The method trained with
`--lambda-paired` > 0 then learns the translation from the truth (an L1 term, trainer/methods/hiergan.py)
as well as from the paper's unpaired losses.

This is not in the paper and exists only for data that shows every identity in several expressions;
AffectNet and SynthFaces' native format have no such pairs and are refused. The index of the split is
read from the labels (the cache's label arrays, or the loader's parsed records), not from the images, and
the random draws use torch's global RNG, so the loop's seeded samples (trainer/data/stream.py) stay
reproducible.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from faceeditor.core.labels import EXPRESSIONS
from trainer.data.base import flip_arrays, to_sample
from trainer.data.transforms import flip_image, image_to_tensor

_VIEW_LABELS = ("angle", "gaze")     # RaFD's views: a pair keeps them where the split has that view


class PairedExpressionsError(ValueError):
    """The dataset cannot give paired expressions (no identities, or an identity in one expression only)."""


def _describe(dataset: Any) -> str:
    name = getattr(dataset, "name", "") or type(dataset).__name__
    split = getattr(dataset, "split", "")
    return f"{name} at {getattr(dataset, 'root', '?')}" + (f" ({split} split)" if split else "")


def _expression_index(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            return EXPRESSIONS.index(value.lower())
        except ValueError:
            raise PairedExpressionsError(f"data.paired_expressions: unknown expression {value!r} in {where}") from None
    return int(value)


def split_labels(dataset: Any) -> tuple[np.ndarray, np.ndarray, list[tuple | None]]:
    """(identity, expression, view) of every position of the split, read from the labels: the cache's label
    arrays when the dataset reads through one, the loader's records otherwise. PairedExpressionsError when
    the samples carry no identity and expression."""
    specs = getattr(dataset, "label_specs", None) or {}
    records = getattr(dataset, "records", None)
    if records is None or not {"identity", "expression"} <= set(specs):
        raise PairedExpressionsError(
            f"data.paired_expressions: {_describe(dataset)} has no identity shown in several expressions "
            f"(RaFD has, and SynthFaces written with --format rafd)")
    cache = getattr(dataset, "cache", None)
    if cache is not None:
        identity = np.asarray(cache.array("identity"), np.int64)
        expression = np.asarray(cache.array("expression"), np.int64)
        source = (np.asarray(cache.array("source_index"), np.int64) if "source_index" in cache.keys
                  else np.arange(len(cache)))
        chosen = [records[int(j)] for j in source]
    else:
        chosen = list(records)
        identity = np.empty(len(chosen), np.int64)
        expression = np.empty(len(chosen), np.int64)
        for n, rec in enumerate(chosen):
            if "identity" not in rec.labels or "expression" not in rec.labels:
                raise PairedExpressionsError(f"data.paired_expressions: {rec.source} has no identity and "
                                             f"expression labels ({_describe(dataset)})")
            identity[n] = int(rec.labels["identity"])
            expression[n] = _expression_index(rec.labels["expression"], rec.source)
    views = [tuple(rec.labels.get(k) for k in _VIEW_LABELS) if any(k in rec.labels for k in _VIEW_LABELS)
             else None for rec in chosen]
    return identity, expression, views


class PairedExpressions(Dataset):
    """Wraps a dataset whose samples carry `identity` and `expression` (RaFD and SynthFaces' RaFD layout);
    each sample gains `pair_expression` (int64 (), != its `expression`), `pair_image` (3, R, R) in [-1, 1],
    the same identity in that expression, and `pair_index`, that picture's position in the split.

    The wrapped dataset's own random mirroring (cfg.flip, train split) is not used: samples are read with
    its `raw` + `to_sample`, and the input (image, mask, landmarks) and its pair are mirrored together here."""

    def __init__(self, dataset: Any):
        identity, expression, views = split_labels(dataset)
        if len(identity) != len(dataset):
            raise PairedExpressionsError(f"data.paired_expressions: {_describe(dataset)} lists {len(identity)} "
                                         f"labels for {len(dataset)} samples")
        where: dict[tuple[int, int], list[int]] = defaultdict(list)
        shown: dict[int, set[int]] = defaultdict(set)
        for n, (i, e) in enumerate(zip(identity.tolist(), expression.tolist(), strict=True)):
            where[(i, e)].append(n)
            shown[i].add(e)
        for i, exprs in sorted(shown.items()):
            if len(exprs) < 2:
                raise PairedExpressionsError(
                    f"data.paired_expressions: identity {i} of {_describe(dataset)} is shown in one expression "
                    f"only ({EXPRESSIONS[next(iter(exprs))]}); every identity needs at least two")
        self.dataset = dataset
        self.where = dict(where)
        self.expressions = {i: sorted(exprs) for i, exprs in shown.items()}
        self.views = views
        cfg = getattr(dataset, "cfg", None)
        self.flip = bool(getattr(cfg, "flip", False)) and getattr(dataset, "split", "train") == "train"

    def __len__(self) -> int:
        return len(self.dataset)

    def pair_of(self, n: int, identity: int, expression: int) -> tuple[int, int]:
        """(target expression, position of its picture) for sample n: e_trg uniform among the identity's
        other expressions, then one of that identity's pictures in it (the same view as n where there is one)."""
        others = [e for e in self.expressions[identity] if e != expression]
        e_trg = others[int(torch.randint(len(others), ()))]
        candidates = self.where[(identity, e_trg)]
        same_view = [p for p in candidates if self.views[p] == self.views[n]]
        pool = same_view or candidates
        j = pool[int(torch.randint(len(pool), ()))] if len(pool) > 1 else pool[0]
        return e_trg, j

    def __getitem__(self, n: int) -> dict[str, torch.Tensor]:
        if not 0 <= n < len(self):
            raise IndexError(n)
        arrays = self.dataset.raw(n)
        e_trg, j = self.pair_of(n, int(arrays["identity"]), int(arrays["expression"]))
        pair = self.dataset.raw(j)["image"]
        if self.flip and bool(torch.rand(()) < 0.5):
            arrays = flip_arrays(arrays)
            pair = flip_image(pair)
        sample = to_sample(arrays, n)
        sample["pair_image"] = image_to_tensor(pair)
        sample["pair_expression"] = torch.tensor(e_trg, dtype=torch.int64)
        sample["pair_index"] = torch.tensor(j, dtype=torch.int64)
        return sample
