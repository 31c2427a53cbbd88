"""Shared photo fixtures: scikit-image's astronaut and its (cached) face detection.

dlib calls cost 0.1-2 s on a CPU (the first loads a 100 MB model), so the detection is done once per session.
"""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    import skimage.data

    path = Path(skimage.data.__file__).parent / "astronaut.png"
    assert path.is_file(), f"scikit-image ships {path}; the photo tests need it"
    return path


@pytest.fixture(scope="session")
def astronaut(astronaut_path):
    from faceeditor.core.image_io import load_image

    return load_image(astronaut_path)


@pytest.fixture(scope="session")
def astronaut_faces(astronaut):
    """Detections without upsampling: the face is ~90 px wide, so none is needed."""
    from faceeditor.core.face_detect import detect_faces

    return detect_faces(astronaut, upsample=0)


@pytest.fixture(scope="session")
def astronaut_face(astronaut_faces):
    assert len(astronaut_faces) == 1
    return astronaut_faces[0]
