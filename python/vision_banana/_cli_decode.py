"""What ``vision-banana decode`` makes of one picture, task by task.

Each factory checks its options once and returns a `PictureDecoder`: the task and decoder keywords
that `decode_files` decodes the pictures with, and what one decoded result becomes: the `Outputs`
to write beside the picture's stem. Options are keyword arguments of the task's decoder, passed on
as they are; an option left out keeps the decoder's default.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _preview
from ._cli_files import Outputs
from .depth import decode_depth
from .errors import InvalidArgumentError
from .instances import Instances
from .normals import to_opencv
from .prompts import ColorMapping
from .semantic import decode_semantic

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

#: Reads the decoded picture again, for a preview; None when no preview is wanted.
PictureReader = Callable[[], np.ndarray] | None


@dataclass
class PictureDecoder:
    """One task's decoding: ``task`` and ``options`` for `decode_files`, and ``describe``, which
    turns one decoded result, a reader of its picture (for the preview) and the picture's name
    into the `Outputs` to write."""

    task: str
    options: dict[str, Any]
    describe: Callable[[Any, PictureReader, str], Outputs]


def parameter_default(function: Callable[..., Any], name: str) -> Any:
    """The default of ``function``'s keyword ``name``: the one place each default is written."""
    return inspect.signature(function).parameters[name].default


def _size(plane: np.ndarray) -> str:
    """Width x height of a decoded (H, W, ...) array."""
    return f"{plane.shape[1]}x{plane.shape[0]}"


def _with_preview(
    files: dict[str, Any], picture: PictureReader, shade: Callable[[], np.ndarray]
) -> dict[str, Any]:
    """``files`` and, when a picture reader is given, the picture beside its ``shade()``."""
    if picture is not None:
        files[".preview.png"] = _preview.side_by_side(picture(), shade())
    return files


def depth(options: Mapping[str, Any]) -> PictureDecoder:
    """Depth in metres (``.npy``, float32) and a preview with a colour bar in metres.

    ``options``: keywords of `decode_depth` (lam, c, max_depth, colormap)."""
    max_depth = options.get("max_depth", parameter_default(decode_depth, "max_depth"))

    def describe(
        result: tuple[np.ndarray, np.ndarray], picture: PictureReader, name: str
    ) -> Outputs:
        metres, distance = result
        if metres.size:
            low, median, high = np.percentile(metres, [0, 50, 100])
            saturated = 100 * float(np.mean(metres >= max_depth))
            spread = float(np.mean(distance))
        else:
            low = median = high = saturated = spread = 0.0
        summary = (
            f"{name}: {_size(metres)} depth min {low:.3f} m, median {median:.3f} m, max "
            f"{high:.3f} m, at max_depth {saturated:.2f} %, mean colour distance {spread:.4f}"
        )
        files: dict[str, Any] = {".npy": metres}
        if picture is not None:
            files[".preview.png"] = _preview.depth_preview(picture(), metres)
        return Outputs(summary, files, {"depth": metres, "distance": distance})

    return PictureDecoder("depth", {**options, "return_distance": True}, describe)


def normals(options: Mapping[str, Any]) -> PictureDecoder:
    """Unit normals (``.npy``, (H, W, 3) float32, zero where invalid) and a preview.

    ``options``: keywords of `decode_normals` (frame, sky_tolerance, norm_range). The preview
    always draws the paper's frame, so it looks the same whichever frame is saved."""
    opencv = options.get("frame") == "opencv"

    def describe(
        result: tuple[np.ndarray, np.ndarray], picture: PictureReader, name: str
    ) -> Outputs:
        vectors, valid = result
        # to_opencv flips y and z, so it also takes OpenCV vectors back to the paper's frame.
        shown = to_opencv(vectors) if opencv else vectors
        summary = (
            f"{name}: {_size(valid)} normals ({options.get('frame', 'camera')} frame), valid "
            f"{100 * float(np.mean(valid)) if valid.size else 0.0:.2f} %"
        )
        files = _with_preview(
            {".npy": vectors}, picture, lambda: _preview.normals_shade(shown, valid)
        )
        return Outputs(summary, files, {"normals": vectors, "valid": valid})

    return PictureDecoder("normals", dict(options), describe)


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

    def describe(labels: np.ndarray, picture: PictureReader, name: str) -> Outputs:
        counts = ", ".join(
            f"{i} {label} {100 * float(np.mean(labels == i)) if labels.size else 0.0:.1f} %"
            for i, label in enumerate(colours.classes)
        )
        summary = f"{name}: {_size(labels)} labels: {counts}; {ignore} = unlabelled"
        files = _with_preview(
            {".npy": labels},
            picture,
            lambda: _preview.labels_shade(
                labels, list(colours.classes.values()), colours.background
            ),
        )
        return Outputs(summary, files, {"labels": labels})

    return PictureDecoder("semantic", {**options, "colors": colours}, describe)


def referring(mapping: ColorMapping | None, options: Mapping[str, Any]) -> PictureDecoder:
    """One bool mask per referent (``.npy``, (K, H, W)) and a preview.

    ``options``: keywords of `decode_referring` (max_distance)."""
    colours = _classes(mapping, "referring")

    def describe(masks: np.ndarray, picture: PictureReader, name: str) -> Outputs:
        counts = ", ".join(
            f"{i} {label!r} {int(mask.sum())} px"
            for i, (label, mask) in enumerate(zip(colours.classes, masks, strict=True))
        )
        summary = f"{name}: {_size(masks[0]) if len(masks) else '0x0'} masks: {counts}"
        files = _with_preview(
            {".npy": masks},
            picture,
            lambda: _preview.masks_shade(masks, list(colours.classes.values()), colours.background),
        )
        return Outputs(summary, files, {"masks": masks})

    return PictureDecoder("referring", {**options, "colors": colours}, describe)


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

    def describe(found: Instances, picture: PictureReader, name: str) -> Outputs:
        summary = f"{name}: {_size(found.ids)} instance ids: {len(found)} instances"
        # One record per line: short enough to read, and still one JSON list.
        records = "[" + ",\n ".join(json.dumps(r) for r in instance_records(found)) + "]"
        files = _with_preview(
            {".npy": found.ids, ".instances.json": records},
            picture,
            lambda: _preview.ids_shade(found.ids),
        )
        arrays: dict[str, np.ndarray] = {
            "ids": found.ids,
            "colors": found.colors,
            "areas": found.areas,
            "bboxes": found.bboxes,
            "scores": found.scores,
        }
        return Outputs(summary, files, arrays)

    return PictureDecoder("instances", {**options, "background": background}, describe)
