"""The benchmark metrics of the paper (SPEC.md section 7), as dataset accumulators.

Each metric is a class: ``update(pred, gt, valid=None)`` per image or batch, ``compute()`` for a
plain dict, ``merge(other)`` to combine accumulators filled in parallel (threads, processes), and
pickling. The state is a few numpy arrays and numbers; the per-pixel work (confusion matrix, error
sums, mask IoU) runs in Rust with the GIL released.

=================  ===========================================================================
class              ``compute()`` keys
=================  ===========================================================================
SemanticMetric     miou, iou (per class, NaN where excluded), pixel_accuracy
ReferringMetric    ciou, giou
InstanceMetric     pmf1, il_mcc, cgf1
DepthMetric        delta1, delta2, delta3, abs_rel, sq_rel, rmse, rmse_log, log10, silog
NormalMetric       mean, median, rmse, a5, a7_5, a11_25, a22_5, a30
=================  ===========================================================================

Example:
    >>> import numpy as np
    >>> from vision_banana.metrics import SemanticMetric
    >>> metric = SemanticMetric(num_classes=3)
    >>> metric.update(np.array([[0, 1], [2, 2]]), np.array([[0, 1], [2, 255]]))
    >>> metric.compute()["miou"]
    1.0
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from . import _core
from ._arrays import check_number, native, to_3d, to_4d
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "COCO_STATS",
    "IOU_THRESHOLDS",
    "DepthMetric",
    "InstanceMetric",
    "NormalMetric",
    "ReferringMetric",
    "SemanticMetric",
    "coco_mask_ap",
    "depth_metrics",
    "mask_iou",
    "normal_metrics",
    "referring_metrics",
    "semantic_metrics",
]

#: IoU thresholds of pmF1: 0.50, 0.55, ..., 0.95.
IOU_THRESHOLDS: NDArray[np.float64] = np.linspace(0.5, 0.95, 10)
_LABEL_DTYPES = (np.uint8, np.uint16, np.int32, np.int64)
_NORMAL_THRESHOLDS = ("a5", "a7_5", "a11_25", "a22_5", "a30")
_HISTOGRAM_BINS_PER_DEGREE = 1000
_HISTOGRAM_BINS = 180 * _HISTOGRAM_BINS_PER_DEGREE + 1
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
_NORMAL_KEYS = ("mean", "median", "rmse", *_NORMAL_THRESHOLDS)


# ---------------------------------------------------------------------------------------------
# Argument checks


def _array(x: Any, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise InvalidTypeError(f"{name} must be a numpy array, got {type(x).__name__}")
        x = np.asarray(x)
    return native(x)


def _same_shape(pred: np.ndarray, gt: np.ndarray, valid: Any, channels: int | None = None):
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


def _masks(x: Any, name: str) -> np.ndarray:
    """Binary masks as 0/1 bytes without a copy for bool arrays."""
    x = _array(x, name)
    if x.dtype == np.bool_:
        return x.view(np.uint8)
    if x.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{name} must be a boolean or numeric mask, got dtype {x.dtype}")
    return (x != 0).view(np.uint8)


def _float_pair(pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = _array(pred, "pred"), _array(gt, "gt")
    for name, x in (("pred", pred), ("gt", gt)):
        if x.dtype.kind not in "fiu":
            raise InvalidTypeError(f"{name} must be a real-valued array, got dtype {x.dtype}")
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


# ---------------------------------------------------------------------------------------------
# Semantic segmentation


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
            where = tuple(int(i) for i in np.unravel_index(first, gt.shape))
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


# ---------------------------------------------------------------------------------------------
# Referring and reasoning segmentation


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


# ---------------------------------------------------------------------------------------------
# Instance segmentation


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
    P or G possibly 0; or two sequences of such stacks (a batch). ``valid`` (H, W) removes pixels
    from every mask of the image.

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
                raise InvalidArgumentError(
                    "gt must be a sequence of the same length as pred when pred is a batch"
                )
            valids = [None] * len(pred) if valid is None else valid
            for p, g, v in zip(pred, gt, valids, strict=False):
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
        self.il_tp += p > 0 and g > 0
        self.il_fp += p > 0 and g == 0
        self.il_tn += p == 0 and g == 0
        self.il_fn += p == 0 and g > 0
        if g == 0:
            return  # a negative image: no positive-micro counts
        tp = np.zeros(len(IOU_THRESHOLDS), np.int64)
        if p:
            iou = _core.mask_iou(pred, gt)
            rows, cols = _core.max_weight_matching(iou)
            matched = iou[rows, cols]
            tp = (matched[None, :] >= IOU_THRESHOLDS[:, None]).sum(axis=1)
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


#: Names of the twelve numbers of ``COCOeval.summarize()``, in its order.
COCO_STATS = (
    "ap",
    "ap50",
    "ap75",
    "ap_small",
    "ap_medium",
    "ap_large",
    "ar1",
    "ar10",
    "ar100",
    "ar_small",
    "ar_medium",
    "ar_large",
)


def _coco_image(x: Any, name: str, with_scores: bool) -> tuple[list[dict[str, Any]], Any, tuple]:
    """One image's instances as COCO RLEs, their scores and the image size (H, W)."""
    from pycocotools import mask as coco_mask

    from .instances import Instances

    scores = None
    if with_scores and isinstance(x, tuple):
        if len(x) != 2:
            raise InvalidArgumentError(f"{name} must be (masks, scores) when a tuple, got {len(x)}")
        x, scores = x
    if isinstance(x, Instances):
        rles, size = x.to_coco_rle(), x.ids.shape
        scores = x.scores if scores is None else scores
    else:
        masks = _masks(x, name)
        if masks.ndim != 3:
            raise InvalidArgumentError(
                f"{name} must be Instances or a stack of masks (K, H, W), got shape {masks.shape}"
            )
        size = masks.shape[1:]
        rles = coco_mask.encode(np.asfortranarray(masks.transpose(1, 2, 0))) if len(masks) else []
    if with_scores:
        scores = np.ones(len(rles)) if scores is None else np.asarray(scores, np.float64)
        if scores.shape != (len(rles),):
            raise InvalidArgumentError(
                f"{name} scores must have shape ({len(rles)},), got {scores.shape}"
            )
    return list(rles), scores, tuple(size)


def coco_mask_ap(predictions: Sequence[Any], ground_truth: Sequence[Any]) -> dict[str, float]:
    """COCO mask AP and AR of class-agnostic instance masks, computed by pycocotools.

    Our results are converted to in-memory COCO objects (one category, the images numbered from 1)
    and ``COCOeval(iouType="segm")`` does the rest: this is the official code, not a copy.

    Args:
        predictions: per image, an :class:`~vision_banana.instances.Instances` (its ``scores``
            rank the masks), a ``(masks, scores)`` pair with masks (P, H, W) and scores (P,), or a
            stack of masks (P, H, W) alone (every score 1).
        ground_truth: per image, an ``Instances`` or a stack of masks (G, H, W), boolean or numeric
            (nonzero inside).

    Returns:
        The twelve numbers of ``COCOeval.summarize()`` by name (:data:`COCO_STATS`): ``ap``
        (IoU 0.50:0.95), ``ap50``, ``ap75``, ``ap_small``, ``ap_medium``, ``ap_large``, ``ar1``,
        ``ar10``, ``ar100``, ``ar_small``, ``ar_medium``, ``ar_large``; -1 where undefined (no
        ground truth of that size), as pycocotools reports it.

    Raises:
        ImportError: pycocotools is not installed (``pip install pycocotools``).

    Example:
        >>> gt = np.zeros((1, 8, 8), bool); gt[0, 2:6, 2:6] = True
        >>> round(coco_mask_ap([gt], [gt])["ap"], 6)  # pycocotools sums in floating point
        1.0
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:
        raise ImportError("coco_mask_ap needs pycocotools: pip install pycocotools") from e
    import contextlib
    import io

    from pycocotools import mask as coco_mask

    if isinstance(predictions, np.ndarray) or isinstance(ground_truth, np.ndarray):
        raise InvalidTypeError("predictions and ground_truth must be sequences with one per image")
    if len(predictions) != len(ground_truth):
        raise InvalidArgumentError(
            f"predictions and ground_truth must have one entry per image, got "
            f"{len(predictions)} and {len(ground_truth)}"
        )
    images, annotations, results = [], [], []
    for image_id, (pred, gt) in enumerate(zip(predictions, ground_truth, strict=True), start=1):
        gt_rles, _, size = _coco_image(gt, "ground_truth", with_scores=False)
        pred_rles, scores, pred_size = _coco_image(pred, "predictions", with_scores=True)
        if pred_rles and pred_size != size:
            raise InvalidArgumentError(
                f"predictions of image {image_id - 1} are {pred_size}, its ground truth {size}"
            )
        images.append({"id": image_id, "height": size[0], "width": size[1]})
        areas, boxes = coco_mask.area(gt_rles), coco_mask.toBbox(gt_rles)
        for rle, area, box in zip(gt_rles, areas, boxes, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "segmentation": rle,
                    "area": float(area),
                    "bbox": [float(b) for b in box],
                    "iscrowd": 0,
                }
            )
        results += [
            {"image_id": image_id, "category_id": 1, "segmentation": rle, "score": float(score)}
            for rle, score in zip(pred_rles, scores, strict=True)
        ]
    dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object"}],
    }
    # pycocotools reports its progress on stdout; the numbers are what we return.
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)
        else:  # loadRes refuses an empty list: an empty result set is all misses.
            coco_dt = COCO()
            coco_dt.dataset = {**dataset, "annotations": []}
            coco_dt.createIndex()
        evaluation = COCOeval(coco_gt, coco_dt, iouType="segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {k: float(v) for k, v in zip(COCO_STATS, evaluation.stats, strict=True)}


# ---------------------------------------------------------------------------------------------
# Depth


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
    return (pred * scale + shift).astype(pred.dtype)


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
    return dict(zip(_DEPTH_KEYS, values, strict=False))


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

    ``update(pred, gt, valid=None)``: depth maps (H, W) or (N, H, W), float or integer.

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
        pred, gt = _float_pair(pred, gt)
        valid3 = _same_shape(pred, gt, valid)
        pred3, gt3 = to_3d(pred), to_3d(gt)
        top = math.inf if self.max_depth is None else self.max_depth
        if self.alignment is not None:
            mask = (gt3 > self.min_depth) & (gt3 < top)
            if valid3 is not None:
                mask &= valid3
            pred3 = np.stack(
                [_align(*x, self.alignment) for x in zip(pred3, gt3, mask, strict=False)]
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
            k: float(v / self.images) for k, v in zip(_DEPTH_KEYS, self.image_sums, strict=False)
        }


def depth_metrics(pred: Any, gt: Any, valid: Any = None, **options: Any) -> dict[str, float]:
    """``DepthMetric(**options)`` over one depth map or batch."""
    metric = DepthMetric(**options)
    metric.update(pred, gt, valid)
    return metric.compute()


# ---------------------------------------------------------------------------------------------
# Surface normals


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
            return (b + (rank - below + 0.5) / self.histogram[b]) / _HISTOGRAM_BINS_PER_DEGREE

        return 0.5 * (at((count - 1) // 2) + at(count // 2))

    def compute(self, averaging: Literal["pixel", "image"] | None = None) -> dict[str, float]:
        averaging = _choice(averaging or self.averaging, "averaging", ("pixel", "image"))
        if averaging == "image":
            if not self.images:
                return dict.fromkeys(_NORMAL_KEYS, math.nan)
            return {
                k: float(v / self.images)
                for k, v in zip(_NORMAL_KEYS, self.image_sums, strict=False)
            }
        c = self.pooled[0]
        if not c:
            return dict.fromkeys(_NORMAL_KEYS, math.nan)
        values = [self.pooled[1] / c, self._pooled_median(), math.sqrt(self.pooled[2] / c)]
        values += [100 * self.pooled[3 + i] / c for i in range(len(_NORMAL_THRESHOLDS))]
        return {k: float(v) for k, v in zip(_NORMAL_KEYS, values, strict=False)}


def normal_metrics(pred: Any, gt: Any, valid: Any = None, **options: Any) -> dict[str, float]:
    """``NormalMetric(**options)`` over one normal map or batch."""
    metric = NormalMetric(**options)
    metric.update(pred, gt, valid)
    return metric.compute()
