"""User code of the public API, for the type checker: CI runs `mypy` (strict, see pyproject.toml)
over this file, and tests/test_public_types.py runs it, so the types below are checked to be what
the calls return.

Each ``assert_type`` fails the type check if an annotation or overload changes what user code
sees; each ``# type: ignore[code]`` in `_misuse` must stay needed (strict mode reports unused
ignores), so a wrong use of a result keeps being an error.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

import vision_banana as vb
from vision_banana import hilbertmap
from vision_banana.instances import Instances
from vision_banana.metrics import InstanceMetric, coco_mask_ap

PICTURE = np.zeros((4, 6, 3), np.uint8)
PICTURE[:, 3:] = (255, 0, 0)


def decoders() -> None:
    depth = vb.decode_depth(PICTURE)
    assert_type(depth, NDArray[np.float32])
    depth, distance = vb.decode_depth(PICTURE, return_distance=True)
    assert_type(distance, NDArray[np.float32])
    assert depth.shape == distance.shape == (4, 6)

    f = vb.project(PICTURE)
    assert_type(f, NDArray[np.float64])
    f, distance = vb.project(PICTURE, return_distance=True)
    assert_type(f, NDArray[np.float64])
    assert_type(distance, NDArray[np.float32])
    assert vb.project(PICTURE[0, 0]).shape == ()  # one colour: a 0-d array, as typed

    labels = vb.decode_semantic(PICTURE, [(0, 0, 0), (255, 0, 0)])
    assert_type(labels, NDArray[np.unsignedinteger])
    labels, distance = vb.decode_semantic(PICTURE, [(0, 0, 0), (255, 0, 0)], return_distance=True)
    assert_type(distance, NDArray[np.float32])
    assert labels.tolist()[0] == [0, 0, 0, 1, 1, 1]

    normals, valid = vb.decode_normals(PICTURE)
    assert_type(normals, NDArray[np.float32])
    assert_type(valid, NDArray[np.bool_])


def flags_known_only_at_run_time(wanted: bool) -> None:
    # A plain bool gives the union: user code tells the cases apart itself.
    either = vb.decode_depth(PICTURE, return_distance=wanted)
    assert_type(either, NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.float32]])
    depth = either[0] if isinstance(either, tuple) else either
    assert depth.shape == (4, 6)


def resizing() -> None:
    normals, valid = vb.decode_normals(PICTURE)
    alone = vb.resize_normals(normals, (8, 12))
    assert_type(alone, NDArray[np.floating])
    resized, resized_valid = vb.resize_normals(normals, (8, 12), valid=valid)
    assert_type(resized_valid, NDArray[np.bool_])
    assert resized.shape == (8, 12, 3)
    labels = vb.resize_labels(np.zeros((4, 6), np.uint16), (8, 12))
    assert_type(labels, NDArray[np.uint16])
    assert labels.dtype == np.uint16


def hilbertmap_numbers_and_arrays() -> None:
    number = hilbertmap.depth_to_normalized(10.0)
    assert_type(number, float)
    array = hilbertmap.depth_to_normalized(np.array([1.0, 10.0]))
    assert_type(array, NDArray[np.floating])
    assert isinstance(number, float)
    assert array.shape == (2,)


def instances_in_metrics() -> None:
    ids = np.zeros((8, 8), np.uint32)
    ids[1:4, 1:4], ids[5:8, 2:7] = 1, 2
    found = vb.extract_instances(vb.encode_instances(ids))
    assert_type(found, Instances)
    metric = InstanceMetric()
    metric.update(found, found.masks())
    metric.update([found], [found])
    assert metric.compute()["pmf1"] == 1.0
    assert coco_mask_ap([found], [found])["ap"] > 0.99


def _misuse() -> None:
    """Never run: each line is an error the type checker must keep reporting."""
    vb.decode_depth(PICTURE, return_distance=True).mean()  # type: ignore[attr-defined]
    vb.project(PICTURE).index(0)  # type: ignore[attr-defined]
    pair = vb.resize_normals(np.zeros((2, 2, 3)), (4, 4), valid=np.ones((2, 2), bool))
    pair.copy()  # type: ignore[attr-defined]
    vb.decode_depth(PICTURE, return_distance=True, colormap=3)  # type: ignore[call-overload]


def main() -> None:
    decoders()
    flags_known_only_at_run_time(True)
    flags_known_only_at_run_time(False)
    resizing()
    hilbertmap_numbers_and_arrays()
    instances_in_metrics()


if __name__ == "__main__":
    main()
