"""Datasets by name, and the one sample format every dataset yields.

A sample is a dict of tensors; a dataset leaves out the keys it has no label for:

    image       float32 (3, H, W) in [-1, 1], RGB
    mask        int64 (H, W), class indices of faceeditor.core.labels.PARSE_CLASSES
    attrs       float32 (15,) in {0, 1}, faceeditor.core.labels.EVALUATOR_ATTRIBUTES order
                (the first 13 are ATTRIBUTES); a dataset without Smiling/Wearing_Lipstick sets
                `attrs_known` False there
    attrs_known bool (15,), which entries of attrs are labelled
    expression  int64 (), index into faceeditor.core.labels.EXPRESSIONS
    landmarks   float32 (68, 2), pixel (x, y) at the sample's resolution, iBUG order
    landmarks5  float32 (5, 2), CelebA's five aligned points (left eye, right eye, nose, left and
                right mouth corner, named by image side) at the sample's resolution
    identity    int64 (), an identity id where the dataset has one
    index       int64 (), position of the sample in its dataset

Dataset classes are constructed as ``cls(cfg: DataConfig, split: str)`` with split one of
"train", "val", "test", and registered by name in trainer/registry.py DATASETS (the class decorated with
``@DATASETS.register("name")``, the name listed there for a built-in one).
"""
from __future__ import annotations

from dataclasses import dataclass

from trainer.registry import DATASETS

SPLITS = ("train", "val", "test")


@dataclass
class DataConfig:
    """Where the data is and how to read it; part of every training config."""

    name: str = "synthfaces"
    root: str = "data/synthfaces"
    resolution: int = 128
    # "default" = the dataset's own split; CelebA and CelebAMask-HQ also know "attgan" (182000 / 637 / rest,
    # 28000 / 500 / rest; scaled down proportionally for smaller sets).
    split_scheme: str = "default"
    skip_bad: bool = False
    cache: bool = True           # read through the uint8 cache (built on first use); False = decode on the fly
    cache_dir: str = ""          # empty = <root>/.cache
    split_seed: int = 0          # seeds the splits that are random (RaFD identities, AffectNet val slice)
    limit: int = 0               # 0 = all samples; otherwise the first `limit` of the split
    flip: bool = False           # random horizontal flip (swaps l_/r_ classes and landmarks)
    num_workers: int = 2         # DataLoader workers; also the processes that build a large cache
    rafd_angles: str = "090"     # RaFD camera angles to keep, comma-separated ("000,045,090,135,180" or "all")
    rafd_gazes: str = "frontal"  # RaFD gaze directions to keep ("frontal,left,right" or "all")
    # sparse labels (trainer/data/sparse_labels.py; read by sggan and, with labeled_only, the editors)
    labeled_fraction: float = 1.0  # F: round(F·N/2) labelled images per attribute value; 1 = every label
    labeled_ids: str = ""          # a text file of labelled images (a run's labeled.txt); overrides F
    labeled_seed: int = 0          # seeds the draw of the labelled images
    labeled_attributes: str = ""   # attributes whose labels are kept; "" = the method's own
    labeled_only: bool = False     # the fully supervised editors: train only on the labelled images
    # SynthFaces only: each face with its re-render with one attribute flipped (trainer/data/paired_flips.py)
    paired_flips: bool = False
    # datasets showing every identity in several expressions (RaFD, SynthFaces' RaFD layout): each face with
    # the same identity's picture in another expression (trainer/data/paired_expressions.py; read by hiergan)
    paired_expressions: bool = False


def dataset_class(name: str) -> type:
    """The dataset class registered as `name` (RegistryError, a ValueError, lists the known ones)."""
    return DATASETS.get(name)


def build_dataset(cfg: DataConfig, split: str):
    """The dataset named by cfg, for one split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return dataset_class(cfg.name)(cfg, split)
