"""MP4 / GIF / PNG-sequence writers and the batched renderer: decode back, atomicity, progress, cancel."""
from __future__ import annotations

import threading

import av
import numpy as np
import pytest
from PIL import Image

from faceeditor.core.interpolation import Interpolation, left2right_keyframes, nosmile2smile_keyframes
from faceeditor.core.landmark_mask import colorize_mask
from faceeditor.core.video_writer import (
    GifWriter,
    Mp4Writer,
    PngSequenceWriter,
    VideoWriteError,
    open_writer,
    render_interpolation,
)

S = 96


def fake_synthesis(batch):
    """Stands in for the engine's synthesize task: the mask in colour, shaded a little by z."""
    out = []
    for spec in batch:
        img = colorize_mask(spec.mask).astype(np.int16)
        shade = int(np.clip(spec.z[:3].sum() * 4, -20, 20)) if spec.z is not None else 0
        out.append(np.clip(img + shade, 0, 255).astype(np.uint8))
    return out


def decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = (stream.codec_context.name, stream.codec_context.pix_fmt, float(stream.average_rate))
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return info, np.stack(frames)


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def head_turn_specs():
    keys = left2right_keyframes(size=S, frames=24, theta=30.0, z=3)
    return list(Interpolation(keys, size=S))


def test_mp4_of_a_head_turn_decodes_back_smoothly(tmp_path, head_turn_specs):
    progress = []
    writer = Mp4Writer(tmp_path / "turn.mp4", fps=24, crf=18)
    result = render_interpolation(head_turn_specs, fake_synthesis, writer, batch_size=5,
                                  progress=lambda done, total: progress.append((done, total)))
    assert result.completed and not result.cancelled and result.frames == 24
    (codec, pix_fmt, fps), frames = decode(tmp_path / "turn.mp4")
    assert codec == "h264" and pix_fmt == "yuv420p" and fps == pytest.approx(24)
    assert frames.shape == (24, S, S, 3)
    source = np.stack(fake_synthesis(head_turn_specs)).astype(float)
    assert np.abs(frames - source).mean() < 4.0                    # the pictures survive encoding
    f = frames.astype(float)
    steps = np.abs(np.diff(f, axis=0)).mean(axis=(1, 2, 3))
    whole = np.abs(f[-1] - f[0]).mean()
    assert steps.max() < 0.25 * whole                              # each frame moves a little ...
    assert steps.min() > 0.0                                       # ... and every frame moves
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert progress[0] == (0, 24) and progress[-1] == (24, 24)
    assert leftovers(tmp_path) == []


def test_mp4_smile_clip_and_odd_sizes(tmp_path):
    specs = list(Interpolation(nosmile2smile_keyframes(size=S, frames=12), size=S))
    odd = [img[:-1, :-3] for img in fake_synthesis(specs)]        # 93 x 95
    for mode, expect in (("pad", (96, 94)), ("resize", (96, 94))):
        with Mp4Writer(tmp_path / f"{mode}.mp4", fps=12, odd_size=mode) as w:
            for img in odd:
                w.write(img)
        _, frames = decode(tmp_path / f"{mode}.mp4")
        assert frames.shape == (12, *expect, 3)
    _, padded = decode(tmp_path / "pad.mp4")
    assert np.abs(padded[:, :95, :93].astype(float) - np.stack(odd)).mean() < 4.0


def test_gif_frames_timing_and_loop(tmp_path, head_turn_specs):
    images = fake_synthesis(head_turn_specs[:10])
    with GifWriter(tmp_path / "turn.gif", fps=30, loop=0) as w:
        for img in images:
            w.write(img)
    with Image.open(tmp_path / "turn.gif") as gif:
        assert gif.n_frames == 10 and gif.info.get("loop") == 0
        durations, decoded = [], []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
            decoded.append(np.asarray(gif.convert("RGB")))
    assert np.array_equal(np.stack(decoded), np.stack(images))     # few colours: exact
    assert set(durations) <= {30, 40} and sum(durations) == pytest.approx(1000 * 10 / 30, abs=10)


def test_png_sequence_names_and_replacement(tmp_path, head_turn_specs):
    images = fake_synthesis(head_turn_specs[:12])
    out = tmp_path / "frames"
    result = render_interpolation(head_turn_specs[:12], fake_synthesis, open_writer(out), batch_size=4)
    assert result.completed
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "frame_00000.png" and names[-1] == "frame_00011.png" and len(names) == 12
    assert np.array_equal(np.asarray(Image.open(out / "frame_00007.png")), images[7])
    # a second export replaces the old sequence as a whole
    with PngSequenceWriter(out, prefix="frame_", digits=5) as w:
        w.write(images[0])
    assert sorted(p.name for p in out.iterdir()) == ["frame_00000.png"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(VideoWriteError, match="other files"):
        PngSequenceWriter(out)
    assert leftovers(tmp_path) == []


class CancelAfter:
    """A cancel token that trips once the progress callback has seen ``n`` frames."""

    def __init__(self, n):
        self.n, self.event = n, threading.Event()

    def progress(self, done, total):
        if done >= self.n:
            self.event.set()

    def is_set(self):
        return self.event.is_set()


@pytest.mark.parametrize("name", ["clip.mp4", "clip.gif", "clip"])
def test_cancel_removes_the_partial_output_and_keeps_an_older_file(tmp_path, head_turn_specs, name):
    target = tmp_path / name
    first = render_interpolation(head_turn_specs[:4], fake_synthesis, open_writer(target, fps=10))
    assert first.completed
    before = sorted(p.name for p in target.iterdir()) if target.is_dir() else target.read_bytes()
    token = CancelAfter(6)
    result = render_interpolation(head_turn_specs, fake_synthesis, open_writer(target, fps=10), batch_size=3,
                                  progress=token.progress, cancel=token)
    assert result.cancelled and not result.completed and result.frames == 6 and result.path is None
    after = sorted(p.name for p in target.iterdir()) if target.is_dir() else target.read_bytes()
    assert after == before                                 # the earlier export is untouched
    assert leftovers(tmp_path) == []                       # and no partial file is left behind
    token = CancelAfter(0)
    token.event.set()
    fresh = tmp_path / ("new" + target.suffix)
    result = render_interpolation(head_turn_specs, fake_synthesis, open_writer(fresh, fps=10), cancel=token)
    assert result.cancelled and not fresh.exists() and leftovers(tmp_path) == []


def test_renderer_errors_abort_cleanly(tmp_path, head_turn_specs):
    def broken(batch):
        if batch[0].index >= 4:
            raise RuntimeError("model crashed")
        return fake_synthesis(batch)

    with pytest.raises(RuntimeError, match="model crashed"):
        render_interpolation(head_turn_specs, broken, Mp4Writer(tmp_path / "x.mp4"), batch_size=4)
    assert not (tmp_path / "x.mp4").exists() and leftovers(tmp_path) == []
    with pytest.raises(VideoWriteError, match="returned 1 images for 4 frames"):
        render_interpolation(head_turn_specs, lambda b: fake_synthesis(b)[:1], GifWriter(tmp_path / "y.gif"),
                             batch_size=4)
    assert list(tmp_path.iterdir()) == []


def test_bad_frames_and_paths(tmp_path):
    w = Mp4Writer(tmp_path / "a.mp4")
    with pytest.raises(VideoWriteError, match="frame 0: expected uint8"):
        w.write(np.zeros((8, 8, 3), np.float32))
    w.write(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(VideoWriteError, match="frame 1: size 10x8 differs"):
        w.write(np.zeros((8, 10, 3), np.uint8))
    w.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(VideoWriteError, match="no frames"):
        GifWriter(tmp_path / "empty.gif").close()
    with pytest.raises(VideoWriteError, match="shape"):
        GifWriter(tmp_path / "b.gif").write(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(VideoWriteError, match="does not exist"):
        Mp4Writer(tmp_path / "missing" / "a.mp4")
    with pytest.raises(VideoWriteError, match="unknown output type"):
        open_writer(tmp_path / "a.avi")
    with pytest.raises(VideoWriteError, match="crf"):
        Mp4Writer(tmp_path / "a.mp4", crf=80)
    (tmp_path / "keep.mp4").write_bytes(b"old")
    with pytest.raises(VideoWriteError, match="exists"):
        Mp4Writer(tmp_path / "keep.mp4", overwrite=False)
    with Mp4Writer(tmp_path / "gray.mp4", fps=5) as g:       # grey and RGBA frames are accepted
        g.write(np.full((8, 8), 100, np.uint8))
        g.write(np.full((8, 8, 4), 100, np.uint8))
    assert decode(tmp_path / "gray.mp4")[1].shape == (2, 8, 8, 3)


def test_exports_get_the_usual_file_permissions(tmp_path, head_turn_specs):
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    expected = reference.stat().st_mode & 0o777
    for name in ("p.mp4", "p.gif"):
        render_interpolation(head_turn_specs[:2], fake_synthesis, open_writer(tmp_path / name, fps=10))
        assert (tmp_path / name).stat().st_mode & 0o777 == expected
    render_interpolation(head_turn_specs[:2], fake_synthesis, open_writer(tmp_path / "seq"))
    assert (tmp_path / "seq" / "frame_00000.png").stat().st_mode & 0o777 == expected
