"""End to end: ``evaluate`` on the tiny official layouts of every depth and normals adapter, with a
generator painting known pictures, checked against numpy versions of the protocols (the caps
written out here, per-image and pooled averaging)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from eval_layouts import (
    build_diode,
    build_dsine,
    build_eth3d,
    build_ibims,
    build_kitti,
    build_nuscenes,
    build_nyu,
)
from eval_support import (
    DEPTH_KEYS,
    NORMAL_KEYS,
    Painter,
    decoded_depth,
    decoded_normals,
    depth_reference,
    normals_reference,
    photo_of,
)
from vision_banana.eval import evaluate
from vision_banana.eval.benchmarks import BENCHMARKS, eth3d

# name: (builder, its arguments, options of evaluate, (min_depth, max_depth) of the protocol)
DEPTH = {
    "nyu": (build_nyu, {}, {}, (1e-3, 10.0)),
    "ibims": (build_ibims, {}, {}, (0.005, 25.0)),
    "eth3d": (build_eth3d, {"shape": (12, 18)}, {}, (0.01, 50.0)),
    "diode-indoor": (build_diode, {}, {}, (0.01, 25.0)),
    "kitti": (build_kitti, {}, {"split": "split.txt"}, (1e-3, 80.0)),
    "nuscenes": (
        build_nuscenes,
        {"scenes": (("scene-0003", 1),)},
        {"split": "val_scenes.txt"},
        (1e-3, 80.0),
    ),
}
NORMALS = {
    "nyu-normals": (build_dsine, {"folder": "nyuv2"}),
    "vkitti2-normals": (build_dsine, {"folder": "vkitti"}),
    "diode-indoor-normals": (build_diode, {}),
}


def check(metrics, expected, suffix="", abs_tol=1e-9):
    for key, value in expected.items():
        assert metrics[key + suffix] == pytest.approx(value, rel=1e-6, abs=abs_tol), key + suffix


def samples_with_coded_photos(name, root, options):
    """The benchmark's samples, each photo rewritten as the uniform grey that tells the painter
    which sample it is (in the photo's own format)."""
    samples = list(BENCHMARKS[name](root, **options).samples())
    for i, sample in enumerate(samples):
        kind = "PNG" if sample.photo.suffix == ".png" else "JPEG"
        Image.fromarray(photo_of(i)).save(sample.photo, format=kind, quality=95)
    return samples


@pytest.mark.parametrize("name", DEPTH)
def test_depth_benchmark_scores_as_its_protocol_says(tmp_path, monkeypatch, name):
    build, arguments, options, (low, high) = DEPTH[name]
    monkeypatch.setattr(eth3d, "DEPTH_SHAPE", (12, 18))
    rng = np.random.default_rng(20)
    build(tmp_path, rng, **arguments)
    options = {k: tmp_path / v for k, v in options.items()}
    samples = samples_with_coded_photos(name, tmp_path, options)
    truths = [s.load_truth() for s in samples]
    # Predictions: the truth off by up to -40% / +60%, and 3 to 120 m where there is none, so
    # that the caps clip some of them.
    guesses = [
        np.where(t.valid, t.depth, rng.uniform(3, 120, t.depth.shape))
        * rng.uniform(0.6, 1.6, t.depth.shape)
        for t in truths
    ]
    pictures = [vb.encode_depth(g.astype(np.float32)) for g in guesses]
    painter = Painter(pictures)
    report = evaluate(name, tmp_path, painter.generator(), out=tmp_path / "out", **options)

    assert (report.task, report.samples, report.scored, report.failures) == (
        "depth",
        len(samples),
        len(samples),
        [],
    )
    assert report.metric_options == {"min_depth": low, "max_depth": high, "averaging": "image"}
    preds = [decoded_depth(p) for p in pictures]
    per_image, pooled = depth_reference(
        preds, [t.depth for t in truths], [t.valid for t in truths], min_depth=low, max_depth=high
    )
    assert set(report.metrics) == {*DEPTH_KEYS, *(k + "_pooled" for k in DEPTH_KEYS)}
    check(report.metrics, per_image)
    check(report.metrics, pooled, "_pooled")
    assert 0.2 < per_image["delta1"] < 0.95
    assert painter.calls == len(samples)


@pytest.mark.parametrize("name", NORMALS)
def test_normals_benchmark_pools_angular_errors(tmp_path, name):
    build, arguments = NORMALS[name]
    rng = np.random.default_rng(21)
    build(tmp_path, rng, **arguments)
    samples = samples_with_coded_photos(name, tmp_path, {})
    truths = [s.load_truth() for s in samples]
    # Predictions: the truth turned by up to about 40 degrees, a camera-facing wall where none.
    guesses = []
    for t in truths:
        filled = np.where(t.valid[..., None], t.normals, np.array([0, 0, -1.0]))
        turned = filled + rng.normal(0, 0.35, filled.shape)
        guesses.append(turned / np.linalg.norm(turned, axis=-1, keepdims=True))
    pictures = [vb.encode_normals(vb.to_opencv(g).astype(np.float32)) for g in guesses]
    report = evaluate(name, tmp_path, Painter(pictures).generator(), out=tmp_path / "out")

    assert (report.task, report.scored, report.failures) == ("normals", len(samples), [])
    assert report.metric_options == {"averaging": "pixel"}
    preds = [decoded_normals(p) for p in pictures]
    pooled, per_image = normals_reference(
        preds, [t.normals for t in truths], [t.valid for t in truths]
    )
    assert set(report.metrics) == {*NORMAL_KEYS, *(k + "_per_image" for k in NORMAL_KEYS)}
    # The pooled median comes from 0.001-degree bins (NormalMetric's documented precision).
    check(report.metrics, {k: v for k, v in pooled.items() if k != "median"})
    assert report.metrics["median"] == pytest.approx(pooled["median"], abs=1e-3)
    check(report.metrics, per_image, "_per_image", abs_tol=1e-6)
    assert 5 < pooled["mean"] < 40


def test_a_corrupt_truth_file_fails_its_sample_and_the_run_goes_on(tmp_path):
    build_kitti(tmp_path, np.random.default_rng(22))
    split = tmp_path / "split.txt"
    samples = samples_with_coded_photos("kitti", tmp_path, {"split": split})
    truths = [s.load_truth() for s in samples]
    pictures = [vb.encode_depth(np.where(t.valid, t.depth, 5.0).astype(np.float32)) for t in truths]
    gt = tmp_path / "2011_09_26_drive_0002_sync/proj_depth/groundtruth/image_02/0000000069.png"
    gt.write_bytes(b"not a png")
    report = evaluate("kitti", tmp_path, Painter(pictures).generator(), split=split)
    assert (report.samples, report.scored, len(report.failures)) == (2, 1, 1)
    assert report.failures[0].id == samples[0].id
    assert "cannot read image" in report.failures[0].error
    assert report.metrics["delta1"] == pytest.approx(1.0)
