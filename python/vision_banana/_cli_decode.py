"""What ``vision-banana decode`` makes of one picture, task by task.

Each factory checks its options once and returns a `PictureDecoder`: a function from one picture
(as `io.read_image` gives it) and its name to the `Outputs` to write beside its stem. Options are
keyword arguments of the task's decoder, passed on as they are; an option left out keeps the
decoder's default.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import _preview
from ._cli_files import Outputs
from .depth import decode_depth
from .errors import InvalidArgumentError
from .instances import Instances, extract_instances
from .normals import decode_normals, to_opencv
from .prompts import ColorMapping
from .semantic import decode_referring, decode_semantic

__all__ = [
    "PictureDecoder",
    "depth",
    "instance_records",
    "instances",
    "normals",
    "parameter_default",
    "referring",
    "semantic",
]

#: (picture, name for the summary) -> what to write.
PictureDecoder = Callable[[np.ndarray, str], Outputs]


def parameter_default(function: Callable[..., Any], name: str) -> Any:
    """The default of ``function``'s keyword ``name``: the one place each default is written."""
    return inspect.signature(function).parameters[name].default


def _size(picture: np.ndarray) -> str:
    return f"{picture.shape[1]}x{picture.shape[0]}"


def depth(options: Mapping[str, Any]) -> PictureDecoder:
    """Depth in metres (``.npy``, float32) and a preview with a colour bar in metres.

    ``options``: keywords of `decode_depth` (lam, c, max_depth, colormap)."""
    max_depth = options.get("max_depth", parameter_default(decode_depth, "max_depth"))

    def run(picture: np.ndarray, name: str) -> Outputs:
        metres, distance = decode_depth(picture, return_distance=True, **options)
        if metres.size:
            low, median, high = np.percentile(metres, [0, 50, 100])
            saturated = 100 * float(np.mean(metres >= max_depth))
            spread = float(np.mean(distance))
        else:
            low = median = high = saturated = spread = 0.0
        summary = (
            f"{name}: {_size(picture)} depth min {low:.3f} m, median {median:.3f} m, max "
            f"{high:.3f} m, at max_depth {saturated:.2f} %, mean colour distance {spread:.4f}"
        )
        preview = _preview.depth_preview(picture, metres)
        return Outputs(summary, {".npy": metres, ".preview.png": preview})

    return run


def normals(options: Mapping[str, Any]) -> PictureDecoder:
    """Unit normals (``.npy``, (H, W, 3) float32, zero where invalid) and a preview.

    ``options``: keywords of `decode_normals` (frame, sky_tolerance, norm_range). The preview
    always draws the paper's frame, so it looks the same whichever frame is saved."""
    opencv = options.get("frame") == "opencv"

    def run(picture: np.ndarray, name: str) -> Outputs:
        vectors, valid = decode_normals(picture, **options)
        # to_opencv flips y and z, so it also takes OpenCV vectors back to the paper's frame.
        shown = to_opencv(vectors) if opencv else vectors
        summary = (
            f"{name}: {_size(picture)} normals ({options.get('frame', 'camera')} frame), valid "
            f"{100 * float(np.mean(valid)) if valid.size else 0.0:.2f} %"
        )
        shade = _preview.normals_shade(shown, valid)
        return Outputs(
            summary, {".npy": vectors, ".preview.png": _preview.side_by_side(picture, shade)}
        )

    return run


def _classes(mapping: ColorMapping | None, task: str) -> ColorMapping:
    if mapping is None or not mapping.classes:
        raise InvalidArgumentError(
            f"decode {task} needs classes with colours from --prompt or --mapping"
        )
    return mapping


def semantic(mapping: ColorMapping | None, options: Mapping[str, Any]) -> PictureDecoder:
    """Label maps (``.npy``: label i = the i-th class, ``ignore_index`` elsewhere) and a preview.

    ``options``: keywords of `decode_semantic` (max_distance, ignore_index)."""
    colours = _classes(mapping, "semantic")
    ignore = options.get("ignore_index", parameter_default(decode_semantic, "ignore_index"))

    def run(picture: np.ndarray, name: str) -> Outputs:
        labels = decode_semantic(picture, colours, **options)
        counts = ", ".join(
            f"{i} {label} {100 * float(np.mean(labels == i)) if labels.size else 0.0:.1f} %"
            for i, label in enumerate(colours.classes)
        )
        summary = f"{name}: {_size(picture)} labels: {counts}; {ignore} = unlabelled"
        shade = _preview.labels_shade(labels, list(colours.classes.values()), colours.background)
        return Outputs(
            summary, {".npy": labels, ".preview.png": _preview.side_by_side(picture, shade)}
        )

    return run


def referring(mapping: ColorMapping | None, options: Mapping[str, Any]) -> PictureDecoder:
    """One bool mask per referent (``.npy``, (K, H, W)) and a preview.

    ``options``: keywords of `decode_referring` (max_distance)."""
    colours = _classes(mapping, "referring")

    def run(picture: np.ndarray, name: str) -> Outputs:
        masks = decode_referring(picture, colours, **options)
        counts = ", ".join(
            f"{i} {label!r} {int(mask.sum())} px"
            for i, (label, mask) in enumerate(zip(colours.classes, masks, strict=True))
        )
        summary = f"{name}: {_size(picture)} masks: {counts}"
        shade = _preview.masks_shade(masks, list(colours.classes.values()), colours.background)
        return Outputs(
            summary, {".npy": masks, ".preview.png": _preview.side_by_side(picture, shade)}
        )

    return run


def instance_records(found: Instances) -> list[dict[str, Any]]:
    """One JSON-ready record per instance, in id order: ``{"id", "color", "area", "bbox",
    "score", "segmentation"}``, the segmentation a COCO RLE ``{"size": [H, W], "counts": str}``
    that ``pycocotools.mask.decode`` reads (see `Instances.to_coco_rle`)."""
    return [
        {
            "id": item.id,
            "color": list(item.color),
            "area": item.area,
            "bbox": list(item.bbox),
            "score": item.score,
            "segmentation": rle,
        }
        for item, rle in zip(found, found.to_coco_rle(), strict=True)
    ]


def instances(mapping: ColorMapping | None, options: Mapping[str, Any]) -> PictureDecoder:
    """Instance-id maps (``.npy``, (H, W) uint32, 0 = background), the instances as COCO RLE
    JSON (``.instances.json``, see `instance_records`) and a preview.

    ``options``: keywords of `extract_instances` (tau, connectivity, min_area_fraction,
    erosion_keep, merge_bbox_ratio); the background comes from ``mapping`` (black without one)."""
    background = mapping.background if mapping is not None else (0, 0, 0)

    def run(picture: np.ndarray, name: str) -> Outputs:
        found = extract_instances(picture, background=background, **options)
        summary = f"{name}: {_size(picture)} instance ids: {len(found)} instances"
        # One record per line: short enough to read, and still one JSON list.
        records = "[" + ",\n ".join(json.dumps(r) for r in instance_records(found)) + "]"
        shade = _preview.ids_shade(found.ids)
        return Outputs(
            summary,
            {
                ".npy": found.ids,
                ".instances.json": records,
                ".preview.png": _preview.side_by_side(picture, shade),
            },
        )

    return run
