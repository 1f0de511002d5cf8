"""Speed of the depth codec, each benchmark timing ours and its baseline in the same run.

    pytest benches --benchmark-enable          # time, print the ratios, check the targets

Plain ``pytest`` runs every benchmark once, untimed (``--benchmark-disable`` in pyproject.toml), so
that they cannot rot; the ratio checks only apply when timing is on.
"""

from __future__ import annotations

import hilbertmap
import numpy as np
import pytest

import vision_banana as vb
import vision_banana.hilbertmap as fast_hilbertmap
from timing import compare, seconds

SIZE = (1024, 1024)


@pytest.fixture(scope="module")
def depth():
    """A smooth scene-like depth map (0.5-60 m) with fine texture, float32."""
    y, x = np.mgrid[0 : SIZE[0], 0 : SIZE[1]] / SIZE[0]
    rng = np.random.default_rng(7)
    scene = 0.5 + 60 * (1 - y) ** 3 + 2 * np.sin(9 * x) ** 2 + rng.normal(0, 0.05, SIZE)
    return np.clip(scene, 0.0, None).astype(np.float32)


@pytest.fixture(scope="module")
def picture(depth):
    """The depth encoded, with the colour noise of a generated picture: uint8 (H, W, 3)."""
    rng = np.random.default_rng(8)
    clean = vb.encode_depth(depth).astype(np.int16)
    return np.clip(clean + rng.integers(-2, 3, clean.shape), 0, 255).astype(np.uint8)


def check_depth(ours, picture):
    """Our depths are hilbertmap's (clamped to max_depth) but for exact ties: a colour equally
    near two edges, where either answer is right and the float reference's rounding picks one;
    tests/ check ties exactly."""
    expected = hilbertmap.rgb_to_depth(picture / 255.0)
    assert np.mean(~np.isclose(ours, np.minimum(expected, 1000.0), rtol=1e-6)) < 1e-3


def test_decode_depth_vs_hilbertmap(benchmark, picture):
    ours = benchmark(vb.decode_depth, picture)
    unit = picture / 255.0
    check_depth(ours, picture)
    compare(benchmark, seconds(lambda: hilbertmap.rgb_to_depth(unit), repeat=2), at_least=300)


def test_decode_depth_vs_memory_copy(benchmark, picture):
    """The floor: numpy copying the bytes a decode moves, 3 in and 4 out per pixel."""
    depth_out = np.empty(SIZE, np.float32)
    ours = benchmark(vb.decode_depth, picture)
    check_depth(ours, picture)
    assert ours.nbytes == depth_out.nbytes  # the floor moves the bytes the decode moves
    compare(benchmark, seconds(lambda: (picture.copy(), depth_out.copy()), 50), at_most_times=4)


def test_decode_depth_with_distance_vs_hilbertmap(benchmark, picture):
    depth, distance = benchmark(vb.decode_depth, picture, return_distance=True)
    unit = picture / 255.0
    check_depth(depth, picture)
    # The distance of each colour from the curve, from hilbertmap's own projection.
    nearest = hilbertmap.walk(hilbertmap.project(unit))
    expected = np.linalg.norm(unit - nearest, axis=-1)
    assert np.mean(~np.isclose(distance, expected, atol=1e-6)) < 1e-3
    compare(benchmark, seconds(lambda: hilbertmap.rgb_to_depth(unit), repeat=2), at_least=100)


def test_encode_depth_vs_hilbertmap(benchmark, depth):
    ours = benchmark(vb.encode_depth, depth)
    reference = np.floor(hilbertmap.depth_to_rgb(depth.astype(np.float64)) * 255 + 0.5)
    assert np.abs(ours.astype(int) - reference).max() <= 1
    compare(benchmark, seconds(lambda: hilbertmap.depth_to_rgb(depth)), at_least=50)


def test_hilbertmap_drop_in_vs_hilbertmap(benchmark, picture):
    unit = picture / 255.0
    ours = benchmark(fast_hilbertmap.rgb_to_depth, unit)
    np.testing.assert_allclose(ours, hilbertmap.rgb_to_depth(unit), rtol=1e-12)
    compare(benchmark, seconds(lambda: hilbertmap.rgb_to_depth(unit), repeat=2), at_least=20)
