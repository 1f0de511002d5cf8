"""Resizing decoded results back to the input (SPEC.md section 6), against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from vision_banana import InvalidArgumentError, InvalidTypeError


def test_nearest_matches_pillow(rng):
    labels = rng.integers(0, 200, (37, 53)).astype(np.uint8)
    for size in [(80, 120), (20, 30), (37, 53), (1, 1)]:
        ours = vb.resize_labels(labels, size)
        pillow = np.asarray(Image.fromarray(labels).resize(size[::-1], Image.NEAREST))
        np.testing.assert_array_equal(ours, pillow)


def test_nearest_keeps_dtype_and_leading_axes(rng):
    masks = rng.random((3, 2, 10, 12)) > 0.5
    out = vb.resize_labels(masks, (20, 24))
    assert out.shape == (3, 2, 20, 24)
    assert out.dtype == bool
    np.testing.assert_array_equal(out[..., ::2, ::2], masks)


def test_bilinear_matches_pillow_when_upsampling(rng):
    depth = rng.uniform(0.5, 10, (30, 40)).astype(np.float32)
    ours = vb.resize_depth(depth, (90, 100))
    pillow = np.asarray(Image.fromarray(depth, mode="F").resize((100, 90), Image.BILINEAR))
    np.testing.assert_allclose(ours, pillow, rtol=1e-5)
    assert ours.dtype == np.float32
    assert vb.resize_depth(depth.astype(np.float64), (5, 5)).dtype == np.float64


def test_bilinear_keeps_infinity_in_place():
    depth = np.array([[1.0, 2.0, np.inf, np.inf]], np.float32)
    out = vb.resize_depth(depth, (1, 8))
    assert np.isfinite(out[0, :3]).all()
    assert np.isinf(out[0, -2:]).all()
    assert not np.isnan(out).any()


def test_batches_resize_each_image(rng):
    depth = rng.uniform(1, 5, (3, 10, 10)).astype(np.float32)
    batch = vb.resize_depth(depth, (15, 7))
    for i in range(3):
        np.testing.assert_array_equal(batch[i], vb.resize_depth(depth[i], (15, 7)))


@pytest.mark.parametrize("size", [(0, 4), (3,), (2.0, 3), "big", (True, 2)])
def test_bad_sizes(size):
    with pytest.raises(InvalidArgumentError, match="size must be \\(height, width\\)"):
        vb.resize_labels(np.zeros((4, 4)), size)


def test_bad_arrays():
    with pytest.raises(InvalidTypeError, match="labels must be a numpy array, got list"):
        vb.resize_labels([[1, 2]], (2, 2))
    with pytest.raises(InvalidArgumentError, match=r"normals must have shape \(\.\.\., H, W, 3\)"):
        vb.resize_normals(np.zeros((4, 4, 2)), (2, 2))
    with pytest.raises(InvalidArgumentError, match="valid must be a bool array of shape"):
        vb.resize_normals(np.zeros((4, 4, 3)), (2, 2), valid=np.ones((3, 3), bool))
    with pytest.raises(InvalidTypeError, match="depth must be a real array"):
        vb.resize_depth(np.zeros((2, 2), complex), (2, 2))
