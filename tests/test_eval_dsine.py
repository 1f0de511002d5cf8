"""The DSINE adapters (nyu-normals, scannet-normals, vkitti2-normals): the layout, the 8- and
16-bit PNGs, and the frame: DSINE's PNG is the colour code of a Vision Banana normals picture."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_dsine
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks.dsine import NYUNormals, ScanNetNormals, VKITTI2Normals
from vision_banana.io import write_image
from vision_banana.metrics import NormalMetric
from vision_banana.normals import decode_normals, encode_normals

SETS = [
    (NYUNormals, "nyuv2", 255),
    (ScanNetNormals, "scannet", 255),
    (VKITTI2Normals, "vkitti", 65535),
]


@pytest.mark.parametrize(("bench", "folder", "top"), SETS)
def test_samples_and_truth(tmp_path, bench, folder, top):
    written = build_dsine(tmp_path, np.random.default_rng(7), folder)
    samples = list(bench(tmp_path).samples())
    assert [s.id for s in samples] == [w.id for w in written]
    for sample, w in zip(samples, written, strict=True):
        truth = sample.load_truth()
        stored = w.arrays["normal"]
        valid = stored.any(axis=2)
        np.testing.assert_array_equal(truth.valid, valid)
        inward = stored / top * 2.0 - 1.0  # DSINE's reading, then negated: outward
        expected = -inward / np.linalg.norm(inward, axis=2, keepdims=True)
        np.testing.assert_allclose(truth.normals[valid], expected[valid], atol=1e-6)
        assert np.all(truth.normals[~valid] == 0)
    assert bench.metric_options == {"averaging": "pixel"}


def angles(a, b):
    """Angles in degrees between vectors, by atan2 (exact near 0, where acos is not)."""
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def test_a_wall_a_floor_and_a_left_facing_wall_score_0_degrees(tmp_path):
    # Three surfaces in DSINE's own convention (utils/d2n/cross.py): (right, down, forward)
    # axes, the vector pointing into the surface.
    dsine = {"camera-facing wall": (0, 0, 1), "floor": (0, 1, 0), "left-facing wall": (1, 0, 0)}
    # The same surfaces in the paper's frame (x right, y up, z toward the viewer), outward.
    paper = {"camera-facing wall": (0, 0, 1), "floor": (0, 1, 0), "left-facing wall": (-1, 0, 0)}
    opencv = {"camera-facing wall": (0, 0, -1), "floor": (0, -1, 0), "left-facing wall": (-1, 0, 0)}
    names = list(dsine)
    stripes = np.repeat(np.arange(3), 4)[None, :].repeat(6, axis=0)  # 6 x 12, three stripes
    base = tmp_path / "dsine_eval" / "nyuv2" / "test"
    base.mkdir(parents=True)
    write_image(base / "000000_img.png", np.zeros((6, 12, 3), np.uint8))
    dsine_png = np.round((np.array([dsine[n] for n in names])[stripes] + 1) / 2 * 255)
    write_image(base / "000000_normal.png", dsine_png.astype(np.uint8))
    truth = next(NYUNormals(tmp_path).samples()).load_truth()

    picture = encode_normals(np.array([paper[n] for n in names], np.float32)[stripes])
    predicted, predicted_valid = decode_normals(picture, frame="opencv")
    assert predicted_valid.all()
    assert truth.valid.all()
    errors = angles(predicted.astype(np.float64), truth.normals.astype(np.float64))
    assert errors.max() < 1e-4, errors
    for i, name in enumerate(names):
        assert angles(truth.normals[0, 4 * i], np.array(opencv[name])) < 0.5, name
    metric = NormalMetric()
    metric.update(predicted, truth.normals, truth.valid)
    assert metric.compute()["mean"] < 0.05


def test_missing_and_corrupt_files(tmp_path):
    written = build_dsine(tmp_path, np.random.default_rng(8), "scannet")
    normal = written[1].photo.with_name("000450_normal.png")
    normal.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {normal}")):
        ScanNetNormals(tmp_path)
    with pytest.raises(InvalidArgumentError, match=r"missing: .*dsine_eval/vkitti/<scene>"):
        VKITTI2Normals(tmp_path)
    write_image(normal, np.ones((24, 32), np.uint8))
    sample = list(ScanNetNormals(tmp_path).samples())[1]
    with pytest.raises(
        ImageReadError, match=r"expected an RGB normal picture, got shape \(24, 32\)"
    ):
        sample.load_truth()
