"""Speed of the normal-map decoder against the straightforward numpy decode, timed in one run.

python -m pytest benches/bench_normals.py --benchmark-enable -s
"""

from __future__ import annotations

import numpy as np
import pytest

import vision_banana as vb
from timing import compare, seconds


@pytest.fixture(scope="module")
def picture():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(1024, 1024, 3))
    v[..., 2] = np.abs(v[..., 2]) + 0.1
    return vb.encode_normals(v)


def numpy_decode(rgb):
    """Scale, shift, normalise: what users write today."""
    unit = rgb.astype(np.float32) / 255.0
    v = np.stack([1 - 2 * unit[..., 0], 2 * unit[..., 1] - 1, 2 * unit[..., 2] - 1], axis=-1)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / norm, (norm[..., 0] > 0.75) & (norm[..., 0] < 1.25)


def test_decode_normals_vs_numpy(benchmark, picture):
    normals, valid = benchmark(vb.decode_normals, picture)
    expected, _ = numpy_decode(picture)
    np.testing.assert_allclose(normals[valid], expected[valid], atol=1e-5)
    compare(benchmark, seconds(lambda: numpy_decode(picture)), at_least=20)
