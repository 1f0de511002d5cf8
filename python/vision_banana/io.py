"""Reading and writing pictures with exactly the values stored in the file.

The decoders in this package turn colours into numbers, so one wrong bit is a wrong depth or a wrong
class. `read_image` therefore returns the stored samples untouched: 8-bit files as ``uint8``, 16-bit
PNGs as ``uint16`` with all 16 bits. `write_image` writes PNG (8 or 16 bits, lossless), WebP
(lossless) and JPEG.

PNG goes through the Rust core (the ``png`` crate, with the GIL released): several times faster
than Pillow both ways, and exact for 16-bit colour, which Pillow cannot hold. Pillow reads and
writes everything else (JPEG, WebP, and whatever else it decodes).

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

import os
import struct
import zlib
from io import BytesIO
from typing import BinaryIO, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from . import _core
from ._arrays import native
from .errors import ImageReadError, InvalidArgumentError, InvalidTypeError, VisionBananaError

__all__ = ["PNG_COMPRESSION", "png_bytes", "read_image", "write_image"]

ImageSource: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO"
"""What `read_image` reads: a file path, the encoded file contents, or a binary file object."""

#: The PNG compression levels of `write_image`, fastest first.
PNG_COMPRESSION: tuple[str, ...] = tuple(_core.png_compression_names())

_READ_MODES = ("rgb", "rgba", "keep")
_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383}
_JPEG_QUALITY = 95

# What Pillow raises for data it cannot decode. Image.open turns most parser errors into
# UnidentifiedImageError (an OSError); load() raises OSError ("image file is truncated", "broken
# data stream"), SyntaxError (checksum errors) or ValueError.
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
        ImageReadError: The data is not an image, or is corrupt or truncated, or larger than
            twice ``PIL.Image.MAX_IMAGE_PIXELS`` (for PNG checked on the header, before any pixel
            memory is taken). The message names the file and what went wrong. (If another
            library has set Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES``, Pillow loads truncated
            JPEG and WebP files without complaint; PNGs are read by the Rust core, which never
            does.)
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
    return decode_image(data, label, mode)


def decode_image(data: bytes, label: str, mode: str = "rgb") -> np.ndarray:
    """`read_image` of encoded bytes, with `label` naming them in error messages ("'x.png'")."""
    if data.startswith(_PNG_SIGNATURE):
        return _core.read_png(data, mode, max_image_pixels(), label)
    try:
        with Image.open(BytesIO(data)) as img:
            # Pillow decodes lazily: load here, inside the try, so that truncated and corrupt data
            # fail now and get reported as such.
            img.load()
            stored, key = _stored_samples(img)
    except VisionBananaError:
        raise
    except _DECODE_ERRORS as err:
        raise ImageReadError(f"cannot read image {label}: {_describe(err, data)}") from err
    return _select_channels(stored, key, mode)


def write_image(
    path: str | os.PathLike[str], array: np.ndarray, *, compression: str = "fast"
) -> None:
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
        compression: How hard to compress a PNG, one of :data:`PNG_COMPRESSION`: ``"none"``,
            ``"fastest"``, ``"fast"`` (default: about 7 ms for a megapixel of RGB, 20 times
            Pillow's speed, files about a tenth larger than Pillow's), ``"balanced"``, ``"high"``.
            PNG is lossless at every level. JPEG and WebP ignore it.

    Raises:
        InvalidTypeError: ``array`` is not a numpy array of dtype ``uint8`` or ``uint16``, or
            ``path`` is not a ``str`` or ``os.PathLike``.
        InvalidArgumentError: ``array`` has a wrong shape, or the format cannot hold it (16-bit
            JPEG or WebP, alpha in JPEG, a side over the format's limit), or the extension or
            ``compression`` is unknown.
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
    _check_compression(compression)
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
    if fmt == "PNG":
        encoded = _encode_png(array, compression)
    else:
        image = Image.fromarray(np.ascontiguousarray(array))
        buffer = BytesIO()
        if fmt == "JPEG":
            image.save(buffer, format="JPEG", quality=_JPEG_QUALITY, subsampling=0)
        else:
            image.save(buffer, format="WEBP", lossless=True, exact=True)
        encoded = buffer.getvalue()
    with open(path, "wb") as file:
        file.write(encoded)


def png_bytes(array: np.ndarray, *, compression: str = "fast") -> bytes:
    """The PNG file `write_image` writes for ``array`` (uint8 or uint16, (H, W), (H, W, 3) or
    (H, W, 4)), as bytes: for Parquet columns and network answers.

    Example:
        >>> import numpy as np
        >>> data = png_bytes(np.zeros((2, 3, 3), np.uint8))
        >>> data[:4], read_image(data).shape
        (b'\\x89PNG', (2, 3, 3))
    """
    _check_compression(compression)
    _check_array(array)
    return _encode_png(array, compression)


def _check_compression(compression: object) -> None:
    if compression not in PNG_COMPRESSION:
        msg = f"compression must be one of {', '.join(PNG_COMPRESSION)}; got {compression!r}"
        raise InvalidArgumentError(msg)


def _encode_png(array: np.ndarray, compression: str) -> bytes:
    """`png_bytes` of an array and a level already checked."""
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    samples = np.ascontiguousarray(native(array)).reshape(height, width, channels)
    return _core.write_png(samples, compression)


# ----------------------------------------------------------------------------------------- reading


def max_image_pixels() -> int:
    """The most pixels a picture may have: twice Pillow's decompression bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS``, which a user may change; None lifts it), where Pillow refuses
    a picture. PNGs are checked against it before any pixel memory is taken."""
    limit = Image.MAX_IMAGE_PIXELS
    return 2**64 - 1 if limit is None else 2 * int(limit)


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


def _stored_samples(img: Image.Image) -> tuple[np.ndarray, object]:
    """The loaded image's samples as stored (2-D for one channel), and its transparent colour."""
    key = img.info.get("transparency")
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
    return stored, key


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
