"""What the runner does for each task, in one table (``TASKS``): the prompt, the decoding, the
truth it expects, the metric, how a prediction is resized and scored, and the figures reported.

Every query goes the same way (`vision_banana.eval.runner`): ``prompt`` -> generation ->
``decode`` (at the picture's own size) -> ``score`` (resized to the truth, added to the metric)
-> ``figures``. Only this table knows which decoder, resizing and metric a task uses.

Example:
    >>> TASKS["semantic"].truth.__name__
    'SemanticTruth'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ..depth import decode_depth
from ..errors import InvalidArgumentError
from ..instances import Instances, extract_instances
from ..metrics import DepthMetric, NormalMetric, ReferringMetric, SemanticMetric
from ..metrics.saco import SacoGoldMetric
from ..normals import decode_normals
from ..prompts import (
    depth_prompt,
    instance_prompt,
    normals_prompt,
    parse_mapping,
    referring_prompt,
    semantic_prompt,
)
from ..resize import resize_depth, resize_labels, resize_normals
from ..semantic import decode_referring, decode_semantic
from .benchmarks.base import (
    Benchmark,
    DepthTruth,
    InstancesTruth,
    NormalsTruth,
    ReferringTruth,
    Sample,
    SemanticTruth,
)

__all__ = ["TASKS", "Metric", "TaskSpec"]

Metric = DepthMetric | NormalMetric | SemanticMetric | ReferringMetric | SacoGoldMetric
IGNORE = 255  # the label of unscored pixels, in the truth and for unlabelled predictions


@dataclass(frozen=True)
class TaskSpec:
    """One task's steps.

    Attributes:
        truth: the truth type ``Sample.load_truth()`` must return.
        prompt: the prompt of a sample that brings none: ``prompt(bench, sample)``.
        decode: ``decode(picture, prompt, bench)``: the prediction at the picture's size.
        metric: a fresh metric for the benchmark: ``metric(bench)``.
        score: ``score(metric, prediction, truth)``: resizes the prediction to the truth, adds
            it to the metric, and returns the resized prediction as an array (what
            ``save_predictions`` writes).
        figures: ``figures(metric, bench)``: the report's figures of a filled metric.
    """

    truth: type
    prompt: Callable[[Benchmark, Sample], str]
    decode: Callable[[NDArray[np.uint8], str, Benchmark], Any]
    metric: Callable[[Benchmark], Metric]
    score: Callable[[Any, Any, Any], NDArray[Any]]
    figures: Callable[[Any, Benchmark], dict[str, Any]]


def _query(sample: Sample) -> str:
    if sample.query is None:
        raise InvalidArgumentError(f"sample {sample.id} has no query (expression or phrase)")
    return sample.query


def _size(array: NDArray[Any]) -> tuple[int, int]:
    return int(array.shape[0]), int(array.shape[1])


# --- depth and normals ----------------------------------------------------------------------------


def _score_depth(metric: DepthMetric, depth: NDArray[np.float32], truth: DepthTruth) -> Any:
    target = _size(truth.depth)
    if depth.shape != target:
        depth = resize_depth(depth, target)
    metric.update(depth, truth.depth, truth.valid)
    return depth


def _score_normals(
    metric: NormalMetric,
    decoded: tuple[NDArray[np.float32], NDArray[np.bool_]],
    truth: NormalsTruth,
) -> Any:
    """Bilinear and renormalised, the decoder's invalid pixels (sky) left out and kept zero."""
    normals, valid = decoded
    target = _size(truth.normals)
    if normals.shape[:2] != target:
        normals, _ = resize_normals(normals, target, valid=valid)
    metric.update(normals, truth.normals, truth.valid)
    return normals


def _both_averagings(metric: DepthMetric | NormalMetric, bench: Benchmark) -> dict[str, Any]:
    """The protocol's averaging (the metric's own) under the plain names, the other beside them
    with the suffix ``_pooled`` or ``_per_image``."""
    other: Literal["image", "pixel"] = "pixel" if metric.averaging == "image" else "image"
    suffix = "_pooled" if other == "pixel" else "_per_image"
    figures: dict[str, Any] = metric.compute()
    figures |= {k + suffix: v for k, v in metric.compute(other).items()}
    return figures


# --- semantic -------------------------------------------------------------------------------------


def _semantic_prompt(bench: Benchmark, sample: Sample) -> str:
    return semantic_prompt(dict(bench.classes))


def _decode_semantic(picture: NDArray[np.uint8], prompt: str, bench: Benchmark) -> Any:
    """Labels in the benchmark's class order, whatever order the prompt names them in; a class
    the benchmark does not know, and the background, are IGNORE (wrong wherever the truth has a
    class)."""
    mapping = parse_mapping(prompt)
    if not mapping.classes:
        raise InvalidArgumentError(f"the semantic prompt names no class with a colour: {prompt!r}")
    order = list(bench.classes)
    lut = np.full(256, IGNORE, np.uint8)
    for i, name in enumerate(mapping.classes):
        lut[i] = order.index(name) if name in order else IGNORE
    options = {"ignore_index": IGNORE, **bench.decode_options}
    return lut[decode_semantic(picture, mapping, **options)]


def _score_semantic(metric: SemanticMetric, labels: Any, truth: SemanticTruth) -> Any:
    if labels.shape != truth.labels.shape:
        labels = resize_labels(labels, _size(truth.labels))
    metric.update(labels, truth.labels)
    return labels


def _semantic_figures(metric: SemanticMetric, bench: Benchmark) -> dict[str, Any]:
    """miou, pixel_accuracy, and ``iou`` by class name (NaN for a class absent from both)."""
    figures = metric.compute()
    iou = {name: float(v) for name, v in zip(bench.classes, figures["iou"], strict=True)}
    return {"miou": figures["miou"], "pixel_accuracy": figures["pixel_accuracy"], "iou": iou}


# --- referring ------------------------------------------------------------------------------------


def _decode_referring(picture: NDArray[np.uint8], prompt: str, bench: Benchmark) -> Any:
    """One mask: the union of the referents the prompt names (one for the built prompts)."""
    mapping = parse_mapping(prompt)
    if not mapping.classes:
        raise InvalidArgumentError(f"the referring prompt names no colour: {prompt!r}")
    masks = decode_referring(picture, mapping, **bench.decode_options)
    return masks.any(axis=0)


def _score_referring(metric: ReferringMetric, mask: Any, truth: ReferringTruth) -> Any:
    if mask.shape != truth.mask.shape:
        mask = resize_labels(mask, _size(truth.mask))
    metric.update(mask, truth.mask, truth.valid)
    return mask


# --- instances ------------------------------------------------------------------------------------


def _decode_instances(picture: NDArray[np.uint8], prompt: str, bench: Benchmark) -> Any:
    background = parse_mapping(prompt).background
    return extract_instances(picture, background=background, **bench.decode_options)


def _score_instances(
    metric: SacoGoldMetric, instances: Instances, truth: InstancesTruth
) -> NDArray[Any]:
    h, w = truth.shape
    if instances.ids.shape != (h, w):
        instances = instances.resize(h, w)
    metric.update(
        truth.subset,
        instances.masks(),
        [a.masks for a in truth.annotators],
        [a.crowd for a in truth.annotators],
        instances.scores,
    )
    return instances.ids


TASKS: dict[str, TaskSpec] = {
    "depth": TaskSpec(
        truth=DepthTruth,
        prompt=lambda bench, sample: depth_prompt(),
        decode=lambda picture, prompt, bench: decode_depth(picture),
        metric=lambda bench: DepthMetric(**bench.metric_options),
        score=_score_depth,
        figures=_both_averagings,
    ),
    "normals": TaskSpec(
        truth=NormalsTruth,
        prompt=lambda bench, sample: normals_prompt(),
        decode=lambda picture, prompt, bench: decode_normals(picture, frame="opencv"),
        metric=lambda bench: NormalMetric(**bench.metric_options),
        score=_score_normals,
        figures=_both_averagings,
    ),
    "semantic": TaskSpec(
        truth=SemanticTruth,
        prompt=_semantic_prompt,
        decode=_decode_semantic,
        metric=lambda bench: SemanticMetric(len(bench.classes), IGNORE, **bench.metric_options),
        score=_score_semantic,
        figures=_semantic_figures,
    ),
    "referring": TaskSpec(
        truth=ReferringTruth,
        prompt=lambda bench, sample: referring_prompt(_query(sample)),
        decode=_decode_referring,
        metric=lambda bench: ReferringMetric(**bench.metric_options),
        score=_score_referring,
        figures=lambda metric, bench: metric.compute(),
    ),
    "instances": TaskSpec(
        truth=InstancesTruth,
        prompt=lambda bench, sample: instance_prompt(_query(sample)),
        decode=_decode_instances,
        metric=lambda bench: SacoGoldMetric(**bench.metric_options),
        score=_score_instances,
        figures=lambda metric, bench: metric.compute(),
    ),
}
