"""faceeditor-cli render on a saved project with the BUNDLED demo pack: an MP4 that PyAV decodes with the
timeline's frame count and the model's size, --frames / --duration (the clip's span sampled at that many
frames, as the app's export dialog does) and one-line errors. Kept small: 5 frames of SCGAN at 128 px."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest

from faceeditor.cli import main
from faceeditor.core import timeline as T
from faceeditor.core.document import Document
from faceeditor.core.keyframes import KeyframeFile
from faceeditor.core.project import save_project
from faceeditor.engine.registry import PackRegistry
from trainer.data.synthfaces import render_seed


@pytest.fixture(autouse=True)
def _no_user_packs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="module")
def demo_synth():
    """(pack name, synthesize model resolution) of the bundled pack, found as the app finds packs."""
    registry = PackRegistry(include_defaults=True)
    registry.scan()
    for info in registry.packs:
        if info.source == "bundled" and info.valid:
            synth = [m for m in info.manifest.models if m.task == "synthesize"]
            if synth:
                return info.name, synth[0].resolution
    pytest.fail("no bundled pack with a synthesize model")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A SynthFaces face whose timeline is a synthesis clip from seed 1 to seed 2 over 5 frames."""
    doc = Document.from_photo(render_seed(3, 128).image, mode="whole")
    tl = T.with_key(T.with_key(KeyframeFile(fps=8), "seed", 0.0, 1), "seed", 0.5, 2)
    doc.keyframes = T.with_target(tl, "synthesis")
    path = tmp_path_factory.mktemp("projects") / "clip.fep"
    save_project(path, doc.to_project())
    return path


def render(capsys, *argv):
    code = main(["render", *map(str, argv), "--provider", "cpu"])
    out = capsys.readouterr()
    return code, out.out, out.err


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_render_writes_an_mp4_with_the_timelines_frames_from_the_bundled_pack(demo_synth, project, tmp_path,
                                                                              capsys):
    name, res = demo_synth
    out = tmp_path / "clip.mp4"
    code, stdout, err = render(capsys, project, "-o", out, "--pack", name)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["frames"] == 5 and report["pack"] == name and report["target"] == "synthesis"
    frames = decode(out)
    assert len(frames) == 5 and frames[0].shape == (res, res, 3)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2          # seed 1 -> seed 2: the face changes
    # a length in seconds at another fps: 0.5 s x 6 fps = 3 frames, resized
    code, stdout, err = render(capsys, project, "-o", tmp_path / "short.mp4", "--pack", name, "--duration", 0.5,
                               "--fps", 6, "--size", 48)
    assert code == 0, err
    short = decode(tmp_path / "short.mp4")
    assert json.loads(stdout)["frames"] == len(short) == 3 and short[0].shape == (48, 48, 3)
    with av.open(str(tmp_path / "short.mp4")) as container:
        assert float(container.streams.video[0].average_rate) == pytest.approx(6)


@pytest.mark.parametrize("argv, message", [
    (("--frames", 0), "--frames must be between 1 and"),
    (("--duration", -1), "--duration must be in (0, 3600]"),
    (("--duration", 0.01), "less than one frame"),
])
def test_bad_lengths_are_one_line_errors(demo_synth, project, tmp_path, capsys, argv, message):
    code, stdout, err = render(capsys, project, "-o", tmp_path / "x.mp4", "--pack", demo_synth[0], *argv)
    assert code == 2 and message in err and "Traceback" not in err and not stdout
    assert not list(tmp_path.glob("x*"))


def test_frames_and_duration_are_exclusive(project, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", str(project), "-o", str(tmp_path / "x.mp4"), "--frames", "3", "--duration", "1"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err
