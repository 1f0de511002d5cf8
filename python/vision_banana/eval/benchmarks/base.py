"""What every benchmark adapter provides to the harness: its samples, read lazily, and its protocol.

An adapter only knows its dataset's layout on disk and the masks of its protocol (crops, the
dataset's own invalid masks). It never generates, decodes or scores: the runner does that the same
way for every benchmark, with the metric options the adapter names (``metric_options``).

Ground truth is read by ``Sample.load_truth()``, one sample at a time, when the runner scores that
sample, so memory stays flat over a run of any length.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from ...errors import InvalidArgumentError

__all__ = [
    "BENCHMARKS",
    "Annotation",
    "Benchmark",
    "DepthTruth",
    "InstancesTruth",
    "NormalsTruth",
    "PaperRow",
    "ReferringTruth",
    "Sample",
    "SemanticTruth",
    "Task",
    "Truth",
    "register",
]

Task = Literal["depth", "normals", "semantic", "referring", "instances"]


@dataclass(frozen=True, eq=False)
class DepthTruth:
    """Ground-truth depth of one sample.

    Attributes:
        depth: (H, W) float32 planar depth in metres (any value where ``valid`` is False).
        valid: (H, W) bool: the dataset's valid pixels with the protocol's crop applied. The
            depth caps are not applied here: the runner's ``DepthMetric(**metric_options)``
            applies them (and clips predictions to them), as the protocol does.
    """

    depth: NDArray[np.float32]
    valid: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class NormalsTruth:
    """Ground-truth surface normals of one sample.

    Attributes:
        normals: (H, W, 3) float32 unit vectors in the OpenCV camera frame (x right, y down,
            z forward), pointing out of the surface toward the camera: a wall facing the camera
            is (0, 0, -1), a floor (0, -1, 0). The runner compares them with the prediction
            decoded by ``decode_normals(..., frame="opencv")``.
        valid: (H, W) bool.
    """

    normals: NDArray[np.float32]
    valid: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SemanticTruth:
    """Ground-truth classes of one sample.

    Attributes:
        labels: (H, W) uint8 class indices into the benchmark's ``classes`` (0..C-1), 255 where
            the pixel is not scored (void, unlabelled).
    """

    labels: NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class ReferringTruth:
    """Ground-truth mask of one referring (or reasoning) query.

    Attributes:
        mask: (H, W) bool, the referent.
        valid: (H, W) bool, False on pixels the protocol leaves out of intersection and union.
    """

    mask: NDArray[np.bool_]
    valid: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Annotation:
    """One annotator's masks of one image-phrase pair.

    Attributes:
        masks: (G, H, W) bool, one mask per instance; G = 0 for a negative pair.
        crowd: (G,) bool, True for a mask covering several instances (left out of scoring).
    """

    masks: NDArray[np.bool_]
    crowd: NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class InstancesTruth:
    """Ground-truth instances of one image-phrase pair, as each annotator drew them.

    Attributes:
        annotators: one `Annotation` per annotator, all of the same (H, W).
        subset: the part of the benchmark the pair belongs to (scored apart, then averaged).
    """

    annotators: tuple[Annotation, ...]
    subset: str

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        h, w = self.annotators[0].masks.shape[1:]
        return int(h), int(w)


Truth = DepthTruth | NormalsTruth | SemanticTruth | ReferringTruth | InstancesTruth


@dataclass(frozen=True, eq=False)
class Sample:
    """One query of a benchmark: a photo, a prompt, and its ground truth read on demand.

    Attributes:
        id: unique within the benchmark and stable across runs (e.g. the path of the photo
            relative to the root, without extension); used in samples.jsonl and for resuming.
        photo: the photo file sent to the generator (its bytes are part of the cache key).
        load_truth: reads and returns the ground truth; may raise (a corrupt file), which the
            runner records as this sample's failure.
        prompt: None for the prompt the task builds (from ``query`` where it needs one).
        query: the sample's own words: the referring expression or reasoning query, or the
            noun phrase whose instances are asked for.
    """

    id: str
    photo: Path
    load_truth: Callable[[], Truth]
    prompt: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class PaperRow:
    """A benchmark's figures in the paper (SPEC.md section 7), for the report.

    Attributes:
        figure: where in the paper the row is, e.g. "Table 4".
        ours: Vision Banana's figures by metric key (``delta1``, ``abs_rel``, ``mean``...);
            empty where the paper gives none for this benchmark.
        peer: the best peer's name and figures by metric key, or None.
    """

    figure: str
    ours: Mapping[str, float] = field(default_factory=dict)
    peer: tuple[str, Mapping[str, float]] | None = None


class Benchmark(abc.ABC):
    """A benchmark read from its official layout under ``root``.

    Subclasses set the class attributes and implement ``samples``; ``__init__`` checks the root
    and, for a layout that does not match, raises ``InvalidArgumentError`` naming the first
    missing file or folder and the layout expected (``layout``).

    Class attributes:
        name: the CLI name (``nyu``, ``kitti``, ...).
        task: "depth", "normals", "semantic", "referring" or "instances".
        size: the number of samples of the official set (None where it depends on options).
        layout: the expected layout under the root, in one line, for error messages and --list.
        protocol: the scoring protocol in one line (crop, caps, averaging), for results.md.
        source: the peer code this adapter follows (repository and file).
        paper: the paper's row.
        metric_options: keyword arguments of the task's metric (``DepthMetric``,
            ``NormalMetric``, ``SacoGoldMetric``...): caps, the headline averaging.
        decode_options: keyword arguments of the task's decoder (``extract_instances``'
            ``tau``...); empty for its defaults.
        classes: semantic benchmarks: class name to its prompt colour (r, g, b), in label
            order; the prompt names every class, and label i of the truth is entry i.

    ``task``, ``size``, ``protocol`` and ``metric_options`` may also be set per instance, by an
    adapter whose data or options decide them (``folder``: the task from the folders present, a
    ``max_depth`` cap); the runner reads them from the instance.
    """

    name: ClassVar[str]
    task: Task
    size: int | None
    layout: ClassVar[str]
    protocol: str
    source: ClassVar[str]
    paper: ClassVar[PaperRow]
    metric_options: Mapping[str, Any] = {}
    decode_options: Mapping[str, Any] = {}
    classes: Mapping[str, tuple[int, int, int]] = {}

    def __init__(self, root: str | Path, *, split: str | Path | None = None, **options: Any):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidArgumentError(
                f"root: {self.name} expects a folder laid out as {self.layout}; "
                f"{str(root)!r} is not a folder"
            )
        self.split = None if split is None else Path(split)
        if options:
            raise InvalidArgumentError(f"{self.name} takes no option {', '.join(sorted(options))}")

    @abc.abstractmethod
    def samples(self) -> Iterator[Sample]:
        """The benchmark's samples in a fixed order, without reading any ground truth."""

    def missing(self, path: Path) -> InvalidArgumentError:
        """The error for a layout that does not match: names the missing path and the layout."""
        return InvalidArgumentError(
            f"root: {self.name} expects {self.layout} under {str(self.root)!r}; missing: {path}"
        )


BENCHMARKS: dict[str, type[Benchmark]] = {}


def register(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator: make a benchmark known to ``evaluate`` and ``vision-banana eval``."""
    if cls.name in BENCHMARKS:
        raise RuntimeError(f"two benchmarks are named {cls.name!r}")
    BENCHMARKS[cls.name] = cls
    return cls
