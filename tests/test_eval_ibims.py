"""The ibims adapter: iBims-1's core set, depth x 50 / 65535, both masks, UniK3D's caps."""

from __future__ import annotations

import re

import numpy as np
import pytest

from eval_layouts import build_ibims
from vision_banana.errors import ImageReadError, InvalidArgumentError
from vision_banana.eval.benchmarks.ibims import IBims
from vision_banana.io import write_image


@pytest.fixture
def layout(tmp_path):
    return tmp_path, build_ibims(tmp_path, np.random.default_rng(1))


def test_samples_follow_the_image_list(layout):
    root, written = layout
    samples = list(IBims(root).samples())
    assert [s.id for s in samples] == [
        "ibims1_core_raw/rgb/corridor_01",
        "ibims1_core_raw/rgb/office_02",
    ]
    assert [s.photo for s in samples] == [w.photo for w in written]


def test_truth_is_scaled_to_50_m_and_masked_by_both_masks(layout):
    root, written = layout
    for sample, w in zip(IBims(root).samples(), written, strict=True):
        truth = sample.load_truth()
        np.testing.assert_allclose(truth.depth, w.arrays["depth"] * 50.0 / 65535, rtol=1e-6)
        expected = (w.arrays["mask_invalid"] == 255) & (w.arrays["mask_transp"] == 255)
        np.testing.assert_array_equal(truth.valid, expected)
        assert 0 < expected.sum() < expected.size


def test_caps_are_unik3d_s():
    assert IBims.metric_options == {"min_depth": 0.005, "max_depth": 25.0, "averaging": "image"}


def test_missing_files_are_named(layout):
    root, _ = layout
    mask = root / "ibims1_core_raw/mask_transp/office_02.png"
    mask.unlink()
    with pytest.raises(InvalidArgumentError, match=re.escape(f"missing: {mask}")):
        IBims(root)
    (root / "ibims1_core_raw/imagelist.txt").unlink()
    with pytest.raises(InvalidArgumentError, match=r"missing: .*imagelist\.txt"):
        IBims(root)


def test_an_8_bit_depth_or_mismatched_masks_raise_from_load_truth(layout):
    root, _ = layout
    first, second = IBims(root).samples()
    write_image(root / "ibims1_core_raw/depth/corridor_01.png", np.ones((24, 32), np.uint8))
    with pytest.raises(ImageReadError, match="expected a 16-bit single-channel PNG, got uint8"):
        first.load_truth()
    write_image(root / "ibims1_core_raw/mask_invalid/office_02.png", np.ones((8, 8), np.uint8))
    with pytest.raises(ImageReadError, match="differ in size"):
        second.load_truth()
