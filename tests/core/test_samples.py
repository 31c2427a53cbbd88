"""The bundled samples are found in one place (faceeditor.core.samples) by the app and the CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

from faceeditor.core.samples import (
    bundled_samples,
    sample_attributes,
    sample_mask,
    samples_dir,
    synthesis_sample_files,
    synthesis_sample_names,
)

ROOT = Path(__file__).resolve().parents[2]


def test_samples_dir_is_the_packages_resources_folder():
    assert samples_dir() == ROOT / "faceeditor" / "resources" / "samples"


def test_bundled_samples_are_the_pictures_not_the_masks():
    samples = bundled_samples()
    assert [p.name for p in samples] == ["synthface_0004.png", "synthface_0008.png", "synthface_0011.png"]
    assert all(not p.name.endswith("_mask.png") for p in samples)


def test_sample_mask_is_the_mask_beside_a_picture(tmp_path):
    (tmp_path / "face.png").write_bytes(b"")
    assert sample_mask(tmp_path / "face.png") is None
    (tmp_path / "face_mask.png").write_bytes(b"")
    assert sample_mask(tmp_path / "face.png") == tmp_path / "face_mask.png"
    assert bundled_samples(tmp_path) == [tmp_path / "face.png"]


def test_synthesis_samples_need_a_mask_and_landmarks(tmp_path):
    assert synthesis_sample_names() == ["heldout0139", "heldout0853", "heldout0866"]
    mask, landmarks = synthesis_sample_files("heldout0853")
    assert mask.is_file() and landmarks.is_file()
    assert sample_attributes(landmarks)["Bangs"] == 1.0
    (tmp_path / "lonely_mask.png").write_bytes(b"")
    assert synthesis_sample_names(tmp_path) == []
    with pytest.raises(LookupError, match="no sample 'lonely'"):
        synthesis_sample_files("lonely", tmp_path)


def test_sample_attributes_of_a_broken_file_are_empty(tmp_path):
    bad = tmp_path / "x_landmarks.json"
    bad.write_text("[" * 100_000)
    assert sample_attributes(bad) == {}
    bad.write_text('{"attributes": {"Male": true, "Young": 1, "Bald": "yes"}}')
    assert sample_attributes(bad) == {"Young": 1.0}
