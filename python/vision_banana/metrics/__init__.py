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
SacoMetric         pmf1, il_mcc, cgf1, pmf1_50, pmf1_75 (SA-Co: exhaustivity, oracle; saco.py)
SacoGoldMetric     the same per subset, and their mean
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

from .coco import COCO_STATS, coco_mask_ap
from .depth import DepthMetric, depth_metrics
from .instances import IOU_THRESHOLDS, InstanceMetric, mask_iou
from .normals import NormalMetric, normal_metrics
from .referring import ReferringMetric, referring_metrics
from .saco import SacoGoldMetric, SacoMetric
from .semantic import SemanticMetric, semantic_metrics

__all__ = [
    "COCO_STATS",
    "IOU_THRESHOLDS",
    "DepthMetric",
    "InstanceMetric",
    "NormalMetric",
    "ReferringMetric",
    "SacoGoldMetric",
    "SacoMetric",
    "SemanticMetric",
    "coco_mask_ap",
    "depth_metrics",
    "mask_iou",
    "normal_metrics",
    "referring_metrics",
    "semantic_metrics",
]
