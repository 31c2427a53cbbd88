"""Write frames to H.264 MP4 (PyAV), animated GIF (Pillow) or a PNG sequence, one frame at a time.

Every writer encodes each frame as it arrives (memory stays constant however long the clip), writes into a
temporary name in the destination folder and moves it into place with ``os.replace`` only when closed, so
an interrupted or cancelled export never leaves a half-written file under the final name (and never
damages an earlier file of that name). :func:`render_interpolation` drives a writer from per-frame specs
through a batch renderer (the engine's synthesis, or any callable), with progress and cancel.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import GifImagePlugin, Image


class VideoWriteError(ValueError):
    """An export could not be written; the message names the output and the reason."""


class CancelToken(Protocol):
    """Anything with ``is_set()``, e.g. ``threading.Event``."""

    def is_set(self) -> bool: ...


ProgressCallback = Callable[[int, "int | None"], None]


def _as_frame(frame: object, index: int) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        raise VideoWriteError(f"frame {index}: expected uint8 pixels, got {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise VideoWriteError(f"frame {index}: expected an (H, W, 3) RGB image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


class FrameWriter(ABC):
    """Base of the writers: ``write`` frames, then ``close`` (publish) or ``abort`` (discard).

    Used as a context manager it closes on success and aborts when the block raises.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = True):
        self.path = Path(path)
        self.overwrite = overwrite
        self.frames_written = 0
        self._size: tuple[int, int] | None = None   # (H, W) of the frames as given
        self._finished = False
        parent = self.path.parent
        if not parent.is_dir():
            raise VideoWriteError(f"cannot write {str(self.path)!r}: folder {str(parent)!r} does not exist")
        if self.path.exists() and not overwrite:
            raise VideoWriteError(f"cannot write {str(self.path)!r}: it exists (pass overwrite=True to "
                                  "replace it)")
        if self.path.is_dir() and not isinstance(self, PngSequenceWriter):
            raise VideoWriteError(f"cannot write {str(self.path)!r}: it is a folder")

    def write(self, frame: np.ndarray) -> None:
        """Encode one uint8 RGB frame ((H, W) grey and (H, W, 4) RGBA are accepted too)."""
        if self._finished:
            raise VideoWriteError(f"{str(self.path)!r}: the writer is already closed")
        arr = _as_frame(frame, self.frames_written)
        if self._size is None:
            self._size = arr.shape[:2]
            try:
                self._open(arr.shape[0], arr.shape[1])
            except VideoWriteError:
                self.abort()
                raise
            except Exception as exc:
                self.abort()
                raise VideoWriteError(f"cannot write {str(self.path)!r}: {exc}") from exc
        elif arr.shape[:2] != self._size:
            raise VideoWriteError(f"frame {self.frames_written}: size {arr.shape[1]}x{arr.shape[0]} differs "
                                  f"from the first frame's {self._size[1]}x{self._size[0]}")
        try:
            self._write(arr)
        except Exception as exc:
            self.abort()
            raise VideoWriteError(f"cannot write {str(self.path)!r} (frame {self.frames_written}): "
                                  f"{exc}") from exc
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and move it to its final name; returns that path."""
        if self._finished:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise VideoWriteError(f"cannot write {str(self.path)!r}: no frames were given")
        try:
            self._finish()
            self._publish()
        except Exception as exc:
            self.abort()
            raise VideoWriteError(f"cannot write {str(self.path)!r}: {exc}") from exc
        self._finished = True
        return self.path

    def abort(self) -> None:
        """Stop and delete the partial output; an earlier file at the final path is left untouched."""
        if self._finished:
            return
        self._finished = True
        try:
            self._discard()
        except Exception:  # cleaning up must not hide the reason we are aborting
            pass

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @abstractmethod
    def _open(self, height: int, width: int) -> None: ...

    @abstractmethod
    def _write(self, frame: np.ndarray) -> None: ...

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _publish(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...


class _SingleFileWriter(FrameWriter):
    """A writer producing one file, via a temporary file next to it."""

    _tmp: Path | None = None

    def _make_temp(self) -> Path:
        """Called by ``_open``: the temporary file the output grows in, next to the final name."""
        self._tmp = _temp_name(self.path, ".part")
        fd = os.open(self._tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # usual permissions (umask)
        os.close(fd)
        return self._tmp

    def _publish(self) -> None:
        assert self._tmp is not None
        os.replace(self._tmp, self.path)
        self._tmp = None

    def _discard(self) -> None:
        self._close_handles()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def _close_handles(self) -> None:
        pass


def _temp_name(path: Path, suffix: str) -> Path:
    """A fresh hidden name next to ``path`` (mkstemp/mkdtemp would make the export private: mode 0600)."""
    for _ in range(100):
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        if not candidate.exists():
            return candidate
    raise VideoWriteError(f"cannot find a free temporary name next to {str(path)!r}")


def _even(n: int) -> int:
    return n + (n % 2)


class Mp4Writer(_SingleFileWriter):
    """H.264 (libx264) in MP4, yuv420p, BT.709 tagged, so standard players open it.

    yuv420p needs even sizes: ``odd_size="pad"`` repeats the last row/column, ``"resize"`` scales to the
    next even size. ``crf`` sets the quality (0 lossless .. 51; 18 is visually lossless), ``preset`` the
    speed (ultrafast .. veryslow).
    """

    def __init__(self, path: str | os.PathLike, *, fps: float = 25.0, crf: int = 18, preset: str = "medium",
                 odd_size: str = "pad", overwrite: bool = True):
        if not (0 <= int(crf) <= 51):
            raise VideoWriteError(f"crf must be in 0..51, got {crf}")
        if odd_size not in ("pad", "resize"):
            raise VideoWriteError(f"odd_size must be 'pad' or 'resize', got {odd_size!r}")
        if not fps or fps <= 0 or fps > 240:
            raise VideoWriteError(f"fps must be in (0, 240], got {fps}")
        super().__init__(path, overwrite=overwrite)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.crf, self.preset, self.odd_size = int(crf), preset, odd_size
        self._container: Any = None
        self._stream: Any = None

    def _open(self, height: int, width: int) -> None:
        import av  # the app's PyAV; imported here so that importing this module stays cheap

        self._out_size = (_even(height), _even(width))
        self._container = av.open(str(self._make_temp()), mode="w", format="mp4")
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = self._out_size[1], self._out_size[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, limited range
        self._stream = stream

    def _write(self, frame: np.ndarray) -> None:
        import av

        h, w = self._out_size
        if frame.shape[:2] != (h, w):
            if self.odd_size == "pad":
                frame = cv2.copyMakeBorder(frame, 0, h - frame.shape[0], 0, w - frame.shape[1],
                                           cv2.BORDER_REPLICATE)
            else:
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
        vf = vf.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        vf.pts = self.frames_written
        vf.time_base = 1 / self.fps
        for packet in self._stream.encode(vf):
            self._container.mux(packet)

    def _finish(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def _close_handles(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            finally:
                self._container = None


class GifWriter(_SingleFileWriter):
    """Animated GIF; each frame is quantised to its own 256-colour palette and written as it arrives.

    GIF stores delays in 1/100 s; the delays alternate so that the clip keeps ``fps`` on average (e.g.
    3, 3, 4, 3, 3, 4 cs at 30 fps). ``loop`` = 0 repeats forever, None plays once.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float = 15.0, loop: int | None = 0,
                 dither: bool = False, overwrite: bool = True):
        if not fps or fps <= 0 or fps > 50:
            raise VideoWriteError(f"GIF fps must be in (0, 50] (delays are whole 1/100 s), got {fps}")
        super().__init__(path, overwrite=overwrite)
        self.fps, self.loop, self.dither = float(fps), loop, dither
        self._fh: Any = None

    def _open(self, height: int, width: int) -> None:
        if height > 65535 or width > 65535:
            raise VideoWriteError(f"{width}x{height} is too large for a GIF")
        self._fh = open(self._make_temp(), "wb")  # noqa: SIM115 - closed in _finish/_discard

    def _quantise(self, frame: np.ndarray) -> Image.Image:
        dither = Image.Dither.FLOYDSTEINBERG if self.dither else Image.Dither.NONE
        return Image.fromarray(frame, "RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                      dither=dither)

    def _write(self, frame: np.ndarray) -> None:
        im = self._quantise(frame)
        if self.frames_written == 0:
            info: dict[str, Any] = {"duration": 1}  # any delay marks the file as GIF89a
            if self.loop is not None:
                info["loop"] = int(self.loop)
            header, _ = GifImagePlugin.getheader(im.copy(), None, info)
            self._fh.write(b"".join(header))
        k = self.frames_written
        delay = max(2, round(100 * (k + 1) / self.fps) - round(100 * k / self.fps))
        for chunk in GifImagePlugin.getdata(im, duration=delay * 10, include_color_table=True):
            self._fh.write(chunk)

    def _finish(self) -> None:
        self._fh.write(b";")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None

    def _close_handles(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class PngSequenceWriter(FrameWriter):
    """A folder of PNGs named ``{prefix}{index:0{digits}d}.png``, published as a whole when closed.

    An existing folder is replaced only if it holds nothing but such a sequence (never someone's other
    files); otherwise the writer refuses to start.
    """

    def __init__(self, folder: str | os.PathLike, *, prefix: str = "frame_", digits: int = 5, start: int = 0,
                 compress_level: int = 3, overwrite: bool = True):
        if not re.fullmatch(r"[\w.-]*", prefix):
            raise VideoWriteError(f"PNG prefix {prefix!r} may hold only letters, digits, '_', '-', '.'")
        super().__init__(folder, overwrite=overwrite)
        self.prefix, self.digits, self.start, self.compress_level = prefix, int(digits), int(start), compress_level
        if self.path.exists():
            if not self.path.is_dir():
                raise VideoWriteError(f"cannot write a PNG sequence to {str(self.path)!r}: it is a file")
            foreign = [p.name for p in self.path.iterdir() if not self._is_ours(p.name)]
            if foreign:
                raise VideoWriteError(f"cannot write a PNG sequence to {str(self.path)!r}: the folder holds "
                                      f"other files ({', '.join(sorted(foreign)[:3])}...); choose an empty or "
                                      "new folder")
        self._tmp: Path | None = None

    def _is_ours(self, name: str) -> bool:
        return re.fullmatch(re.escape(self.prefix) + r"\d+\.png", name) is not None

    def frame_path(self, index: int) -> Path:
        return self.path / f"{self.prefix}{self.start + index:0{self.digits}d}.png"

    def _open(self, height: int, width: int) -> None:
        tmp = _temp_name(self.path, ".part")
        os.mkdir(tmp)
        self._tmp = tmp

    def _write(self, frame: np.ndarray) -> None:
        assert self._tmp is not None
        name = self.frame_path(self.frames_written).name
        Image.fromarray(frame, "RGB").save(self._tmp / name, format="PNG", compress_level=self.compress_level)

    def _finish(self) -> None:
        pass

    def _publish(self) -> None:
        old = None
        if self.path.exists():
            old = _temp_name(self.path, ".old")
            os.replace(self.path, old)
        assert self._tmp is not None
        os.replace(self._tmp, self.path)
        self._tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _discard(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def open_writer(path: str | os.PathLike, *, fps: float = 25.0, **options: Any) -> FrameWriter:
    """A writer chosen by the path: ``.mp4`` -> MP4, ``.gif`` -> GIF, no extension -> PNG sequence folder."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".mp4":
        return Mp4Writer(p, fps=fps, **options)
    if suffix == ".gif":
        return GifWriter(p, fps=min(fps, 50.0), **options)
    if suffix == "" or p.is_dir():
        return PngSequenceWriter(p, **options)
    raise VideoWriteError(f"cannot write {str(p)!r}: unknown output type {suffix!r} "
                          "(use .mp4, .gif, or a folder name for PNG frames)")


# -------------------------------------------------------------------------------------------- rendering

@dataclass
class RenderResult:
    """How an export ended: ``completed`` (published to ``path``) or ``cancelled`` (nothing left)."""

    completed: bool
    cancelled: bool
    frames: int
    path: Path | None


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def render_interpolation(frames_source: Iterable[Any], render_batch: Callable[[list[Any]], Any],
                         writer: FrameWriter, *, batch_size: int = 8,
                         progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                         total: int | None = None) -> RenderResult:
    """Render per-frame specs in batches and stream the images to ``writer``.

    ``render_batch`` turns a list of specs into as many uint8 RGB images (a sequence or an (N, H, W, 3)
    array); with the engine it runs the synthesis model on a batch. ``progress(done, total)`` is called
    with non-decreasing ``done`` after every batch (``total`` from ``len(frames_source)`` when known).
    When ``cancel.is_set()`` the writer is aborted (no partial file remains) and the result says so;
    any error also aborts the writer before it propagates.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if total is None:
        try:
            total = len(frames_source)  # type: ignore[arg-type]
        except TypeError:
            total = None
    done = 0
    try:
        if progress is not None:
            progress(0, total)
        for batch in _batches(frames_source, batch_size):
            if cancel is not None and cancel.is_set():
                writer.abort()
                return RenderResult(False, True, done, None)
            images: Sequence[np.ndarray] = render_batch(batch)
            if len(images) != len(batch):
                raise VideoWriteError(f"the renderer returned {len(images)} images for {len(batch)} frames")
            for image in images:
                if cancel is not None and cancel.is_set():
                    writer.abort()
                    return RenderResult(False, True, done, None)
                writer.write(image)
                done += 1
            if progress is not None:
                progress(done, total)
        if cancel is not None and cancel.is_set():
            writer.abort()
            return RenderResult(False, True, done, None)
        path = writer.close()
    except BaseException:
        writer.abort()
        raise
    return RenderResult(True, False, done, path)
