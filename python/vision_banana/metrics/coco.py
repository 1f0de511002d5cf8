"""COCO mask AP and AR through pycocotools' own evaluation code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidArgumentError, InvalidTypeError
from ._common import _masks

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


def _coco_image(
    x: Any, name: str, with_scores: bool
) -> tuple[list[dict[str, Any]], NDArray[np.float64], tuple[int, ...]]:
    """One image's instances as COCO RLEs, their scores (read from ``x`` only ``with_scores``;
    1 where none are given) and the image size (H, W)."""
    from pycocotools import mask as coco_mask

    from ..instances import Instances

    scores: Any = None  # as given, checked below
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
    checked = np.ones(len(rles)) if scores is None else np.asarray(scores, np.float64)
    if checked.shape != (len(rles),):
        raise InvalidArgumentError(
            f"{name} scores must have shape ({len(rles)},), got {checked.shape}"
        )
    return list(rles), checked, tuple(size)


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
    images: list[dict[str, int]] = []
    annotations: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
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
