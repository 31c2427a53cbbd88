"""Loading and saving photos and index masks safely.

Every photo the app or the trainer reads from the user goes through :func:`load_image`: it refuses
oversized images from their header (before any pixel is decoded), applies the EXIF orientation, turns every
common Pillow mode into 8-bit RGB and reports anything it cannot read as one :class:`ImageLoadError` that
names the file and the reason. :func:`save_image` writes atomically, so a crash never leaves half a file.
"""
from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceeditor.core.atomic_io import atomic_write
from faceeditor.core.safe_read import ReadError, open_regular_file

log = logging.getLogger(__name__)

ImageSource = str | os.PathLike | bytes | bytearray | memoryview

# Pillow itself refuses images above 2 x Image.MAX_IMAGE_PIXELS (179 MP with its default); our default is
# that same figure, so the two guards agree. A caller may lower it (e.g. for thumbnails of untrusted uploads).
DEFAULT_MAX_PIXELS = 178_956_970
# Bytes of an image file read from disk: that many pixels as uncompressed 16-bit RGB fit with room to spare.
IMAGE_FILE_LIMIT = 2 << 30
# Bytes of a class-index mask file: 64 MP (mask_io.MAX_MASK_PIXELS) even as uncompressed RGB fit.
MASK_FILE_LIMIT = 256 << 20

# Formats we decode. Others that Pillow knows are refused on purpose: EPS runs Ghostscript, formats without
# a signature (TGA) let random bytes pass for an image, and the rarer plugins see little testing on hostile
# input. Multi-picture camera JPEGs (MPO) open as JPEG.
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")

SAVE_FORMATS: dict[str, str] = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF",
    ".webp": "WEBP", ".ppm": "PPM",
}


class ImageLoadError(ValueError):
    """An image could not be read; the message names the file and the reason."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"cannot load image {source}: {reason}")
        self.source = source
        self.reason = reason


class ImageSaveError(ValueError):
    """An image could not be written; the message names the file and the reason."""


def _describe(source: ImageSource) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes in memory>"
    return repr(os.fspath(source))


_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
               (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


def _sniff(head: bytes) -> str | None:
    """The format a file's first bytes announce, if it is one we support."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _open_checked(source: ImageSource, max_pixels: int,
                  max_bytes: int = IMAGE_FILE_LIMIT) -> tuple[Image.Image, str]:
    """Open ``source`` (headers only), refuse it when too large, then decode it fully. A path is opened
    only if it is a regular file of at most ``max_bytes`` (faceeditor.core.safe_read: a named pipe or a
    device never blocks the caller)."""
    name = _describe(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageLoadError(name, "no data (0 bytes)")
        fp: object = io.BytesIO(bytes(source))
    else:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"expected a path or bytes, got {type(source).__name__}")
        try:
            fp = open_regular_file(source, max_bytes, "image")   # closed below, whatever happens
        except ReadError as exc:  # missing, a folder, a pipe or device, too large, permission denied, ...
            raise ImageLoadError(name, exc.reason) from None
        if os.fstat(fp.fileno()).st_size == 0:
            fp.close()
            raise ImageLoadError(name, "the file is empty (0 bytes)")
    try:
        try:
            img = Image.open(fp, formats=SUPPORTED_FORMATS)
        except UnidentifiedImageError:
            fp.seek(0)  # type: ignore[attr-defined]
            kind = _sniff(fp.read(16))  # type: ignore[attr-defined]
            if kind:
                raise ImageLoadError(name, f"starts like a {kind} file, but its header is truncated or "
                                           "damaged") from None
            raise ImageLoadError(
                name, "not an image in a supported format (" + ", ".join(SUPPORTED_FORMATS) + ")") from None
        except Image.DecompressionBombError as exc:  # Pillow's own guard, above 2 x MAX_IMAGE_PIXELS
            found = re.search(r"\((\d+) pixels\)", str(exc))
            claimed = f"{int(found.group(1)):,} pixels" if found else "more pixels than Pillow accepts"
            limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or 0) or max_pixels)
            raise ImageLoadError(name, f"image too large: its header claims {claimed}, more than the limit "
                                       f"of {limit:,} pixels (possible decompression bomb)") from None
        except Exception as exc:  # decoders raise many types on hostile headers
            raise ImageLoadError(name, f"unreadable image header ({type(exc).__name__}: {exc})") from None
        try:
            _check_size_and_decode(img, name, max_pixels)
        except BaseException:
            img.close()
            raise
        return img, name
    finally:
        fp.close()  # type: ignore[attr-defined]


def _check_size_and_decode(img: Image.Image, name: str, max_pixels: int) -> None:
    """Refuse an image whose header is over the pixel limit, then decode its pixels."""
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageLoadError(name, f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageLoadError(
            name, f"image too large: its header claims {width}x{height} = {width * height:,} pixels, "
                  f"more than the limit of {max_pixels:,} pixels (possible decompression bomb)")
    try:
        img.load()
    except MemoryError:
        raise ImageLoadError(name, f"not enough memory to decode {width}x{height} pixels") from None
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = f"the file is truncated or damaged ({reason})"
        else:
            reason = f"the image data is damaged or unsupported ({type(exc).__name__}: {reason})"
        raise ImageLoadError(name, reason) from None


def _apply_orientation(img: Image.Image, name: str) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception as exc:  # a broken EXIF block should not make the pixels unreadable
        log.warning("ignoring unreadable EXIF orientation of %s: %s", name, exc)
        return img


def _scale_16bit(values: np.ndarray) -> np.ndarray:
    """Map 0..65535 onto 0..255 with rounding (65535 -> 255, 32768 -> 128)."""
    v = values.astype(np.uint32)
    return ((v * 255 + 32767) // 65535).astype(np.uint8)


def _gray_to_uint8(img: Image.Image) -> np.ndarray:
    """8-bit grey levels for the integer and float single-channel modes (I;16*, I, F)."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        return _scale_16bit(arr.astype(np.uint16))
    if img.mode == "I":
        # Pillow's "I" holds 16-bit sources (PNG/TIFF) and true 32-bit TIFFs; 0..65535 is read as 16 bit,
        # anything else is stretched from its own minimum to its maximum.
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 65535:
            return _scale_16bit(arr)
        return _stretch(arr.astype(np.float64), lo, hi)
    if img.mode == "F":
        finite = arr[np.isfinite(arr)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        arr = np.nan_to_num(arr.astype(np.float64), nan=lo, posinf=hi, neginf=lo)
        if lo >= 0.0 and hi <= 1.0:  # the usual convention for float images
            return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
        return _stretch(arr, lo, hi)
    raise AssertionError(img.mode)


def _stretch(arr: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(arr.shape, np.uint8)
    return np.clip(np.rint((arr - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)


def _composite(rgba: np.ndarray, background: Sequence[int]) -> np.ndarray:
    """Alpha-composite an (H, W, 4) uint8 array over a flat background colour."""
    rgb = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:4].astype(np.uint32)
    bg = np.asarray(background, np.uint32).reshape(1, 1, 3)
    out = (rgb * alpha + bg * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _cmyk_to_rgb(img: Image.Image, name: str) -> Image.Image:
    """Use the embedded ICC profile when there is one; Pillow's plain formula otherwise."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(img, src, dst, outputMode="RGB")
        except Exception as exc:
            log.info("ICC conversion of %s failed (%s); using the plain CMYK formula", name, exc)
    return img.convert("RGB")


def _to_rgb_array(img: Image.Image, name: str, background: Sequence[int]) -> np.ndarray:
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img)
    if mode in ("1", "L"):
        return np.repeat(np.asarray(img.convert("L"))[..., None], 3, axis=2)
    if mode.startswith("I;16") or mode in ("I", "F"):
        return np.repeat(_gray_to_uint8(img)[..., None], 3, axis=2)
    if mode == "CMYK":
        return np.asarray(_cmyk_to_rgb(img, name).convert("RGB"))
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info)
    if mode == "P" and not has_alpha:
        return np.asarray(img.convert("RGB"))
    if has_alpha:
        return _composite(np.asarray(img.convert("RGBA")), background)
    try:
        return np.asarray(img.convert("RGB"))
    except Exception as exc:
        raise ImageLoadError(name, f"unsupported colour mode {mode!r} ({exc})") from None


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               background: Sequence[int] = (255, 255, 255)) -> np.ndarray:
    """Read a photo from a path or bytes as a writeable, C-contiguous uint8 RGB array (H, W, 3).

    The EXIF orientation is applied; alpha is composited over ``background``; 16-bit images are scaled to
    8 bit; only the first frame of animations and multi-page files is read. Images with more than
    ``max_pixels`` pixels are refused from their header, before decoding. Raises :class:`ImageLoadError`
    for anything unreadable.
    """
    if len(background) != 3 or not all(0 <= int(c) <= 255 for c in background):
        raise ValueError(f"background must be three values in 0..255, got {background!r}")
    img, name = _open_checked(source, max_pixels)
    try:
        img = _apply_orientation(img, name)
        try:
            arr = _to_rgb_array(img, name, background)
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError(name, "not enough memory to convert the image to RGB") from None
        except Exception as exc:
            raise ImageLoadError(name, f"cannot convert mode {img.mode!r} to RGB ({exc})") from None
    finally:
        img.close()
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:  # defensive: never hand on a surprise
        raise ImageLoadError(name, f"decoded to an unexpected array {arr.shape} {arr.dtype}")
    if not (arr.flags.c_contiguous and arr.flags.writeable):  # arrays viewing Pillow's buffer are read-only
        arr = np.array(arr, order="C")
    return arr


def load_index_mask(source: ImageSource, *, num_classes: int | None = None,
                    palette: Sequence[Sequence[int]] | None = None,
                    max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a class-index mask as an (H, W) uint8 array.

    Accepted: 8-bit grey ("L") and palette ("P") PNGs, whose pixel values are the class indices; bilevel
    images (0/1); RGB images whose three channels are equal (a grey mask saved as RGB). A colour-coded RGB
    mask is refused unless ``palette`` (class index -> RGB colour) is given to translate it; a colour
    outside the palette is then an error. With ``num_classes``, indices must be below it.
    """
    img, name = _open_checked(source, max_pixels, MASK_FILE_LIMIT)
    try:
        img = _apply_orientation(img, name)
        mode = img.mode
        if mode in ("L", "P", "1"):
            mask = np.array(img if mode != "1" else img.convert("L"), dtype=np.uint8)
            if mode == "1":
                mask = (mask > 0).astype(np.uint8)
        elif mode in ("LA", "PA"):
            mask = np.array(img.getchannel(0), dtype=np.uint8)
        elif mode.startswith("I;16") or mode == "I":
            values = np.asarray(img)
            if values.min() < 0 or values.max() > 255:
                raise ImageLoadError(name, "16/32-bit mask has values outside 0..255; "
                                           "class indices must fit in 8 bits")
            mask = values.astype(np.uint8)
        elif mode in ("RGB", "RGBA", "RGBX"):
            rgb = np.asarray(img.convert("RGB"))
            if palette is not None:
                mask = _rgb_to_index(rgb, palette, name)
            elif np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
                mask = np.ascontiguousarray(rgb[..., 0])
            else:
                raise ImageLoadError(
                    name, "this is a colour (RGB) image, not a class-index mask; save masks as 8-bit "
                          "grey or palette PNGs, or pass palette= to translate colours to classes")
        else:
            raise ImageLoadError(name, f"mode {mode!r} cannot hold a class-index mask")
    finally:
        img.close()
    if not (mask.flags.c_contiguous and mask.flags.writeable):
        mask = np.array(mask, order="C")
    if num_classes is not None and mask.size and int(mask.max()) >= num_classes:
        raise ImageLoadError(name, f"mask holds class index {int(mask.max())}, "
                                   f"but there are only {num_classes} classes (0..{num_classes - 1})")
    return mask


def _rgb_to_index(rgb: np.ndarray, palette: Sequence[Sequence[int]], name: str) -> np.ndarray:
    colours = np.asarray(palette, dtype=np.int64)
    if colours.ndim != 2 or colours.shape[1] != 3 or len(colours) > 256:
        raise ValueError("palette must be a list of at most 256 RGB triples")
    keys = (colours[:, 0] << 16) | (colours[:, 1] << 8) | colours[:, 2]
    if len(np.unique(keys)) != len(keys):
        raise ValueError("palette has repeated colours, so a colour would not name one class")
    flat = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    order = np.argsort(keys)
    pos = np.clip(np.searchsorted(keys[order], flat), 0, len(keys) - 1)
    found = keys[order][pos] == flat
    if not found.all():
        bad = int(flat[~found][0])
        raise ImageLoadError(name, f"{int((~found).sum())} pixels have colours outside the palette, "
                                   f"e.g. RGB({bad >> 16}, {(bad >> 8) & 255}, {bad & 255})")
    return order[pos].astype(np.uint8)


def save_image(path: str | os.PathLike, image: np.ndarray, *, quality: int = 95,
               palette: Sequence[Sequence[int]] | None = None) -> None:
    """Write an image atomically (a temporary file in the same folder, then ``os.replace``).

    ``image`` is uint8: (H, W) grey or class indices, (H, W, 3) RGB or (H, W, 4) RGBA. The format follows
    the extension (see ``SAVE_FORMATS``). With ``palette`` a 2-D index array is saved as a palette image,
    so masks open in colour elsewhere while keeping their indices.
    """
    path = Path(path)
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImageSaveError(f"cannot save {str(path)!r}: unknown image extension {path.suffix!r} "
                             f"(use one of {', '.join(sorted(SAVE_FORMATS))})")
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ImageSaveError(f"cannot save {str(path)!r}: expected uint8 pixels, got {arr.dtype}")
    if arr.ndim == 2:
        pil = Image.fromarray(np.ascontiguousarray(arr), "L")
        if palette is not None:
            flat = [int(c) for colour in palette for c in colour]
            if len(flat) % 3 or len(flat) > 768:
                raise ImageSaveError("palette must be a list of at most 256 RGB triples")
            pil = Image.fromarray(np.ascontiguousarray(arr), "P")
            pil.putpalette(flat)
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        pil = Image.fromarray(np.ascontiguousarray(arr), "RGB" if arr.shape[2] == 3 else "RGBA")
    else:
        raise ImageSaveError(f"cannot save {str(path)!r}: expected (H, W), (H, W, 3) or (H, W, 4), "
                             f"got shape {arr.shape}")
    if fmt == "JPEG" and pil.mode in ("RGBA", "P"):
        raise ImageSaveError(f"cannot save {str(path)!r}: JPEG holds no alpha or palette; use .png")
    kwargs: dict = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    if not path.parent.is_dir():
        raise ImageSaveError(f"cannot save {str(path)!r}: folder {str(path.parent)!r} does not exist")
    try:
        with atomic_write(path) as fh:
            pil.save(fh, format=fmt, **kwargs)
    except OSError as exc:
        raise ImageSaveError(f"cannot save {str(path)!r}: {exc}") from exc
