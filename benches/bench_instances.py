"""Speed of instance extraction against the same five stages written with numpy/scipy, as a Python
user would (one ``scipy.ndimage.label`` per seed colour), timed in the same run.

    pytest benches/bench_instances.py --benchmark-enable -s

One picture runs on one core by construction (the flood fill is sequential), so its time is the
single-core time; the batch form spreads pictures over the cores.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import vision_banana as vb
from timing import compare, seconds

HEIGHT, WIDTH = 880, 1216
TAU = 14.0


@pytest.fixture(scope="module")
def scene():
    """30 instances (6 x 5 ellipses, some touching) in distinct colours, noise sigma 1.5."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    ids = np.zeros((HEIGHT, WIDTH), np.uint32)
    for k in range(30):
        row, col = divmod(k, 6)
        cy, cx = 90 + 175 * row + rng.integers(-10, 10), 100 + 203 * col + rng.integers(-10, 10)
        ry, rx = rng.integers(60, 95), rng.integers(70, 110)
        ids[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] = k + 1
    clean = vb.encode_instances(ids).astype(np.float64)
    noisy = clean + rng.normal(0, 1.5, clean.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def baseline(rgb, tau=TAU, min_area_fraction=2e-4, erosion_keep=0.1, merge_bbox_ratio=5.0):
    """The five stages in numpy/scipy at 8-connectivity (scipy's structures stop at 3x3)."""
    img = rgb.astype(np.float64)
    h, w = img.shape[:2]
    free = (img**2).sum(-1) >= tau * tau
    labels = np.zeros((h, w), np.int64)
    count = 0
    while True:
        todo = free & (labels == 0)
        if not todo.any():
            break
        y, x = np.unravel_index(np.argmax(todo), todo.shape)
        close = todo & (((img - img[y, x]) ** 2).sum(-1) < tau * tau)
        lab, _ = ndimage.label(close, structure=np.ones((3, 3)))
        count += 1
        labels[lab == lab[y, x]] = count
    groups = []
    for k, box in enumerate(ndimage.find_objects(labels), start=1):
        region = labels == k
        area = region.sum()
        eroded = ndimage.binary_erosion(region, np.ones((3, 3))).sum()
        if area >= min_area_fraction * h * w and eroded >= erosion_keep * area:
            ys, xs = box
            groups.append([region, img[region].mean(0), (xs.start, ys.start, xs.stop, ys.stop)])

    def box_area(b):
        return (b[2] - b[0]) * (b[3] - b[1])

    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                gi, gj = groups[i], groups[j]
                if gi is None or gj is None:
                    continue
                bi, bj = gi[2], gj[2]
                union = (min(bi[0], bj[0]), min(bi[1], bj[1]), max(bi[2], bj[2]), max(bi[3], bj[3]))
                near = ((gi[1] - gj[1]) ** 2).sum() < tau * tau
                if near and box_area(union) <= merge_bbox_ratio * (box_area(bi) + box_area(bj)):
                    region = gi[0] | gj[0]
                    groups[i] = [region, img[region].mean(0), union]
                    groups[j] = None
                    merged = True
    groups = [g for g in groups if g is not None]
    ids = np.zeros((h, w), np.uint32)
    for k, g in enumerate(groups, start=1):
        ids[g[0]] = k
    return ids


def test_extract_vs_numpy_scipy(benchmark, scene):
    picture = scene
    ours = benchmark(vb.extract_instances, picture, connectivity=8)
    assert len(ours) == 30
    np.testing.assert_array_equal(ours.ids, baseline(picture))
    compare(benchmark, seconds(lambda: baseline(picture), repeat=1), at_least=100)


def test_extract_16_connectivity_one_core(benchmark, scene):
    picture = scene
    ours = benchmark(vb.extract_instances, picture)
    assert len(ours) == 30
    if not benchmark.disabled:
        assert benchmark.stats.stats.min < 0.020, "target: under 20 ms on one core"


def test_coco_rle_vs_pycocotools(benchmark, scene):
    from pycocotools import mask as coco_mask

    found = vb.extract_instances(scene)
    rles = benchmark(found.to_coco_rle)
    masks = np.asfortranarray(found.masks().transpose(1, 2, 0).astype(np.uint8))
    assert [r["counts"] for r in rles] == [r["counts"].decode() for r in coco_mask.encode(masks)]
    compare(benchmark, seconds(lambda: coco_mask.encode(masks)))


def test_batch_of_eight(benchmark, scene):
    stack = np.stack([scene] * 8)
    out = benchmark(vb.extract_instances_batch, stack)
    assert all(len(o) == 30 for o in out)
