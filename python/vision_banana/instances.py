"""Instance masks from colour-coded pictures (SPEC.md section 4, the paper's Appendix A).

For instance segmentation the generator paints every instance of one class in a colour of its own
choosing on a known background. :func:`extract_instances` recovers the instances in five stages:

1. background: pixels within ``tau`` of the background colour take no part;
2. grouping: seeds in raster order, each flood-filling the unlabelled pixels within ``tau`` of the
   *seed's* colour, over 4, 8 or 16 neighbours (16 = the 8 neighbours plus the 8 knight moves);
3. noise pruning: components smaller than ``min_area_fraction`` of the picture are dropped;
4. boundary pruning: components keeping less than ``erosion_keep`` of their pixels under a 3x3
   erosion are dropped (thin halos and seams);
5. merging: components whose mean colours are within ``tau`` merge when the bounding box of their
   union is at most ``merge_bbox_ratio`` times the sum of their own bounding-box areas (an
   instance split by an occluder). Merging runs to a fixed point, earlier groups absorbing later
   ones in seed order.

Pixels of dropped components become background (id 0). Colours (``background``, ``tau``, the mean
colours returned) are in 8-bit RGB units for every dtype: a float picture's channels are scaled by
255, a uint16 picture's by 255/65535. Ids follow the raster order of each instance's first pixel,
so the same picture always gives the same ids. The work runs in Rust with the GIL released;
:func:`extract_instances_batch` spreads pictures over all cores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._arrays import as_picture, check_number, check_positive_int, check_unit_range, to_4d
from .colors import distinct_palette
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "Instance",
    "Instances",
    "coco_rle",
    "encode_instances",
    "extract_instances",
    "extract_instances_batch",
]

DEFAULT_TAU = 14.0


@dataclass(frozen=True)
class Instance:
    """One recovered instance.

    Attributes:
        id: its value in the id map, from 1.
        color: mean colour, 8-bit RGB units (floats in [0, 255]).
        area: pixels.
        bbox: COCO style ``(x, y, width, height)`` in pixels, integers.
        score: quality in [0, 1]: ``sqrt(coherence * kept)``, where coherence is
            ``max(0, 1 - rms / tau)`` with rms the root-mean-square distance of its pixels' colours
            to their mean, and kept is the fraction of its pixels that survive the 3x3 erosion.
    """

    id: int
    color: tuple[float, float, float]
    area: int
    bbox: tuple[int, int, int, int]
    score: float


def coco_rle(ids: NDArray[np.uint32], count: int) -> list[dict[str, Any]]:
    """The COCO run-length encodings of ids 1..``count`` of an (H, W) uint32 id map, one dict
    per id: ``{"size": [H, W], "counts": str}`` in pycocotools' compressed form (what
    `Instances.to_coco_rle` gives for its ids)."""
    h, w = ids.shape
    return [{"size": [h, w], "counts": c} for c in _core.coco_rle(ids, count)]


class Instances:
    """The instances of one picture: an id map and one record per instance.

    Attributes:
        ids: (H, W) uint32, 0 = background, instance i (0-based) has id i + 1.
        colors: (K, 3) float64 mean colours in 8-bit units.
        areas: (K,) int64 pixel counts.
        bboxes: (K, 4) int64 COCO boxes ``(x, y, width, height)``.
        scores: (K,) float64 in [0, 1] (see :class:`Instance`).

    ``len``, indexing and iteration give :class:`Instance` records in id order.
    """

    def __init__(
        self,
        ids: NDArray[np.uint32],
        colors: NDArray[np.float64],
        areas: NDArray[np.int64],
        bboxes: NDArray[np.int64],
        scores: NDArray[np.float64],
    ) -> None:
        self.ids = ids
        self.colors = colors
        self.areas = areas
        self.bboxes = bboxes
        self.scores = scores

    @classmethod
    def _from_core(cls, arrays: tuple[Any, ...]) -> Instances:
        ids, colors, areas, corners, scores = arrays
        corners = corners.astype(np.int64)
        bboxes = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)
        return cls(ids, colors, areas.astype(np.int64), bboxes, scores)

    def __len__(self) -> int:
        return len(self.areas)

    def __getitem__(self, index: int) -> Instance:
        i = range(len(self))[index]
        return Instance(
            id=i + 1,
            color=tuple(float(c) for c in self.colors[i]),  # type: ignore[arg-type]
            area=int(self.areas[i]),
            bbox=tuple(int(b) for b in self.bboxes[i]),  # type: ignore[arg-type]
            score=float(self.scores[i]),
        )

    def __iter__(self) -> Iterator[Instance]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        h, w = self.ids.shape
        return f"Instances({len(self)} instances in a {h}x{w} picture)"

    def masks(self) -> NDArray[np.bool_]:
        """(K, H, W) bool: one mask per instance, in id order."""
        ids = np.arange(1, len(self) + 1, dtype=np.uint32)
        masks: NDArray[np.bool_] = self.ids[None, :, :] == ids[:, None, None]
        return masks

    def to_coco_rle(self) -> list[dict[str, Any]]:
        """COCO run-length encodings, one dict per instance in id order.

        Each is ``{"size": [H, W], "counts": str}`` with counts in pycocotools' compressed string
        form (column-major runs, starting with background), as ``pycocotools.mask.encode`` writes
        them, so ``pycocotools.mask.decode`` gives back :meth:`masks`.
        """
        return coco_rle(self.ids, len(self))

    def resize(self, height: int, width: int) -> Instances:
        """The id map resampled to (height, width) by nearest neighbour (pixel centres).

        Areas and boxes are recounted; colours and scores are kept. An instance too small to hit
        any sampled pixel keeps its id with area 0 and box (0, 0, 0, 0).
        """
        height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
        h, w = self.ids.shape
        rows = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.intp), h - 1)
        cols = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.intp), w - 1)
        ids = self.ids[rows[:, None], cols[None, :]]
        k = len(self)
        areas = np.bincount(ids.ravel(), minlength=k + 1)[1:].astype(np.int64)
        ys, xs = np.nonzero(ids)
        labels = ids[ys, xs].astype(np.intp) - 1
        lo = np.full((k, 2), np.iinfo(np.int64).max)
        hi = np.full((k, 2), -1)
        np.minimum.at(lo, labels, np.stack([xs, ys], axis=1))
        np.maximum.at(hi, labels, np.stack([xs, ys], axis=1))
        present = (areas > 0)[:, None]
        bboxes = np.where(present, np.concatenate([lo, hi - lo + 1], axis=1), 0)
        return Instances(ids, self.colors, areas, bboxes.astype(np.int64), self.scores)


def _params(
    background: Any,
    tau: Any,
    connectivity: Any,
    min_area_fraction: Any,
    erosion_keep: Any,
    merge_bbox_ratio: Any,
) -> tuple[list[float], float, int, float, float, float]:
    bg = _background(background)
    tau = check_number(tau, "tau", above=0)
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)):
        raise InvalidTypeError(
            f"connectivity must be the integer 4, 8 or 16, got {type(connectivity).__name__}"
        )
    if connectivity not in (4, 8, 16):
        raise InvalidArgumentError(
            f"connectivity must be 4, 8 or 16 (16 = 8 neighbours and 8 knight moves), "
            f"got {connectivity}"
        )
    fractions = []
    for name, value in (("min_area_fraction", min_area_fraction), ("erosion_keep", erosion_keep)):
        value = check_number(value, name)
        if not 0 <= value <= 1:
            raise InvalidArgumentError(f"{name} must lie in [0, 1], got {value:g}")
        fractions.append(value)
    ratio = check_number(merge_bbox_ratio, "merge_bbox_ratio")
    if ratio < 0:
        raise InvalidArgumentError(f"merge_bbox_ratio must be 0 or more, got {ratio:g}")
    return bg, tau, int(connectivity), fractions[0], fractions[1], ratio


def _background(background: Any) -> list[float]:
    try:
        bg = np.asarray(background, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidTypeError(
            f"background must be 3 numbers (8-bit RGB), got {background!r}"
        ) from None
    if bg.shape != (3,) or not np.all(np.isfinite(bg)) or bg.min() < 0 or bg.max() > 255:
        raise InvalidArgumentError(
            f"background must be 3 finite numbers in [0, 255] (8-bit RGB, whatever the picture's "
            f"dtype), got {background!r}"
        )
    return [float(c) for c in bg]


def _one_picture(rgb: Any, name: str) -> np.ndarray:
    picture = as_picture(rgb, name)
    if picture.ndim != 3:
        raise InvalidArgumentError(
            f"{name} must be one picture (H, W, 3) or (H, W, 4), got shape {picture.shape}; "
            f"for a stack use extract_instances_batch"
        )
    check_unit_range(to_4d(picture), picture.shape, name)
    return picture


def extract_instances(
    rgb: Any,
    *,
    background: Sequence[float] = (0, 0, 0),
    tau: float = DEFAULT_TAU,
    connectivity: int = 16,
    min_area_fraction: float = 2e-4,
    erosion_keep: float = 0.1,
    merge_bbox_ratio: float = 5.0,
) -> Instances:
    """Recovers the instances of a colour-coded picture (the five stages in the module doc).

    Args:
        rgb: (H, W, 3) or (H, W, 4) picture (alpha ignored), uint8, uint16 or float in [0, 1], or
            a PIL image. Any strides; never modified.
        background: background colour, 8-bit RGB units (0-255) whatever the dtype.
        tau: colour distance threshold, 8-bit RGB Euclidean, above 0.
        connectivity: 4, 8 or 16 (8 neighbours plus the 8 knight moves).
        min_area_fraction: components under this fraction of H * W are dropped, in [0, 1].
        erosion_keep: components keeping less than this fraction under a 3x3 erosion are dropped.
        merge_bbox_ratio: merge limit on the union box area over the sum of the two box areas.

    Returns:
        :class:`Instances`: the (H, W) uint32 id map and per-instance colour, area, box, score.

    Raises:
        InvalidTypeError: rgb of an unsupported type or dtype; a parameter of the wrong type.
        InvalidArgumentError: rgb of the wrong shape or with float channels outside [0, 1]; tau
            <= 0, connectivity not 4, 8 or 16, or another parameter out of range.

    Example:
        >>> import numpy as np
        >>> rgb = np.zeros((40, 40, 3), np.uint8)
        >>> rgb[5:20, 5:20] = (220, 30, 30)
        >>> rgb[25:35, 10:30] = (30, 30, 220)
        >>> found = extract_instances(rgb)
        >>> len(found), found[1].bbox, found[1].area
        (2, (10, 25, 20, 10), 200)
    """
    picture = _one_picture(rgb, "rgb")
    params = _params(
        background, tau, connectivity, min_area_fraction, erosion_keep, merge_bbox_ratio
    )
    return Instances._from_core(_core.extract_instances(picture, params))


def extract_instances_batch(
    pictures: Any,
    *,
    background: Sequence[float] = (0, 0, 0),
    tau: float = DEFAULT_TAU,
    connectivity: int = 16,
    min_area_fraction: float = 2e-4,
    erosion_keep: float = 0.1,
    merge_bbox_ratio: float = 5.0,
) -> list[Instances]:
    """:func:`extract_instances` on many pictures, in parallel across pictures on all cores.

    Args:
        pictures: an (N, H, W, C) array, or a sequence of (H, W, C) pictures (sizes and dtypes
            may differ). The other arguments are those of :func:`extract_instances`.

    Returns:
        One :class:`Instances` per picture, in order; the same as calling
        :func:`extract_instances` on each.
    """
    if isinstance(pictures, np.ndarray):
        stack = as_picture(pictures, "pictures")
        if stack.ndim != 4:
            raise InvalidArgumentError(
                f"pictures must be an (N, H, W, C) array or a sequence of (H, W, C) pictures, "
                f"got shape {stack.shape}"
            )
        check_unit_range(stack, stack.shape, "pictures")
        items = list(stack)
    elif isinstance(pictures, (list, tuple)):
        items = [_one_picture(p, f"pictures[{i}]") for i, p in enumerate(pictures)]
    else:
        raise InvalidTypeError(
            f"pictures must be an (N, H, W, C) array or a list of pictures, "
            f"got {type(pictures).__name__}"
        )
    params = _params(
        background, tau, connectivity, min_area_fraction, erosion_keep, merge_bbox_ratio
    )
    return [Instances._from_core(a) for a in _core.extract_instances_batch(items, params)]


def encode_instances(
    instance_ids: ArrayLike,
    *,
    background: Sequence[float] = (0, 0, 0),
    palette: ArrayLike | None = None,
) -> NDArray[np.uint8]:
    """Paints an instance-id map as a target picture: id 0 in the background colour, id i in
    ``palette[i - 1]``.

    Args:
        instance_ids: (..., H, W) non-negative integers, 0 = background.
        background: background colour, 3 integers in 0-255.
        palette: (K, 3) colours in 0-255 with K at least the largest id. By default
            `colors.distinct_palette`: maximally distinct colours, far from the background.

    Returns:
        (..., H, W, 3) uint8.

    Example:
        >>> ids = np.array([[0, 1], [2, 2]])
        >>> encode_instances(ids).tolist()
        [[[0, 0, 0], [0, 255, 0]], [[0, 0, 255], [0, 0, 255]]]
    """
    ids = np.asarray(instance_ids)
    if ids.dtype.kind not in "iu":
        raise InvalidTypeError(f"instance_ids must hold integers, got dtype {ids.dtype}")
    if ids.ndim < 2:
        raise InvalidArgumentError(f"instance_ids must be (..., H, W), got shape {ids.shape}")
    n = int(ids.max()) if ids.size else 0
    if ids.size and ids.min() < 0:
        raise InvalidArgumentError(f"instance_ids must be 0 or more, got {int(ids.min())}")
    bg = np.asarray(_background(background))
    if palette is None:
        avoid = tuple(int(v) for v in np.round(bg))
        colors = np.asarray(distinct_palette(n, avoid=[avoid]), np.float64).reshape(-1, 3)
    else:
        colors = np.asarray(palette)
        if colors.ndim != 2 or colors.shape[1] != 3 or len(colors) < n:
            raise InvalidArgumentError(
                f"palette must be (K, 3) with K at least the largest id {n}, got shape "
                f"{colors.shape}"
            )
        if colors.dtype.kind not in "iuf" or colors.min() < 0 or colors.max() > 255:
            raise InvalidArgumentError("palette must hold numbers in 0-255")
    table = np.concatenate([np.round(bg)[None], np.asarray(colors, np.float64)[:n]])
    picture: NDArray[np.uint8] = np.round(table).astype(np.uint8)[ids]
    return picture
