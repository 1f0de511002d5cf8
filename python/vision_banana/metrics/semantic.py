"""Semantic segmentation: the confusion matrix, per-class IoU and mIoU (Cityscapes)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _core
from .._arrays import defect_position, to_3d
from ..errors import InvalidArgumentError, InvalidTypeError
from ._common import _Accumulator, _array, _same_shape

_LABEL_DTYPES = (np.uint8, np.uint16, np.int32, np.int64)


class SemanticMetric(_Accumulator):
    """Per-class IoU, mIoU and pixel accuracy from a confusion matrix summed over the dataset.

    As in mmsegmentation (``IoUMetric``) and the Cityscapes scripts: IoU_c = TP / (TP + FP + FN)
    over all pixels of the dataset; classes absent from both predictions and ground truth (empty
    union) are NaN and excluded from the mean; pixel accuracy = correct / labelled pixels.
    Ground-truth pixels equal to ``ignore_index`` (or outside ``valid``) are skipped; other
    ground-truth labels outside [0, num_classes) are an error; predictions outside that range are
    wrong for every class.

    Args:
        num_classes: number of classes C (19 for Cityscapes).
        ignore_index: ground-truth label of unlabelled pixels.

    ``update(pred, gt, valid=None)``: integer label maps (H, W) or (N, H, W); ``valid`` a boolean
    mask of the same shape. ``confusion`` holds the (C, C + 1) int64 counts, rows ground truth,
    columns prediction, the last column counting predictions outside [0, C).

    Example:
        >>> m = SemanticMetric(2)
        >>> m.update(np.array([[0, 0], [1, 1]]), np.array([[0, 1], [1, 1]]))
        >>> r = m.compute()
        >>> round(r["miou"], 3), r["iou"].round(3), r["pixel_accuracy"]
        (0.583, array([0.5  , 0.667]), 0.75)
    """

    _state = ("confusion",)
    _params = ("num_classes", "ignore_index")

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        for name, value in (("num_classes", num_classes), ("ignore_index", ignore_index)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidTypeError(f"{name} must be an integer, got {type(value).__name__}")
        if not 1 <= num_classes <= 65536:
            raise InvalidArgumentError(f"num_classes must be in [1, 65536], got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.confusion = np.zeros((self.num_classes, self.num_classes + 1), np.int64)

    def update(self, pred: Any, gt: Any, valid: Any = None) -> None:
        pred, gt = _array(pred, "pred"), _array(gt, "gt")
        for name, x in (("pred", pred), ("gt", gt)):
            if x.dtype.kind not in "iu":
                raise InvalidTypeError(f"{name} must be an integer label map, got {x.dtype}")
        valid3 = _same_shape(pred, gt, valid)
        if not (pred.dtype == gt.dtype and pred.dtype in _LABEL_DTYPES):
            pred, gt = pred.astype(np.int64), gt.astype(np.int64)
        counts, (bad, first, value) = _core.confusion_matrix(
            to_3d(pred), to_3d(gt), valid3, self.num_classes, self.ignore_index
        )
        if bad:
            where = defect_position(first, gt.shape)
            raise InvalidArgumentError(
                f"gt has {bad} label(s) outside [0, {self.num_classes}) that are not "
                f"ignore_index ({self.ignore_index}); the first, at {where}, is {value:g}"
            )
        self.confusion += counts

    def compute(self) -> dict[str, Any]:
        cm = self.confusion
        tp = np.diag(cm[:, : self.num_classes]).astype(np.float64)
        union = cm.sum(axis=1) + cm[:, : self.num_classes].sum(axis=0) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
        present = ~np.isnan(iou)
        total = cm.sum()
        return {
            "miou": float(iou[present].mean()) if present.any() else math.nan,
            "iou": iou,
            "pixel_accuracy": float(tp.sum() / total) if total else math.nan,
        }


def semantic_metrics(
    pred: Any, gt: Any, num_classes: int, ignore_index: int = 255, valid: Any = None
) -> dict[str, Any]:
    """``SemanticMetric`` over one label map or batch: miou, iou, pixel_accuracy."""
    metric = SemanticMetric(num_classes, ignore_index)
    metric.update(pred, gt, valid)
    return metric.compute()
