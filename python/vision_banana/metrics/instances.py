"""Instance segmentation: mask IoU, and SA-Co's pmF1, IL_MCC and cgF1 (SAM 3)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _core
from .._arrays import to_3d
from ..errors import InvalidArgumentError
from ._common import _Accumulator, _array, _masks

#: IoU thresholds of pmF1: 0.50, 0.55, ..., 0.95.
IOU_THRESHOLDS: NDArray[np.float64] = np.linspace(0.5, 0.95, 10)


def true_positives(matched: NDArray[np.float64]) -> NDArray[np.int64]:
    """How many matched pairs reach each of `IOU_THRESHOLDS`: (10,) int64.

    Example:
        >>> true_positives(np.array([0.5, 0.8])).tolist()
        [2, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    """
    counts: NDArray[np.int64] = (
        (np.asarray(matched)[None, :] >= IOU_THRESHOLDS[:, None]).sum(axis=1).astype(np.int64)
    )
    return counts


def mask_iou(a: Any, b: Any) -> NDArray[np.float64]:
    """IoU matrix of two stacks of masks: (P, H, W) and (G, H, W) -> (P, G) float64.

    Masks are boolean or numeric (nonzero inside); a single (H, W) mask counts as a stack of one.
    Two empty masks have IoU 0, as in pycocotools' ``mask.iou``.

    Example:
        >>> a = np.zeros((1, 4, 4), bool); a[0, :2] = True
        >>> b = np.zeros((2, 4, 4), bool); b[0, :1] = True
        >>> mask_iou(a, b)
        array([[0.5, 0. ]])
    """
    a, b = _masks(a, "a"), _masks(b, "b")
    for name, x in (("a", a), ("b", b)):
        if x.ndim not in (2, 3):
            raise InvalidArgumentError(
                f"{name} must be a stack of masks (K, H, W) or one mask (H, W), got {x.shape}"
            )
    return _core.mask_iou(to_3d(a), to_3d(b))


class InstanceMetric(_Accumulator):
    """pmF1, IL_MCC and cgF1 of SA-Co (SAM 3), from hard masks.

    Definitions of ``DemoEval`` in facebookresearch/sam3 (``sam3/eval/demo_eval.py``), its
    "positive micro" variant, which is what the paper calls pmF1:

    - per image, predictions and ground truth are matched one-to-one maximising the total mask IoU
      (Hungarian algorithm, once); at each IoU threshold t in 0.50:0.05:0.95 the matched pairs with
      IoU >= t are true positives, other predictions false positives, other ground truths false
      negatives;
    - pmF1 = mean over t of 2 TP_t / (2 TP_t + FP_t + FN_t), the counts summed over the positive
      images (with at least one ground-truth mask); NaN without positive images;
    - IL_MCC = Matthews correlation of "the image has a ground-truth mask" against "the image has a
      prediction" over all images (0 when undefined);
    - cgF1 = 100 pmF1 IL_MCC.

    sam3 adds 1e-4 / 1e-6 to the denominators; we do not (results differ by < 1e-3 relative).

    ``update(pred, gt, valid=None)``: one image's stacks of masks, pred (P, H, W) and gt (G, H, W),
    P or G possibly 0, each a bool (or numeric, nonzero inside) array or an
    :class:`~vision_banana.instances.Instances` (its ``masks()``); or two sequences of such stacks
    (a batch). ``valid`` (H, W) removes pixels from every mask of the image.

    Example:
        >>> gt = np.zeros((1, 4, 4), bool); gt[0, :2] = True
        >>> m = InstanceMetric()
        >>> m.update(gt.copy(), gt)
        >>> m.update(np.zeros((0, 4, 4), bool), np.zeros((0, 4, 4), bool))
        >>> m.compute()
        {'pmf1': 1.0, 'il_mcc': 1.0, 'cgf1': 100.0}
    """

    _state = ("tp", "fp", "fn", "il_tp", "il_fp", "il_tn", "il_fn")

    def __init__(self) -> None:
        zeros = np.zeros(len(IOU_THRESHOLDS), np.int64)
        self.tp, self.fp, self.fn = zeros.copy(), zeros.copy(), zeros.copy()
        self.il_tp = self.il_fp = self.il_tn = self.il_fn = 0

    def update(self, pred: Any, gt: Any, valid: Any = None) -> None:
        if not isinstance(pred, np.ndarray) and isinstance(pred, Sequence):
            if not isinstance(gt, Sequence) or len(gt) != len(pred):
                got = f"{len(gt)} entries" if isinstance(gt, Sequence) else type(gt).__name__
                raise InvalidArgumentError(
                    f"gt must be a sequence of the same length as pred when pred is a batch: "
                    f"{len(pred)} images, got {got}"
                )
            if valid is None:
                valid = [None] * len(pred)
            elif isinstance(valid, np.ndarray) and valid.ndim == 2:
                raise InvalidArgumentError(
                    "valid must be a sequence of (H, W) masks, one per image, when pred is a batch"
                )
            if len(valid) != len(pred):
                raise InvalidArgumentError(
                    f"valid must have one mask (or None) per image of the batch: {len(pred)} "
                    f"images, got {len(valid)}"
                )
            for p, g, v in zip(pred, gt, valid, strict=True):
                self.update(p, g, v)
            return
        pred, gt = _masks(pred, "pred"), _masks(gt, "gt")
        if pred.ndim != 3 or gt.ndim != 3 or pred.shape[1:] != gt.shape[1:]:
            raise InvalidArgumentError(
                f"pred and gt must be stacks of masks (P, H, W) and (G, H, W) of one image, "
                f"got {pred.shape} and {gt.shape}"
            )
        if valid is not None:
            valid = _array(valid, "valid")
            if valid.dtype != np.bool_ or valid.shape != gt.shape[1:]:
                raise InvalidArgumentError(
                    f"valid must be a boolean (H, W) mask of shape {gt.shape[1:]}, "
                    f"got {valid.dtype} {valid.shape}"
                )
            pred, gt = pred & valid.view(np.uint8), gt & valid.view(np.uint8)
        p, g = len(pred), len(gt)
        matched = np.zeros(0)
        if p and g:
            iou = _core.mask_iou(pred, gt)
            rows, cols = _core.max_weight_matching(iou)
            matched = iou[rows, cols]
        self.add_image(p, g, matched)

    def add_image(self, predictions: int, truths: int, matched: NDArray[np.float64]) -> None:
        """Adds one image already matched: its numbers of predictions and ground-truth masks,
        and the IoU of each matched pair (at most ``min(predictions, truths)`` values)."""
        p, g = predictions, truths
        self.il_tp += p > 0 and g > 0
        self.il_fp += p > 0 and g == 0
        self.il_tn += p == 0 and g == 0
        self.il_fn += p == 0 and g > 0
        if g == 0:
            return  # a negative image: no positive-micro counts
        tp = true_positives(matched)
        self.tp += tp
        self.fp += p - tp
        self.fn += g - tp

    def compute(self) -> dict[str, float]:
        denominator = 2 * self.tp + self.fp + self.fn
        if self.il_tp + self.il_fn == 0:
            pmf1 = math.nan
        else:
            f1 = np.where(denominator > 0, 2 * self.tp / np.maximum(denominator, 1), 0.0)
            pmf1 = float(f1.mean())
        tp, fp, tn, fn = self.il_tp, self.il_fp, self.il_tn, self.il_fn
        scale = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        il_mcc = (tp * tn - fp * fn) / scale if scale else 0.0
        return {"pmf1": pmf1, "il_mcc": il_mcc, "cgf1": 100.0 * pmf1 * il_mcc}
