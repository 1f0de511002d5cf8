"""The eth3d adapter: raw float32 depth maps of a fixed size, inf and 0 invalid."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_eth3d
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks import eth3d
from vision_banana.eval.benchmarks.eth3d import ETH3D


@pytest.fixture
def layout(tmp_path, monkeypatch):
    monkeypatch.setattr(eth3d, "DEPTH_SHAPE", (12, 18))
    return tmp_path, build_eth3d(tmp_path, np.random.default_rng(2), shape=(12, 18))


def test_samples_and_truth(layout):
    root, written = layout
    samples = list(ETH3D(root).samples())
    assert [s.id for s in samples] == [w.id for w in written]
    assert next(s.id for s in samples) == "rgb/courtyard/images/dslr_images/DSC_0286"
    for sample, w in zip(samples, written, strict=True):
        truth = sample.load_truth()
        stored = w.arrays["depth"]
        expected_valid = np.isfinite(stored) & (stored != 0)
        np.testing.assert_array_equal(truth.valid, expected_valid)
        np.testing.assert_array_equal(truth.depth[expected_valid], stored[expected_valid])
        assert np.all(truth.depth[~expected_valid] == 0)


def test_the_official_size_is_the_default_and_other_sizes_are_refused(tmp_path, monkeypatch):
    assert eth3d.DEPTH_SHAPE == (4032, 6048)
    build_eth3d(tmp_path, np.random.default_rng(3), shape=(12, 18))
    sample = next(ETH3D(tmp_path).samples())
    with pytest.raises(
        ImageReadError,
        match=re.escape(
            "expected raw little-endian float32 depth of 4032 x 6048 (97542144 bytes), "
            "the file has 864 bytes"
        ),
    ):
        sample.load_truth()


def test_caps_are_unik3d_s():
    assert ETH3D.metric_options == {"min_depth": 0.01, "max_depth": 50.0, "averaging": "image"}


def test_a_missing_depth_file_is_named(layout):
    root, _ = layout
    depth = root / "depth/office_dslr_depth/office/ground_truth_depth/dslr_images/DSC_0219.JPG"
    depth.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {depth}")):
        ETH3D(root)
