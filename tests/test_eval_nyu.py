"""The nyu adapter: the BTS layout of NYU Depth v2's test set, depth in mm, the Eigen crop."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_nyu
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks.nyu import NYU
from vision_banana.io import write_image


@pytest.fixture
def layout(tmp_path):
    return tmp_path, build_nyu(tmp_path, np.random.default_rng(0))


def eigen_crop():
    rows, columns = np.arange(480)[:, None], np.arange(640)[None, :]
    return (rows >= 45) & (rows < 471) & (columns >= 41) & (columns < 601)


def test_samples_are_every_test_photo_in_a_stable_order(layout):
    root, written = layout
    samples = list(NYU(root).samples())
    assert [s.id for s in samples] == [w.id for w in written]
    assert [s.photo for s in samples] == [w.photo for w in written]
    assert [s.id for s in NYU(root).samples()] == [s.id for s in samples]
    assert all(s.prompt is None for s in samples)


def test_truth_is_millimetres_over_1000_inside_the_eigen_crop(layout):
    root, written = layout
    for sample, w in zip(NYU(root).samples(), written, strict=True):
        truth = sample.load_truth()
        stored = w.arrays["depth"]
        assert truth.depth.dtype == np.float32
        assert truth.depth.shape == (480, 640)
        np.testing.assert_array_equal(truth.valid, (stored > 0) & eigen_crop())
        np.testing.assert_allclose(truth.depth, stored / 1000.0, rtol=1e-7)


def test_protocol_caps_and_averaging():
    assert NYU.metric_options == {"min_depth": 1e-3, "max_depth": 10.0, "averaging": "image"}
    assert (NYU.name, NYU.task, NYU.size) == ("nyu", "depth", 654)


def test_a_missing_depth_file_is_named(layout):
    root, _ = layout
    missing = root / "official_splits/test/bedroom/sync_depth_00012.png"
    missing.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {missing}")):
        NYU(root)


def test_an_empty_root_names_the_layout(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"official_splits/test/<scene>/rgb_<n>\.jpg"):
        NYU(tmp_path)


def test_corrupt_or_wrong_size_truth_raises_from_load_truth(layout):
    root, _ = layout
    first, second = list(NYU(root).samples())[:2]
    (root / "official_splits/test/bathroom/sync_depth_00045.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageReadError, match="cannot read image"):
        first.load_truth()
    write_image(
        root / "official_splits/test/bedroom/sync_depth_00003.png", np.ones((48, 64), np.uint16)
    )
    with pytest.raises(ImageReadError, match="expected NYU depth of 480 x 640, got 48 x 64"):
        second.load_truth()


def test_split_is_refused(layout):
    root, _ = layout
    with pytest.raises(InvalidArgumentError, match="split: nyu has no list of samples"):
        NYU(root, split=root / "list.txt")
