"""Bringing decoded results back to the input's resolution (SPEC.md section 6).

The model answers at about one megapixel, roughly the input's aspect ratio. Decode the picture at
the size it came in, then resize the decoded quantity, never the picture: a blend of two colours
decodes to a third class or a wrong depth. Labels and masks use nearest neighbour, depth bilinear,
normals bilinear then renormalised. Sampling follows pixel centres (like OpenCV, PyTorch with
``align_corners=False`` and Pillow).
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from .errors import InvalidArgumentError, InvalidTypeError

__all__ = ["resize_depth", "resize_labels", "resize_normals"]

_Scalar = TypeVar("_Scalar", bound=np.generic)


def _size(size: Any) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
        or min(size) < 1
    ):
        raise InvalidArgumentError(
            f"size must be (height, width) with positive integers, got {size!r}"
        )
    return int(size[0]), int(size[1])


def _source_positions(source: int, target: int) -> NDArray[np.float64]:
    """Where each target pixel centre falls in source pixel coordinates."""
    return (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5


def _nearest_indices(source: int, target: int) -> NDArray[np.intp]:
    return np.clip(np.floor(_source_positions(source, target) + 0.5), 0, source - 1).astype(np.intp)


def _bilinear_weights(
    source: int, target: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    position = np.clip(_source_positions(source, target), 0, source - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, source - 1)
    return low, high, position - low


def _check(array: Any, name: str, image_axes: tuple[int, int]) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise InvalidTypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.ndim < max(2, -min(image_axes)):
        raise InvalidArgumentError(f"{name} has too few dimensions for an image: {array.shape}")
    return array


def resize_labels(labels: NDArray[_Scalar], size: tuple[int, int]) -> NDArray[_Scalar]:
    """Label maps or masks resized by nearest neighbour (no new labels appear).

    Args:
        labels: (..., H, W) of any dtype (labels, bool masks, instance ids).
        size: (height, width) of the result.

    Returns:
        A new array (..., height, width) of the same dtype.

    Example:
        >>> resize_labels(np.array([[1, 2], [3, 4]]), (4, 4))[0].tolist()
        [1, 1, 2, 2]
    """
    array = _check(labels, "labels", (-2, -1))
    height, width = _size(size)
    rows = _nearest_indices(array.shape[-2], height)
    cols = _nearest_indices(array.shape[-1], width)
    return array[..., rows[:, None], cols[None, :]]


def _bilinear(array: np.ndarray, size: tuple[int, int], row_axis: int) -> NDArray[np.floating]:
    """Bilinear along axes row_axis and row_axis + 1, in float32 (float64 stays float64)."""
    height, width = size
    dtype: type[np.floating] = np.float64 if array.dtype == np.float64 else np.float32
    values = np.moveaxis(array.astype(dtype, copy=False), (row_axis, row_axis + 1), (-2, -1))
    r0, r1, wr = _bilinear_weights(values.shape[-2], height)
    c0, c1, wc = _bilinear_weights(values.shape[-1], width)
    wr = wr.astype(dtype)[:, None]
    wc = wc.astype(dtype)[None, :]
    top = values[..., r0, :]
    bottom = values[..., r1, :]
    rows = top + (bottom - top) * wr if np.all(np.isfinite(values)) else _blend(top, bottom, wr)
    left = rows[..., c0]
    right = rows[..., c1]
    out = left + (right - left) * wc if np.all(np.isfinite(rows)) else _blend(left, right, wc)
    return np.moveaxis(out, (-2, -1), (row_axis, row_axis + 1))


def _blend(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(1 - w) a + w b where a zero weight ignores its side, so that infinity (a clamped or
    unclamped sky) stays where it is instead of turning its neighbours into NaN."""
    with np.errstate(invalid="ignore"):
        mixed = a + (b - a) * weight
    mixed = np.where((weight == 0) | (a == b), a, mixed)
    return np.where(weight == 1, b, mixed)


def resize_depth(depth: NDArray[np.floating], size: tuple[int, int]) -> NDArray[np.floating]:
    """Depth maps (..., H, W) resized bilinearly; float32 (float64 stays float64).

    Example:
        >>> resize_depth(np.array([[1.0, 3.0]], np.float32), (1, 4)).tolist()
        [[1.0, 1.5, 2.5, 3.0]]
    """
    array = _check(depth, "depth", (-2, -1))
    if array.dtype.kind not in "fiu":
        raise InvalidTypeError(f"depth must be a real array, got {array.dtype}")
    return _bilinear(array, _size(size), array.ndim - 2)


@overload
def resize_normals(
    normals: NDArray[np.floating], size: tuple[int, int], valid: None = None
) -> NDArray[np.floating]: ...
@overload
def resize_normals(
    normals: NDArray[np.floating], size: tuple[int, int], valid: NDArray[np.bool_]
) -> tuple[NDArray[np.floating], NDArray[np.bool_]]: ...
@overload
def resize_normals(
    normals: NDArray[np.floating], size: tuple[int, int], valid: NDArray[np.bool_] | None
) -> NDArray[np.floating] | tuple[NDArray[np.floating], NDArray[np.bool_]]: ...


def resize_normals(
    normals: NDArray[np.floating], size: tuple[int, int], valid: NDArray[np.bool_] | None = None
) -> NDArray[np.floating] | tuple[NDArray[np.floating], NDArray[np.bool_]]:
    """Normal maps (..., H, W, 3) resized bilinearly, then scaled back to unit length.

    With ``valid`` (the mask from :func:`decode_normals`), invalid pixels take no part in the
    blend, and the mask is resized too (nearest); the result is then ``(normals, valid)``.

    Example:
        >>> n = np.array([[[1.0, 0, 0], [0, 1.0, 0]]])
        >>> resize_normals(n, (1, 3))[0, 1].round(3).tolist()
        [0.707, 0.707, 0.0]
    """
    array = _check(normals, "normals", (-3, -2))
    if array.shape[-1] != 3:
        raise InvalidArgumentError(f"normals must have shape (..., H, W, 3), got {array.shape}")
    target = _size(size)
    weights = None
    if valid is not None:
        if not isinstance(valid, np.ndarray) or valid.shape != array.shape[:-1]:
            raise InvalidArgumentError(
                f"valid must be a bool array of shape {array.shape[:-1]}, got "
                f"{getattr(valid, 'shape', type(valid).__name__)}"
            )
        weights = valid.astype(np.float32)[..., None]
        array = array * weights
    blended = _bilinear(array, target, array.ndim - 3)
    norm = np.linalg.norm(blended, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(norm > 0, blended / norm, 0)
    unit = unit.astype(blended.dtype, copy=False)
    if valid is None:
        return unit
    resized_valid = resize_labels(valid, target)
    unit[~resized_valid] = 0
    return unit, resized_valid
