"""Referring and reasoning segmentation: cIoU and gIoU of binary masks (RefCOCOg, ReasonSeg)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _core
from .._arrays import to_3d
from ._common import _Accumulator, _masks, _same_shape


class ReferringMetric(_Accumulator):
    """cIoU and gIoU of binary masks, as in the LISA / ReasonSeg evaluation.

    cIoU = (sum of intersections) / (sum of unions) over the set (NaN when every union is empty);
    gIoU = mean over images of intersection / union, an image with an empty union (nothing to find,
    nothing found) counting as 1.

    ``update(pred, gt, valid=None)``: masks (H, W) or a batch (N, H, W), boolean or numeric
    (nonzero inside); pixels outside ``valid`` count nowhere.

    Example:
        >>> m = ReferringMetric()
        >>> m.update(np.array([[1, 1], [0, 0]]), np.array([[1, 0], [0, 0]]))
        >>> m.compute()
        {'ciou': 0.5, 'giou': 0.5}
    """

    _state = ("intersection", "union", "iou_sum", "images")

    def __init__(self) -> None:
        self.intersection = 0
        self.union = 0
        self.iou_sum = 0.0
        self.images = 0

    def update(self, pred: Any, gt: Any, valid: Any = None) -> None:
        pred, gt = _masks(pred, "pred"), _masks(gt, "gt")
        valid3 = _same_shape(pred, gt, valid)
        counts = _core.intersection_union(to_3d(pred), to_3d(gt), valid3)
        inter, union = counts[:, 0], counts[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        self.intersection += int(inter.sum())
        self.union += int(union.sum())
        self.iou_sum += float(iou.sum())
        self.images += len(counts)

    def compute(self) -> dict[str, float]:
        return {
            "ciou": self.intersection / self.union if self.union else math.nan,
            "giou": self.iou_sum / self.images if self.images else math.nan,
        }


def referring_metrics(pred: Any, gt: Any, valid: Any = None) -> dict[str, float]:
    """``ReferringMetric`` over one mask or batch: ciou, giou."""
    metric = ReferringMetric()
    metric.update(pred, gt, valid)
    return metric.compute()
