"""KITTI, the Eigen test split's 652 images with ground truth (the list ships with the package;
``split`` replaces it), scored inside the Garg crop as BENCHMARKS.md pins it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from ._groundtruth import DATA_DIR, crop_mask, first_missing, read_list, read_png16, sample_id
from .base import Benchmark, DepthTruth, PaperRow, Sample, register

__all__ = ["KITTI"]

#: The default list: ``RGB_PATH GT_PATH FOCAL`` lines relative to the root.
EIGEN_TEST = DATA_DIR / "kitti_eigen_test.txt"
#: Garg's crop as fractions of the ground truth's height and width: rows, columns.
GARG_ROWS = (0.40810811, 0.99189189)
GARG_COLUMNS = (0.03594771, 0.96405229)


def garg_crop(shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Garg's crop of an (H, W) map as ((row start, row stop), (column start, column stop)),
    truncated to whole pixels as UniK3D's ``KITTI.eval_mask`` does."""
    height, width = shape
    rows = (int(GARG_ROWS[0] * height), int(GARG_ROWS[1] * height))
    return rows, (int(GARG_COLUMNS[0] * width), int(GARG_COLUMNS[1] * width))


def read_kitti_depth(path: Path) -> DepthTruth:
    """A ``proj_depth/groundtruth`` PNG: uint16 / 256 metres, 0 where no lidar point fell; the
    Garg crop applied to ``valid``."""
    stored = read_png16(path)
    shape = (stored.shape[0], stored.shape[1])
    valid = (stored > 0) & crop_mask(shape, *garg_crop(shape))
    return DepthTruth(depth=stored.astype(np.float32) / np.float32(256), valid=valid)


@register
class KITTI(Benchmark):
    """KITTI Eigen test split: each line of the list names ``RGB_PATH GT_PATH [focal]`` relative
    to the root; scored 1e-3 to 80 m inside the Garg crop.

    Example:
        >>> next(KITTI("/data/kitti").samples()).id  # doctest: +SKIP
        '2011_09_26/2011_09_26_drive_0002_sync/image_02/data/0000000069'
    """

    name = "kitti"
    task = "depth"
    size = 652
    layout = (
        "the files of a list of 'RGB_PATH GT_PATH [focal]' lines (default: the Eigen test "
        "files with ground truth), e.g. 2011_09_26/<drive>/image_02/data/<n>.png + "
        "<drive>/proj_depth/groundtruth/image_02/<n>.png"
    )
    protocol = (
        "depth uint16/256 m, 0 invalid; Garg crop rows 0.408-0.992 H, cols 0.036-0.964 W; "
        "1e-3 < gt < 80 m; per-image mean"
    )
    source = (
        "BENCHMARKS.md; "
        "Eigen list of prs-eth/Marigold (BTS); "
        "Garg crop as UniK3D unik3d/datasets/kitti.py"
    )
    paper = PaperRow(
        figure=(
            "metric depth table (KITTI); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823); "
            "delta1 0.929 over NYU, ETH3D, DIODE-indoor and KITTI (Depth Anything 3 0.918)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 1e-3, "max_depth": 80.0, "averaging": "image"})

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        listing = EIGEN_TEST if self.split is None else self.split
        entries = read_list(listing)
        if not entries:
            raise InvalidArgumentError(f"split: the list {str(listing)!r} names no sample")
        self._pairs: list[tuple[Path, Path]] = []
        for line, fields in entries:
            if len(fields) not in (2, 3) or fields[1] == "None":
                raise InvalidArgumentError(
                    f"split: line {line} of {str(listing)!r} must read 'RGB_PATH GT_PATH "
                    f"[focal]' with a ground-truth file, got {' '.join(fields)!r}"
                )
            pair = (self.root / fields[0], self.root / fields[1])
            absent = first_missing(pair)
            if absent is not None:
                raise self.missing(absent)
            self._pairs.append(pair)

    def samples(self) -> Iterator[Sample]:
        for photo, depth in self._pairs:
            yield Sample(sample_id(self.root, photo), photo, partial(read_kitti_depth, depth))
