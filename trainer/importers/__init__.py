"""Checkpoint importers: a reference project's published PyTorch weights -> a validated FaceEditor pack.

`faceeditor-train import KIND CHECKPOINT --out PACK --licence TEXT`. Each kind is one module here (its
network lives in trainer/nets/, in the reference's own parameter layout) registered by name in
IMPORTERS; trainer/importers/base.py does what every kind shares: the weights-only load, the key and
shape check, and the pack export (trainer/export.write_pack, parity within 1e-4, probes).
"""
from __future__ import annotations

from typing import Any

from trainer.registry import Registry

IMPORTERS: Registry[Any] = Registry("importer kind", {
    "bisenet": "trainer.importers.bisenet",
    "stargan": "trainer.importers.stargan",
    "attgan": "trainer.importers.attgan",
    "stgan": "trainer.importers.stgan",
})
