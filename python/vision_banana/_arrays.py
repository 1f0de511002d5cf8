"""Argument checks shared by the public functions: dtypes, shapes and the (N, H, W, C) layout that
the Rust core takes. Every error names the argument, what was expected and what came."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .errors import InvalidArgumentError, InvalidTypeError

#: Picture dtypes and the value range each one implies.
PICTURE_DTYPES = {
    np.dtype(np.uint8): "0-255",
    np.dtype(np.uint16): "0-65535",
    np.dtype(np.float32): "0-1",
    np.dtype(np.float64): "0-1",
}


def native(array: np.ndarray) -> np.ndarray:
    """The array in native byte order (a copy only when it was byte-swapped)."""
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def _check_picture_dtype(rgb: np.ndarray, name: str) -> None:
    if rgb.dtype.newbyteorder("=") not in PICTURE_DTYPES:
        raise InvalidTypeError(
            f"{name} must be uint8 (0-255), uint16 (0-65535), float32 or float64 (0-1): the dtype "
            f"sets the value range; got {rgb.dtype}"
        )


def as_array(value: Any, name: str) -> Any:
    """An array from another library as a numpy array; anything else is returned as it is.

    Objects with ``__array_interface__`` (PIL images, many libraries' CPU arrays) and objects with
    ``__dlpack__`` (torch tensors, JAX and CuPy arrays) become numpy arrays without a copy when
    their memory is on the CPU. Memory on an accelerator (a CUDA tensor) is copied to the host
    once, since the decoders and metrics run on the CPU. A torch tensor that requires grad is
    read through ``.detach()`` (the picture is read, never changed).
    """
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__array_interface__"):
        return np.asarray(value)
    if not hasattr(value, "__dlpack__"):
        return value
    if getattr(value, "requires_grad", False) and hasattr(value, "detach"):
        value = value.detach()
    try:
        return np.from_dlpack(value)
    except (BufferError, RuntimeError, TypeError, ValueError) as on_device:
        # Not on the CPU (or not exportable as is): ask for a host copy, through DLPack first,
        # then through the library's own method (torch's .cpu(), CuPy's .get()).
        try:
            return np.from_dlpack(value, device="cpu", copy=True)
        except (BufferError, RuntimeError, TypeError, ValueError):
            pass
        for method in ("cpu", "get"):
            to_host = getattr(value, method, None)
            if callable(to_host):
                host = to_host()
                return np.from_dlpack(host) if hasattr(host, "__dlpack__") else np.asarray(host)
        raise InvalidTypeError(
            f"{name} is a {type(value).__name__} whose memory numpy cannot read ({on_device}); "
            f"pass a numpy array"
        ) from on_device


#: Sources of an encoded picture file, read by `vision_banana.io.read_image`.
ENCODED = (str, os.PathLike, bytes, bytearray, memoryview)


def as_picture(rgb: Any, name: str = "rgb") -> np.ndarray:
    """Checks a picture: (H, W, C) or (N, H, W, C) with C = 3 or 4, of a supported dtype.

    Also takes a picture file: a path or the encoded file's bytes (``bytes``, ``bytearray`` or
    ``memoryview``, as the Gemini API or a Parquet column hands them), read as RGB with
    `read_image`; PIL images (read as RGB); and arrays of other libraries (see `as_array`). The
    array is returned as is (never copied unless it was byte-swapped or lived on a GPU); the
    caller keeps the original shape for its result.
    """
    if isinstance(rgb, ENCODED):
        from .io import read_image  # io imports this module

        rgb = read_image(rgb)
    elif hasattr(rgb, "getbands") and hasattr(rgb, "convert"):  # a PIL image
        rgb = np.asarray(rgb.convert("RGB") if rgb.mode not in ("RGB", "RGBA") else rgb)
    rgb = as_array(rgb, name)
    if not isinstance(rgb, np.ndarray):
        raise InvalidTypeError(
            f"{name} must be a numpy array (or another library's array), a PIL image, a path or "
            f"the bytes of an image file, got {type(rgb).__name__}"
        )
    _check_picture_dtype(rgb, name)
    if rgb.ndim not in (3, 4) or rgb.shape[-1] not in (3, 4):
        raise InvalidArgumentError(
            f"{name} must have shape (H, W, 3), (H, W, 4), (N, H, W, 3) or (N, H, W, 4), "
            f"got {rgb.shape}"
        )
    return native(rgb)


def as_colors(rgb: Any, name: str = "rgb", *, check_dtype: bool = True) -> np.ndarray:
    """Checks an array of colours of any shape (..., 3) or (..., 4)."""
    rgb = as_array(rgb, name)
    if not isinstance(rgb, np.ndarray):
        rgb = np.asarray(rgb)
    if check_dtype:
        _check_picture_dtype(rgb, name)
    if rgb.ndim < 1 or rgb.shape[-1] not in (3, 4):
        raise InvalidArgumentError(
            f"{name} must have 3 or 4 channels on its last axis, got shape {rgb.shape}"
        )
    return native(rgb)


def to_4d(colors: np.ndarray) -> np.ndarray:
    """(..., C) as (N, H, W, C) for the core: a view for up to 4 dimensions, else a reshape."""
    if colors.ndim <= 3:
        return colors.reshape((1,) * (4 - colors.ndim) + colors.shape)
    if colors.ndim == 4:
        return colors
    return colors.reshape((-1, *colors.shape[-3:]))


def to_3d(values: np.ndarray) -> np.ndarray:
    """(...) as (N, H, W) for the core: a view for up to 3 dimensions, else a reshape."""
    if values.ndim <= 2:
        return values.reshape((1,) * (3 - values.ndim) + values.shape)
    if values.ndim == 3:
        return values
    return values.reshape((-1, *values.shape[-2:]))


def defect_position(first: int | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index in an array of ``shape`` of the core's first defect (a flat position; None or a
    scalar array give ``()``), for error messages."""
    if first is None or not shape:
        return ()
    return tuple(int(i) for i in np.unravel_index(first, shape))


def check_unit_range(picture4: np.ndarray, shape: tuple[int, ...], name: str = "rgb") -> None:
    """Float pictures must lie in [0, 1]: refuse NaN or out-of-range channels, naming the first."""
    from . import _core

    if picture4.dtype.kind != "f":
        return
    count, first, value = _core.unit_range_defects(picture4)
    if count:
        raise InvalidArgumentError(
            f"{name} has {count} pixel(s) with a channel outside [0, 1] or NaN; the first, at "
            f"{defect_position(first, shape[:-1])}, is {value}. Float pictures hold values in "
            f"[0, 1]: pass a uint8 array, or divide by 255"
        )


def check_number(
    value: Any, name: str, *, above: float | None = None, below: float | None = None
) -> float:
    """A finite real number, optionally strictly above / below a bound."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not np.isfinite(number):
        raise InvalidArgumentError(f"{name} must be finite, got {number}")
    if above is not None and not number > above:
        raise InvalidArgumentError(f"{name} must be above {above:g}, got {number:g}")
    if below is not None and not number < below:
        raise InvalidArgumentError(f"{name} must be below {below:g}, got {number:g}")
    return number


def check_positive_int(value: Any, name: str) -> int:
    """A positive integer (Python or numpy; not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


ENCODED_DTYPES = {
    np.dtype(np.uint8): "uint8",
    np.dtype(np.uint16): "uint16",
    np.dtype(np.float32): "float32",
    np.dtype(np.float64): "float64",
}


def encoded_dtype(dtype: DTypeLike) -> str:
    try:
        key = np.dtype(dtype)
    except TypeError:
        key = None
    if key not in ENCODED_DTYPES:
        raise InvalidTypeError(f"dtype must be uint8, uint16, float32 or float64, got {dtype!r}")
    return ENCODED_DTYPES[key]


def unit_colour(invalid: Sequence[float] | None, dtype: str) -> list[float] | None:
    """`invalid` given in the output dtype's range, as channels in [0, 1] for the core."""
    if invalid is None:
        return None
    top = {"uint8": 255.0, "uint16": 65535.0}.get(dtype, 1.0)
    values = np.asarray(invalid, dtype=np.float64) if is_numeric_seq(invalid) else None
    if values is None or values.shape != (3,) or not np.all((values >= 0) & (values <= top)):
        raise InvalidArgumentError(
            f"invalid must be an (r, g, b) colour with channels in [0, {top:g}] for dtype {dtype}, "
            f"got {invalid!r}"
        )
    return [float(v) / top for v in values]


def is_numeric_seq(value: Any) -> bool:
    try:
        return np.asarray(value).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def as_float_array(values: Any, name: str, unit: str = "", advice: str = "") -> np.ndarray:
    """A float32 or float64 array (lists become float64; wider floats are cast to float64).
    `unit` and `advice` complete the error message."""
    array = as_array(values, name)
    if not isinstance(array, np.ndarray):
        array = np.asarray(array, dtype=np.float64)
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        raise InvalidTypeError(
            f"{name} must be a float32 or float64 array{unit}, got {array.dtype}{advice}"
        )
    return native(array.astype(np.float64, copy=False) if array.dtype.itemsize > 8 else array)
