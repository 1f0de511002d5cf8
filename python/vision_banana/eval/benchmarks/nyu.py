"""NYU Depth v2, the 654 test images of the official split, in the BTS layout (BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import ImageReadError
from ._groundtruth import crop_mask, read_png16, refuse_split, sample_id
from .base import Benchmark, DepthTruth, PaperRow, Sample, register

__all__ = ["NYU"]

#: The frame the Eigen crop is defined on, and the crop (rows, columns) = ((45, 471), (41, 601)).
SHAPE = (480, 640)
EIGEN_CROP = ((45, 471), (41, 601))


def read_nyu_depth(path: Path) -> DepthTruth:
    """``sync_depth_<n>.png``: uint16 millimetres, 0 where the sensor had no return; the Eigen
    crop applied to ``valid``.

    Raises:
        ImageReadError: not a 16-bit PNG of 480 x 640.
    """
    stored = read_png16(path)
    if stored.shape != SHAPE:
        raise ImageReadError(
            f"{path}: expected NYU depth of {SHAPE[0]} x {SHAPE[1]}, got "
            f"{stored.shape[0]} x {stored.shape[1]}"
        )
    valid = (stored > 0) & crop_mask(SHAPE, *EIGEN_CROP)
    return DepthTruth(depth=stored.astype(np.float32) / np.float32(1000), valid=valid)


@register
class NYU(Benchmark):
    """NYU Depth v2 test set: ``official_splits/test/<scene>/rgb_<n>.jpg`` with
    ``sync_depth_<n>.png`` beside it (uint16 mm), scored inside the Eigen crop, 1e-3 to 10 m.

    Example:
        >>> bench = NYU("/data/nyu")  # doctest: +SKIP
        >>> next(bench.samples()).id  # doctest: +SKIP
        'official_splits/test/bathroom/rgb_00045'
    """

    name = "nyu"
    task = "depth"
    size = 654
    layout = "official_splits/test/<scene>/rgb_<n>.jpg + sync_depth_<n>.png (uint16 mm)"
    protocol = (
        "depth mm/1000, 0 invalid; Eigen crop rows 45:471 cols 41:601; 1e-3 < gt < 10 m; "
        "per-image mean"
    )
    source = (
        "BENCHMARKS.md (BTS official_splits layout; Eigen crop as UniK3D unik3d/datasets/nyuv2.py)"
    )
    paper = PaperRow(
        figure=(
            "metric depth table (NYU); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823); "
            "delta1 0.929 over NYU, ETH3D, DIODE-indoor and KITTI (Depth Anything 3 0.918)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 1e-3, "max_depth": 10.0, "averaging": "image"})

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        folder = self.root / "official_splits" / "test"
        photos = sorted(folder.glob("*/rgb_*.jpg"))
        if not photos:
            raise self.missing(folder / "<scene>" / "rgb_<n>.jpg")
        self._pairs: list[tuple[Path, Path]] = []
        for photo in photos:
            depth = photo.with_name("sync_depth_" + photo.stem.removeprefix("rgb_") + ".png")
            if not depth.is_file():
                raise self.missing(depth)
            self._pairs.append((photo, depth))

    def samples(self) -> Iterator[Sample]:
        for photo, depth in self._pairs:
            yield Sample(sample_id(self.root, photo), photo, partial(read_nyu_depth, depth))
