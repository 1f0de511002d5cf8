"""`vision_banana.hilbertmap` is a drop-in for the `hilbertmap` package: same signatures, dtypes
and numbers, checked against the real package."""

from __future__ import annotations

import inspect

import hilbertmap
import numpy as np
import pytest

import vision_banana.hilbertmap as fast
from vision_banana import InvalidArgumentError

FUNCTIONS = [
    "depth_to_rgb",
    "rgb_to_depth",
    "walk",
    "project",
    "depth_to_normalized",
    "normalized_to_depth",
]


def same(ours, theirs, rtol=1e-9, atol=1e-12):
    assert type(ours) is type(theirs)
    if isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype
        assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# hilbertmap computes float32 input in float32 arithmetic; we compute in float64 and round once,
# so float32 results differ by float32 rounding (a few 1e-7), never more.
FLOAT32 = {"rtol": 1e-5, "atol": 3e-7}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signatures_match(name):
    ours = inspect.signature(getattr(fast, name))
    theirs = inspect.signature(getattr(hilbertmap, name))
    assert [(p.name, p.default, p.kind) for p in ours.parameters.values()] == [
        (p.name, p.default, p.kind) for p in theirs.parameters.values()
    ]


def test_every_8_bit_colour_decodes_to_the_same_depth():
    levels = np.arange(256) / 255.0
    for red in range(0, 256, 16):  # 16 slabs of 2^20 colours each: all 2^24
        r = levels[red : red + 16]
        cube = np.stack(np.meshgrid(r, levels, levels, indexing="ij"), axis=-1)
        with np.errstate(divide="ignore"):
            theirs = hilbertmap.rgb_to_depth(cube)
        ours = fast.rgb_to_depth(cube)
        finite = np.isfinite(theirs)
        assert np.array_equal(finite, np.isfinite(ours))
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-9, atol=1e-9)


def test_walk_and_project_match_on_and_off_the_cube(rng):
    f = np.concatenate([np.linspace(-0.2, 1.2, 5001), rng.uniform(0, 1, 5000)])
    same(fast.walk(f), hilbertmap.walk(f), rtol=0)
    same(fast.walk(f.astype(np.float32)), hilbertmap.walk(f.astype(np.float32)), **FLOAT32)
    rgb = rng.uniform(-0.3, 1.3, size=(50, 40, 3))
    same(fast.project(rgb), hilbertmap.project(rgb), rtol=0)
    same(fast.project(rgb[::3, ::-2]), hilbertmap.project(rgb[::3, ::-2]), rtol=0)
    same(fast.project(rgb[0, 0]), hilbertmap.project(rgb[0, 0]), rtol=0)
    same(fast.walk(0.3), hilbertmap.walk(0.3), rtol=0)


@pytest.mark.parametrize(("lam", "c"), [(-3.0, 10 / 3), (-4.0, 120.0), (-1.5, 0.7)])
def test_depth_functions_match(rng, lam, c):
    depth = rng.uniform(0, 80, size=(30, 20))
    same(fast.depth_to_rgb(depth, lam, c), hilbertmap.depth_to_rgb(depth, lam, c))
    rgb = hilbertmap.depth_to_rgb(depth, lam, c)
    same(fast.rgb_to_depth(rgb, lam, c), hilbertmap.rgb_to_depth(rgb, lam, c))
    same(fast.depth_to_normalized(depth, lam, c), hilbertmap.depth_to_normalized(depth, lam, c))
    f = rng.uniform(0, 0.999, size=(7, 3))
    same(fast.normalized_to_depth(f, lam=lam, c=c), hilbertmap.normalized_to_depth(f, lam=lam, c=c))


def test_dtypes_and_scalars_follow_numpy(rng):
    depth32 = rng.uniform(0, 20, size=(4, 5)).astype(np.float32)
    same(fast.depth_to_normalized(depth32), hilbertmap.depth_to_normalized(depth32), **FLOAT32)
    same(fast.depth_to_rgb(depth32), hilbertmap.depth_to_rgb(depth32), **FLOAT32)
    same(fast.depth_to_normalized(3.0), hilbertmap.depth_to_normalized(3.0))
    same(fast.normalized_to_depth(0.5), hilbertmap.normalized_to_depth(0.5))
    same(fast.depth_to_normalized(np.float64(3.0)), hilbertmap.depth_to_normalized(np.float64(3.0)))
    ints = np.arange(12).reshape(3, 4)
    same(fast.depth_to_normalized(ints), hilbertmap.depth_to_normalized(ints))


def test_saturated_and_out_of_domain_values_match():
    depth = np.array([0.0, 1e6, np.inf, -5.0])
    same(fast.depth_to_rgb(depth), hilbertmap.depth_to_rgb(depth))
    white = np.ones((2, 3))
    with np.errstate(divide="ignore"):
        assert np.all(fast.rgb_to_depth(white) == hilbertmap.rgb_to_depth(white))


def test_parameters_outside_the_domain_raise():
    with pytest.raises(InvalidArgumentError, match="lam must be a finite number below -1"):
        fast.depth_to_rgb(np.ones(3), lam=-0.5)
    with pytest.raises(InvalidArgumentError, match="c must be a finite number above 0"):
        fast.rgb_to_depth(np.ones((1, 3)) / 2, c=0.0)
