"""Metric depth as a picture (SPEC.md section 1).

Depth d in metres is squashed by Barron's power transform into f in [0, 1), then painted along the
edges of the RGB cube from black to white: black-red-yellow-green-cyan-blue-magenta-white, 1/7 of
f per edge. The decoder projects each colour onto the nearest edge and inverts the transform. With
the defaults (lam = -3, c = 10/3) the vertices sit at 0, 0.801, 1.832, 3.229, 5.275, 8.708 and
16.458 m, and white is infinitely far.

Pictures are (H, W, C) or (N, H, W, C) arrays, C = 3 or 4 (alpha ignored); the dtype sets the range:
uint8 0-255, uint16 0-65535, float32/float64 0-1. Every function returns new arrays and leaves its
inputs untouched; the work runs in Rust with the GIL released, on all cores for large pictures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _core
from ._arrays import (
    as_colors,
    as_float_array,
    as_picture,
    check_number,
    check_unit_range,
    defect_position,
    encoded_dtype,
    native,
    to_3d,
    to_4d,
    unit_colour,
)
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "COLORMAPS",
    "DEFAULT_C",
    "DEFAULT_LAM",
    "decode_depth",
    "encode_depth",
    "inverse_power_transform",
    "power_transform",
    "project",
    "walk",
]

DEFAULT_LAM = -3.0
DEFAULT_C = 10.0 / 3.0
#: Colour maps the depth codec reads and writes: the paper's cube walk (default) and the colour
#: maps it trained with as augmentation (matplotlib's definitions; "gray" runs black to white).
COLORMAPS: tuple[str, ...] = tuple(_core.colormap_names())


def _transform(x: ArrayLike, lam: float, c: float, inverse: bool) -> Any:
    lam = check_number(lam, "lam")
    c = check_number(c, "c")
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        name = "f" if inverse else "d"
        raise InvalidTypeError(f"{name} must be real numbers, got dtype {array.dtype}")
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    out = _core.power_transform(native(array.astype(dtype, copy=False)), lam, c, inverse)
    return out[()] if out.ndim == 0 else out


def power_transform(d: ArrayLike, lam: float = DEFAULT_LAM, c: float = DEFAULT_C) -> Any:
    """Barron's power transform: depth in metres to the normalised scalar in [0, 1).

    ``f = 1 - (1 - d / (lam * c)) ** (lam + 1)``; with the defaults ``f = 1 - (1 + d / 10) ** -2``.

    Args:
        d: depth in metres, any shape. float32 stays float32, anything else computes in float64.
            Applied element by element: NaN stays NaN, negative depth gives negative f.
        lam: shape parameter, below -1.
        c: scale parameter, above 0.

    Returns:
        An array of d's shape (a numpy scalar for a scalar d).

    Raises:
        InvalidArgumentError: lam >= -1 or c <= 0 (or not finite).

    Example:
        >>> float(power_transform(10.0))
        0.75
    """
    return _transform(d, lam, c, inverse=False)


def inverse_power_transform(f: ArrayLike, lam: float = DEFAULT_LAM, c: float = DEFAULT_C) -> Any:
    """The inverse of :func:`power_transform`: normalised scalar back to depth in metres.

    ``d = lam * c * (1 - (1 - f) ** (1 / (lam + 1)))``; f = 1 gives infinity.

    Example:
        >>> float(inverse_power_transform(0.75))
        10.0
    """
    return _transform(f, lam, c, inverse=True)


def _check_colormap(colormap: Any) -> str:
    if not isinstance(colormap, str):
        raise InvalidTypeError(
            f"colormap must be a string, one of {', '.join(COLORMAPS)}; "
            f"got {type(colormap).__name__}"
        )
    return colormap


def _encode(
    values: np.ndarray,
    name: str,
    lam: float | None,
    c: float,
    dtype: DTypeLike,
    colormap: str,
    invalid: Sequence[float] | None,
    what_is_invalid: str,
) -> NDArray[Any]:
    out_dtype = encoded_dtype(dtype)
    rgb, (count, first, value) = _core.encode_depth(
        to_3d(values),
        lam,
        c,
        _check_colormap(colormap),
        out_dtype,
        unit_colour(invalid, out_dtype),
    )
    if count and invalid is None:
        where = defect_position(first, values.shape)
        raise InvalidArgumentError(
            f"{name} has {count} value(s) that are {what_is_invalid}; the first, at {where}, is "
            f"{value}. Pass invalid=(r, g, b) to paint them with a colour instead"
        )
    return rgb.reshape((*values.shape, 3))


def encode_depth(
    depth: ArrayLike,
    *,
    lam: float = DEFAULT_LAM,
    c: float = DEFAULT_C,
    dtype: DTypeLike = np.uint8,
    colormap: str = "cube_walk",
    invalid: Sequence[float] | None = None,
) -> NDArray[Any]:
    """Metric depth to the picture a Vision Banana model is trained to produce.

    Args:
        depth: (H, W) or (N, H, W) float32/float64 planar depth in metres, >= 0 and finite.
        lam, c: power transform parameters (lam < -1, c > 0).
        dtype: uint8 (0-255, rounded to nearest), uint16 (0-65535, rounded) or float32/float64
            (0-1).
        colormap: "cube_walk" (the paper's) or one of the augmentation maps in :data:`COLORMAPS`.
        invalid: colour (in the output dtype's range) for NaN, infinite or negative depth. When
            None such pixels are an error.

    Returns:
        (H, W, 3) or (N, H, W, 3) array of ``dtype``.

    Raises:
        InvalidTypeError: depth is not a float array, or dtype is not supported.
        InvalidArgumentError: bad lam or c, unknown colormap, or invalid depth without ``invalid``
            (the message gives how many pixels and where the first is).

    Example:
        >>> encode_depth(np.array([[0.0, 0.8010]], dtype=np.float32))
        array([[[  0,   0,   0],
                [255,   0,   0]]], dtype=uint8)
    """
    values = as_float_array(
        depth, "depth", " of metres", " (convert integer depth first, e.g. millimetres / 1000)"
    )
    if values.ndim not in (2, 3):
        raise InvalidArgumentError(f"depth must have shape (H, W) or (N, H, W), got {values.shape}")
    lam = check_number(lam, "lam")
    c = check_number(c, "c")
    return _encode(values, "depth", lam, c, dtype, colormap, invalid, "NaN, infinite or negative")


def decode_options(
    lam: Any, c: Any, max_depth: Any, return_distance: Any, colormap: Any
) -> tuple[float, float, float, str, bool]:
    """`decode_depth`'s options checked, as the core takes them: (lam, c, max_depth, colormap,
    return_distance), max_depth None as infinity."""
    lam = check_number(lam, "lam")
    c = check_number(c, "c")
    if max_depth is None:
        max_depth = float("inf")
    elif not (isinstance(max_depth, (int, float, np.number)) and max_depth > 0):
        raise InvalidArgumentError(f"max_depth must be a number above 0 or None, got {max_depth!r}")
    return lam, c, float(max_depth), _check_colormap(colormap), bool(return_distance)


@overload
def decode_depth(
    rgb: Any,
    *,
    lam: float = ...,
    c: float = ...,
    max_depth: float | None = ...,
    return_distance: Literal[False] = ...,
    colormap: str = ...,
) -> NDArray[np.float32]: ...
@overload
def decode_depth(
    rgb: Any,
    *,
    lam: float = ...,
    c: float = ...,
    max_depth: float | None = ...,
    return_distance: Literal[True],
    colormap: str = ...,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]: ...
@overload
def decode_depth(
    rgb: Any,
    *,
    lam: float = ...,
    c: float = ...,
    max_depth: float | None = ...,
    return_distance: bool,
    colormap: str = ...,
) -> NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.float32]]: ...


def decode_depth(
    rgb: Any,
    *,
    lam: float = DEFAULT_LAM,
    c: float = DEFAULT_C,
    max_depth: float | None = 1000.0,
    return_distance: bool = False,
    colormap: str = "cube_walk",
) -> NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A generated depth picture to metric depth in metres.

    Each colour is projected onto the nearest point of the colour map (for the cube walk: the
    nearest of its 7 edges, ties to the lower edge) and the power transform is inverted. Decode at
    the generated resolution; resize the depth, never the picture (SPEC.md section 6).

    Sky: the model paints it white, infinitely far. White is a vertex of the walk, so the colour
    distance cannot flag it; the depth does: sky reads exactly ``max_depth``, so
    ``sky = depth == max_depth`` (before any resizing). With the default 1000 m no other 8-bit
    colour gets there (the one step before white, (255, 254, 255), is 412 m); in 16-bit pictures
    the last 44 of the 65535 steps before white are beyond 1000 m too, and flag as sky.

    Args:
        rgb: (H, W, C) or (N, H, W, C) picture, C = 3 or 4 (alpha ignored), uint8, uint16, or
            float32/float64 in [0, 1]; any strides; a PIL image is read as RGB.
        lam, c: the power transform parameters the picture was made with.
        max_depth: depth is clamped here (pure white is infinitely far): sky and other saturated
            pixels read exactly ``max_depth``. None keeps infinity.
        return_distance: also return each colour's distance from the colour map, in units of the
            full channel range (0 on the map, up to about 0.6 for the cube walk): a per-pixel
            confidence, large where the generator painted a colour the code does not use.
        colormap: the colour map the picture uses, see :data:`COLORMAPS`.

    Returns:
        float32 depth of shape (H, W) or (N, H, W); with ``return_distance`` a pair
        ``(depth, distance)`` of that shape.

    Raises:
        InvalidTypeError: rgb is not an array/image of a supported dtype.
        InvalidArgumentError: wrong shape, float values outside [0, 1] or NaN, bad lam, c,
            max_depth or colormap.

    Example:
        >>> depth = decode_depth(np.array([[[255, 0, 0], [255, 255, 255]]], dtype=np.uint8))
        >>> depth.shape, round(float(depth[0, 0]), 4), float(depth[0, 1])  # red; white is sky
        ((1, 2), 0.8012, 1000.0)
    """
    picture = as_picture(rgb)
    options = decode_options(lam, c, max_depth, return_distance, colormap)
    picture4 = to_4d(picture)
    check_unit_range(picture4, picture.shape)
    depth, distance = _core.decode_depth(picture4, *options)
    shape = picture.shape[:-1]
    depth = depth.reshape(shape)
    # The core returns distances exactly when asked for them.
    return depth if distance is None else (depth, distance.reshape(shape))


def walk(
    f: ArrayLike,
    *,
    dtype: DTypeLike = np.float64,
    colormap: str = "cube_walk",
) -> NDArray[Any]:
    """The colour of normalised scalars f on the colour map, for users with their own
    normalisation (f = linear depth in [0, 1], for example).

    Args:
        f: any shape, float; clipped to [0, 1]. NaN is an error.
        dtype: of the result: float64/float32 (0-1), uint16 or uint8 (rounded to nearest).
        colormap: see :data:`COLORMAPS`.

    Returns:
        Array of shape ``f.shape + (3,)``.

    Example:
        >>> walk([0.0, 1 / 7, 1.0], dtype=np.uint8)
        array([[  0,   0,   0],
               [255,   0,   0],
               [255, 255, 255]], dtype=uint8)
    """
    values = as_float_array(f, "f")
    return _encode(values, "f", None, DEFAULT_C, dtype, colormap, None, "NaN")


@overload
def project(
    rgb: Any, *, return_distance: Literal[False] = ..., colormap: str = ...
) -> NDArray[np.float64]: ...
@overload
def project(
    rgb: Any, *, return_distance: Literal[True], colormap: str = ...
) -> tuple[NDArray[np.float64], NDArray[np.float32]]: ...
@overload
def project(
    rgb: Any, *, return_distance: bool, colormap: str = ...
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float32]]: ...


def project(
    rgb: Any,
    *,
    return_distance: bool = False,
    colormap: str = "cube_walk",
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.float32]]:
    """The normalised scalar f in [0, 1] of the nearest colour-map point to each colour: the
    inverse of :func:`walk`.

    Args:
        rgb: colours of any shape (..., 3) or (..., 4): uint8, uint16, or float in [0, 1].
        return_distance: also return the distance from the colour map (see :func:`decode_depth`).
        colormap: see :data:`COLORMAPS`.

    Returns:
        float64 array of shape ``rgb.shape[:-1]`` (0-d for one colour), and with
        ``return_distance`` float32 distances of that shape.

    Example:
        >>> float(project(np.array([255, 255, 0], dtype=np.uint8)) * 7)
        2.0
    """
    colors = as_colors(rgb)
    picture4 = to_4d(colors)
    check_unit_range(picture4, colors.shape)
    f, distance = _core.project(picture4, _check_colormap(colormap), bool(return_distance))
    shape = colors.shape[:-1]
    f = f.reshape(shape)
    # The core returns distances exactly when asked for them. One colour gives 0-d arrays, as the
    # annotations say (numpy arithmetic on them still gives scalars).
    return f if distance is None else (f, distance.reshape(shape))
