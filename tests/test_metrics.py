"""The metrics against straightforward numpy implementations of their reference definitions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from scipy.optimize import linear_sum_assignment

from vision_banana.errors import InvalidArgumentError, InvalidTypeError
from vision_banana.instances import Instances, encode_instances, extract_instances
from vision_banana.metrics import (
    COCO_STATS,
    IOU_THRESHOLDS,
    DepthMetric,
    InstanceMetric,
    NormalMetric,
    ReferringMetric,
    SemanticMetric,
    coco_mask_ap,
    depth_metrics,
    mask_iou,
    normal_metrics,
    referring_metrics,
    semantic_metrics,
)

RNG = np.random.default_rng(0)
THRESHOLD_KEYS = ("a5", "a7_5", "a11_25", "a22_5", "a30")

# ---------------------------------------------------------------------------------------------
# Reference implementations


def ref_semantic(preds, gts, n, ignore=255):
    """mmsegmentation's intersect_and_union, summed over the dataset."""
    inter, union, label = np.zeros(n), np.zeros(n), np.zeros(n)
    for p, g in zip(preds, gts, strict=False):
        keep = g != ignore
        p, g = p[keep].astype(np.int64), g[keep].astype(np.int64)
        hit = p[p == g]
        ai = np.bincount(hit, minlength=n)[:n]
        ap = np.bincount(p[(p >= 0) & (p < n)], minlength=n)[:n]
        al = np.bincount(g, minlength=n)[:n]
        inter, union, label = inter + ai, union + ap + al - ai, label + al
    with np.errstate(invalid="ignore"):
        iou = inter / union
    return {"miou": np.nanmean(iou), "iou": iou, "pixel_accuracy": inter.sum() / label.sum()}


def ref_depth(p, g, lo, hi):
    """ZoeDepth's compute_metrics (clipping, validity, compute_errors) in float64."""
    p, g = p.astype(np.float64).copy(), g.astype(np.float64)
    p[p < lo], p[p > hi] = lo, hi
    p[np.isinf(p)], p[np.isnan(p)] = hi, lo
    keep = (g > lo) & (g < hi)
    p, g = p[keep], g[keep]
    thresh = np.maximum(g / p, p / g)
    err = np.log(p) - np.log(g)
    return {
        "delta1": (thresh < 1.25).mean(),
        "delta2": (thresh < 1.25**2).mean(),
        "delta3": (thresh < 1.25**3).mean(),
        "abs_rel": np.mean(np.abs(g - p) / g),
        "sq_rel": np.mean((g - p) ** 2 / g),
        "rmse": np.sqrt(np.mean((g - p) ** 2)),
        "rmse_log": np.sqrt(np.mean((np.log(g) - np.log(p)) ** 2)),
        "log10": np.mean(np.abs(np.log10(g) - np.log10(p))),
        "silog": np.sqrt(np.mean(err**2) - np.mean(err) ** 2) * 100,
    }


def ref_normal_errors(p, g):
    """DSINE: cosine similarity, clamped, acos in degrees; valid where gt is nonzero."""
    p, g = p.astype(np.float64), g.astype(np.float64)
    keep = np.linalg.norm(g, axis=-1) > 0
    with np.errstate(invalid="ignore"):
        cos = np.sum(p * g, -1) / (np.linalg.norm(p, axis=-1) * np.linalg.norm(g, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))[keep]


def ref_normal_summary(e):
    return {
        "mean": e.mean(),
        "median": np.median(e),
        "rmse": np.sqrt(np.mean(e**2)),
        **{
            k: 100 * np.mean(e < t)
            for k, t in zip(
                ("a5", "a7_5", "a11_25", "a22_5", "a30"), (5, 7.5, 11.25, 22.5, 30), strict=False
            )
        },
    }


def ref_instance(images):
    """sam3 DemoEval, positive micro F1, without the epsilons."""
    tp, fp, fn = (np.zeros(10) for _ in range(3))
    il = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for p, g in images:
        il[{(1, 1): "tp", (1, 0): "fp", (0, 0): "tn", (0, 1): "fn"}[(len(p) > 0, len(g) > 0)]] += 1
        if not len(g):
            continue
        if len(p):
            ious = np.array([[(a & b).sum() / max((a | b).sum(), 1) for b in g] for a in p])
            r, c = linear_sum_assignment(-ious)
            t = np.array([(ious[r, c] >= th).sum() for th in IOU_THRESHOLDS])
        else:
            t = np.zeros(10)
        tp, fp, fn = tp + t, fp + len(p) - t, fn + len(g) - t
    pmf1 = np.mean(2 * tp / (2 * tp + fp + fn))
    num = il["tp"] * il["tn"] - il["fp"] * il["fn"]
    den = np.sqrt(
        float(il["tp"] + il["fp"])
        * (il["tp"] + il["fn"])
        * (il["tn"] + il["fp"])
        * (il["tn"] + il["fn"])
    )
    mcc = num / den if den else 0.0
    return {"pmf1": pmf1, "il_mcc": mcc, "cgf1": 100 * pmf1 * mcc}


def assert_dicts_close(ours, want, **tol):
    assert set(ours) == set(want)
    for k in want:
        np.testing.assert_allclose(ours[k], want[k], err_msg=k, **tol)


def blobs(count, h, w, rng):
    """Random rectangles, some empty."""
    masks = np.zeros((count, h, w), bool)
    for m in masks:
        y, x = rng.integers(0, h), rng.integers(0, w)
        m[y : y + rng.integers(0, h // 2), x : x + rng.integers(0, w // 2)] = True
    return masks


# ---------------------------------------------------------------------------------------------
# Semantic


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64])
def test_semantic_matches_mmseg(dtype):
    preds = RNG.integers(0, 6, (3, 40, 50)).astype(dtype)
    gts = RNG.integers(0, 5, (3, 40, 50)).astype(dtype)
    gts[0, :10] = 255
    preds[1, :5] = 9  # outside the classes: wrong everywhere
    metric = SemanticMetric(7)
    for p, g in zip(preds, gts, strict=False):
        metric.update(p, g)
    ours, want = metric.compute(), ref_semantic(preds, gts, 7)
    assert np.isnan(ours["iou"][6])
    assert ours["iou"][5] == 0
    assert_dicts_close(ours, want, rtol=1e-12)


def test_semantic_batch_noncontiguous_and_valid_mask():
    preds = RNG.integers(0, 4, (2, 30, 60)).astype(np.uint8)
    gts = RNG.integers(0, 4, (2, 30, 60)).astype(np.uint8)
    valid = RNG.random((2, 30, 60)) < 0.7
    ours = semantic_metrics(preds[:, :, ::2], gts[:, :, ::2], 4, valid=valid[:, :, ::2])
    gts_masked = np.where(valid, gts, 255)[:, :, ::2]
    assert_dicts_close(ours, ref_semantic(preds[:, :, ::2], gts_masked, 4), rtol=1e-12)


def test_semantic_edge_cases():
    all_ignored = semantic_metrics(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8), 3)
    assert np.isnan(all_ignored["miou"])
    assert np.isnan(all_ignored["pixel_accuracy"])
    assert np.isnan(all_ignored["iou"]).all()
    single = semantic_metrics(np.zeros((4, 4), np.int64), np.zeros((4, 4), np.int64), 1)
    assert single["miou"] == 1.0
    assert single["pixel_accuracy"] == 1.0
    mixed = semantic_metrics(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.int32), 2)
    assert mixed["miou"] == 1.0
    assert np.isnan(mixed["iou"][1])


def test_semantic_refuses_bad_input():
    m = SemanticMetric(3)
    with pytest.raises(
        InvalidArgumentError, match=r"gt has 1 label\(s\) outside \[0, 3\).*\(0, 1\)"
    ):
        m.update(np.zeros((2, 2), np.uint8), np.array([[0, 7], [0, 255]], np.uint8))
    with pytest.raises(InvalidArgumentError, match="same shape"):
        m.update(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(InvalidTypeError, match="integer label map"):
        m.update(np.zeros((2, 2)), np.zeros((2, 2), np.uint8))
    with pytest.raises(InvalidTypeError, match="valid must be a boolean"):
        m.update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8), np.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="num_classes must be in"):
        SemanticMetric(0)
    with pytest.raises(InvalidTypeError, match="other must be a SemanticMetric"):
        m.merge(ReferringMetric())
    with pytest.raises(InvalidArgumentError, match="same num_classes"):
        m.merge(SemanticMetric(4))


# ---------------------------------------------------------------------------------------------
# Referring


def test_referring_matches_lisa():
    preds, gts = blobs(6, 20, 30, RNG), blobs(6, 20, 30, RNG)
    preds[0], gts[0] = False, False  # empty union: IoU 1
    ours = ReferringMetric()
    ours.update(preds[:3], gts[:3])
    for p, g in zip(preds[3:], gts[3:], strict=False):
        ours.update(p.astype(np.uint8), g)
    inter = np.array([(p & g).sum() for p, g in zip(preds, gts, strict=False)])
    union = np.array([(p | g).sum() for p, g in zip(preds, gts, strict=False)])
    giou = np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0))
    assert_dicts_close(ours.compute(), {"ciou": inter.sum() / union.sum(), "giou": giou})


def test_referring_edge_cases():
    empty = np.zeros((3, 3), bool)
    assert referring_metrics(empty, empty)["giou"] == 1.0
    assert np.isnan(referring_metrics(empty, empty)["ciou"])
    assert np.isnan(ReferringMetric().compute()["giou"])
    full = np.ones((3, 3), bool)
    assert referring_metrics(full, full, valid=np.eye(3, dtype=bool)) == {"ciou": 1.0, "giou": 1.0}


# ---------------------------------------------------------------------------------------------
# Instance


def test_mask_iou_matches_pycocotools():
    a, b = blobs(12, 50, 130, RNG), blobs(9, 50, 130, RNG)
    a[0], b[0] = False, False
    want = coco_mask.iou(
        coco_mask.encode(np.asfortranarray(a.transpose(1, 2, 0).astype(np.uint8))),
        coco_mask.encode(np.asfortranarray(b.transpose(1, 2, 0).astype(np.uint8))),
        [0] * len(b),
    )
    np.testing.assert_allclose(mask_iou(a, b), want, rtol=1e-12)
    assert mask_iou(a[:0], b).shape == (0, 9)
    np.testing.assert_allclose(mask_iou(a[3], b), want[3:4], rtol=1e-12)  # one (H, W) mask


def test_instance_matches_sam3_demo_eval():
    images = []
    for _ in range(25):
        g = blobs(RNG.integers(0, 5), 24, 32, RNG)
        keep = RNG.random(len(g)) < 0.8
        p = np.concatenate(
            [g[keep] ^ (RNG.random(g[keep].shape) < 0.05), blobs(RNG.integers(0, 3), 24, 32, RNG)]
        )
        images.append((p, g))
    metric = InstanceMetric()
    metric.update([p for p, _ in images[:10]], [g for _, g in images[:10]])
    for p, g in images[10:]:
        metric.update(p, g)
    assert_dicts_close(metric.compute(), ref_instance(images), rtol=1e-12)


def test_instance_matching_is_optimal_not_greedy():
    # pred 0 overlaps both gts; greedy would give it gt 0 and leave pred 1 unmatched.
    g = np.zeros((2, 1, 10), bool)
    g[0, 0, :6], g[1, 0, 6:] = True, True
    p = np.zeros((2, 1, 10), bool)
    p[0, 0, :5], p[1, 0, 1:6] = True, True
    p[0, 0, 6:], p[1, 0, :1] = False, False
    ref = ref_instance([(p, g)])
    m = InstanceMetric()
    m.update(p, g)
    assert_dicts_close(m.compute(), ref)


def test_instance_edge_cases():
    empty = np.zeros((0, 4, 4), bool)
    m = InstanceMetric()
    m.update(empty, empty)
    assert np.isnan(m.compute()["pmf1"])
    assert m.compute()["il_mcc"] == 0.0
    one = np.ones((1, 4, 4), bool)
    m.update(empty, one)  # missed: FN at every threshold
    assert m.compute()["pmf1"] == 0.0
    with pytest.raises(InvalidArgumentError, match="stacks of masks"):
        m.update(one[0], one)
    with pytest.raises(InvalidArgumentError, match=r"valid must be a boolean \(H, W\)"):
        m.update(one, one, np.ones((3, 3), bool))


def test_instance_metric_takes_instances_as_their_masks():
    # Real Instances: target pictures of two id maps, decoded by extract_instances.
    gt_ids = np.zeros((40, 60), np.uint32)
    gt_ids[2:18, 3:25], gt_ids[20:38, 5:30], gt_ids[10:30, 35:58] = 1, 2, 3
    pred_ids = np.zeros_like(gt_ids)
    pred_ids[2:18, 3:20], pred_ids[24:38, 5:30], pred_ids[0:8, 40:58] = 1, 2, 3
    gt, pred = (extract_instances(encode_instances(ids)) for ids in (gt_ids, pred_ids))
    assert len(gt) == len(pred) == 3
    gt_masks, pred_masks = gt.masks(), pred.masks()
    valid = np.ones(gt_ids.shape, bool)
    valid[:, :10] = False

    by_instances, by_masks = InstanceMetric(), InstanceMetric()
    by_instances.update(pred, gt)
    by_instances.update([pred, pred_masks], [gt_masks, gt], [valid, None])  # a batch, mixed
    by_masks.update(pred_masks, gt_masks)
    by_masks.update([pred_masks, pred_masks], [gt_masks, gt_masks], [valid, None])
    want = ref_instance(
        [(pred_masks, gt_masks), (pred_masks & valid, gt_masks & valid), (pred_masks, gt_masks)]
    )
    assert_dicts_close(by_instances.compute(), want, rtol=1e-12)
    assert by_instances.compute() == by_masks.compute()
    assert 0 < want["pmf1"] < 1  # IoUs 0.67-0.78 and a miss: above some thresholds only
    np.testing.assert_array_equal(mask_iou(pred, gt), mask_iou(pred_masks, gt_masks))


def test_instance_batch_arguments_must_have_one_entry_per_image():
    one = np.ones((1, 4, 4), bool)
    valid = np.ones((4, 4), bool)
    m = InstanceMetric()
    with pytest.raises(
        InvalidArgumentError, match=r"one mask \(or None\) per image.*3 images, got 2"
    ):
        m.update([one] * 3, [one] * 3, [valid] * 2)
    with pytest.raises(InvalidArgumentError, match="3 images, got 2 entries"):
        m.update([one] * 3, [one] * 2)
    with pytest.raises(InvalidArgumentError, match="a sequence of"):
        m.update([one] * 3, [one] * 3, valid)
    # Nothing was counted by the refused calls.
    assert m.compute()["il_mcc"] == 0.0
    assert np.isnan(m.compute()["pmf1"])
    m.update([one] * 2, [one] * 2, [valid, None])
    assert m.compute() == {"pmf1": 1.0, "il_mcc": 0.0, "cgf1": 0.0}


# ---------------------------------------------------------------------------------------------
# Depth


def depth_pair(shape, rng):
    gt = rng.uniform(0.1, 20, shape).astype(np.float32)
    gt[rng.random(shape) < 0.1] = 0  # missing ground truth
    pred = (gt * rng.uniform(0.7, 1.4, shape)).astype(np.float32)
    pred[rng.random(shape) < 0.01] = np.nan
    return pred, gt


@pytest.mark.parametrize("max_depth", [None, 10.0])
def test_depth_matches_zoedepth(max_depth):
    preds, gts = depth_pair((3, 60, 70), RNG)
    hi = np.inf if max_depth is None else max_depth
    want_images = [ref_depth(p, g, 1e-3, hi) for p, g in zip(preds, gts, strict=False)]
    per_image = {k: np.mean([w[k] for w in want_images]) for k in want_images[0]}
    metric = DepthMetric(max_depth=max_depth)
    metric.update(preds, gts)
    assert_dicts_close(metric.compute(), per_image, rtol=1e-9)
    pooled = ref_depth(preds.ravel(), gts.ravel(), 1e-3, hi)
    assert_dicts_close(metric.compute(averaging="pixel"), pooled, rtol=1e-9)


def test_depth_valid_mask_noncontiguous_and_float64():
    pred, gt = depth_pair((50, 80), RNG)
    valid = RNG.random((50, 80)) < 0.5
    ours = depth_metrics(pred.astype(np.float64)[:, ::2], gt[:, ::2], valid[:, ::2])
    want = ref_depth(pred[:, ::2][valid[:, ::2]], gt[:, ::2][valid[:, ::2]], 1e-3, np.inf)
    assert_dicts_close(ours, want, rtol=1e-9)


def test_depth_alignment():
    pred, gt = depth_pair((40, 40), RNG)
    pred = np.nan_to_num(pred, nan=1.0)
    keep = gt > 1e-3
    scaled = depth_metrics(pred * 0.1, gt, alignment="median")
    s = np.median(gt[keep]) / np.median(pred[keep] * 0.1)
    assert_dicts_close(scaled, ref_depth(pred * 0.1 * s, gt, 1e-3, np.inf), rtol=1e-5)
    lsq = depth_metrics(pred * 0.1 + 3, gt, alignment="least_squares")
    a, b = np.polyfit(pred[keep] * 0.1 + 3, gt[keep], 1)
    assert_dicts_close(lsq, ref_depth((pred * 0.1 + 3) * a + b, gt, 1e-3, np.inf), rtol=1e-4)


def test_depth_edge_cases_and_errors():
    zero = np.zeros((4, 4), np.float32)
    assert np.isnan(depth_metrics(zero, zero)["abs_rel"])  # zero-depth ground truth excluded
    m = DepthMetric()
    m.update(np.ones((2, 4, 4)), np.stack([np.ones((4, 4)), np.zeros((4, 4))]))
    assert m.images == 1
    assert m.compute()["delta1"] == 1.0
    with pytest.raises(InvalidArgumentError, match="min_depth must be above 0"):
        DepthMetric(min_depth=0)
    with pytest.raises(InvalidArgumentError, match="max_depth must be above min_depth"):
        DepthMetric(min_depth=1, max_depth=0.5)
    with pytest.raises(InvalidArgumentError, match="alignment must be one of"):
        DepthMetric(alignment="mean")
    with pytest.raises(InvalidTypeError, match="real-valued"):
        m.update(np.ones((2, 2), complex), np.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="same alignment"):
        m.merge(DepthMetric(alignment="median"))


@pytest.mark.parametrize("which", ["gt", "pred"])
def test_depth_refuses_integer_maps_whose_unit_is_not_metres(which):
    millimetres = np.full((4, 4), 2500, np.uint16)  # 2.5 m as NYUv2 stores it
    metres = np.full((4, 4), 2.5, np.float32)
    pair = {"gt": metres, "pred": metres, which: millimetres}
    m = DepthMetric()
    with pytest.raises(InvalidTypeError, match=rf"{which} is an integer array \(uint16\).*/ 1000"):
        m.update(pair["pred"], pair["gt"])
    with pytest.raises(InvalidTypeError, match="integer array"):
        depth_metrics(pair["pred"], pair["gt"])
    assert m.images == 0
    # Converted as the message says, it scores as the same depth.
    pair[which] = millimetres / 1000
    assert depth_metrics(pair["pred"], pair["gt"])["abs_rel"] == pytest.approx(0.0, abs=1e-7)


# ---------------------------------------------------------------------------------------------
# Normals


def normal_pair(shape, rng):
    gt = rng.normal(size=(*shape, 3))
    gt /= np.linalg.norm(gt, axis=-1, keepdims=True)
    gt[rng.random(shape) < 0.1] = 0  # missing
    pred = gt + rng.normal(scale=0.3, size=gt.shape)
    return pred.astype(np.float32), gt.astype(np.float32)


def test_normals_match_dsine_and_marigold():
    preds, gts = normal_pair((3, 40, 50), RNG)
    metric = NormalMetric()
    metric.update(preds[:1], gts[:1])
    metric.update(preds[1:], gts[1:])
    errors = [ref_normal_errors(p, g) for p, g in zip(preds, gts, strict=False)]
    pooled = ref_normal_summary(np.concatenate(errors))
    ours = metric.compute()
    assert abs(ours.pop("median") - pooled.pop("median")) < 1e-3
    assert_dicts_close(ours, pooled, rtol=1e-9)
    summaries = [ref_normal_summary(e) for e in errors]
    per_image = {k: np.mean([s[k] for s in summaries]) for k in summaries[0]}
    assert_dicts_close(metric.compute(averaging="image"), per_image, rtol=1e-9)


def test_normals_valid_mask_and_edge_cases():
    pred, gt = normal_pair((30, 40), RNG)
    valid = RNG.random((30, 40)) < 0.5
    ours = normal_metrics(pred, gt, valid, averaging="image")
    want = ref_normal_summary(ref_normal_errors(pred[valid], gt[valid]))
    assert_dicts_close(ours, want, rtol=1e-9)
    zero = np.zeros((4, 4, 3))
    assert np.isnan(normal_metrics(zero, zero)["mean"])
    up = np.broadcast_to([0.0, 0.0, 1.0], (4, 4, 3))
    assert normal_metrics(zero, up)["mean"] == 180.0  # a missing prediction is all wrong
    with pytest.raises(InvalidArgumentError, match="3 channels"):
        normal_metrics(np.zeros((4, 4, 2)), np.zeros((4, 4, 2)))
    with pytest.raises(InvalidArgumentError, match="valid must have the shape"):
        normal_metrics(zero, zero, np.ones((4, 4, 3), bool))


# ---------------------------------------------------------------------------------------------
# Merging and pickling


def filled(metric, update_args):
    for args in update_args:
        metric.update(*args)
    return metric


@pytest.mark.parametrize(
    ("make", "data"),
    [
        (
            lambda: SemanticMetric(5),
            [(RNG.integers(0, 5, (9, 9)), RNG.integers(0, 5, (9, 9))) for _ in range(4)],
        ),
        (ReferringMetric, [(blobs(2, 9, 9, RNG), blobs(2, 9, 9, RNG)) for _ in range(4)]),
        (InstanceMetric, [(blobs(2, 9, 9, RNG), blobs(3, 9, 9, RNG)) for _ in range(4)]),
        (DepthMetric, [depth_pair((9, 9), RNG) for _ in range(4)]),
        (NormalMetric, [normal_pair((9, 9), RNG) for _ in range(4)]),
    ],
)
def test_merge_equals_one_pass_and_pickles(make, data):
    whole = filled(make(), data).compute()
    halves = filled(make(), data[:2])
    other = pickle.loads(pickle.dumps(filled(make(), data[2:])))
    merged = halves.merge(other).compute()
    for k in whole:
        np.testing.assert_allclose(merged[k], whole[k], rtol=1e-12, err_msg=k)
    summed = (filled(make(), data[:1]) + filled(make(), data[1:])).compute()
    for k in whole:
        np.testing.assert_allclose(summed[k], whole[k], rtol=1e-12, err_msg=k)


# ---------------------------------------------------------------------------------------------
# COCO mask AP (pycocotools)


def boxes_mask(shape, boxes):
    masks = np.zeros((len(boxes), *shape), bool)
    for m, (y, x, h, w) in zip(masks, boxes, strict=True):
        m[y : y + h, x : x + w] = True
    return masks


def test_coco_mask_ap_perfect_and_known_partial():
    gts = [boxes_mask((64, 64), [(2, 2, 10, 10), (30, 30, 20, 20)]), boxes_mask((64, 64), [])]
    perfect = coco_mask_ap([(g, np.ones(len(g))) for g in gts], gts)
    assert set(perfect) == set(COCO_STATS)
    for k in ("ap", "ap50", "ap75", "ap_small", "ar10", "ar100", "ar_small"):
        assert perfect[k] == pytest.approx(1.0), k
    assert perfect["ar1"] == pytest.approx(0.5)  # one detection per image, two objects
    assert perfect["ap_medium"] == perfect["ap_large"] == -1  # no objects of those sizes
    # One of two objects found (ranked first), then a false positive, the other missed: precision
    # 1 up to recall 0.5 and none beyond, so AP = 51 / 101 on COCO's 101 recall points.
    found, wrong = boxes_mask((64, 64), [(2, 2, 10, 10), (50, 0, 5, 5)])
    partial = coco_mask_ap([(np.stack([found, wrong]), [0.9, 0.8]), gts[1]], gts)
    assert partial["ap"] == pytest.approx(51 / 101)
    assert partial["ar100"] == pytest.approx(0.5)
    # The false positive ranked first halves the precision up to recall 0.5.
    swapped = coco_mask_ap([(np.stack([found, wrong]), [0.8, 0.9]), gts[1]], gts)
    assert swapped["ap"] == pytest.approx(0.5 * 51 / 101)
    missed = coco_mask_ap([gts[1], gts[1]], gts)
    assert missed["ap"] == 0.0


def test_coco_mask_ap_of_instances_objects():
    ids = np.zeros((40, 50), np.uint32)
    ids[5:15, 5:25], ids[20:38, 10:40] = 1, 2
    masks = np.stack([ids == 1, ids == 2])
    gt = Instances(ids, np.zeros((2, 3)), masks.sum((1, 2)), np.zeros((2, 4), np.int64), np.ones(2))
    half = ids.copy()
    half[20:38, 10:25] = 0  # the second instance half covered: IoU 0.5
    pred = Instances(
        half, np.zeros((2, 3)), np.zeros(2, np.int64), np.zeros((2, 4), np.int64), np.ones(2)
    )
    assert coco_mask_ap([gt], [gt])["ap"] == pytest.approx(1.0)
    ours = coco_mask_ap([pred], [masks])
    assert ours["ap50"] == pytest.approx(1.0)
    assert ours["ap75"] == pytest.approx(51 / 101)  # only the first reaches IoU 0.75
    assert ours == coco_mask_ap([(masks * (half[None] > 0), pred.scores)], [gt])


def test_coco_mask_ap_errors():
    gt = boxes_mask((8, 8), [(0, 0, 4, 4)])
    with pytest.raises(InvalidArgumentError, match="one entry per image"):
        coco_mask_ap([gt, gt], [gt])
    with pytest.raises(InvalidArgumentError, match="scores must have shape"):
        coco_mask_ap([(gt, [0.5, 0.5])], [gt])
    with pytest.raises(InvalidArgumentError, match="ground truth"):
        coco_mask_ap([boxes_mask((9, 8), [(0, 0, 4, 4)])], [gt])


def test_coco_mask_ap_without_pycocotools(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    with pytest.raises(ImportError, match="pip install pycocotools"):
        coco_mask_ap([], [])
