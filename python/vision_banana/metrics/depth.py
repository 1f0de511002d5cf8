"""Metric depth: delta thresholds, AbsRel and the other standard errors."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .. import _core
from .._arrays import check_number, to_3d
from ..errors import InvalidArgumentError
from ._common import _Accumulator, _choice, _float_pair, _same_shape

_METRES = (
    "depth must be float metres; convert it first, e.g. depth / 1000 for millimetres (NYUv2) "
    "or depth / 256 for KITTI's 16-bit PNGs"
)
_DEPTH_KEYS = (
    "delta1",
    "delta2",
    "delta3",
    "abs_rel",
    "sq_rel",
    "rmse",
    "rmse_log",
    "log10",
    "silog",
)


def _align(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """One image's prediction aligned to its ground truth over ``mask``: by the ratio of medians,
    or by the least-squares scale and shift."""
    p, g = pred[mask].astype(np.float64), gt[mask].astype(np.float64)
    if p.size == 0:
        return pred
    if how == "median":
        scale, shift = np.median(g) / np.median(p), 0.0
    else:
        design = np.stack([p, np.ones_like(p)], axis=1)
        (scale, shift), *_ = np.linalg.lstsq(design, g, rcond=None)
    aligned: np.ndarray = (pred * scale + shift).astype(pred.dtype)
    return aligned


def _depth_from_sums(s: np.ndarray) -> dict[str, float]:
    """The nine metrics from the ten sums of ``_core.depth_sums`` (last axis)."""
    c = s[..., 0]
    mean_d, mean_d2 = s[..., 8] / c, s[..., 7] / c
    values = (
        s[..., 1] / c,
        s[..., 2] / c,
        s[..., 3] / c,
        s[..., 4] / c,
        s[..., 5] / c,
        np.sqrt(s[..., 6] / c),
        np.sqrt(mean_d2),
        s[..., 9] / c / math.log(10),
        np.sqrt(np.maximum(mean_d2 - mean_d**2, 0.0)) * 100,
    )
    return dict(zip(_DEPTH_KEYS, values, strict=True))


class DepthMetric(_Accumulator):
    """The standard metric-depth errors, as ``compute_errors`` of ZoeDepth / Depth Anything.

    Over pixels where ``valid`` and min_depth < gt < max_depth, predictions clipped to [min_depth,
    max_depth] (NaN counting as min_depth), with p the prediction, g the ground truth and
    d = ln p - ln g:

    - delta_k = share of max(p / g, g / p) < 1.25^k (a fraction, not a percentage);
    - abs_rel = mean |g - p| / g, sq_rel = mean (g - p)^2 / g;
    - rmse = sqrt(mean (g - p)^2), rmse_log = sqrt(mean d^2);
    - log10 = mean |log10 g - log10 p|;
    - silog = 100 sqrt(mean d^2 - (mean d)^2).

    Args:
        min_depth, max_depth: the evaluated ground-truth range in metres (max_depth None: no limit).
        alignment: None (metric depth, the paper's setting), "median" (scale by the ratio of
            medians) or "least_squares" (scale and shift fitted to the ground truth), per image over
            the evaluated pixels, for relative-depth predictions.
        averaging: "image" (each metric per image, then the mean over images with at least one
            evaluated pixel, as ZoeDepth and Depth Anything report) or "pixel" (pooled over all
            evaluated pixels of the dataset). Both are kept; ``compute(averaging=...)`` picks.

    ``update(pred, gt, valid=None)``: depth maps (H, W) or (N, H, W), float, in metres. Integer
    maps are refused: they are stored in a dataset's own unit (NYUv2 in millimetres, KITTI in
    1/256 m), so convert first, e.g. ``gt / 1000`` or ``gt / 256``.

    Example:
        >>> m = DepthMetric()
        >>> m.update(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]))
        >>> round(m.compute()["abs_rel"], 3), m.compute()["delta1"]
        (0.25, 0.5)
    """

    _state = ("pooled", "image_sums", "images")
    _params = ("min_depth", "max_depth", "alignment")

    def __init__(
        self,
        min_depth: float = 1e-3,
        max_depth: float | None = None,
        alignment: Literal["median", "least_squares"] | None = None,
        averaging: Literal["image", "pixel"] = "image",
    ) -> None:
        self.min_depth = check_number(min_depth, "min_depth", above=0)
        self.max_depth = None if max_depth is None else check_number(max_depth, "max_depth")
        if self.max_depth is not None and self.max_depth <= self.min_depth:
            raise InvalidArgumentError(
                f"max_depth must be above min_depth ({self.min_depth:g}), got {self.max_depth:g}"
            )
        self.alignment = _choice(alignment, "alignment", (None, "median", "least_squares"))
        self.averaging = _choice(averaging, "averaging", ("image", "pixel"))
        self.pooled = np.zeros(10)
        self.image_sums = np.zeros(len(_DEPTH_KEYS))
        self.images = 0

    def update(self, pred: Any, gt: Any, valid: Any = None) -> None:
        pred, gt = _float_pair(pred, gt, integers=_METRES)
        valid3 = _same_shape(pred, gt, valid)
        pred3, gt3 = to_3d(pred), to_3d(gt)
        top = math.inf if self.max_depth is None else self.max_depth
        if self.alignment is not None:
            mask = (gt3 > self.min_depth) & (gt3 < top)
            if valid3 is not None:
                mask &= valid3
            pred3 = np.stack(
                [_align(*x, self.alignment) for x in zip(pred3, gt3, mask, strict=True)]
            )
        sums = _core.depth_sums(pred3, gt3, valid3, self.min_depth, top)
        self.pooled += sums.sum(axis=0)
        sums = sums[sums[:, 0] > 0]
        self.image_sums += np.array(list(_depth_from_sums(sums).values())).sum(axis=1)
        self.images += len(sums)

    def compute(self, averaging: Literal["image", "pixel"] | None = None) -> dict[str, float]:
        averaging = _choice(averaging or self.averaging, "averaging", ("image", "pixel"))
        if averaging == "pixel":
            if not self.pooled[0]:
                return dict.fromkeys(_DEPTH_KEYS, math.nan)
            return {k: float(v) for k, v in _depth_from_sums(self.pooled).items()}
        if not self.images:
            return dict.fromkeys(_DEPTH_KEYS, math.nan)
        return {
            k: float(v / self.images) for k, v in zip(_DEPTH_KEYS, self.image_sums, strict=True)
        }


def depth_metrics(pred: Any, gt: Any, valid: Any = None, **options: Any) -> dict[str, float]:
    """``DepthMetric(**options)`` over one depth map or batch."""
    metric = DepthMetric(**options)
    metric.update(pred, gt, valid)
    return metric.compute()
