"""What every metric accumulator shares: argument checks and the merge/pickle plumbing."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._arrays import as_array, native, to_3d
from ..errors import InvalidArgumentError, InvalidTypeError
from ..instances import Instances


def _array(x: Any, name: str) -> np.ndarray:
    """`x` as a numpy array: arrays of other libraries without a copy where they are on the CPU
    (`as_array`), sequences converted."""
    x = as_array(x, name)
    if not isinstance(x, np.ndarray):
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise InvalidTypeError(f"{name} must be a numpy array, got {type(x).__name__}")
        x = np.asarray(x)
    return native(x)


def _same_shape(
    pred: np.ndarray, gt: np.ndarray, valid: Any, channels: int | None = None
) -> np.ndarray | None:
    """Checks that pred and gt match, and valid (if any) matches them without the channel axis."""
    if pred.shape != gt.shape:
        raise InvalidArgumentError(
            f"pred and gt must have the same shape, got {pred.shape} and {gt.shape}"
        )
    image_dims = 3 if channels else 2
    if pred.ndim not in (image_dims, image_dims + 1):
        kind = "(H, W, 3) or (N, H, W, 3)" if channels else "(H, W) or (N, H, W)"
        raise InvalidArgumentError(f"pred and gt must have shape {kind}, got {pred.shape}")
    if channels and pred.shape[-1] != channels:
        raise InvalidArgumentError(
            f"pred and gt must have {channels} channels on their last axis, got {pred.shape}"
        )
    if valid is None:
        return None
    valid = _array(valid, "valid")
    if valid.dtype != np.bool_:
        raise InvalidTypeError(f"valid must be a boolean array, got dtype {valid.dtype}")
    pixels = pred.shape[:-1] if channels else pred.shape
    if valid.shape != pixels:
        raise InvalidArgumentError(
            f"valid must have the shape of the pixels of gt, {pixels}, got {valid.shape}"
        )
    return to_3d(valid)


def _masks(x: Any, name: str) -> NDArray[np.uint8]:
    """Binary masks as 0/1 bytes without a copy for bool arrays; `Instances` give their masks
    (K, H, W) in id order."""
    if isinstance(x, Instances):
        return x.masks().view(np.uint8)
    array = _array(x, name)
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    if array.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{name} must be a boolean or numeric mask, got dtype {array.dtype}")
    inside: NDArray[np.bool_] = array != 0
    return inside.view(np.uint8)


def _float_pair(pred: Any, gt: Any, integers: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """pred and gt as float32 (both float32) or float64 arrays. ``integers``: None to accept
    integer arrays, or the advice for refusing them (their unit is ambiguous)."""
    pred, gt = _array(pred, "pred"), _array(gt, "gt")
    for name, x in (("pred", pred), ("gt", gt)):
        if x.dtype.kind not in "fiu":
            raise InvalidTypeError(f"{name} must be a real-valued array, got dtype {x.dtype}")
        if integers is not None and x.dtype.kind in "iu":
            raise InvalidTypeError(f"{name} is an integer array ({x.dtype}): {integers}")
    dtype = np.float32 if pred.dtype == gt.dtype == np.float32 else np.float64
    return pred.astype(dtype, copy=False), gt.astype(dtype, copy=False)


def _choice(value: Any, name: str, options: Sequence[Any]) -> Any:
    if value not in options:
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}"
        )
    return value


class _Accumulator:
    """Shared plumbing: the state is the instance's attributes, listed in ``_state``."""

    _state: tuple[str, ...] = ()
    _params: tuple[str, ...] = ()

    def merge(self, other: _Accumulator) -> _Accumulator:
        """Adds the data of ``other`` (same class and parameters) to this one; returns self."""
        if type(other) is not type(self):
            raise InvalidTypeError(
                f"other must be a {type(self).__name__}, got {type(other).__name__}"
            )
        for p in self._params:
            if getattr(self, p) != getattr(other, p):
                raise InvalidArgumentError(
                    f"other must have the same {p} ({getattr(self, p)!r}), "
                    f"got {getattr(other, p)!r}"
                )
        for s in self._state:
            setattr(self, s, getattr(self, s) + getattr(other, s))
        return self

    def __add__(self, other: _Accumulator) -> _Accumulator:
        return copy.deepcopy(self).merge(other)

    def __repr__(self) -> str:
        params = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({params})"
