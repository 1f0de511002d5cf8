"""RefCOCOg (UMD split) val: one query per sentence, cIoU over the set (BENCHMARKS.md, referring).

The refs pickle and the COCO instances file are read as lichengunc/refer's ``REFER`` reads them
(``refs(umd).p``, ``instances.json``); the queries are every sentence of every ref whose split is
"val", in the pickle's order, as dvlab-research/LISA's ``utils/dataset.py`` ``ValDataset`` lists
them; the truth is the mask of the ref's annotation (``COCO.annToMask``: polygons or RLE). The
same photo is sent once per sentence: the prompts differ, so do the cache keys.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from ._coco import load_coco, read_json, to_mask
from ._groundtruth import refuse_split
from .base import Benchmark, PaperRow, ReferringTruth, Sample, register

__all__ = ["RefCOCOg"]

IMAGES = Path("images") / "mscoco" / "images" / "train2014"


def _read_refs(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open("rb") as file:
            refs = pickle.load(file)  # the dataset's own format; read only from the given root
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise InvalidArgumentError(
            f"root: cannot read the refs pickle {str(path)!r}: {err}"
        ) from err
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise InvalidArgumentError(f"root: {path} must hold a list of refs (dicts)")
    return refs


@register
class RefCOCOg(Benchmark):
    """RefCOCOg UMD val: ``refcocog/refs(umd).p``, ``refcocog/instances.json``, and the photos
    at ``images/mscoco/images/train2014/<file_name>`` (LISA's layout).

    Example:
        >>> bench = RefCOCOg("/data/lisa")
        >>> sample = next(bench.samples())
        >>> sample.id, sample.query                                  # doctest: +SKIP
        ('ref_5678/0', 'a man in a blue shirt holding a frisbee')
    """

    name = "refcocog"
    task = "referring"
    size = 4896
    layout = (
        "refcocog/refs(umd).p + refcocog/instances.json + "
        "images/mscoco/images/train2014/<file_name>"
    )
    protocol = (
        "every sentence of the val refs is a query; truth = the ref's annotation mask; "
        "cIoU = sum I / sum U over the queries (headline), gIoU = mean I/U, empty union 1"
    )
    source = (
        "BENCHMARKS.md; lichengunc/refer refer.py; dvlab-research/LISA utils/dataset.py "
        "ValDataset, train_ds.py validate"
    )
    paper = PaperRow(
        figure="referring segmentation table (RefCOCOg UMD val)",
        ours={"ciou": 0.738},
        peer=("SAM 3 Agent", {"ciou": 0.734}),
    )

    def __init__(self, root: str | Path, **options: Any) -> None:
        super().__init__(root, **options)
        refuse_split(self)
        refs_path = self.root / "refcocog" / "refs(umd).p"
        instances_path = self.root / "refcocog" / "instances.json"
        for path in (refs_path, instances_path):
            if not path.is_file():
                raise self.missing(path)
        refs = [r for r in _read_refs(refs_path) if r.get("split") == "val"]
        self._coco = load_coco(read_json(instances_path, "the COCO instances file"))
        self._queries: list[tuple[str, Path, int, str]] = []
        for ref in refs:
            try:
                image = self._coco.imgs[ref["image_id"]]
                sentences = [s["sent"].strip() for s in ref["sentences"]]
                ann_id = ref["ann_id"]
            except (KeyError, TypeError, AttributeError) as err:
                raise InvalidArgumentError(
                    f"root: ref {ref.get('ref_id')!r} of {refs_path} lacks {err} (refs need "
                    "ref_id, ann_id, image_id of instances.json, sentences[{sent}])"
                ) from err
            photo = self.root / IMAGES / image["file_name"]
            for i, sentence in enumerate(sentences):
                self._queries.append((f"ref_{ref['ref_id']}/{i}", photo, ann_id, sentence))
        if not self._queries:
            raise InvalidArgumentError(f"root: {refs_path} has no ref of the val split")
        self.size = len(self._queries)

    def samples(self) -> Iterator[Sample]:
        for sample_id, photo, ann_id, sentence in self._queries:
            yield Sample(sample_id, photo, partial(self._truth, ann_id), query=sentence)

    def _truth(self, ann_id: int) -> ReferringTruth:
        if ann_id not in self._coco.anns:
            raise InvalidArgumentError(f"annotation {ann_id} is not in refcocog/instances.json")
        mask = to_mask(self._coco, self._coco.anns[ann_id])
        return ReferringTruth(mask, valid=np.ones_like(mask))
