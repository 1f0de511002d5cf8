"""Pictures that show decoded results to a person (previews), shared by the pipeline and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .depth import walk
from .instances import encode_instances
from .normals import encode_normals

_GREY = (128, 128, 128)


def as_uint8(picture: np.ndarray) -> np.ndarray:
    """An (H, W, C) picture as (H, W, 3) uint8 for display."""
    shown: np.ndarray = picture[..., :3]
    if shown.dtype == np.uint8:
        return shown
    # numpy's stubs type arithmetic on an array of unknown dtype as Any.
    scaled = shown >> 8 if shown.dtype == np.uint16 else np.rint(np.clip(shown, 0, 1) * 255)
    display: np.ndarray = scaled.astype(np.uint8)
    return display


def depth_shade(depth: np.ndarray) -> np.ndarray:
    """Depth drawn with viridis on inverse depth (near is bright)."""
    finite = depth[np.isfinite(depth)]
    near = float(np.percentile(finite, 1)) if finite.size else 0.0
    inverse = 1.0 / np.maximum(depth, 1e-3)
    top = 1.0 / max(near, 1e-3)
    return walk(np.clip(np.nan_to_num(inverse / top), 0.0, 1.0), dtype=np.uint8, colormap="viridis")


def normals_shade(normals: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Normals in the paper's colours; invalid pixels grey."""
    vectors = normals if valid is None else np.where(valid[..., None], normals, 0)
    return encode_normals(vectors, invalid=_GREY)


def labels_shade(
    labels: np.ndarray, colors: Sequence[Sequence[float]], background: Sequence[int]
) -> np.ndarray:
    """A label map painted with its class colours; every other label in ``background``."""
    table = np.zeros((max(int(labels.max(initial=0)) + 1, len(colors)), 3), np.uint8)
    table[:] = background
    table[: len(colors)] = np.rint(np.asarray(colors, np.float64).reshape(-1, 3)).astype(np.uint8)
    painted: np.ndarray = table[labels]
    return painted


def masks_shade(
    masks: np.ndarray, colors: Sequence[Sequence[float]], background: Sequence[int]
) -> np.ndarray:
    """(K, H, W) masks painted in their colours (later masks on top) on ``background``."""
    out = np.empty((*masks.shape[1:], 3), np.uint8)
    out[...] = background
    for mask, color in zip(masks, colors, strict=True):
        out[mask] = np.rint(color).astype(np.uint8)
    return out


def ids_shade(ids: np.ndarray) -> np.ndarray:
    """An instance-id map in distinct colours on black."""
    return encode_instances(ids)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two pictures of the same height side by side."""
    return np.concatenate([as_uint8(left), as_uint8(right)], axis=1)
