"""Reading and writing pictures with exactly the values stored in the file.

The decoders in this package turn colours into numbers, so one wrong bit is a wrong depth or a wrong
class. `read_image` therefore returns the stored samples untouched: 8-bit files as ``uint8``, 16-bit
PNGs as ``uint16`` with all 16 bits. `write_image` writes PNG (8 or 16 bits, lossless), WebP
(lossless) and JPEG.

Pillow does the decoding and the 8-bit encoding, with one gap filled here. Pillow has no 16-bit
colour mode: it opens 16-bit RGB, RGBA and grey+alpha PNGs as 8-bit images that hold only the high
byte of each sample, and it cannot write 16-bit colour PNGs at all. For reading, this module runs
Pillow's own PNG decoder a second time with a raw mode that yields the low bytes (after checking
once per process that this Pillow does so correctly), and falls back to a small pure-numpy PNG
reader where it cannot. For writing, all 16-bit PNGs come from a small zlib-based encoder here.

Example:
    >>> import numpy as np
    >>> from vision_banana.io import read_image, write_image
    >>> depth = np.array([[0, 65535], [4660, 43981]], dtype=np.uint16)
    >>> write_image("depth.png", depth)
    >>> read_image("depth.png", mode="keep")
    array([[    0, 65535],
           [ 4660, 43981]], dtype=uint16)
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from io import BytesIO
from typing import BinaryIO, Literal, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from .errors import ImageReadError, InvalidArgumentError, InvalidTypeError, VisionBananaError

__all__ = ["read_image", "write_image"]

ImageSource: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO"
"""What `read_image` reads: a file path, the encoded file contents, or a binary file object."""

_READ_MODES = ("rgb", "rgba", "keep")
_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383}
_JPEG_QUALITY = 95

# What Pillow raises for data it cannot decode. Image.open turns most parser errors into
# UnidentifiedImageError (an OSError); load() raises OSError ("image file is truncated", "broken
# data stream"), SyntaxError (PNG checksum errors) or ValueError.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> samples per pixel (palettes are never 16-bit)
_PNG_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
_IDAT_SIZE = 1 << 20
_ADAM7 = (  # (x0, y0, dx, dy) of the seven interlace passes
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
# Pillow's raw modes for 16-bit colour PNGs: the one it uses (high bytes only) and the one that
# gives the low bytes. Grey+alpha has no 16-bit little-endian unpacker, but its 4 bytes per pixel
# are the size of 8-bit RGBA, so the raw mode "RGBA" hands back the stored bytes themselves.
_PILLOW_RAWMODES = {2: ("RGB;16B", "RGB;16L"), 6: ("RGBA;16B", "RGBA;16L"), 4: ("LA;16B", "RGBA")}


class _PngHeader(NamedTuple):
    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlace: int


def read_image(path: ImageSource, *, mode: Literal["rgb", "rgba", "keep"] = "rgb") -> np.ndarray:
    """Read a PNG, JPEG or WebP picture with the sample values stored in the file.

    Args:
        path: A file path (``str`` or ``os.PathLike``), the encoded file contents (``bytes``,
            ``bytearray``, ``memoryview``) or a binary file object, read from its current position.
            Other formats Pillow decodes to 8-bit or 16-bit pixels (BMP, GIF, TIFF...) also work.
        mode: Which channels to return.
            ``"rgb"`` (default): ``(H, W, 3)``; grey is replicated, palettes are expanded, alpha
            is dropped.
            ``"rgba"``: ``(H, W, 4)``; alpha comes from the file's alpha channel or its PNG
            transparent colour (``tRNS``), else is fully opaque (255, or 65535 for 16-bit).
            ``"keep"``: the stored channels: ``(H, W)`` for grey, ``(H, W, 2)`` for grey+alpha,
            ``(H, W, 3)`` for RGB, ``(H, W, 4)`` for RGBA. Palette images come back as their RGB
            colours, RGBA when the palette has transparency. WebP stores grey as RGB.

    Returns:
        A new, writable, C-contiguous array. ``uint16`` for 16-bit PNGs (all 16 bits, as
        stored), ``uint8`` for everything else. PNGs of 1, 2 or 4 bits per sample are scaled to
        0..255, as the PNG standard prescribes. The stored pixel order is kept: EXIF orientation
        is not applied. Only the first frame of an animation is read.

    Raises:
        FileNotFoundError: ``path`` names no file (other OS errors are passed on as they are too).
        ImageReadError: The data is not an image, or is corrupt or truncated. The message names
            the file and what went wrong. (If another library has set Pillow's
            ``ImageFile.LOAD_TRUNCATED_IMAGES``, Pillow loads truncated files without complaint.)
        InvalidArgumentError: ``mode`` is not one of ``"rgb"``, ``"rgba"``, ``"keep"``.
        InvalidTypeError: ``path`` or ``mode`` has the wrong type.

    Example:
        >>> from vision_banana.io import read_image
        >>> image = read_image("photo.jpg")
        >>> image.shape, image.dtype
        ((480, 640, 3), dtype('uint8'))
        >>> read_image("depth16.png", mode="keep").dtype
        dtype('uint16')
    """
    if not isinstance(mode, str):
        msg = f"mode must be a str, one of {_READ_MODES}; got {type(mode).__name__}"
        raise InvalidTypeError(msg)
    if mode not in _READ_MODES:
        msg = f"mode must be one of 'rgb', 'rgba', 'keep'; got {mode!r}"
        raise InvalidArgumentError(msg)
    data, label = _read_source(path)
    try:
        with Image.open(BytesIO(data)) as img:
            # Pillow decodes lazily: load here, inside the try, so that truncated and corrupt data
            # fail now and get reported as such.
            img.load()
            stored, key = _stored_samples(img, data)
    except VisionBananaError:
        raise
    except _DECODE_ERRORS as err:
        raise ImageReadError(f"cannot read image {label}: {_describe(err, data)}") from err
    return _select_channels(stored, key, mode)


def write_image(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write an array as a PNG, JPEG or WebP file, chosen by the file name's extension.

    Args:
        path: The file to write (``.png``, ``.jpg``/``.jpeg`` or ``.webp``, any case). An existing
            file is replaced; missing directories are not created.
        array: ``uint8`` or ``uint16``, shape ``(H, W)`` (grey), ``(H, W, 3)`` (RGB) or
            ``(H, W, 4)`` (RGBA). Any memory layout; it is never modified.
            ``uint8``: PNG is lossless; WebP is written lossless (grey is stored as RGB, and
            colours under transparent pixels are kept); JPEG at quality 95 without chroma
            subsampling, and without alpha.
            ``uint16``: PNG only, written with all 16 bits (bit depth 16, colour type 0, 2 or 6).

    Raises:
        InvalidTypeError: ``array`` is not a numpy array of dtype ``uint8`` or ``uint16``, or
            ``path`` is not a ``str`` or ``os.PathLike``.
        InvalidArgumentError: ``array`` has a wrong shape, or the format cannot hold it (16-bit
            JPEG or WebP, alpha in JPEG, a side over the format's limit), or the extension is
            unknown.
        FileNotFoundError: The directory does not exist (other OS errors are passed on as well).

    Example:
        >>> import numpy as np
        >>> from vision_banana.io import read_image, write_image
        >>> normals = np.random.default_rng(0).integers(0, 65536, (4, 5, 3), dtype=np.uint16)
        >>> write_image("normals16.png", normals)
        >>> bool((read_image("normals16.png") == normals).all())
        True
    """
    if not isinstance(path, (str, os.PathLike)):
        msg = f"path must be a str or os.PathLike, got {type(path).__name__}"
        raise InvalidTypeError(msg)
    fmt = _format_from_path(path)
    _check_array(array)
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype.itemsize == 2 and fmt != "PNG":
        msg = f"16-bit images can only be written as PNG; {os.fsdecode(path)!r} asks for {fmt}"
        raise InvalidArgumentError(msg)
    if fmt == "JPEG" and channels == 4:
        msg = (
            f"array has an alpha channel (shape {array.shape}) but JPEG cannot store one; "
            "write PNG or WebP, or pass array[..., :3]"
        )
        raise InvalidArgumentError(msg)
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(height, width) > limit:
        msg = f"{fmt} images are at most {limit} pixels a side; array has shape {array.shape}"
        raise InvalidArgumentError(msg)

    # Encode in memory first, so that a failure leaves no half-written file behind.
    if array.dtype.itemsize == 2:
        encoded = _encode_png16(array)
    else:
        image = Image.fromarray(np.ascontiguousarray(array))
        buffer = BytesIO()
        if fmt == "JPEG":
            image.save(buffer, format="JPEG", quality=_JPEG_QUALITY, subsampling=0)
        elif fmt == "WEBP":
            image.save(buffer, format="WEBP", lossless=True, exact=True)
        else:
            image.save(buffer, format="PNG")
        encoded = buffer.getvalue()
    with open(path, "wb") as file:
        file.write(encoded)


# ----------------------------------------------------------------------------------------- reading


def _read_source(path: object) -> tuple[bytes, str]:
    """The encoded bytes of `path` and how to name it in messages."""
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as file:
            return file.read(), f"'{os.fsdecode(path)}'"
    if isinstance(path, (bytes, bytearray, memoryview)):
        return bytes(path), "<bytes>"
    read = getattr(path, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray)):
            msg = (
                "path is a file object whose read() returned "
                f"{type(data).__name__}, not bytes; open the file in binary mode ('rb')"
            )
            raise InvalidTypeError(msg)
        name = getattr(path, "name", None)
        return bytes(data), f"'{name}'" if isinstance(name, str) else "<file object>"
    kind = type(path).__name__
    msg = f"path must be a str, os.PathLike, bytes or a binary file object, got {kind}"
    raise InvalidTypeError(msg)


def _describe(err: BaseException, data: bytes) -> str:
    if isinstance(err, UnidentifiedImageError):
        return "the file is empty" if not data else "not an image file in a format Pillow reads"
    if isinstance(err, Image.DecompressionBombError):
        return str(err)
    return f"corrupt or truncated image data ({type(err).__name__}: {err})"


def _png_header(data: bytes) -> _PngHeader | None:
    """The IHDR fields of PNG data (which must start with IHDR), or None if it is not a PNG."""
    if len(data) < 33 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return _parse_ihdr(data[16:29])


def _parse_ihdr(body: bytes) -> _PngHeader:
    width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
    return _PngHeader(width, height, bit_depth, colour_type, interlace)


def _stored_samples(img: Image.Image, data: bytes) -> tuple[np.ndarray, object]:
    """The loaded image's samples as stored (2-D for one channel), and its transparent colour."""
    header = _png_header(data) if img.format == "PNG" else None
    key = img.info.get("transparency")
    if header is not None and header.bit_depth == 16:
        return _png16_samples(img, data, header), key
    pil_mode = img.mode
    if pil_mode == "1":
        stored = np.array(img.convert("L"))
    elif pil_mode in ("L", "LA", "RGB", "RGBA"):
        stored = np.array(img)
    elif pil_mode.startswith("I;16"):
        stored = np.array(img).astype(np.uint16)  # I;16B arrives big-endian
    elif pil_mode in ("P", "PA"):
        has_alpha = pil_mode == "PA" or "transparency" in img.info
        stored = np.array(img.convert("RGBA" if has_alpha else "RGB"))
    elif pil_mode in ("La", "RGBa"):  # premultiplied alpha
        stored = np.array(img.convert(pil_mode.upper()))
    elif pil_mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        stored = np.array(img.convert("RGB"))
    else:
        msg = (
            f"pixel format {pil_mode!r} is not supported: only 8-bit images and 16-bit PNGs can "
            "be read"
        )
        raise ValueError(msg)
    if header is not None and header.colour_type == 0 and header.bit_depth < 8:
        # Pillow scales 1, 2 and 4-bit grey to 0..255, and the tRNS grey level only for 1-bit files
        # (in recent versions). A level within the stored range is unscaled: scale it likewise.
        top = 2**header.bit_depth - 1
        if isinstance(key, int) and key <= top:
            key *= 255 // top
    return stored, key


def _png16_samples(img: Image.Image, data: bytes, header: _PngHeader) -> np.ndarray:
    """All 16 bits of a 16-bit PNG that Pillow has loaded."""
    if header.colour_type == 0 and img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return np.array(img).astype(np.uint16)  # Pillow keeps 16-bit grey exactly
    if header.colour_type in _PILLOW_RAWMODES and _pillow_reads_png16_low_bytes():
        samples = _png16_via_pillow(data, header, np.array(img))
        if samples is not None:
            return samples
    return _decode_png16(data)


def _png16_via_pillow(data: bytes, header: _PngHeader, high: np.ndarray) -> np.ndarray | None:
    """16-bit colour samples from Pillow's PNG decoder, or None where this Pillow cannot.

    `high` is Pillow's ordinary decode of the file, which holds the high byte of every sample. The
    file is decoded once more with the same decoder (so with the same filtering and interlacing)
    but a raw mode that unpacks the low bytes instead.
    """
    used, other = _PILLOW_RAWMODES[header.colour_type]
    with Image.open(BytesIO(data)) as img:
        if len(img.tile) != 1 or img.tile[0][0] != "zip" or img.tile[0][3] != used:
            return None
        tile = img.tile[0]
        img.tile = [tile._replace(args=other) if hasattr(tile, "_replace") else (*tile[:3], other)]
        img.load()
        low = np.array(img)
    if low.shape != high.shape or low.dtype != np.uint8:
        return None
    if header.colour_type == 4:  # `low` holds the stored bytes: grey high, grey low, alpha ...
        return low.view(">u2").reshape(header.height, header.width, 2).astype(np.uint16)
    samples: NDArray[np.uint16] = (high.astype(np.uint16) << 8) | low
    return samples


@functools.cache
def _pillow_reads_png16_low_bytes() -> bool:
    """Whether `_png16_via_pillow` gives exact samples with the installed Pillow."""
    probe = np.array([[[0x0102, 0x0304, 0x0506, 0x0708], [0xFFFE, 0x80FF, 0x7F01, 0x00FF]]])
    for colour_type, channels in ((2, [0, 1, 2]), (6, [0, 1, 2, 3]), (4, [0, 3])):
        samples = probe[..., channels].astype(np.uint16)
        data = _encode_png16(samples)
        header = _png_header(data)
        if header is None or header.colour_type != colour_type:
            return False
        try:
            with Image.open(BytesIO(data)) as img:
                img.load()
                high = np.array(img)
            decoded = _png16_via_pillow(data, header, high)
        except Exception:  # any failure just means this trick is unavailable
            return False
        if decoded is None or not np.array_equal(decoded, samples):
            return False
    return True


def _decode_png16(data: bytes) -> np.ndarray:
    """A pure-numpy reader for 16-bit PNGs (grey, grey+alpha, RGB, RGBA; interlaced or not).

    Raises ValueError for data it cannot decode. Ancillary chunks are skipped; only the default
    image (IDAT) is read.
    """
    header = None
    idat = []
    pos = len(_PNG_SIGNATURE)
    if data[:pos] != _PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    while True:
        if pos + 12 > len(data):
            raise ValueError("PNG file is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(crc) != 4:
            raise ValueError(f"PNG file is truncated (in the {kind!r} chunk)")
        if zlib.crc32(kind + body) != int.from_bytes(crc, "big"):
            raise ValueError(f"bad CRC in the {kind!r} chunk")
        if kind == b"IHDR" and length == 13:
            header = _parse_ihdr(body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or header.bit_depth != 16 or header.colour_type not in _PNG_CHANNELS:
        raise ValueError("not a 16-bit grey, grey+alpha, RGB or RGBA PNG")
    channels = _PNG_CHANNELS[header.colour_type]
    bpp = 2 * channels
    width, height = header.width, header.height
    raw = zlib.decompress(b"".join(idat))
    if header.interlace:
        rows = np.empty((height, width * bpp), np.uint8)
        offset = 0
        for x0, y0, dx, dy in _ADAM7:
            pass_w = (width - x0 + dx - 1) // dx
            pass_h = (height - y0 + dy - 1) // dy
            if pass_w <= 0 or pass_h <= 0:
                continue  # empty passes have no bytes, not even filter bytes
            size = pass_h * (1 + pass_w * bpp)
            reduced = _unfilter(raw[offset : offset + size], pass_h, pass_w * bpp, bpp)
            offset += size
            target = rows.reshape(height, width, bpp)[y0::dy, x0::dx]
            target[...] = reduced.reshape(pass_h, pass_w, bpp)
    else:
        rows = _unfilter(raw, height, width * bpp, bpp)
    samples = rows.view(">u2").reshape(height, width, channels).astype(np.uint16)
    return samples[..., 0] if channels == 1 else samples


def _unfilter(raw: bytes, height: int, row_bytes: int, bpp: int) -> np.ndarray:
    """Undo PNG row filtering: `raw` is `height` rows of a filter byte and `row_bytes` bytes."""
    if len(raw) < height * (row_bytes + 1):
        raise ValueError("PNG image data is truncated")
    lines = np.frombuffer(raw, np.uint8, count=height * (row_bytes + 1)).reshape(height, -1)
    out = np.empty((height, row_bytes), np.uint8)
    prior = np.zeros(row_bytes, np.uint8)
    for y in range(height):
        kind, line = lines[y, 0], lines[y, 1:]
        if kind == 0:
            out[y] = line
        elif kind == 1:  # Sub: a running sum (mod 256) over the pixels of the row
            out[y] = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            out[y] = line + prior
        elif kind in (3, 4):  # Average, Paeth: each byte depends on the one just decoded
            out[y] = _unfilter_sequential(line.tolist(), prior.tolist(), bpp, kind)
        else:
            raise ValueError(f"unknown PNG filter type {kind} in row {y}")
        prior = out[y]
    return out


def _unfilter_sequential(line: list[int], prior: list[int], bpp: int, kind: int) -> list[int]:
    cur = [0] * len(line)
    for i, value in enumerate(line):
        a = cur[i - bpp] if i >= bpp else 0
        b = prior[i]
        if kind == 3:
            cur[i] = (value + ((a + b) >> 1)) & 0xFF
        else:
            c = prior[i - bpp] if i >= bpp else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (value + predictor) & 0xFF
    return cur


def _select_channels(stored: np.ndarray, key: object, mode: str) -> np.ndarray:
    """Turn stored samples into the channels `mode` asks for (always a fresh contiguous array)."""
    if mode == "keep":
        return np.ascontiguousarray(stored)
    alpha = None
    if stored.ndim == 2:
        colour = np.repeat(stored[..., None], 3, axis=2)
    elif stored.shape[2] == 2:
        colour = np.repeat(stored[..., :1], 3, axis=2)
        alpha = stored[..., 1]
    else:
        colour = stored[..., :3]
        alpha = stored[..., 3] if stored.shape[2] == 4 else None
    if mode == "rgb":
        return np.ascontiguousarray(colour)
    if alpha is None:
        alpha = np.full(stored.shape[:2], np.iinfo(stored.dtype).max, stored.dtype)
        transparent = _transparent_pixels(stored, key)
        if transparent is not None:
            alpha[transparent] = 0
    return np.concatenate([colour, alpha[..., None]], axis=2)


def _transparent_pixels(stored: np.ndarray, key: object) -> NDArray[np.bool_] | None:
    """Where grey or RGB samples equal the PNG transparent colour, if the file names one."""
    if stored.ndim == 2 and isinstance(key, int):
        grey: NDArray[np.bool_] = stored == key
        return grey
    if (
        stored.ndim == 3
        and stored.shape[2] == 3
        and isinstance(key, tuple)
        and len(key) == 3
        and all(isinstance(k, int) for k in key)
    ):
        colour: NDArray[np.bool_] = np.all(stored == np.array(key, dtype=np.int64), axis=2)
        return colour
    return None


# ----------------------------------------------------------------------------------------- writing


def _format_from_path(path: str | os.PathLike[str]) -> str:
    suffix = os.path.splitext(os.fsdecode(path))[1].lower()
    fmt = _WRITE_FORMATS.get(suffix)
    if fmt is None:
        msg = (
            f"path {os.fsdecode(path)!r} has extension {suffix!r}; expected one of "
            f"{', '.join(_WRITE_FORMATS)}"
        )
        raise InvalidArgumentError(msg)
    return fmt


def _check_array(array: object) -> None:
    if not isinstance(array, np.ndarray):
        msg = f"array must be a numpy.ndarray of uint8 or uint16, got {type(array).__name__}"
        raise InvalidTypeError(msg)
    if array.dtype.kind != "u" or array.dtype.itemsize not in (1, 2):
        hint = ""
        if array.dtype.kind == "f":
            hint = "; convert floats in [0, 1] with (np.round(array * 255)).astype(np.uint8)"
        msg = f"array must have dtype uint8 or uint16, got {array.dtype}{hint}"
        raise InvalidTypeError(msg)
    good_shape = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if not good_shape or array.shape[0] == 0 or array.shape[1] == 0:
        expected = "(H, W), (H, W, 3) or (H, W, 4) with H, W > 0"
        msg = f"array must have shape {expected}, got {array.shape}"
        raise InvalidArgumentError(msg)


def _encode_png16(array: np.ndarray) -> bytes:
    """A 16-bit PNG of `array` (uint16, (H, W), (H, W, 2), (H, W, 3) or (H, W, 4))."""
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(array, dtype=">u2").view(np.uint8).reshape(height, -1)
    compressor = zlib.compressobj(6)
    compressed = []
    band = max(1, (4 << 20) // rows.shape[1])  # rows per step, to bound the filters' memory
    for start in range(0, height, band):
        above = rows[start - 1] if start else np.zeros(rows.shape[1], np.uint8)
        filtered = _filter_rows(rows[start : start + band], above, 2 * channels)
        compressed.append(compressor.compress(filtered.tobytes()))
    compressed.append(compressor.flush())
    stream = b"".join(compressed)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", ihdr)]
    chunks += [
        _png_chunk(b"IDAT", stream[i : i + _IDAT_SIZE])
        for i in range(0, max(len(stream), 1), _IDAT_SIZE)
    ]
    chunks.append(_png_chunk(b"IEND", b""))
    return _PNG_SIGNATURE + b"".join(chunks)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _filter_rows(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """PNG-filter byte rows, choosing per row the filter with the smallest sum of |residual|.

    This is the heuristic libpng recommends; it makes smooth 16-bit depth maps several times
    smaller than unfiltered rows. `above` is the row before `rows[0]` (zeros for the first row).
    Returns the rows with their filter-type byte in front, shape (n, row_bytes + 1).
    """
    n = rows.shape[0]
    up = np.empty_like(rows)
    up[0] = above
    up[1:] = rows[:-1]
    left = np.zeros_like(rows)
    left[:, bpp:] = rows[:, :-bpp]
    up_left = np.zeros_like(rows)
    up_left[:, bpp:] = up[:, :-bpp]
    average = ((left.astype(np.uint16) + up) >> 1).astype(np.uint8)
    a, b, c = (x.astype(np.int16) for x in (left, up, up_left))
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    candidates = np.stack([rows, rows - left, rows - up, rows - average, rows - paeth])
    # |residual| of a byte read as a signed value: 0..128
    magnitude = np.minimum(np.arange(256), 256 - np.arange(256)).astype(np.uint8)
    cost = magnitude[candidates].sum(axis=2, dtype=np.int64)
    choice = cost.argmin(axis=0)
    out = np.empty((n, rows.shape[1] + 1), np.uint8)
    out[:, 0] = choice
    out[:, 1:] = candidates[choice, np.arange(n)]
    return out
