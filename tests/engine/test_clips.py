"""ClipRenderer on the fake engine for the two clips on a photo, which the app's preview and export and
`faceeditor-cli render` share with synthesis clips: an attribute clip (the sliders over time through the
editor, each frame pasted back into the photo) and an expression clip (the expression's weight over time);
and an export of another length than the timeline's, which samples the clip's span."""
from __future__ import annotations

import numpy as np
import pytest

from faceeditor.core import timeline as T
from faceeditor.core.document import Document
from faceeditor.core.keyframes import KeyframeFile
from faceeditor.core.labels import EXPRESSIONS
from faceeditor.engine.clips import ClipError, ClipRenderer
from faceeditor.engine.fake import FakeEngine
from faceeditor.engine.requests import EditAttributesRequest, EditExpressionRequest
from trainer.data.synthfaces import render_seed


@pytest.fixture(scope="module")
def doc() -> Document:
    """A SynthFaces face on a wider grey photo: aligned to a face crop, so paste-back has an outside."""
    face = render_seed(3, 128)
    photo = np.full((160, 224, 3), 90, np.uint8)
    photo[16:144, 48:176] = face.image
    return Document.from_photo(photo, face.landmarks + np.float32([48, 16]), mode="face", resolution=64)


def _clip(doc: Document, target: str, track: str, values: list,
          fps: float = 10.0) -> tuple[FakeEngine, ClipRenderer]:
    tl = T.with_target(KeyframeFile(fps=fps), target)
    for i, v in enumerate(values):
        tl = T.with_key(tl, track, i * 4 / fps, v)
    engine = FakeEngine()
    return engine, ClipRenderer(engine, doc, tl, settings={"keep_outside": False})


def _outside_crop(doc: Document) -> np.ndarray:
    """Photo pixels the aligned crop does not reach (paste-back leaves them as they were)."""
    probe = doc.paste(np.full((doc.resolution, doc.resolution, 3), 255, np.uint8))
    reach = doc.paste(np.zeros((doc.resolution, doc.resolution, 3), np.uint8))
    return (probe == reach).all(axis=2)


def test_an_attribute_clip_moves_the_sliders_over_time_pasted_into_the_photo(doc):
    engine, clip = _clip(doc, "attributes", "attributes", [{"Male": 0.0}, {"Male": 1.0}])
    assert clip.frames == 5
    frames = clip.render(range(5))
    requests = [r for r in engine.calls if isinstance(r, EditAttributesRequest)]
    assert len(requests) == 1 and len(requests[0].images) == 5               # one batched engine request
    male = clip.model.entry.attributes.index("Male")
    assert np.allclose(requests[0].y_diff[:, male], [0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.allclose(np.delete(requests[0].y_diff, male, axis=1), 0.0)
    outside = _outside_crop(doc)
    assert 0.2 < outside.mean() < 0.9
    for f in frames:
        assert f.shape == doc.photo.shape and f.dtype == np.uint8             # the whole photo
        assert np.array_equal(f[outside], doc.photo[outside])                 # untouched outside the crop
    change = [np.abs(f.astype(float) - frames[0]).mean() for f in frames]
    assert change[-1] > 1.0 and np.all(np.diff(change) > 0)                    # the edit grows frame by frame
    assert change[2] == pytest.approx(change[-1] / 2, rel=0.15)                # linearly


def test_an_expression_clip_moves_the_expression_weight(doc):
    engine, clip = _clip(doc, "expression", "expression", [("happy", 0.0), ("happy", 1.0), ("sad", 1.0)])
    assert clip.frames == 9
    clip.render(range(9))
    (request,) = [r for r in engine.calls if isinstance(r, EditExpressionRequest)]
    names = clip.model.entry.expressions or list(EXPRESSIONS)
    weights = np.asarray(request.expression)
    happy, sad = names.index("happy"), names.index("sad")
    assert np.allclose(weights[:5, happy], [0, 0.25, 0.5, 0.75, 1.0])
    assert np.allclose(weights[4:, happy], [1.0, 0.75, 0.5, 0.25, 0.0])       # happy hands over to sad
    assert np.allclose(weights[4:, sad], [0.0, 0.25, 0.5, 0.75, 1.0])


def test_an_export_of_another_length_samples_the_span(doc, tmp_path):
    from PIL import Image

    _, clip = _clip(doc, "attributes", "attributes", [{"Male": 0.0}, {"Male": 1.0}])
    specs = list(clip.export_specs(9))                                         # 5 timeline frames, 9 samples
    assert [s.attributes["Male"] for s in specs] == pytest.approx(np.linspace(0, 1, 9))
    assert [s.index for s in specs] == list(range(9))
    assert [s.attributes["Male"] for s in clip.export_specs(None)] == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    result = clip.export(tmp_path / "frames", frames=3)
    saved = sorted((tmp_path / "frames").glob("*.png"))
    assert result.frames == len(saved) == 3
    native = clip.render([0, 2, 4])
    for path, frame in zip(saved, native, strict=True):
        assert np.array_equal(np.asarray(Image.open(path)), frame)
    with pytest.raises(ClipError, match="1 to"):
        clip.export(tmp_path / "none.mp4", frames=0)
    assert not list(tmp_path.glob("none*"))

