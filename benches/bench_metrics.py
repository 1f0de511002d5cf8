"""Speed of the metrics, each benchmark timing ours and its numpy / pycocotools baseline in the
same run:

    python -m pytest benches/bench_metrics.py --benchmark-enable -s
"""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from scipy.optimize import linear_sum_assignment

from timing import compare, seconds
from vision_banana.metrics import (
    IOU_THRESHOLDS,
    DepthMetric,
    InstanceMetric,
    NormalMetric,
    SemanticMetric,
)


@pytest.fixture(scope="module")
def labels():
    """Cityscapes-sized label maps, 19 classes in blocks (regions, as real maps), 5% void."""
    rng = np.random.default_rng(1)
    coarse = rng.integers(0, 19, (2, 64, 128)).astype(np.uint8)
    gt, pred = (np.kron(c, np.ones((16, 16), np.uint8)) for c in coarse)
    gt[rng.random(gt.shape) < 0.05] = 255
    return pred, gt


def numpy_confusion(pred, gt, n=19):
    keep = gt != 255
    return np.bincount(n * gt[keep].astype(np.int64) + pred[keep], minlength=n * n)


def test_confusion_vs_numpy_bincount(benchmark, labels):
    pred, gt = labels

    def ours():
        metric = SemanticMetric(19)
        metric.update(pred, gt)
        return metric

    cm = benchmark(ours).confusion
    np.testing.assert_array_equal(cm[:, :19].ravel(), numpy_confusion(pred, gt))
    compare(benchmark, seconds(lambda: numpy_confusion(pred, gt), 10), at_least=10)


@pytest.fixture(scope="module")
def depth():
    rng = np.random.default_rng(2)
    gt = rng.uniform(0.5, 10, (1024, 1024)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.1] = 0
    return (gt * rng.uniform(0.8, 1.25, gt.shape)).astype(np.float32), gt


def numpy_depth(pred, gt, lo=1e-3):
    keep = gt > lo
    p, g = np.clip(pred[keep], lo, None), gt[keep]
    thresh = np.maximum(g / p, p / g)
    err = np.log(p) - np.log(g)
    return [
        (thresh < 1.25).mean(),
        (thresh < 1.25**2).mean(),
        (thresh < 1.25**3).mean(),
        np.mean(np.abs(g - p) / g),
        np.mean((g - p) ** 2 / g),
        np.sqrt(np.mean((g - p) ** 2)),
        np.sqrt(np.mean(err**2)),
        np.mean(np.abs(np.log10(g) - np.log10(p))),
        np.sqrt(np.mean(err**2) - np.mean(err) ** 2) * 100,
    ]


def test_depth_metrics_vs_numpy(benchmark, depth):
    def ours():
        metric = DepthMetric()
        metric.update(*depth)
        return metric.compute()

    result = benchmark(ours)
    np.testing.assert_allclose(list(result.values()), numpy_depth(*depth), rtol=1e-4)
    compare(benchmark, seconds(lambda: numpy_depth(*depth), 10), at_least=10)


@pytest.fixture(scope="module")
def normals():
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(1024, 1024, 3)).astype(np.float32)
    gt /= np.linalg.norm(gt, axis=-1, keepdims=True)
    return (gt + rng.normal(scale=0.2, size=gt.shape)).astype(np.float32), gt


def numpy_normals(pred, gt):
    p = pred / np.linalg.norm(pred, axis=-1, keepdims=True)
    g = gt / np.linalg.norm(gt, axis=-1, keepdims=True)
    e = np.degrees(np.arccos(np.clip(np.sum(p * g, -1), -1, 1))).ravel()
    shares = [100 * np.mean(e < t) for t in (5, 7.5, 11.25, 22.5, 30)]
    return [e.mean(), np.median(e), np.sqrt(np.mean(e**2)), *shares]


def test_normal_metrics_vs_numpy(benchmark, normals):
    def ours():
        metric = NormalMetric()
        metric.update(*normals)
        return metric.compute(averaging="image")

    result = benchmark(ours)
    np.testing.assert_allclose(list(result.values()), numpy_normals(*normals), rtol=1e-4)
    compare(benchmark, seconds(lambda: numpy_normals(*normals), 5), at_least=10)


@pytest.fixture(scope="module")
def instances():
    """100 predicted and 100 ground-truth object masks (rectangles) on a 512 x 512 image."""
    rng = np.random.default_rng(4)
    masks = np.zeros((200, 512, 512), bool)
    for m in masks:
        y, x = rng.integers(0, 448, 2)
        h, w = rng.integers(8, 64, 2)
        m[y : y + h, x : x + w] = True
    return masks[:100], masks[100:]


def pycocotools_pmf1(pred, gt):
    """pmF1 of one positive image as a Python user computes it today: pycocotools RLE-encodes the
    masks and computes their IoU, scipy matches them one-to-one, then TP/FP/FN at each IoU
    threshold (SAM 3's ``demo_eval.py``)."""
    rle = [
        coco_mask.encode(np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8)))
        for m in (pred, gt)
    ]
    iou = np.asarray(coco_mask.iou(rle[0], rle[1], [0] * len(gt)))
    rows, cols = linear_sum_assignment(iou, maximize=True)
    matched = iou[rows, cols]
    tp = (matched[None, :] >= IOU_THRESHOLDS[:, None]).sum(axis=1)
    fp, fn = len(pred) - tp, len(gt) - tp
    return float(np.mean(2 * tp / (2 * tp + fp + fn)))


def test_pmf1_vs_pycocotools_and_scipy(benchmark, instances):
    def ours():
        metric = InstanceMetric()
        metric.update(*instances)
        return metric.compute()

    result = benchmark(ours)
    assert result["pmf1"] == pytest.approx(pycocotools_pmf1(*instances), abs=1e-12)
    assert 0 < result["pmf1"] < 1  # a fixture where matching and thresholds both matter
    compare(benchmark, seconds(lambda: pycocotools_pmf1(*instances), 5), at_least=1)
