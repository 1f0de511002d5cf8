"""Surface normals: angular errors in degrees, mean, median and threshold shares (DSINE)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .. import _core
from .._arrays import to_4d
from ._common import _Accumulator, _choice, _float_pair, _same_shape

_NORMAL_THRESHOLDS = ("a5", "a7_5", "a11_25", "a22_5", "a30")
_HISTOGRAM_BINS_PER_DEGREE = 1000
_HISTOGRAM_BINS = 180 * _HISTOGRAM_BINS_PER_DEGREE + 1
_NORMAL_KEYS = ("mean", "median", "rmse", *_NORMAL_THRESHOLDS)


class NormalMetric(_Accumulator):
    """Angular error of surface normals in degrees, as DSINE's ``compute_normal_error``.

    error = degrees(acos(clip(p.g / (|p| |g|), -1, 1))) at pixels where ``valid`` and the ground
    truth is a nonzero finite vector (zero vectors mark missing normals, as in NYUv2); a zero or NaN
    prediction counts as 180 degrees. Reported: mean, median, rmse = sqrt(mean error^2), and the
    percentages (0-100, as DSINE prints them) of errors below 5, 7.5, 11.25, 22.5 and 30 degrees.

    Args:
        averaging: "pixel" (pooled over every valid pixel of the dataset, as DSINE) or "image"
            (each metric per image, then the mean over images, as Marigold). Both are kept;
            ``compute(averaging=...)`` picks.

    Medians: per image exact (numpy's median). Over a dataset ("pixel") the median comes from a
    histogram of every error in bins of 0.001 degree (180 001 int64, 1.4 MB of state), read with
    linear interpolation inside the bin: within 0.001 degree of the exact median, with fixed-size
    state that merges by addition, where keeping every error would grow with the dataset.

    ``update(pred, gt, valid=None)``: normal maps (H, W, 3) or (N, H, W, 3), any float or integer
    dtype, need not be unit vectors; ``valid`` (H, W) or (N, H, W) boolean.

    Example:
        >>> m = NormalMetric()
        >>> m.update(np.array([[[0.0, 0, 1], [0, 1, 1]]]), np.array([[[0.0, 0, 1], [0, 0, 1]]]))
        >>> {k: round(v, 3) for k, v in m.compute().items() if k in ("mean", "a30")}
        {'mean': 22.5, 'a30': 50.0}
    """

    _state = ("histogram", "pooled", "image_sums", "images")
    _params = ()

    def __init__(self, averaging: Literal["pixel", "image"] = "pixel") -> None:
        self.averaging = _choice(averaging, "averaging", ("pixel", "image"))
        self.histogram = np.zeros(_HISTOGRAM_BINS, np.int64)
        self.pooled = np.zeros(8)
        self.image_sums = np.zeros(len(_NORMAL_KEYS))
        self.images = 0

    def update(self, pred: Any, gt: Any, valid: Any = None) -> None:
        pred, gt = _float_pair(pred, gt)
        valid3 = _same_shape(pred, gt, valid, channels=3)
        stats = _core.normal_errors(to_4d(pred), to_4d(gt), valid3, self.histogram)
        self.pooled += stats[:, :8].sum(axis=0)
        stats = stats[stats[:, 0] > 0]
        c = stats[:, 0]
        per_image = [stats[:, 1] / c, stats[:, 8], np.sqrt(stats[:, 2] / c)]
        per_image += [100 * stats[:, 3 + i] / c for i in range(len(_NORMAL_THRESHOLDS))]
        self.image_sums += np.array([x.sum() for x in per_image])
        self.images += len(stats)

    def _pooled_median(self) -> float:
        cumulative = np.cumsum(self.histogram)
        count = int(cumulative[-1])

        def at(rank: int) -> float:
            b = int(np.searchsorted(cumulative, rank, side="right"))
            below = cumulative[b - 1] if b else 0
            bin_position = b + (rank - below + 0.5) / self.histogram[b]
            return float(bin_position / _HISTOGRAM_BINS_PER_DEGREE)

        return 0.5 * (at((count - 1) // 2) + at(count // 2))

    def compute(self, averaging: Literal["pixel", "image"] | None = None) -> dict[str, float]:
        averaging = _choice(averaging or self.averaging, "averaging", ("pixel", "image"))
        if averaging == "image":
            if not self.images:
                return dict.fromkeys(_NORMAL_KEYS, math.nan)
            return {
                k: float(v / self.images)
                for k, v in zip(_NORMAL_KEYS, self.image_sums, strict=True)
            }
        c = self.pooled[0]
        if not c:
            return dict.fromkeys(_NORMAL_KEYS, math.nan)
        values = [self.pooled[1] / c, self._pooled_median(), math.sqrt(self.pooled[2] / c)]
        values += [100 * self.pooled[3 + i] / c for i in range(len(_NORMAL_THRESHOLDS))]
        return {k: float(v) for k, v in zip(_NORMAL_KEYS, values, strict=True)}


def normal_metrics(pred: Any, gt: Any, valid: Any = None, **options: Any) -> dict[str, float]:
    """``NormalMetric(**options)`` over one normal map or batch."""
    metric = NormalMetric(**options)
    metric.update(pred, gt, valid)
    return metric.compute()
