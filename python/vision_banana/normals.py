"""Surface normals as a picture (SPEC.md section 2).

Camera frame of the paper: +x right, +y up, +z out of the image toward the viewer. The red channel
carries -x: ``R = (1 - x) / 2``, ``G = (1 + y) / 2``, ``B = (1 + z) / 2``. A surface facing left is
pinkish red, one facing up light green, one facing the camera light blue. The model paints sky
pure magenta (255, 0, 255), which decodes to a vector of norm sqrt(3): the decoder flags such
pixels, and any whose raw vector is far from unit length, as invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _core
from ._arrays import (
    as_float_array,
    as_picture,
    check_number,
    check_unit_range,
    defect_position,
    encoded_dtype,
    to_4d,
    unit_colour,
)
from .errors import InvalidArgumentError

__all__ = ["SKY", "decode_normals", "encode_normals", "to_opencv"]

#: The colour the model paints sky with in normal maps (8-bit).
SKY = (255, 0, 255)


def encode_normals(
    normals: ArrayLike,
    *,
    dtype: DTypeLike = np.uint8,
    invalid: Sequence[float] | None = None,
) -> NDArray[Any]:
    """Normal vectors (paper's camera frame) to the picture a Vision Banana model is trained on.

    Args:
        normals: (H, W, 3) or (N, H, W, 3) float32/float64 vectors; normalised first, so they
            need not be unit length.
        dtype: uint8 or uint16 (rounded to nearest) or float32/float64 (0-1).
        invalid: colour (in the output dtype's range) for zero or non-finite vectors; when None
            such vectors are an error.

    Returns:
        Array of the input's shape and ``dtype``.

    Example:
        >>> encode_normals(np.array([[[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]]]))
        array([[[128, 128, 255],
                [255, 128, 128]]], dtype=uint8)
    """
    vectors = as_float_array(normals, "normals")
    if vectors.ndim not in (3, 4) or vectors.shape[-1] != 3:
        raise InvalidArgumentError(
            f"normals must have shape (H, W, 3) or (N, H, W, 3), got {vectors.shape}"
        )
    out_dtype = encoded_dtype(dtype)
    rgb, (count, first, _) = _core.encode_normals(
        to_4d(vectors), out_dtype, unit_colour(invalid, out_dtype)
    )
    if count and invalid is None:
        where = defect_position(first, vectors.shape[:-1])
        raise InvalidArgumentError(
            f"normals has {count} vector(s) that are zero or not finite; the first is at {where}. "
            f"Pass invalid=(r, g, b) to paint them with a colour instead"
        )
    return rgb.reshape(vectors.shape)


def decode_options(
    renormalize: Any, frame: Any, sky: Any, sky_tolerance: Any, norm_range: Any
) -> tuple[bool, bool, list[float], float, tuple[float, float]]:
    """`decode_normals`' options checked, as the core takes them: (renormalize, opencv, sky and
    sky_tolerance in [0, 1] units, norm_range)."""
    if frame not in ("camera", "opencv"):
        raise InvalidArgumentError(f"frame must be 'camera' or 'opencv', got {frame!r}")
    sky_rgb = np.asarray(sky, dtype=np.float64)
    if sky_rgb.shape != (3,) or not np.all((sky_rgb >= 0) & (sky_rgb <= 255)):
        raise InvalidArgumentError(f"sky must be an (r, g, b) colour in 0-255, got {sky!r}")
    tolerance = check_number(sky_tolerance, "sky_tolerance")
    if not (isinstance(norm_range, (tuple, list)) and len(norm_range) == 2):
        raise InvalidArgumentError(f"norm_range must be a pair (low, high), got {norm_range!r}")
    low, high = (check_number(v, "norm_range") for v in norm_range)
    return (
        bool(renormalize),
        frame == "opencv",
        [float(v) / 255 for v in sky_rgb],
        tolerance / 255,
        (low, high),
    )


def decode_normals(
    rgb: Any,
    *,
    renormalize: bool = True,
    frame: Literal["camera", "opencv"] = "camera",
    sky: Sequence[int] = SKY,
    sky_tolerance: float = 40.0,
    norm_range: tuple[float, float] = (0.75, 1.25),
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """A generated normal-map picture to unit normal vectors and a validity mask.

    ``x = 1 - 2R``, ``y = 2G - 1``, ``z = 2B - 1`` (channels in [0, 1]), then scaled to unit length.

    Args:
        rgb: (H, W, C) or (N, H, W, C) picture, C = 3 or 4, uint8, uint16 or float in [0, 1].
        renormalize: return unit vectors (the default) or the raw decoded vectors.
        frame: "camera" (the paper's: x right, y up, z toward the viewer) or "opencv" (x right,
            y down, z forward, away from the camera).
        sky: the sky colour in 8-bit RGB; pixels within ``sky_tolerance`` (8-bit RGB distance)
            of it are invalid.
        norm_range: (low, high): pixels whose raw vector norm lies outside are invalid. The
            model's vectors have norms 0.95-1.03 at the median (SPEC.md).

    Returns:
        ``(normals, valid)``: float32 (..., 3) vectors and a bool (...) mask of the picture's
        leading shape. Invalid pixels hold the zero vector.

    Example:
        >>> normals, valid = decode_normals(np.array([[[128, 128, 255], [255, 0, 255]]], np.uint8))
        >>> normals.round(2).tolist(), valid.tolist()
        ([[[-0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]], [[True, False]])
    """
    picture = as_picture(rgb)
    options = decode_options(renormalize, frame, sky, sky_tolerance, norm_range)
    picture4 = to_4d(picture)
    check_unit_range(picture4, picture.shape)
    normals, valid = _core.decode_normals(picture4, *options)
    shape = picture.shape[:-1]
    return normals.reshape((*shape, 3)), valid.reshape(shape)


def to_opencv(normals: ArrayLike) -> NDArray[Any]:
    """Vectors in the paper's camera frame (x right, y up, z toward the viewer) to the OpenCV
    frame (x right, y down, z forward): y and z change sign. Returns a new array."""
    vectors = np.array(normals, copy=True)
    if vectors.shape[-1:] != (3,):
        raise InvalidArgumentError(
            f"normals must have 3 components on the last axis, got {vectors.shape}"
        )
    vectors[..., 1:] *= -1
    return vectors
