"""Where training samples come from: a ``folder`` of your own, a COCO instances file, or (only
when asked) a benchmark adapter of the evaluation harness.

Each source lists its samples without reading any ground truth; ``ExportSample.load()`` reads one
sample's truth when the export gets to it. A photo whose ground truth is missing is still listed,
with a ``load`` that raises, so the export reports it as skipped and counts it.

Layouts:

    folder:  <root>/images/<stem>.png|.jpg|.jpeg and, by task,
             depth      <root>/depth/<stem>.npy (metres) or .png (16-bit, times depth_scale)
             normals    <root>/normals/<stem>.npy ((H, W, 3), OpenCV frame, zero = invalid)
             semantic   <root>/labels/<stem>.png|.npy (label i = line i of <root>/classes.txt,
                        ignore_index = unlabelled)
             instances  <root>/instances/<stem>.png|.npy (id maps, 0 = background), the class
                        from ``instance_class`` or a one-line <root>/classes.txt
    coco:    <root>/<file_name> of each image of a COCO instances JSON (``annotations``)
"""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .._truth import check_map, files_by_stem, read_truth
from ..errors import InvalidArgumentError
from ..eval.benchmarks import base as bench_truth
from ..eval.benchmarks.base import DepthTruth, NormalsTruth, Sample
from ..eval.benchmarks.folder import load_depth, load_normals
from ..eval.runner import make_benchmark

__all__ = [
    "BENCHMARK_WARNING",
    "TASKS",
    "ExportSample",
    "InstancesTruth",
    "LabelsTruth",
    "Task",
    "TrainingTruth",
    "benchmark_samples",
    "coco_samples",
    "folder_samples",
]

Task = Literal["depth", "normals", "semantic", "instances"]
TASKS: tuple[Task, ...] = ("depth", "normals", "semantic", "instances")

BENCHMARK_WARNING = (
    "training on a benchmark's data makes its scores meaningless: the model has seen the answers "
    "(the paper excludes all benchmark data from training)"
)


@dataclass(frozen=True, eq=False)
class LabelsTruth:
    """A label map and the names of its labels.

    Attributes:
        labels: (H, W) integers: label i is ``classes[i]``; ``ignore_index`` is unlabelled.
        classes: the class names in label order.
        ignore_index: the label of unlabelled pixels (painted in the background colour).
    """

    labels: NDArray[np.integer[Any]]
    classes: tuple[str, ...]
    ignore_index: int


@dataclass(frozen=True, eq=False)
class InstancesTruth:
    """The instances of one class in one photo.

    Attributes:
        ids: (H, W) integers, 0 = background, each other value one instance.
        class_name: the instances' class, in the singular ("price tag").
    """

    ids: NDArray[np.integer[Any]]
    class_name: str


TrainingTruth = DepthTruth | NormalsTruth | LabelsTruth | InstancesTruth


@dataclass(frozen=True, eq=False)
class ExportSample:
    """One (photo, ground truth) pair to export.

    Attributes:
        id: the stem of the files written (``control/<id>.png``...): unique in the source,
            made of letters, digits, ``.``, ``_`` and ``-``.
        source_id: where it came from: the photo's stem, a benchmark's sample id, or for COCO
            ``"<image id>/<category name>"`` (instances) or the image id (semantic).
        photo: the photo file.
        load: reads the ground truth; raises for a missing or bad file (the sample is then
            skipped, with the message as its reason).
    """

    id: str
    source_id: str
    photo: Path
    load: Callable[[], TrainingTruth]


_PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")


def file_stem(text: str) -> str:
    """``text`` as a flat file stem every trainer takes: runs of other characters become ``_``.

    Example:
        >>> file_stem("scene_01/rgb 0003")
        'scene_01_rgb_0003'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


def _missing(path: str) -> TrainingTruth:
    raise InvalidArgumentError(f"no ground truth: expected {path}")


def _read_classes(path: Path) -> tuple[str, ...]:
    """The class names of a classes.txt, one per line (label i = line i), trailing blank lines
    ignored; a blank line among them would shift every label after it, so it is refused."""
    if not path.is_file():
        raise InvalidArgumentError(f"root: expected the class names in {path}, one per line")
    lines = path.read_text("utf-8").rstrip().splitlines()
    names = tuple(line.strip() for line in lines)
    if not names or not all(names):
        raise InvalidArgumentError(
            f"{path}: expected one class name per line (label i = line i) without blank lines"
        )
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"{path}: class names must be distinct, got {list(names)}")
    return names


def _labels(path: Path, classes: tuple[str, ...], ignore_index: int) -> LabelsTruth:
    labels = read_truth(path)
    check_map(labels, str(path), "labels", "iu")
    return LabelsTruth(labels, classes, ignore_index)


def _instances(path: Path, class_name: str) -> InstancesTruth:
    ids = read_truth(path)
    check_map(ids, str(path), "instance ids", "iu")
    return InstancesTruth(ids, class_name)


def folder_samples(
    root: Path,
    task: Task,
    *,
    depth_scale: float | None = None,
    instance_class: str | None = None,
    ignore_index: int = 255,
) -> tuple[list[ExportSample], list[tuple[str, str]]]:
    """The samples of a ``folder`` layout (module docstring), in photo-name order.

    Returns:
        The samples (one per photo; a photo without ground truth gets a ``load`` that raises),
        and (source id, reason) for each ground-truth file without a photo.

    Raises:
        InvalidArgumentError: no ``images/`` or no folder for the task, two files with one stem,
            16-bit depth PNGs without ``depth_scale``, a bad or missing classes.txt.
    """
    folders = {"depth": "depth", "normals": "normals", "semantic": "labels"}
    truth_dir = root / folders.get(task, "instances")
    for needed in (root / "images", truth_dir):
        if not needed.is_dir():
            raise InvalidArgumentError(
                f"root: {task} from a folder needs {needed}/ (see vision_banana.export.sources)"
            )
    suffixes = (".npy",) if task == "normals" else (".npy", ".png")
    photos = files_by_stem(root / "images", _PHOTO_SUFFIXES)
    truths = files_by_stem(truth_dir, suffixes)
    load: Callable[..., TrainingTruth]
    if task == "depth":
        if depth_scale is None and any(p.suffix.lower() == ".png" for p in truths.values()):
            raise InvalidArgumentError(
                f"depth_scale: {truth_dir} holds 16-bit depth PNGs; give their metres per unit "
                "(--depth-scale 0.001 for millimetres)"
            )
        load = partial(load_depth, depth_scale=depth_scale)
    elif task == "normals":
        load = load_normals
    elif task == "semantic":
        load = partial(
            _labels, classes=_read_classes(root / "classes.txt"), ignore_index=ignore_index
        )
    else:
        if instance_class is None:
            names = _read_classes(root / "classes.txt")
            if len(names) != 1:
                raise InvalidArgumentError(
                    f"instance_class: give the instances' class (--class NAME); "
                    f"{root / 'classes.txt'} names {len(names)} classes, not one"
                )
            instance_class = names[0]
        load = partial(_instances, class_name=instance_class)
    samples = []
    for stem, photo in photos.items():
        reader: Callable[[], TrainingTruth]
        if stem in truths:
            reader = partial(load, truths[stem])
        else:
            expected = f"{truth_dir.name}/{stem}{'|'.join(suffixes)}"
            reader = partial(_missing, expected)
        samples.append(ExportSample(file_stem(stem), stem, photo, reader))
    orphans = [
        (stem, f"{path.relative_to(root)} has no photo images/{stem}.png|.jpg")
        for stem, path in truths.items()
        if stem not in photos
    ]
    return samples, orphans


# --- COCO -------------------------------------------------------------------------------------


def _coco_mask(segmentation: Any, height: int, width: int) -> NDArray[np.bool_]:
    """One annotation's mask, as pycocotools' ``COCO.annToMask`` reads polygons, uncompressed
    and compressed RLE (pycocotools/coco.py ``annToRLE``)."""
    try:
        from pycocotools import mask as coco_mask
    except ImportError as error:
        raise ImportError(
            "the coco source needs pycocotools: pip install 'vision-banana[eval]'"
        ) from error
    if isinstance(segmentation, list):
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        rle = coco_mask.frPyObjects(segmentation, height, width)
    elif isinstance(segmentation, dict):
        rle = dict(segmentation)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
    else:
        raise InvalidArgumentError(f"segmentation must be polygons or RLE, got {segmentation!r}")
    decoded: NDArray[np.uint8] = coco_mask.decode(rle)
    return decoded.astype(bool)


def _paint_order(annotations: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Largest area first, so that a small object on top of a large one stays visible (as LISA
    fills its polygons); ties keep the file's order."""
    return sorted(annotations, key=lambda a: -float(a.get("area", 0.0)))


def _coco_instances(
    image: Mapping[str, Any], annotations: Sequence[Mapping[str, Any]], class_name: str
) -> InstancesTruth:
    height, width = int(image["height"]), int(image["width"])
    if any(a.get("iscrowd", 0) for a in annotations):
        raise InvalidArgumentError(
            f"a crowd annotation (iscrowd=1) of {class_name!r} covers many instances as one "
            "region: no target can tell them apart"
        )
    ids = np.zeros((height, width), np.uint16 if len(annotations) < 65536 else np.uint32)
    ordered = _paint_order(annotations)
    for number, annotation in enumerate(ordered, start=1):
        ids[_coco_mask(annotation["segmentation"], height, width)] = number
    return InstancesTruth(ids, class_name)


def _coco_labels(
    image: Mapping[str, Any],
    annotations: Sequence[Mapping[str, Any]],
    names: Mapping[int, str],
) -> LabelsTruth:
    height, width = int(image["height"]), int(image["width"])
    present = sorted({int(a["category_id"]) for a in annotations})
    label_of = {category: label for label, category in enumerate(present)}
    ignore = 255 if len(present) < 255 else 65535
    labels = np.full((height, width), ignore, np.uint8 if ignore == 255 else np.uint16)
    for annotation in _paint_order(annotations):
        mask = _coco_mask(annotation["segmentation"], height, width)
        labels[mask] = label_of[int(annotation["category_id"])]
    return LabelsTruth(labels, tuple(names[c] for c in present), ignore)


def coco_samples(root: Path, annotations: Path, task: Task) -> list[ExportSample]:
    """The samples of a COCO instances file: for ``instances`` one per (image, category) with
    annotations (the paper infers instances one class at a time), in image then category id
    order; for ``semantic`` one per image with annotations, labelled with its categories.

    Raises:
        InvalidArgumentError: the task is neither, the file is no COCO instances JSON, an
            annotation names an unknown image or category.
    """
    if task not in ("instances", "semantic"):
        raise InvalidArgumentError(
            f"task: the coco source gives instances or semantic targets, not {task!r}"
        )
    if not root.is_dir():
        raise InvalidArgumentError(f"root: expected the folder of the COCO images, got {root}")
    try:
        data = json.loads(annotations.read_text("utf-8"))
        images = {int(i["id"]): i for i in data["images"]}
        names = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        listed = data["annotations"]
    except FileNotFoundError:
        raise InvalidArgumentError(f"annotations: no such file {annotations}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidArgumentError(
            f"annotations: {annotations} is not a COCO instances JSON (images, categories, "
            f"annotations): {error!r}"
        ) from None
    grouped: dict[int, dict[int, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for annotation in listed:
        image_id, category = int(annotation["image_id"]), int(annotation["category_id"])
        if image_id not in images or category not in names:
            raise InvalidArgumentError(
                f"annotations: annotation {annotation.get('id')} names image {image_id} and "
                f"category {category}, which {annotations.name} does not list"
            )
        grouped[image_id][category].append(annotation)
    samples = []
    for image_id in sorted(grouped):
        image = images[image_id]
        photo = root / str(image["file_name"])
        by_category = grouped[image_id]
        if task == "semantic":
            every = [a for group in by_category.values() for a in group]
            load = partial(_coco_labels, image, every, names)
            samples.append(ExportSample(str(image_id), str(image_id), photo, load))
            continue
        for category in sorted(by_category):
            name = names[category]
            load_instances = partial(_coco_instances, image, by_category[category], name)
            sample_id = f"{image_id}_{category}"
            samples.append(ExportSample(sample_id, f"{image_id}/{name}", photo, load_instances))
    return samples


# --- benchmarks -------------------------------------------------------------------------------


def benchmark_samples(
    name: str,
    root: Path,
    task: Task,
    *,
    allow: bool,
    options: Mapping[str, Any],
) -> list[ExportSample]:
    """The samples of a benchmark adapter of `vision_banana.eval`, refused unless ``allow``;
    when allowed, a warning says why it should not be done.

    Raises:
        InvalidArgumentError: not allowed, an unknown benchmark, a layout that does not match,
            a benchmark of another task.
    """
    if not allow:
        raise InvalidArgumentError(
            f"source: {name!r} is a benchmark; {BENCHMARK_WARNING}. Pass allow_benchmark=True "
            "(--allow-benchmark) only to test the export itself"
        )
    bench = make_benchmark(name, root, **options)
    if bench.task != task:
        raise InvalidArgumentError(f"task: {name} holds {bench.task} ground truth, not {task}")
    warnings.warn(
        f"exporting the benchmark {name!r}: {BENCHMARK_WARNING}", UserWarning, stacklevel=3
    )
    classes = tuple(bench.classes)
    return [
        ExportSample(file_stem(s.id), s.id, s.photo, partial(_benchmark_truth, s, classes))
        for s in bench.samples()
    ]


def _benchmark_truth(sample: Sample, classes: tuple[str, ...]) -> TrainingTruth:
    """A benchmark sample's ground truth as the export's targets take it: semantic labels with
    the benchmark's classes (255 unlabelled), instances as an id map of the first annotator's
    masks, named by the sample's phrase."""
    truth = sample.load_truth()
    if isinstance(truth, bench_truth.SemanticTruth):
        return LabelsTruth(truth.labels, classes, 255)
    if isinstance(truth, bench_truth.InstancesTruth):
        first = truth.annotators[0]
        if first.crowd.any():
            raise InvalidArgumentError(
                f"a crowd mask of {sample.query!r} covers many instances as one region: no "
                "target can tell them apart"
            )
        ids = np.zeros(truth.shape, np.uint32)
        for number, mask in enumerate(first.masks, start=1):
            ids[mask] = number
        return InstancesTruth(ids, str(sample.query))
    if isinstance(truth, (DepthTruth, NormalsTruth)):
        return truth
    raise InvalidArgumentError(f"the export has no target for {type(truth).__name__}")
