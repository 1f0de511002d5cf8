"""iBims-1, the 100 images of its core set (``ibims1_core_raw``), as BENCHMARKS.md lays it out."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import ImageReadError
from ._groundtruth import first_missing, read_mask_png, read_png16, refuse_split, sample_id
from .base import Benchmark, DepthTruth, PaperRow, Sample, register

__all__ = ["IBims"]

#: uint16 depth values span 0 to this many metres.
DEPTH_RANGE_M = 50.0
FOLDERS = ("rgb", "depth", "mask_invalid", "mask_transp")


def read_ibims_depth(depth: Path, mask_invalid: Path, mask_transp: Path) -> DepthTruth:
    """depth = stored x 50 / 65535 metres; valid where both masks are nonzero (``mask_invalid``
    marks valid pixels with nonzero values despite its name, as ZoeDepth's loader reads it).

    Raises:
        ImageReadError: a file is unreadable, or the three differ in size.
    """
    stored = read_png16(depth)
    allowed = read_mask_png(mask_invalid)
    opaque = read_mask_png(mask_transp)
    if not stored.shape == allowed.shape == opaque.shape:
        raise ImageReadError(
            f"{depth}: depth {stored.shape} and masks {allowed.shape}, {opaque.shape} "
            f"differ in size"
        )
    metres = stored.astype(np.float32) * np.float32(DEPTH_RANGE_M / 65535)
    return DepthTruth(depth=metres, valid=allowed & opaque)


@register
class IBims(Benchmark):
    """iBims-1 core set: the names of ``ibims1_core_raw/imagelist.txt``, each with
    ``{rgb,depth,mask_invalid,mask_transp}/<name>.png``; scored 0.005 to 25 m.

    Example:
        >>> next(IBims("/data/ibims").samples()).id  # doctest: +SKIP
        'ibims1_core_raw/rgb/corridor_01'
    """

    name = "ibims"
    task = "depth"
    size = 100
    layout = (
        "ibims1_core_raw/imagelist.txt + ibims1_core_raw/{rgb,depth,mask_invalid,mask_transp}"
        "/<name>.png"
    )
    protocol = (
        "depth uint16 x 50/65535 m, valid where mask_invalid and mask_transp allow; no crop; "
        "0.005 < gt < 25 m; per-image mean"
    )
    # Caps: min_depth / max_depth of IBims in lpiccinelli-eth/UniK3D unik3d/datasets/ibims.py.
    source = (
        "BENCHMARKS.md; caps of UniK3D unik3d/datasets/ibims.py; masks as ZoeDepth data/ibims.py"
    )
    paper = PaperRow(
        figure=(
            "metric depth table (iBims-1); per-benchmark figures are not in SPEC.md; the "
            "paper's averages: delta1 0.882 over its 6 depth benchmarks (UniK3D 0.823)"
        )
    )
    metric_options = MappingProxyType({"min_depth": 0.005, "max_depth": 25.0, "averaging": "image"})

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        core = self.root / "ibims1_core_raw"
        listing = core / "imagelist.txt"
        if not listing.is_file():
            raise self.missing(listing)
        names = [n.removesuffix(".png") for n in listing.read_text().split()]
        if not names:
            raise self.missing(core / "rgb" / "<name>.png (imagelist.txt lists no names)")
        self._files: list[tuple[Path, ...]] = []
        for stem in names:
            files = tuple(core / folder / f"{stem}.png" for folder in FOLDERS)
            absent = first_missing(files)
            if absent is not None:
                raise self.missing(absent)
            self._files.append(files)

    def samples(self) -> Iterator[Sample]:
        for photo, *truth in self._files:
            yield Sample(sample_id(self.root, photo), photo, partial(read_ibims_depth, *truth))
