"""Inputs written by another thread during a call: the result is unspecified, but never out of
range and never a crash.

The decoders read numpy memory with the GIL released, after the Python layer has checked it
(e.g. floats in [0, 1]). A writer in another thread can change the values between the check and
the read; the Rust core bounds every value where it uses it, so what it returns stays in the
documented ranges: depth in [0, max_depth], labels from the palette or ignore_index, unit or
zero normals, instance ids that index the instances.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import vision_banana as vb
from vision_banana import _core

# What a racing writer can slip past the Python checks into a float picture.
HOSTILE = np.array([np.nan, np.inf, -np.inf, 5.0, -3.0, 1e30, -1e30, 0.0, 0.5, 1.0])
PALETTE = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.float64)
LABELS = np.arange(3, dtype=np.uint32)


def hostile_picture(dtype, shape=(2, 48, 64, 3), seed=0):
    return np.random.default_rng(seed).choice(HOSTILE, size=shape).astype(dtype)


def check_depth(depth, max_depth=1000.0):
    assert np.all((depth >= 0) & (depth <= max_depth)), "depth outside [0, max_depth]"


def check_labels(labels, allowed):
    assert set(np.unique(labels).tolist()) <= set(allowed)


def check_normals(normals, valid):
    norms = np.linalg.norm(normals, axis=-1)
    assert np.all(np.isfinite(normals))
    assert np.allclose(norms[valid], 1, atol=1e-5)
    assert np.all(norms[~valid] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_core_bounds_values_that_got_past_the_python_checks(dtype):
    picture = hostile_picture(dtype)
    for colormap in ("cube_walk", "plasma", "gray"):
        depth, _ = _core.decode_depth(picture, -3.0, 10 / 3, 1000.0, colormap, True)
        check_depth(depth)
    labels, _ = _core.decode_semantic(picture, PALETTE, LABELS, 30.0, 255, False)
    check_labels(labels, [0, 1, 2, 255])
    labels, _ = _core.decode_semantic(picture, PALETTE, LABELS, None, 255, False)
    check_labels(labels, [0, 1, 2])
    normals, valid = _core.decode_normals(
        picture, True, False, [255.0, 0.0, 255.0], 40.0, (0.75, 1.25)
    )
    check_normals(normals, valid)
    params = ([0.0, 0.0, 0.0], 14.0, 16, 0.0, 0.1, 5.0)
    ids, colors, *_ = _core.extract_instances(picture[0], params)
    assert ids.max() <= len(colors)


def test_a_concurrent_writer_cannot_produce_out_of_range_results_or_a_crash():
    clean = vb.encode_semantic(
        np.random.default_rng(1).integers(0, 3, (2, 96, 128)), PALETTE
    ).astype(np.float32)
    clean /= 255
    picture = clean.copy()
    stop = threading.Event()

    def writer():
        rng = np.random.default_rng(2)
        while not stop.is_set():
            # Large slice assignments release the GIL inside numpy, so they overlap the reads.
            value = rng.choice(HOSTILE)
            picture[..., rng.integers(0, 3)] = value
            picture[:] = clean
            time.sleep(0.002)  # most calls then pass the Python check and race the writer

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    calls = refused = 0
    messages: list[str] = []
    try:
        deadline = time.perf_counter() + 1.5
        while time.perf_counter() < deadline:
            try:
                check_depth(vb.decode_depth(picture))
                check_labels(vb.decode_semantic(picture, PALETTE, max_distance=30), [0, 1, 2, 255])
                check_normals(*vb.decode_normals(picture))
                found = vb.extract_instances(picture[0], min_area_fraction=0)
                assert found.ids.max() <= len(found)
                calls += 1
            except vb.InvalidArgumentError as error:
                # The Python check saw the writer's values: a clean refusal is fine.
                messages.append(str(error))
                refused += 1
    finally:
        stop.set()
        thread.join()
    assert calls + refused > 10
    assert all("[0, 1]" in m or "NaN" in m for m in messages), messages[:3]
    print(f"{calls} calls decoded, {refused} refused by the Python checks")
