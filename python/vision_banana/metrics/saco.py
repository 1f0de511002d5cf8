"""SA-Co/Gold's scoring (SAM 3): which pairs count, the oracle over annotators, pmF1, IL_MCC, cgF1.

Written step for step from facebookresearch/sam3 ``sam3/eval/cgf1_eval.py``:

1. ``CGF1Evaluator.__init__``: a pair (an image with one noun phrase) is scored when the first
   annotator marks it ``is_instance_exhaustive`` and no other annotator marks it otherwise
   (`exhaustive_pairs`).
2. ``CGF1Eval.evaluateImg``, per pair and per annotator (`score_pair`): crowd masks are left out
   (pycocotools' ``_prepare`` sets ``ignore = iscrowd``), predictions scoring under 0.5 are
   dropped, the rest are matched one-to-one to the truths once, maximising the summed mask IoU
   (``scipy.optimize.linear_sum_assignment``); at each IoU threshold 0.50:0.05:0.95 the matched
   pairs reaching it are true positives.
3. ``CGF1Evaluator._select_best_scoring`` (`oracle`): of the three annotators, the one whose
   local F1 averaged over the thresholds is highest (the first on ties); an annotator with
   neither truths nor predictions (a true negative) wins outright.
4. ``CGF1Eval.accumulate`` (`SacoMetric.compute`): counts summed over the pairs, the positive
   micro F1 per threshold and its mean (pmF1), image-level MCC, cgF1 = pmF1 x IL_MCC, with the
   same small constants in the denominators, so the figures equal SAM 3's to the last digit.
5. The SA-Co/Gold notebook (``examples/saco_gold_silver_eval_example.ipynb``): each subset is
   scored on its own and the headline is the plain mean over the subsets (`SacoGoldMetric`).

cgF1 is reported times 100, as the notebook and the paper do; pmF1 and IL_MCC as fractions.

Example:
    >>> gt = np.zeros((1, 4, 4), bool); gt[0, :2] = True
    >>> metric = SacoMetric()
    >>> metric.update(gt.copy(), [gt, gt[:0]])   # two annotators: one saw it, one did not
    >>> round(metric.compute()["pmf1"], 4)
    0.9999
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidArgumentError, InvalidTypeError
from ._common import _masks
from .instances import IOU_THRESHOLDS, InstanceMetric, mask_iou, true_positives

__all__ = [
    "SCORE_THRESHOLD",
    "PairScore",
    "SacoGoldMetric",
    "SacoMetric",
    "exhaustive_pairs",
    "oracle",
    "score_pair",
]

#: Predictions scoring under this are dropped (``CGF1Eval(threshold=0.5)``).
SCORE_THRESHOLD = 0.5
# sam3's guards against empty denominators: 1e-4 for precision, recall and F1, 1e-6 image-level.
_EPS = 1e-4
_EPS_IMAGE = 1e-6
_KEYS = ("pmf1", "il_mcc", "cgf1", "pmf1_50", "pmf1_75")


def exhaustive_pairs(annotators: Sequence[Iterable[Mapping[str, Any]]]) -> list[Any]:
    """The ids of the pairs SA-Co scores, in the first annotator's order.

    Args:
        annotators: each annotator file's ``images`` entries (``id``, ``is_instance_exhaustive``),
            the first annotator first.

    Example:
        >>> a = [{"id": 1, "is_instance_exhaustive": 1}, {"id": 2, "is_instance_exhaustive": 1}]
        >>> b = [{"id": 1, "is_instance_exhaustive": 1}, {"id": 2, "is_instance_exhaustive": 0}]
        >>> exhaustive_pairs([a, b])
        [1]
    """
    if not annotators:
        raise InvalidArgumentError("annotators must hold at least one annotator's images")
    first, *others = annotators
    excluded = {
        image["id"] for images in others for image in images if not image["is_instance_exhaustive"]
    }
    return [
        image["id"]
        for image in first
        if image["is_instance_exhaustive"] and image["id"] not in excluded
    ]


@dataclass(frozen=True)
class PairScore:
    """One pair scored against one annotator.

    Attributes:
        predictions: predictions kept (scoring at least `SCORE_THRESHOLD`).
        truths: the annotator's masks that are not crowd masks.
        matched: (min(predictions, truths),) float64 IoU of each matched pair.
    """

    predictions: int
    truths: int
    matched: NDArray[np.float64]

    @property
    def negative_hit(self) -> bool:
        """Neither truths nor predictions: a true negative, with no F1 (sam3 keeps none)."""
        return self.predictions == 0 and self.truths == 0

    def local_f1(self) -> NDArray[np.float64]:
        """(10,) the pair's F1 at each IoU threshold, with sam3's constants."""
        tp = true_positives(self.matched).astype(np.float64)
        precision = tp / (self.predictions + _EPS)  # TP + FP = kept predictions
        recall = tp / (self.truths + _EPS)  # TP + FN = truths
        f1: NDArray[np.float64] = 2 * precision * recall / (precision + recall + _EPS)
        return f1


def score_pair(
    pred: Any,
    truth: Any,
    *,
    crowd: Any = None,
    scores: Any = None,
    score_threshold: float = SCORE_THRESHOLD,
) -> PairScore:
    """Scores one pair against one annotator, as ``CGF1Eval.evaluateImg`` does.

    Args:
        pred: (P, H, W) predicted masks, boolean or numeric (nonzero inside).
        truth: (G, H, W) the annotator's masks (G may be 0: a negative pair).
        crowd: (G,) bool, True for crowd masks (left out); None: none is.
        scores: (P,) the predictions' scores; None: every prediction scores 1.
        score_threshold: predictions scoring under it are dropped.

    Example:
        >>> gt = np.zeros((2, 4, 4), bool); gt[0, :2] = True; gt[1, 3] = True
        >>> score_pair(gt[:1], gt).matched.tolist(), score_pair(gt[:1], gt).truths
        ([1.0], 2)
    """
    from scipy.optimize import linear_sum_assignment

    pred, truth = _masks(pred, "pred"), _masks(truth, "truth")
    if pred.ndim != 3 or truth.ndim != 3 or pred.shape[1:] != truth.shape[1:]:
        raise InvalidArgumentError(
            f"pred and truth must be stacks of masks (P, H, W) and (G, H, W) of one image, "
            f"got {pred.shape} and {truth.shape}"
        )
    keep_truth = _flags(crowd, len(truth), "crowd", default=False) == 0
    keep_pred = np.ones(len(pred), bool)
    if scores is not None:
        values = np.asarray(scores, dtype=np.float64)
        if values.shape != (len(pred),):
            raise InvalidArgumentError(
                f"scores must have one score per prediction, shape ({len(pred)},), "
                f"got {values.shape}"
            )
        keep_pred = values >= score_threshold
    pred, truth = pred[keep_pred], truth[keep_truth]
    matched = np.zeros(0)
    if len(pred) and len(truth):
        iou = mask_iou(pred, truth)
        rows, cols = linear_sum_assignment(-iou)
        matched = iou[rows, cols]
    return PairScore(len(pred), len(truth), matched)


def _flags(values: Any, count: int, name: str, *, default: bool) -> NDArray[np.uint8]:
    if values is None:
        return np.full(count, default, np.uint8)
    flags = np.asarray(values)
    if flags.shape != (count,) or flags.dtype.kind not in "biu":
        raise InvalidArgumentError(
            f"{name} must be ({count},) booleans, one per mask, got {flags.dtype} {flags.shape}"
        )
    result: NDArray[np.uint8] = (flags != 0).astype(np.uint8)
    return result


def oracle(scorings: Sequence[PairScore]) -> PairScore:
    """The most favourable annotator's scoring of one pair (``_select_best_scoring``).

    Example:
        >>> miss, hit = PairScore(1, 1, np.array([0.2])), PairScore(1, 1, np.array([0.9]))
        >>> oracle([miss, hit]) is hit
        True
    """
    if not scorings:
        raise InvalidArgumentError("scorings must hold at least one annotator's scoring")
    best = scorings[0]
    for current in scorings[1:]:
        if not best.negative_hit and not current.negative_hit:
            if current.local_f1().mean() > best.local_f1().mean():
                best = current
        elif current.negative_hit:
            best = current
    return best


class SacoMetric(InstanceMetric):
    """pmF1, IL_MCC and cgF1 of one SA-Co subset, scored as SAM 3 scores it (module docstring).

    Args:
        use_scores: keep only predictions scoring `SCORE_THRESHOLD` or more; False: every
            prediction scores 1 (the paper's outputs carry no scores).

    ``update(pred, annotators, crowd=None, scores=None)``: one pair's predicted masks (P, H, W)
    and each annotator's masks (G_i, H, W) (with ``crowd`` flags per annotator); the oracle's
    choice is added to the counts. The state is `InstanceMetric`'s: TP, FP, FN per threshold
    over the positive pairs and the image-level confusion.
    """

    _params = ("use_scores",)

    def __init__(self, use_scores: bool = False) -> None:
        super().__init__()
        if not isinstance(use_scores, bool):
            raise InvalidTypeError(f"use_scores must be True or False, got {use_scores!r}")
        self.use_scores = use_scores

    def update(
        self,
        pred: Any,
        annotators: Sequence[Any],
        crowd: Sequence[Any] | None = None,
        scores: Any = None,
    ) -> None:
        if isinstance(annotators, np.ndarray) or not isinstance(annotators, Sequence):
            raise InvalidTypeError(
                "annotators must be a sequence of mask stacks (G, H, W), one per annotator, "
                f"got {type(annotators).__name__}"
            )
        if crowd is not None and len(crowd) != len(annotators):
            raise InvalidArgumentError(
                f"crowd must give flags (or None) per annotator: {len(annotators)} annotators, "
                f"got {len(crowd)}"
            )
        flags = [None] * len(annotators) if crowd is None else list(crowd)
        kept = scores if self.use_scores else None
        best = oracle(
            [
                score_pair(pred, truth, crowd=c, scores=kept)
                for truth, c in zip(annotators, flags, strict=True)
            ]
        )
        self.add_image(best.predictions, best.truths, best.matched)

    def compute(self) -> dict[str, float]:
        """pmf1, il_mcc, cgf1 (x 100), and pmf1_50 / pmf1_75 at IoU 0.5 and 0.75."""
        tp = self.tp.astype(np.float64)
        precision = tp / (tp + self.fp + _EPS)
        recall = tp / (tp + self.fn + _EPS)
        f1 = 2 * precision * recall / (precision + recall + _EPS)
        tp_, fp_, tn_, fn_ = (float(x) for x in (self.il_tp, self.il_fp, self.il_tn, self.il_fn))
        scale = math.sqrt((tp_ + fp_) * (tp_ + fn_) * (tn_ + fp_) * (tn_ + fn_))
        il_mcc = (tp_ * tn_ - fp_ * fn_) / (scale + _EPS_IMAGE)
        at = {round(float(t), 2): i for i, t in enumerate(IOU_THRESHOLDS)}
        return {
            "pmf1": float(f1.mean()),
            "il_mcc": il_mcc,
            "cgf1": 100.0 * float((f1 * il_mcc).mean()),
            "pmf1_50": float(f1[at[0.5]]),
            "pmf1_75": float(f1[at[0.75]]),
        }


class SacoGoldMetric:
    """`SacoMetric` per subset; ``compute()`` gives each subset's figures and their mean.

    Args:
        use_scores: as for `SacoMetric`.

    Example:
        >>> gt = np.zeros((1, 4, 4), bool); gt[0, :2] = True
        >>> metric = SacoGoldMetric()
        >>> metric.update("crowded", gt, [gt])
        >>> metric.update("fg_food", gt[:0], [gt])
        >>> figures = metric.compute()
        >>> round(figures["pmf1"], 3), sorted(figures["subsets"])
        (0.5, ['crowded', 'fg_food'])
    """

    def __init__(self, use_scores: bool = False) -> None:
        self.use_scores = use_scores
        self.subsets: dict[str, SacoMetric] = {}
        SacoMetric(use_scores)  # checks the argument

    def update(
        self,
        subset: str,
        pred: Any,
        annotators: Sequence[Any],
        crowd: Sequence[Any] | None = None,
        scores: Any = None,
    ) -> None:
        """Adds one pair of ``subset`` (see `SacoMetric.update`)."""
        if subset not in self.subsets:
            self.subsets[subset] = SacoMetric(self.use_scores)
        self.subsets[subset].update(pred, annotators, crowd, scores)

    def merge(self, other: SacoGoldMetric) -> SacoGoldMetric:
        """Adds the pairs of ``other`` (same ``use_scores``); returns self."""
        if not isinstance(other, SacoGoldMetric):
            raise InvalidTypeError(f"other must be a SacoGoldMetric, got {type(other).__name__}")
        for name, metric in other.subsets.items():
            if name not in self.subsets:
                self.subsets[name] = SacoMetric(self.use_scores)
            self.subsets[name].merge(metric)
        return self

    def compute(self) -> dict[str, Any]:
        """The mean over the subsets of each figure (NaN with none), and ``subsets``: each
        subset's figures by name, in name order."""
        per_subset = {name: self.subsets[name].compute() for name in sorted(self.subsets)}
        mean = {
            key: float(np.mean([f[key] for f in per_subset.values()])) if per_subset else math.nan
            for key in _KEYS
        }
        return {**mean, "subsets": per_subset}

    def __repr__(self) -> str:
        return f"SacoGoldMetric(use_scores={self.use_scores!r}, subsets={sorted(self.subsets)})"
