"""Speed of instance extraction, each benchmark timing ours and its baseline in the same run:

    python -m pytest benches/bench_instances.py --benchmark-enable -s

Baselines: the same five stages written with numpy/scipy, as a Python user would (one
``scipy.ndimage.label`` per seed colour); for the merging stage on a megapixel of small pieces,
our own call on 256x256 crops times 16 (so the ratio is the cost per megapixel at 1 MP over that
at 1/16 MP: 1 when the work is linear, 16 when quadratic); for the batch, single calls in a loop.

One picture runs on one core by construction (every stage is sequential, so
``RAYON_NUM_THREADS=1`` is not needed), so its time is the single-core time; the batch form spreads
pictures over the cores.
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


@pytest.fixture(scope="module")
def scipy_answer(scene):
    """The numpy/scipy baseline's id map for the scene, and its time (one run: it takes seconds)."""
    answer = []
    took = seconds(lambda: answer.append(baseline(scene)), repeat=1)
    return answer[0], took


def test_extract_vs_numpy_scipy(benchmark, scene, scipy_answer):
    ids, baseline_s = scipy_answer
    ours = benchmark(vb.extract_instances, scene, connectivity=8)
    assert len(ours) == 30
    np.testing.assert_array_equal(ours.ids, ids)
    compare(benchmark, baseline_s, at_least=100)


def test_extract_16_connectivity_one_core(benchmark, scene, scipy_answer):
    # The baseline stops at 8 neighbours; here 16 give the same ids: the knight moves only add
    # links between pixels two apart, and in this scene every two pixels of one colour (within
    # tau) that close lie in the same solid ellipse, already 8-connected.
    ids, baseline_s = scipy_answer
    ours = benchmark(vb.extract_instances, scene)
    assert len(ours) == 30
    np.testing.assert_array_equal(ours.ids, ids)
    compare(benchmark, baseline_s, at_least=100)
    if not benchmark.disabled:
        assert benchmark.stats.stats.min < 0.020, "target: under 20 ms on one core"


def test_coco_rle_vs_pycocotools(benchmark, scene):
    from pycocotools import mask as coco_mask

    found = vb.extract_instances(scene)
    rles = benchmark(found.to_coco_rle)
    masks = np.asfortranarray(found.masks().transpose(1, 2, 0).astype(np.uint8))
    assert [r["counts"] for r in rles] == [r["counts"].decode() for r in coco_mask.encode(masks)]
    compare(benchmark, seconds(lambda: coco_mask.encode(masks)))


def assert_same_instances(ours, theirs):
    np.testing.assert_array_equal(ours.ids, theirs.ids)
    for name in ("colors", "areas", "bboxes", "scores"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))


def test_batch_of_eight_vs_single_calls(benchmark, scene):
    stack = np.stack([scene] * 8)
    out = benchmark(vb.extract_instances_batch, stack)
    one_by_one = [vb.extract_instances(p) for p in stack]
    assert len(out) == 8
    for ours, single in zip(out, one_by_one, strict=True):
        assert_same_instances(ours, single)
    compare(benchmark, seconds(lambda: [vb.extract_instances(p) for p in stack], repeat=3))


# Merging on a megapixel of small pieces (SPEC.md section 4, stage 5 with min_area_fraction=0).
SIDE = 1024


def lattice_blocks(side, block=4, period=40, seed=5):
    """(side, side, 3) uint8 of block x block squares in random colours from the lattice
    {0, 15, ..., 255}^3 without black: any two differ by 15 or more on some channel, so no two
    squares join in the fill or merge (the merge also needs means within tau = 14). Colours are
    drawn without repeats for the `period` x `period` positions (row, column mod period); equal
    colours are 40 squares apart, too far for the box test."""
    levels = np.arange(0, 256, 15)
    lattice = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)[1:]
    rng = np.random.default_rng(seed)
    palette = lattice[rng.choice(len(lattice), period * period, replace=False)]
    n = side // block
    rows, cols = np.meshgrid(np.arange(n) % period, np.arange(n) % period, indexing="ij")
    colours = palette[rows * period + cols].astype(np.uint8)
    return np.repeat(np.repeat(colours, block, 0), block, 1)


def block_ids(side, block=4):
    """Each block x block square its own instance, numbered in raster order from 1."""
    n = side // block
    ids = np.arange(1, n * n + 1, dtype=np.uint32).reshape(n, n)
    return np.repeat(np.repeat(ids, block, 0), block, 1)


def one_colour_grid(side):
    """(side, side, 3) uint8: 3x3 squares of one colour every 5 pixels on black. The 2-pixel
    lines keep them apart in the fill (a knight's move reaches 2 pixels, the squares are 3
    apart), and each merges with its neighbours: 42025 pieces merge into one instance."""
    rgb = np.zeros((side, side, 3), np.uint8)
    on = np.arange(side) % 5 < 3
    rgb[np.ix_(on, on)] = (200, 30, 30)
    return rgb


def merge_pieces(picture):
    return vb.extract_instances(picture, min_area_fraction=0)


def per_megapixel_baseline(picture, side, check):
    """Our time on the top-left side x side crop, scaled to the whole picture's pixel count (16
    times for 256), after checking the crop's answer."""
    crop = picture[:side, :side]
    check(merge_pieces(crop), side)
    return (SIDE / side) ** 2 * seconds(lambda: merge_pieces(crop), repeat=3)


def test_merge_random_blocks_1mp_one_core(benchmark):
    picture = lattice_blocks(SIDE)

    def check(found, side):
        assert len(found) == (side // 4) ** 2
        np.testing.assert_array_equal(found.ids, block_ids(side))

    found = benchmark(merge_pieces, picture)
    check(found, SIDE)
    compare(benchmark, per_megapixel_baseline(picture, 256, check), at_most_times=2)
    if not benchmark.disabled:
        assert benchmark.stats.stats.min < 2.0, "target: under 2 s on one core"


def test_merge_one_colour_grid_1mp_one_core(benchmark):
    picture = one_colour_grid(SIDE)

    def check(found, side):
        lit = picture[:side, :side].any(-1)
        ys, xs = np.nonzero(lit)
        assert len(found) == 1
        assert found[0].area == lit.sum()
        assert found[0].bbox == (0, 0, xs.max() + 1, ys.max() + 1)
        np.testing.assert_array_equal(found.ids, lit.astype(np.uint32))

    found = benchmark(merge_pieces, picture)
    check(found, SIDE)
    # 255 = 51 whole periods: a 256 crop would end in 1-pixel slivers that the erosion drops.
    compare(benchmark, per_megapixel_baseline(picture, 255, check), at_most_times=2)
    if not benchmark.disabled:
        assert benchmark.stats.stats.min < 2.0, "target: under 2 s on one core"
