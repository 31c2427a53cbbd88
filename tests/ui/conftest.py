"""UI tests: offscreen Qt, the fake engine, and private config/state/data folders per test."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.helpers.ui import make_window, open_and_wait  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """platformdirs honours the XDG variables: preferences, autosaves and user packs stay in tmp."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


@pytest.fixture(scope="session")
def synth_sample_path(tmp_path_factory) -> Path:
    """A 128 px SynthFaces face (square and small, so it opens as an already-aligned crop)."""
    from faceeditor.core.image_io import save_image
    from trainer.data.synthfaces import render_seed

    path = tmp_path_factory.mktemp("samples") / "synthface.png"
    save_image(path, render_seed(3, 128).image)
    return path


@pytest.fixture(scope="session")
def wide_photo_path(tmp_path_factory) -> Path:
    """scikit-image's astronaut on a wider canvas: not square, so the detected face is aligned."""
    import skimage.data

    from faceeditor.core.image_io import load_image, save_image

    astronaut = load_image(Path(skimage.data.__file__).parent / "astronaut.png")
    canvas = np.full((512, 700, 3), 90, np.uint8)
    canvas[:, 94:606] = astronaut
    path = tmp_path_factory.mktemp("samples") / "astronaut_wide.png"
    save_image(path, canvas)
    return path


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    yield w
    w.close()


@pytest.fixture
def opened(window, qtbot, synth_sample_path):
    open_and_wait(window, qtbot, synth_sample_path)
    assert window.doc is not None, window.errors
    return window
