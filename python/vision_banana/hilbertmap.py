"""Drop-in replacement for the ``hilbertmap`` package's codec functions, in Rust.

``import vision_banana.hilbertmap as hilbertmap`` changes nothing but the speed: the same
functions, signatures, defaults and dtypes (float RGB in [0, 1], float64 out), and the same numbers
(the projection follows hilbertmap's arithmetic step by step). One difference on purpose: ``lam``
and ``c`` outside the transform's domain (lam >= -1, c <= 0) raise ``InvalidArgumentError`` instead
of returning meaningless numbers. float32 input keeps float32 where hilbertmap does, but is
computed in float64 and rounded once, so it can differ from hilbertmap's float32 arithmetic by
float32 rounding (a few 1e-7).

The matplotlib helpers of hilbertmap (``cmap``, ``Norm``, ``colorbar``) are not reproduced.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from . import _core
from ._arrays import as_colors, native, to_3d, to_4d

__all__ = [
    "depth_to_normalized",
    "depth_to_rgb",
    "normalized_to_depth",
    "project",
    "rgb_to_depth",
    "walk",
]


def _transform(x: Any, lam: float, c: float, inverse: bool) -> float | NDArray[np.floating]:
    array = np.asarray(x)
    # numpy keeps float32 (and float16) with a Python float scalar; everything else is float64.
    dtype = np.float32 if array.dtype in (np.float16, np.float32) else np.float64
    out = _core.power_transform(
        native(array.astype(dtype, copy=False)), float(lam), float(c), inverse
    )
    if array.dtype == np.float16:
        out = out.astype(np.float16)
    if out.ndim == 0:
        # Python numbers give a Python float, numpy scalars a numpy scalar, as numpy does.
        return float(out) if type(x) in (int, float) else out[()]
    return out


# A number gives a number (a Python float, or the numpy scalar's type), an array an array.
@overload
def depth_to_normalized(depth: float, lam: float = ..., c: float = ...) -> float: ...
@overload
def depth_to_normalized(
    depth: NDArray[Any], lam: float = ..., c: float = ...
) -> NDArray[np.floating]: ...


def depth_to_normalized(
    depth: float | NDArray[Any], lam: float = -3.0, c: float = 10.0 / 3.0
) -> float | NDArray[np.floating]:
    """Apply the forward power transform: metric depth in [0, inf) to scalar in [0, 1)."""
    return _transform(depth, lam, c, inverse=False)


@overload
def normalized_to_depth(f: float, lam: float = ..., c: float = ...) -> float: ...
@overload
def normalized_to_depth(
    f: NDArray[Any], lam: float = ..., c: float = ...
) -> NDArray[np.floating]: ...


def normalized_to_depth(
    f: float | NDArray[Any], lam: float = -3.0, c: float = 10.0 / 3.0
) -> float | NDArray[np.floating]:
    """Apply the inverse power transform: scalar in [0, 1) back to metric depth in [0, inf)."""
    return _transform(f, lam, c, inverse=True)


def walk(f: NDArray[np.floating]) -> NDArray[np.floating]:
    """Sample RGB along the cube walk at scalar positions f in [0, 1]: float64 (..., 3)."""
    values = native(np.asarray(f, dtype=np.float64))
    rgb, _ = _core.encode_depth(to_3d(values), None, 0.0, "cube_walk", "float64", None)
    return rgb.reshape((*values.shape, 3))


def project(rgb: NDArray[np.floating]) -> NDArray[np.floating]:
    """Project RGB samples onto the cube walk and return scalar positions in [0, 1]: float64."""
    colors = as_colors(np.asarray(rgb, dtype=np.float64), check_dtype=False)
    f, _ = _core.project(to_4d(colors[..., :3]), "cube_walk", False)
    f = f.reshape(colors.shape[:-1])
    return f[()] if f.ndim == 0 else f


def depth_to_rgb(
    depth: NDArray[np.floating], lam: float = -3.0, c: float = 10.0 / 3.0
) -> NDArray[np.floating]:
    """Encode metric depth as an RGB image along the cube walk: float64 (..., 3) in [0, 1]."""
    return walk(depth_to_normalized(depth, lam=lam, c=c))


def rgb_to_depth(
    rgb: NDArray[np.floating], lam: float = -3.0, c: float = 10.0 / 3.0
) -> NDArray[np.floating]:
    """Decode an RGB image back to metric depth by inverting the cube walk: float64 (...)."""
    return normalized_to_depth(project(rgb), lam=lam, c=c)
