"""Shared helpers of the test suite: an independent numpy implementation of the depth code, written
from SPEC.md section 1 (not from the package), to check the Rust core against."""

from __future__ import annotations

import numpy as np
import pytest

VERTICES = np.array(
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1], [1, 1, 1]],
    dtype=np.float64,
)


def reference_forward(d, lam=-3.0, c=10 / 3):
    return 1.0 - (1.0 - np.asarray(d, np.float64) / (lam * c)) ** (lam + 1.0)


def reference_inverse(f, lam=-3.0, c=10 / 3):
    with np.errstate(divide="ignore"):
        return lam * c * (1.0 - (1.0 - np.asarray(f, np.float64)) ** (1.0 / (lam + 1.0)))


def reference_walk(f):
    """Colour in [0, 1] at scalar f: k = min(floor(7 f), 6), V[k] + (7 f - k)(V[k+1] - V[k])."""
    s = 7.0 * np.clip(np.asarray(f, np.float64), 0.0, 1.0)
    k = np.minimum(np.floor(s).astype(int), 6)
    t = (s - k)[..., None]
    return VERTICES[k] + t * (VERTICES[k + 1] - VERTICES[k])


def reference_edge_distances(rgb_int, top=255):
    """Exact squared distances (integer units) of integer colours to each of the 7 edges."""
    p = np.asarray(rgb_int, np.int64)
    out = []
    for k in range(7):
        v0, v1 = VERTICES[k] * top, VERTICES[k + 1] * top
        lo, hi = np.minimum(v0, v1), np.maximum(v0, v1)
        nearest = np.clip(p, lo.astype(np.int64), hi.astype(np.int64))
        out.append(np.sum((p - nearest) ** 2, axis=-1))
    return np.stack(out, axis=-1)


def reference_project_int(rgb_int, top=255):
    """f of integer colours: nearest edge (lowest index on ties), position along it."""
    p = np.asarray(rgb_int, np.float64) / top
    k = np.argmin(reference_edge_distances(rgb_int, top), axis=-1)
    v0, v1 = VERTICES[k], VERTICES[k + 1]
    t = np.clip(np.sum((p - v0) * (v1 - v0), axis=-1), 0.0, 1.0)
    return (k + t) / 7.0


@pytest.fixture
def rng():
    return np.random.default_rng(20260425)
