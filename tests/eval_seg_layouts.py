"""Tiny copies of the segmentation benchmarks' official layouts, in their real formats (Cityscapes
label-id PNGs, the refs pickle and COCO instances JSON, ReasonSeg's labelme-style JSON, SA-Co's
three annotator files with compressed RLE written by pycocotools), and a generator that paints
a known prediction for each (photo, prompt).

Every builder returns what the test needs to compute the expected figures with its own numpy:
the truth as the protocol defines it, and the prediction the painter will paint.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

import vision_banana as vb
from vision_banana.io import write_image
from vision_banana.prompts import parse_mapping


def photo(path: Path, shape: tuple[int, int], seed: int) -> bytes:
    """A random RGB photo (PNG or JPEG by extension); returns its bytes (the painter's key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8))
    return path.read_bytes()


class PromptPainter:
    """A generator function: ``answer(photo array, prompt)`` gives the picture, looked up by the
    photo's pixels and the prompt. Counts its calls and keeps the prompts it got."""

    def __init__(self, answer: Callable[[np.ndarray, str], np.ndarray]):
        self.answer = answer
        self.prompts: list[str] = []

    def __call__(self, image: Any, prompt: str, seed: int | None) -> np.ndarray:
        self.prompts.append(prompt)
        return self.answer(np.asarray(image), prompt)

    def generator(self) -> vb.backends.CallableGenerator:
        return vb.backends.CallableGenerator(
            lambda image, prompt, seed: self(image, prompt, seed), name="prompt-painter"
        )


def key(image: np.ndarray) -> bytes:
    return np.ascontiguousarray(image).tobytes()


# --- Cityscapes ----------------------------------------------------------------------------------

# label id -> train id, written out here from cityscapesScripts' labels.py (255: not scored).
LABEL_TO_TRAIN = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10}
LABEL_TO_TRAIN |= {24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def build_cityscapes(root: Path, shape=(12, 16)) -> list[dict[str, Any]]:
    """Two val images (two cities), label ids including void ones (0, 1, 4, 6, 9, 255). Each
    returned dict: id, key (photo pixels), train (the truth in train ids), pred (train ids
    predicted, 255 where the picture leaves the background)."""
    rng = np.random.default_rng(5)
    written = []
    ids = np.array([0, 1, 4, 6, 9, 7, 8, 11, 21, 23, 24, 26, 26, 33, 7, 7])
    for n, (city, stem) in enumerate(
        (("frankfurt", "frankfurt_000000_000294"), ("munster", "munster_000001_000019"))
    ):
        path = root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png"
        photo(path, shape, seed=n)
        label_ids = rng.choice(ids, shape).astype(np.uint8)
        label_ids[0, 0] = 255
        gt = root / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png"
        gt.parent.mkdir(parents=True, exist_ok=True)
        write_image(gt, label_ids)
        train = np.full(shape, 255, np.int64)
        for label, train_id in LABEL_TO_TRAIN.items():
            train[label_ids == label] = train_id
        pred = np.where(train == 255, rng.integers(0, 19, shape), train)
        wrong = rng.random(shape) < 0.3
        pred[wrong] = rng.integers(0, 19, shape)[wrong]
        pred[rng.random(shape) < 0.1] = 255  # left as background
        written.append(
            {
                "id": f"leftImg8bit/val/{city}/{stem}_leftImg8bit",
                "key": key(vb.read_image(path)),
                "train": train,
                "pred": pred,
            }
        )
    return written


# --- RefCOCOg ------------------------------------------------------------------------------------


def rectangle(shape: tuple[int, int], top: int, left: int, bottom: int, right: int) -> np.ndarray:
    """(H, W) bool, True on rows top:bottom and columns left:right."""
    mask = np.zeros(shape, bool)
    mask[top:bottom, left:right] = True
    return mask


def build_refcocog(root: Path, shape=(20, 24)) -> dict[str, Any]:
    """Two photos; refs: ref 10 (val, two sentences, a polygon annotation), ref 11 (val, one
    sentence, an RLE annotation), ref 12 (train). Returns the truths and predictions by sentence,
    and the photos' keys by file name."""
    folder = root / "images" / "mscoco" / "images" / "train2014"
    keys = {}
    for n, name in enumerate(
        ("COCO_train2014_000000000001.jpg", "COCO_train2014_000000000002.jpg")
    ):
        photo(folder / name, shape, seed=10 + n)
        keys[name] = key(vb.read_image(folder / name))
    h, w = shape
    # A rectangle as a polygon: pycocotools covers columns 2..9 and rows 3..11 of it.
    polygon_truth = rectangle(shape, 3, 2, 12, 10)
    rle_truth = rectangle(shape, 5, 12, 15, 20) | rectangle(shape, 15, 12, 17, 14)
    rle = coco_mask.encode(np.asfortranarray(rle_truth.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    instances = {
        "images": [
            {"id": 1, "file_name": "COCO_train2014_000000000001.jpg", "height": h, "width": w},
            {"id": 2, "file_name": "COCO_train2014_000000000002.jpg", "height": h, "width": w},
        ],
        "annotations": [
            {
                "id": 101,
                "image_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": [[2, 3, 10, 3, 10, 12, 2, 12]],
                "area": 72.0,
                "bbox": [2, 3, 8, 9],
            },
            {
                "id": 102,
                "image_id": 2,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": rle,
                "area": float(rle_truth.sum()),
                "bbox": [12, 5, 8, 12],
            },
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    refs = [
        {
            "ref_id": 10,
            "ann_id": 101,
            "image_id": 1,
            "split": "val",
            "sentences": [
                {"sent": "the dog on the left", "sent_id": 1},
                {"sent": " a brown dog ", "sent_id": 2},
            ],
        },
        {
            "ref_id": 12,
            "ann_id": 101,
            "image_id": 1,
            "split": "train",
            "sentences": [{"sent": "a training sentence", "sent_id": 3}],
        },
        {
            "ref_id": 11,
            "ann_id": 102,
            "image_id": 2,
            "split": "val",
            "sentences": [{"sent": "cup near the plate", "sent_id": 4}],
        },
    ]
    (root / "refcocog").mkdir(parents=True)
    (root / "refcocog" / "instances.json").write_text(json.dumps(instances))
    with (root / "refcocog" / "refs(umd).p").open("wb") as file:
        pickle.dump(refs, file)
    queries = {
        "dog on the left": (polygon_truth, rectangle(shape, 4, 2, 12, 12)),
        "a brown dog": (polygon_truth, rectangle(shape, 0, 0, 2, 3)),  # misses: IoU 0
        "cup near the plate": (rle_truth, rle_truth.copy()),
    }
    return {"keys": keys, "queries": queries}


def paint_referring(prompt: str, mask: np.ndarray) -> np.ndarray:
    """The picture a referring prompt asks for: the referent's colour on the background."""
    mapping = parse_mapping(prompt)
    (color,) = mapping.classes.values()
    picture = np.empty((*mask.shape, 3), np.uint8)
    picture[:] = mapping.background
    picture[mask] = color
    return picture


# --- ReasonSeg -----------------------------------------------------------------------------------


def build_reasonseg(root: Path, shape=(20, 24)) -> dict[str, Any]:
    """Two val images. ``a``: a large target rectangle with a smaller ignore rectangle inside
    (drawn later, so ignored) and a flag shape over everything (skipped); ``b``: a large ignore
    rectangle with a smaller target inside (target wins) and a float point (truncated). Returns
    the truths (mask, valid) by query text, the predictions, and the photos' keys."""
    folder = root / "ReasonSeg" / "val"
    h, w = shape

    def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    everything = box(0, 0, w - 1, h - 1)
    files = {
        "a": {
            "text": ["the object used to stir the coffee", "a second text never asked"],
            "is_sentence": True,
            "shapes": [
                {"label": "target", "points": box(2, 2, 15, 12)},
                {"label": "ignore", "points": box(4, 4, 7, 6)},
                {"label": "flag", "points": everything},
            ],
        },
        "b": {
            "text": ["the red cup"],
            "is_sentence": False,
            "shapes": [
                {"label": "ignore_1", "points": box(1, 1, 20, 18)},
                {"label": "target", "points": box(5.9, 6, 9, 10.7)},
            ],
        },
    }
    truths, predictions, keys = {}, {}, {}
    for n, (name, content) in enumerate(files.items()):
        photo(folder / f"{name}.jpg", shape, seed=20 + n)
        keys[content["text"][0]] = key(vb.read_image(folder / f"{name}.jpg"))
        (folder / f"{name}.json").write_text(json.dumps(content))
    # cv2 fills integer polygons inclusively: box(x0, y0, x1, y1) covers rows y0..y1, cols x0..x1.
    a_target, a_ignore = rectangle(shape, 2, 2, 13, 16), rectangle(shape, 4, 4, 7, 8)
    truths["the object used to stir the coffee"] = (a_target & ~a_ignore, ~a_ignore)
    b_ignore, b_target = rectangle(shape, 1, 1, 19, 21), rectangle(shape, 6, 5, 11, 10)
    truths["the red cup"] = (b_target, ~(b_ignore & ~b_target))
    predictions["the object used to stir the coffee"] = rectangle(shape, 0, 0, 10, 10)
    predictions["the red cup"] = rectangle(shape, 7, 5, 16, 12)
    return {"truths": truths, "predictions": predictions, "keys": keys}


# --- SA-Co/Gold ----------------------------------------------------------------------------------

SACO_SHAPE = (40, 48)


def _rle(mask: np.ndarray) -> dict[str, Any]:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}


def saco_file(pairs: list[dict[str, Any]], annotator: int) -> dict[str, Any]:
    """One annotator's COCO file: ``pairs`` give id, file_name, text, exhaustive flags per
    annotator, and masks per annotator (a list of (mask, crowd))."""
    h, w = SACO_SHAPE
    images, annotations = [], []
    for pair in pairs:
        images.append(
            {
                "id": pair["id"],
                "file_name": pair["file_name"],
                "text_input": pair["text"],
                "width": w,
                "height": h,
                "queried_category": "0",
                "is_instance_exhaustive": int(pair["exhaustive"][annotator]),
                "is_pixel_exhaustive": 1,
            }
        )
        for mask, crowd in pair["masks"][annotator]:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": pair["id"],
                    "source": "manual",
                    "area": float(mask.sum()) / (h * w),
                    "bbox": [0.0, 0.0, 0.1, 0.1],
                    "segmentation": _rle(mask),
                    "category_id": 1,
                    "iscrowd": int(crowd),
                }
            )
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "x"}]}


def build_saco(root: Path) -> dict[str, Any]:
    """Two populated subsets (crowded, fg_food) and five empty ones, three annotators each.

    crowded: pair 1 positive (a: two masks, b: the two masks shifted, c: one mask and a crowd
    mask), pair 2 negative for a and c but with a mask for b, pair 3 not exhaustive for b (not
    scored), pair 4 not exhaustive for a (not scored), pair 5 positive with a 3 x 5 instance that
    scores under 0.5. fg_food: pair 6 positive with nothing predicted, pair 7 negative with a
    false positive. Pairs 1 and 2 share one photo (the painter tells them apart by the phrase).

    Returns ``pairs`` (as written) and ``predictions``: phrase -> list of predicted masks.
    """
    shape = SACO_SHAPE
    ann = root / "annotations"
    ann.mkdir(parents=True)
    for n, name in enumerate(("street.jpg", "market.jpg", "food.jpg", "field.jpg")):
        photo(root / "images" / "sub" / name, shape, seed=30 + n)

    def r(top: int, left: int, bottom: int, right: int) -> np.ndarray:
        return rectangle(shape, top, left, bottom, right)

    car1, car2 = r(4, 4, 14, 16), r(20, 24, 32, 40)
    crowded = [
        {
            "id": 1,
            "file_name": "sub/street.jpg",
            "text": "car",
            "exhaustive": (1, 1, 1),
            "masks": [
                [(car1, 0), (car2, 0)],
                [(r(5, 4, 15, 16), 0), (r(20, 26, 32, 42), 0)],
                [(car1, 0), (r(18, 20, 36, 46), 1)],
            ],
        },
        {
            "id": 2,
            "file_name": "sub/street.jpg",
            "text": "zebra",
            "exhaustive": (1, 1, 1),
            "masks": [[], [(r(2, 2, 8, 8), 0)], []],
        },
        {
            "id": 3,
            "file_name": "sub/market.jpg",
            "text": "apple",
            "exhaustive": (1, 0, 1),
            "masks": [[(r(2, 2, 9, 9), 0)]] * 3,
        },
        {
            "id": 4,
            "file_name": "sub/market.jpg",
            "text": "pear",
            "exhaustive": (0, 1, 1),
            "masks": [[(r(2, 2, 9, 9), 0)]] * 3,
        },
        {
            "id": 5,
            "file_name": "sub/field.jpg",
            "text": "ball",
            "exhaustive": (1, 1, 1),
            "masks": [[(r(10, 10, 20, 22), 0), (r(30, 30, 33, 35), 0)]] * 3,
        },
    ]
    food = [
        {
            "id": 6,
            "file_name": "sub/food.jpg",
            "text": "bread",
            "exhaustive": (1, 1, 1),
            "masks": [[(r(6, 6, 16, 20), 0)]] * 3,
        },
        {
            "id": 7,
            "file_name": "sub/food.jpg",
            "text": "fork",
            "exhaustive": (1, 1, 1),
            "masks": [[], [], []],
        },
    ]
    subsets = {"crowded": crowded, "fg_food": food}
    for subset in ("metaclip", "sa1b", "crowded", "fg_food", "fg_sports_equipment"):
        for other in ("attributes", "wiki_common"):
            subsets.setdefault(other, [])
        subsets.setdefault(subset, [])
    for subset, pairs in subsets.items():
        for i, letter in enumerate("abc"):
            path = ann / f"gold_{subset}_merged_{letter}_release_test.json"
            path.write_text(json.dumps(saco_file(pairs, i)))
    predictions = {
        # car: the first car exactly, the second a little off, and a spurious one.
        "car": [car1, r(21, 24, 32, 40), r(34, 2, 38, 8)],
        "zebra": [],
        "apple": [r(2, 2, 9, 9)],
        "pear": [r(2, 2, 9, 9)],
        # ball: the first right; the second 3 x 5 (score sqrt(3/15) < 0.5 under use_scores).
        "ball": [r(10, 10, 20, 22), r(30, 30, 33, 35)],
        "bread": [],
        "fork": [r(20, 20, 30, 30)],
    }
    return {"subsets": subsets, "predictions": predictions}


def paint_instances(prompt: str, masks: list[np.ndarray]) -> np.ndarray:
    """Each mask in a distinct colour on the prompt's background."""
    background = parse_mapping(prompt).background
    picture = np.empty((*SACO_SHAPE, 3), np.uint8)
    picture[:] = background
    colors = vb.distinct_palette(max(len(masks), 1), avoid=[background])
    for mask, color in zip(masks, colors, strict=False):
        picture[mask] = color
    return picture
