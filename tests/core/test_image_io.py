"""Loading hostile and unusual image files: a clear ImageLoadError or a correct RGB array, nothing else."""
from __future__ import annotations

import io
import os
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from faceeditor.core.image_io import (
    ImageLoadError,
    ImageSaveError,
    load_image,
    load_index_mask,
    save_image,
)

# ------------------------------------------------------------------------------------------ helpers

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None) -> bytes:
    """A PNG written by hand (Pillow cannot write 48-bit RGB, nor a header without its pixels)."""
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth,
                                                               colour_type, 0, 0, 0))
    if rows is not None:
        out += _chunk(b"IDAT", zlib.compress(rows))
    return out + _chunk(b"IEND", b"")


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def noise_rgb(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def assert_rgb(arr: np.ndarray, shape: tuple[int, int]) -> None:
    assert arr.dtype == np.uint8 and arr.shape == (*shape, 3)
    assert arr.flags.c_contiguous and arr.flags.writeable  # callers paint on it


# ------------------------------------------------------------------------------------- bad files

def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.png.*empty \(0 bytes\)"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="0 bytes"):
        load_image(b"")


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ImageLoadError, match=r"nope\.png.*no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="folder, not a file"):
        load_image(tmp_path)


def test_truncated_png(tmp_path):
    data = encode(Image.fromarray(noise_rgb()), "PNG")
    for cut in (len(data) // 2, len(data) - 40):
        path = tmp_path / f"cut{cut}.png"
        path.write_bytes(data[:cut])
        with pytest.raises(ImageLoadError, match=rf"cut{cut}\.png.*file is truncated"):
            load_image(path)
    path = tmp_path / "head.png"
    path.write_bytes(data[:40])  # signature and part of the header
    with pytest.raises(ImageLoadError, match=r"head\.png.*starts like a PNG file.*truncated or damaged"):
        load_image(path)
    # Losing only the trailer (IEND, checksums) loses no pixel, so the image is still read whole.
    assert np.array_equal(load_image(data[:-12]), noise_rgb())


def test_truncated_jpeg_is_refused_not_padded(tmp_path):
    data = encode(Image.fromarray(noise_rgb(128, 128)), "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(path)


def test_header_bomb_is_refused_from_the_header(tmp_path):
    bomb = raw_png(50_000, 50_000, 8, 2, rows=None)  # 57 bytes claiming 2.5 G pixels
    assert len(bomb) < 100
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    start = time.perf_counter()
    with pytest.raises(ImageLoadError, match=r"bomb\.png.*too large.*2,500,000,000 pixels"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="too large"):
        load_index_mask(path)
    # Refused from the header: no 7.5 GB allocation, no decoding time.
    assert time.perf_counter() - start < 1.0


def test_max_pixels_is_a_parameter():
    data = encode(Image.fromarray(noise_rgb(100, 100)), "PNG")
    assert load_image(data, max_pixels=10_000).shape == (100, 100, 3)
    with pytest.raises(ImageLoadError, match="100x100 = 10,000 pixels, more than the limit of 9,999"):
        load_image(data, max_pixels=9_999)


def test_random_bytes_and_unsupported_formats(tmp_path):
    path = tmp_path / "random.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageLoadError, match=r"random\.jpg.*not an image in a supported format"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="supported format"):
        load_image(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")  # EPS would run Ghostscript
    with pytest.raises(ImageLoadError, match="supported format"):
        load_image(b"hello, I am a text file\n")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the corrupt metadata it skips
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=2048))
def test_arbitrary_bytes_never_raise_anything_else(data):
    try:
        arr = load_image(data)
    except ImageLoadError:
        return
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3


_VALID = {
    "png": encode(Image.fromarray(noise_rgb(16, 16)), "PNG"),
    "jpeg": encode(Image.fromarray(noise_rgb(16, 16)), "JPEG"),
    "gif": encode(Image.fromarray(noise_rgb(16, 16)).convert("P"), "GIF"),
    "tiff": encode(Image.fromarray(noise_rgb(16, 16)), "TIFF"),
    "bmp": encode(Image.fromarray(noise_rgb(16, 16)), "BMP"),
    "webp": encode(Image.fromarray(noise_rgb(16, 16)), "WEBP"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(_VALID)), data=st.data())
def test_corrupted_valid_files_never_raise_anything_else(kind, data):
    blob = bytearray(_VALID[kind])
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=8))
    for pos, value in edits:
        blob[pos] = value
    cut = data.draw(st.integers(0, len(blob)))
    try:
        arr = load_image(bytes(blob[:cut]))
    except ImageLoadError:
        return
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3


# ----------------------------------------------------------------------------- modes and values

def test_rgb_png_round_trips_exactly(tmp_path):
    rgb = noise_rgb()
    path = tmp_path / "x.png"
    save_image(path, rgb)
    out = load_image(path)
    assert_rgb(out, rgb.shape[:2])
    assert np.array_equal(out, rgb)
    assert np.array_equal(load_image(path.read_bytes()), rgb)
    assert np.array_equal(load_image(memoryview(path.read_bytes())), rgb)
    assert np.array_equal(load_image(str(path)), rgb)


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    values = np.array([[0, 257, 32768, 65535], [65280, 128, 255 * 257, 1000]], dtype=np.uint16)
    out = load_image(encode(Image.fromarray(values), "PNG"))
    assert_rgb(out, values.shape)
    expected = np.array([[0, 1, 128, 255], [254, 0, 255, 4]], dtype=np.uint8)  # round(v * 255 / 65535)
    assert np.array_equal(out[..., 0], expected)
    assert np.array_equal(out[..., 0], out[..., 2])


def test_sixteen_bit_rgb_png_keeps_its_high_byte():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(5))
    out = load_image(raw_png(7, 5, 16, 2, rows))
    assert_rgb(out, (5, 7))
    assert np.abs(out.astype(int) - np.round(pixels / 257.0)).max() <= 1


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_other_sixteen_bit_modes(mode):
    img = Image.new(mode, (4, 3), 32768)
    out = load_image(encode(img, "TIFF"))
    assert np.all(out == 128)


def test_float_image_in_unit_range():
    img = Image.fromarray(np.array([[0.0, 0.5], [1.0, 0.25]], dtype=np.float32), "F")
    out = load_image(encode(img, "TIFF"))
    assert np.array_equal(out[..., 1], np.array([[0, 128], [255, 64]], dtype=np.uint8))


def test_rgba_is_composited_over_white_or_a_given_background():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (200, 10, 20, 255)   # opaque
    rgba[0, 1] = (200, 10, 20, 0)     # transparent
    rgba[0, 2] = (0, 0, 0, 128)       # half-transparent black
    data = encode(Image.fromarray(rgba, "RGBA"), "PNG")
    out = load_image(data)
    assert tuple(out[0, 0]) == (200, 10, 20)
    assert tuple(out[0, 1]) == (255, 255, 255)
    assert tuple(out[0, 2]) == (127, 127, 127)
    assert tuple(load_image(data, background=(0, 255, 0))[0, 1]) == (0, 255, 0)
    with pytest.raises(ValueError, match="background"):
        load_image(data, background=(0, 300, 0))


def test_palette_png_with_transparent_index():
    idx = np.array([[0, 1], [2, 1]], np.uint8)
    img = Image.fromarray(idx, "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    data = encode(img, "PNG", transparency=1)
    assert Image.open(io.BytesIO(data)).mode == "P"
    out = load_image(data, background=(10, 20, 30))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 1]) == (10, 20, 30)  # the transparent index shows the background
    assert tuple(out[1, 0]) == (0, 0, 255)


def test_grey_alpha_and_bilevel():
    la = np.array([[[100, 255], [100, 0]]], np.uint8)
    out = load_image(encode(Image.fromarray(la, "LA"), "PNG"))
    assert tuple(out[0, 0]) == (100, 100, 100) and tuple(out[0, 1]) == (255, 255, 255)
    bits = Image.fromarray(np.array([[0, 255]], np.uint8)).convert("1")
    out = load_image(encode(bits, "PNG"))
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[0, 1]) == (255, 255, 255)


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # pure red ink mix
    cmyk.paste((255, 0, 255, 0), (16, 0, 32, 16))          # green
    path = tmp_path / "cmyk.jpg"
    cmyk.save(path, "JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert_rgb(out, (16, 32))
    assert np.abs(out[8, 4].astype(int) - (255, 0, 0)).max() <= 12
    assert np.abs(out[8, 28].astype(int) - (0, 255, 0)).max() <= 12


@pytest.mark.parametrize("mode, value, expected", [
    ("YCbCr", (255, 128, 128), (255, 255, 255)),
    ("LAB", (0, 128, 128), (0, 0, 0)),
    ("CMYK", (0, 0, 0, 255), (0, 0, 0)),
    ("P", 0, (0, 0, 0)),
    ("L", 77, (77, 77, 77)),
])
def test_other_colour_modes(mode, value, expected):
    out = load_image(encode(Image.new(mode, (3, 2), value), "TIFF"))
    assert_rgb(out, (2, 3))
    assert np.abs(out.astype(int) - expected).max() <= 2


def test_exif_orientation_is_applied(tmp_path):
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = (255, 0, 0)   # left half red
    rgb[:, 20:] = (0, 0, 255)   # right half blue
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6            # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    img.save(path, "JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(path)
    assert out.shape == (40, 20, 3)             # width and height swapped
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60   # top is what was on the left: red
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60  # bottom: blue


def test_first_frame_of_an_animation():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert tuple(load_image(buf.getvalue())[0, 0]) == (255, 0, 0)


# ------------------------------------------------------------------------------------ index masks

def test_grey_and_palette_masks_keep_their_indices(tmp_path):
    mask = np.random.default_rng(0).integers(0, 19, (12, 10), dtype=np.uint8)
    save_image(tmp_path / "m.png", mask)
    loaded = load_index_mask(tmp_path / "m.png", num_classes=19)
    assert np.array_equal(loaded, mask) and loaded.dtype == np.uint8 and loaded.flags.writeable
    save_image(tmp_path / "p.png", mask, palette=[(i * 13, 255 - i * 13, i) for i in range(19)])
    assert Image.open(tmp_path / "p.png").mode == "P"
    assert np.array_equal(load_index_mask(tmp_path / "p.png"), mask)
    with pytest.raises(ImageLoadError, match="class index 18.*only 10 classes"):
        load_index_mask(tmp_path / "m.png", num_classes=10)


def test_colour_masks_need_a_palette(tmp_path):
    palette = [(0, 0, 0), (255, 0, 0), (0, 255, 0)]
    idx = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    colour = np.asarray(palette, np.uint8)[idx]
    save_image(tmp_path / "c.png", colour)
    with pytest.raises(ImageLoadError, match="colour.*not a class-index mask.*palette="):
        load_index_mask(tmp_path / "c.png")
    assert np.array_equal(load_index_mask(tmp_path / "c.png", palette=palette), idx)
    with pytest.raises(ImageLoadError, match=r"outside the palette.*RGB\(0, 255, 0\)"):
        load_index_mask(tmp_path / "c.png", palette=palette[:2])
    grey_as_rgb = np.repeat(idx[..., None], 3, axis=2)
    save_image(tmp_path / "g.png", grey_as_rgb)
    assert np.array_equal(load_index_mask(tmp_path / "g.png"), idx)


# ------------------------------------------------------------------------------------------ saving

@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.JPEG", "a.bmp", "a.tif", "a.webp", "a.ppm"])
def test_save_formats_follow_the_extension(tmp_path, name):
    rgb = noise_rgb(8, 8)
    save_image(tmp_path / name, rgb)
    out = load_image(tmp_path / name)
    assert out.shape == rgb.shape
    if not name.lower().endswith((".jpg", ".jpeg", ".webp")):
        assert np.array_equal(out, rgb)
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind


def test_save_errors_leave_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    save_image(path, noise_rgb(8, 8, seed=1))
    before = path.read_bytes()
    with pytest.raises(ImageSaveError, match="unknown image extension"):
        save_image(tmp_path / "x.xyz", noise_rgb(8, 8))
    with pytest.raises(ImageSaveError, match="JPEG holds no alpha"):
        save_image(tmp_path / "x.jpg", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ImageSaveError, match="uint8"):
        save_image(path, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ImageSaveError, match="does not exist"):
        save_image(tmp_path / "no" / "x.png", noise_rgb(8, 8))

    def crash(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG half written")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(ImageSaveError, match="disk full"):
        save_image(path, noise_rgb(8, 8, seed=2))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.png"]
