"""What the evaluation harness adds per query, timed against the work any evaluation must do.

    pytest benches/bench_eval.py --benchmark-enable -s

Four 1 MP depth samples (1024x1024 photo, float32 .npy truth) with their pictures already in the
cache, so the generator is instant. One query of the harness reads the photo's bytes (for the
cache key), reads the cached PNG, decodes it, reads the truth, scores, and writes its line; the
direct way does the PNG read, the decode, the truth read and the scoring, nothing else. The
harness must add less than the PNG read of the generated picture; the ratio to the decode alone
is reported. Untimed (``--benchmark-disable``), the metrics are still checked against the direct
computation.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from timing import compare, seconds
from vision_banana.backends import Generator
from vision_banana.eval import evaluate
from vision_banana.io import read_image

SIDE = 1024
COUNT = 4


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """The folder, a warm cache, and each sample's cached picture path and truth path."""
    root = tmp_path_factory.mktemp("eval")
    (root / "set" / "images").mkdir(parents=True)
    (root / "set" / "depth").mkdir()
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    pictures = []
    for i in range(COUNT):
        depth = (0.5 + 20 * (1 - y) ** 2 + 3 * np.sin(7 * x + i) ** 2).astype(np.float32)
        photo = (np.stack([x, y, np.full_like(x, i / COUNT)], -1) * 255).astype(np.uint8)
        Image.fromarray(photo).save(root / "set" / "images" / f"{i}.jpg", quality=90)
        np.save(root / "set" / "depth" / f"{i}.npy", depth)
        guess = depth * rng.uniform(0.9, 1.1, depth.shape).astype(np.float32)
        pictures.append(vb.encode_depth(guess))
    first = Prepared(pictures)
    report = evaluate("folder", root / "set", first, cache=root / "cache", out=root / "first")
    assert report.scored == COUNT
    cached = [root / "cache" / r["key"][:2] / f"{r['key']}.png" for r in _records(root / "first")]
    truths = [root / "set" / "depth" / f"{i}.npy" for i in range(COUNT)]
    return root, cached, truths


def _records(out: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def _direct(cached: list[Path], truths: list[Path]) -> vb.DepthMetric:
    """The work any evaluation does: read each picture, decode, read the truth, score."""
    metric = vb.DepthMetric()
    for picture, truth in zip(cached, truths, strict=True):
        depth = vb.decode_depth(read_image(picture))
        gt = np.load(truth)
        metric.update(depth, gt, np.isfinite(gt) & (gt > 0))
    return metric


def test_harness_overhead_per_query_vs_decode_and_png_read(benchmark, warm):
    root, cached, truths = warm
    runs = itertools.count()

    def fresh_output():  # a new OUTDIR each round: a first run, not a rerun that compacts
        return (root / f"run{next(runs)}",), {}

    def harness(out):
        return evaluate("folder", root / "set", Prepared([]), cache=root / "cache", out=out)

    report = benchmark.pedantic(harness, setup=fresh_output, rounds=5, iterations=1)
    direct = _direct(cached, truths)
    assert (report.generated, report.scored) == (0, COUNT)
    assert report.metrics == pytest.approx(direct.compute() | _pooled(direct), rel=1e-12)

    pictures = [read_image(p) for p in cached]
    png_read = seconds(lambda: [read_image(p) for p in cached]) / COUNT
    decode = seconds(lambda: [vb.decode_depth(p) for p in pictures]) / COUNT
    direct_s = seconds(lambda: _direct(cached, truths)) / COUNT
    compare(benchmark, decode * COUNT)
    if not benchmark.disabled:
        per_query = benchmark.stats.stats.min / COUNT
        added = per_query - direct_s
        print(
            f"per query: harness {per_query * 1e3:.2f} ms, direct {direct_s * 1e3:.2f} ms, "
            f"added {added * 1e3:.2f} ms; PNG read {png_read * 1e3:.2f} ms, "
            f"decode {decode * 1e3:.2f} ms"
        )
        benchmark.extra_info.update(per_query_s=per_query, added_s=added, png_read_s=png_read)
        assert added < png_read, f"the harness adds {added * 1e3:.2f} ms > the PNG read"


def _pooled(metric: vb.DepthMetric) -> dict[str, float]:
    return {f"{k}_pooled": v for k, v in metric.compute("pixel").items()}


class Prepared(Generator):
    """An instant generator answering with prepared pictures in turn. Every instance has the same
    identity, so a second one finds the first one's pictures in the cache."""

    name = "prepared"

    def __init__(self, pictures: list[np.ndarray]):
        self.pictures = iter(pictures)

    def generate(self, image, prompt, *, seed=None):
        return Image.fromarray(next(self.pictures))
