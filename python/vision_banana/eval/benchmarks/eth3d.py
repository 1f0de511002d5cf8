"""ETH3D high-resolution multi-view training set, its 454 DSLR images (BENCHMARKS.md layout, the
one prs-eth/Marigold's evaluation data uses)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ._groundtruth import read_raw_float32, refuse_split, sample_id
from .base import Benchmark, DepthTruth, PaperRow, Sample, register

__all__ = ["ETH3D"]

#: (rows, columns) of every ETH3D DSLR depth map: the files carry no header, so the reader
#: refuses a file of any other size rather than guess.
DEPTH_SHAPE = (4032, 6048)


def read_eth3d_depth(path: Path) -> DepthTruth:
    """A raw little-endian float32 depth map of ``DEPTH_SHAPE``, metres; inf or 0 where the
    laser scan has no depth.

    Raises:
        ImageReadError: the file size is not that of ``DEPTH_SHAPE``.
    """
    depth = read_raw_float32(path, DEPTH_SHAPE)
    valid = np.isfinite(depth) & (depth > 0)
    depth[~valid] = 0  # a fresh array: zeroed in place, no second 97 MB copy
    return DepthTruth(depth=depth, valid=valid)


@register
class ETH3D(Benchmark):
    """ETH3D: ``rgb/<scene>/images/dslr_images/<name>.JPG`` with its depth at
    ``depth/<scene>_dslr_depth/<scene>/ground_truth_depth/dslr_images/<name>.JPG`` (raw float32,
    4032 x 6048, despite the extension); scored 0.01 to 50 m.

    Example:
        >>> next(ETH3D("/data/eth3d").samples()).id  # doctest: +SKIP
        'rgb/courtyard/images/dslr_images/DSC_0286'
    """

    name = "eth3d"
    task = "depth"
    size = 454
    layout = (
        "rgb/<scene>/images/dslr_images/<name>.JPG + "
        "depth/<scene>_dslr_depth/<scene>/ground_truth_depth/dslr_images/<name>.JPG "
        "(raw float32 4032 x 6048)"
    )
    protocol = "raw float32 depth m, inf or 0 invalid; no crop; 0.01 < gt < 50 m; per-image mean"
    # Caps: min_depth / max_depth of ETH3D in lpiccinelli-eth/UniK3D unik3d/datasets/eth3d.py.
    source = (
        "BENCHMARKS.md; "
        "reader as Marigold src/dataset/eth3d_dataset.py; "
        "caps of UniK3D unik3d/datasets/eth3d.py"
    )
    paper = PaperRow(
        figure=(
            "metric depth table (ETH3D); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823); "
            "delta1 0.929 over NYU, ETH3D, DIODE-indoor and KITTI (Depth Anything 3 0.918)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 0.01, "max_depth": 50.0, "averaging": "image"})

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        photos = sorted(self.root.glob("rgb/*/images/dslr_images/*.JPG"))
        if not photos:
            raise self.missing(self.root / "rgb/<scene>/images/dslr_images/<name>.JPG")
        self._pairs: list[tuple[Path, Path]] = []
        for photo in photos:
            scene = photo.relative_to(self.root).parts[1]
            depth = (
                self.root
                / "depth"
                / f"{scene}_dslr_depth"
                / scene
                / "ground_truth_depth"
                / "dslr_images"
                / photo.name
            )
            if not depth.is_file():
                raise self.missing(depth)
            self._pairs.append((photo, depth))

    def samples(self) -> Iterator[Sample]:
        for photo, depth in self._pairs:
            yield Sample(sample_id(self.root, photo), photo, partial(read_eth3d_depth, depth))
