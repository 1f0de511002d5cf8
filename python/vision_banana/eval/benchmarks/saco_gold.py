"""SA-Co/Gold: seven subsets of image-phrase pairs, each drawn by three annotators, scored as
SAM 3 scores them (BENCHMARKS.md, instances; `vision_banana.metrics.saco`).

Each subset has three COCO-format files, ``gold_<subset>_merged_{a,b,c}_release_test.json``
(facebookresearch/sam3 ``scripts/eval/gold/README.md``): ``images`` are the pairs (``id``,
``file_name``, ``text_input``, ``height``, ``width``, ``is_instance_exhaustive``), ``annotations``
their masks (compressed RLE, ``iscrowd``); a pair without annotations is a negative. Only the pairs
every annotator calls exhaustive are asked (`exhaustive_pairs`). The prompt is the instance prompt
with ``text_input``; the instances come from `extract_instances` (the package's defaults unless
given) and each scores 1 unless ``use_scores``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError, InvalidTypeError
from ...instances import extract_instances
from ...metrics.saco import exhaustive_pairs
from ._coco import load_coco, read_json, to_mask
from ._groundtruth import refuse_split
from .base import Annotation, Benchmark, InstancesTruth, PaperRow, Sample, register

__all__ = ["ANNOTATORS", "SUBSETS", "SacoGold"]

#: The seven subsets, in the order of SAM 3's evaluation notebook.
SUBSETS = (
    "metaclip",
    "sa1b",
    "crowded",
    "fg_food",
    "fg_sports_equipment",
    "attributes",
    "wiki_common",
)
ANNOTATORS = ("a", "b", "c")
_DECODE_OPTIONS = ("tau", "connectivity", "min_area_fraction", "erosion_keep", "merge_bbox_ratio")


def annotation_file(subset: str, annotator: str) -> Path:
    """A subset's file of one annotator, relative to the root."""
    return Path("annotations") / f"gold_{subset}_merged_{annotator}_release_test.json"


@register
class SacoGold(Benchmark):
    """SA-Co/Gold: ``annotations/gold_<subset>_merged_{a,b,c}_release_test.json`` and the photos
    at ``images/<file_name>``.

    Args:
        root: the folder holding ``annotations/`` and ``images/``.
        subset: score only this subset (one of `SUBSETS`); default all seven.
        sample: score ``sample`` pairs drawn at random from the pairs scored (the paper: 500);
            default all.
        sample_seed: the seed of the draw (the command line passes ``--seed``).
        use_scores: keep only instances whose `extract_instances` score is 0.5 or more, as SAM 3
            keeps its predictions; default: every instance scores 1.
        tau, connectivity, min_area_fraction, erosion_keep, merge_bbox_ratio: passed to
            `extract_instances`; default its own.

    Example:
        >>> bench = SacoGold("/data/saco", subset="crowded", sample=100, sample_seed=0)
        >>> next(bench.samples()).id                                  # doctest: +SKIP
        'crowded/1000123'
    """

    name = "saco-gold"
    task = "instances"
    size = None
    layout = (
        "annotations/gold_<subset>_merged_{a,b,c}_release_test.json + images/<file_name>, "
        "subsets " + ", ".join(SUBSETS)
    )
    source = (
        "BENCHMARKS.md; facebookresearch/sam3 sam3/eval/cgf1_eval.py, "
        "examples/saco_gold_silver_eval_example.ipynb"
    )
    paper = PaperRow(
        figure="instance segmentation table (SA-Co/Gold, 500 sampled queries)",
        ours={"pmf1": 0.540},
        peer=("DINO-X", {"pmf1": 0.552}),
    )

    def __init__(
        self,
        root: str | Path,
        *,
        subset: str | None = None,
        sample: int | None = None,
        sample_seed: int | None = None,
        use_scores: bool = False,
        **options: Any,
    ) -> None:
        decode = {k: options.pop(k) for k in _DECODE_OPTIONS if k in options}
        super().__init__(root, **options)
        refuse_split(self)
        if subset is not None and subset not in SUBSETS:
            raise InvalidArgumentError(
                f"subset must be one of {', '.join(SUBSETS)}, got {subset!r}"
            )
        if not isinstance(use_scores, bool):
            raise InvalidTypeError(f"use_scores must be True or False, got {use_scores!r}")
        extract_instances(np.zeros((1, 1, 3), np.uint8), **decode)  # bad options fail here
        self.decode_options = MappingProxyType(decode)
        self.metric_options = MappingProxyType({"use_scores": use_scores})
        self.subsets = SUBSETS if subset is None else (subset,)
        self._indexes: dict[str, list[Any]] = {}
        pairs: list[tuple[str, Any, Path, str]] = []
        for name in self.subsets:
            paths = [self.root / annotation_file(name, a) for a in ANNOTATORS]
            for path in paths:
                if not path.is_file():
                    raise self.missing(path)
            files = [read_json(path, "an SA-Co annotation file") for path in paths]
            for path, content in zip(paths, files, strict=True):
                if not isinstance(content, dict) or not isinstance(content.get("images"), list):
                    raise InvalidArgumentError(f"root: {path} is not a COCO file with images")
            self._indexes[name] = [load_coco(content) for content in files]
            first = self._indexes[name][0]
            try:
                for pair_id in exhaustive_pairs([content["images"] for content in files]):
                    image = first.imgs[pair_id]
                    photo = self.root / "images" / image["file_name"]
                    pairs.append((name, pair_id, photo, str(image["text_input"])))
            except KeyError as err:
                raise InvalidArgumentError(
                    f"root: the images of {paths[0]} need id, file_name, text_input, height, "
                    f"width and is_instance_exhaustive; one lacks {err}"
                ) from err
        self._pairs = _draw(pairs, sample, sample_seed)
        self.size = len(self._pairs)
        drawn = "" if sample is None else f"{sample} pairs drawn with seed {sample_seed or 0}; "
        self.protocol = (
            f"{drawn}pairs exhaustive for every annotator; crowd masks left out; "
            f"{'instances under score 0.5 dropped' if use_scores else 'every instance scores 1'}"
            "; Hungarian matching on mask IoU, TP at IoU 0.50:0.05:0.95; the best of the three "
            "annotators per pair; pmF1, IL_MCC, cgF1 per subset, headline their mean"
        )

    def samples(self) -> Iterator[Sample]:
        for subset, pair_id, photo, text in self._pairs:
            load = partial(self._truth, subset, pair_id)
            yield Sample(f"{subset}/{pair_id}", photo, load, query=text)

    def _truth(self, subset: str, pair_id: Any) -> InstancesTruth:
        indexes = self._indexes[subset]
        image = indexes[0].imgs[pair_id]
        shape = (int(image["height"]), int(image["width"]))
        annotators = []
        for coco in indexes:
            annotations = coco.imgToAnns.get(pair_id, [])
            masks = np.zeros((len(annotations), *shape), bool)
            for i, annotation in enumerate(annotations):
                mask = to_mask(coco, annotation)
                if mask.shape != shape:
                    raise InvalidArgumentError(
                        f"annotation {annotation.get('id')} of pair {pair_id} is "
                        f"{mask.shape[0]} x {mask.shape[1]}; the image is {shape[0]} x {shape[1]}"
                    )
                masks[i] = mask
            crowd = np.array([bool(a.get("iscrowd", 0)) for a in annotations], bool)
            annotators.append(Annotation(masks, crowd))
        return InstancesTruth(tuple(annotators), subset)


def _draw(
    pairs: list[tuple[str, Any, Path, str]], sample: int | None, seed: int | None
) -> list[tuple[str, Any, Path, str]]:
    """``sample`` pairs drawn without replacement (numpy's default generator seeded with
    ``seed``), kept in the benchmark's order; all of them when ``sample`` is None."""
    if sample is None:
        return pairs
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
        raise InvalidArgumentError(
            f"sample must be a whole number of pairs above 0, got {sample!r}"
        )
    if sample > len(pairs):
        raise InvalidArgumentError(
            f"sample: {sample} pairs asked, but only {len(pairs)} are scored (exhaustive for "
            "every annotator) in the subsets chosen"
        )
    chosen = np.random.default_rng(0 if seed is None else seed).choice(
        len(pairs), size=int(sample), replace=False
    )
    return [pairs[i] for i in sorted(chosen)]
