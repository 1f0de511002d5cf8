"""Tiny sources for the training-set export tests, written on disk in their real formats: a
``folder`` layout per task (PNG and JPEG photos, .npy and 16-bit PNG ground truth, classes.txt)
and a COCO instances JSON with polygon, compressed RLE and uncompressed (crowd) RLE annotations
written with pycocotools. Each builder returns the ground truth it stored, so that a test checks
the exported targets against it with its own numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vision_banana.io import write_image

H, W = 48, 64


def photo(path: Path, seed: int, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    """A smooth random photo (PNG or JPEG by extension); returns the pixels written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = rng.integers(0, 256, 3)
    pixels = ((base + x[..., None] * 3 + y[..., None] * 2) % 256).astype(np.uint8)
    write_image(path, pixels)
    return pixels


def depth_folder(root: Path) -> dict[str, np.ndarray]:
    """images/{near,far,lost}, depth/near.npy (metres), depth/far.png (16-bit millimetres, read
    with depth_scale 0.001), depth/orphan.npy without a photo; "lost" has no depth."""
    near = np.linspace(0.2, 9.0, H * W, dtype=np.float32).reshape(H, W)
    millimetres = (np.arange(H * W, dtype=np.uint16).reshape(H, W) * 13 + 500).astype(np.uint16)
    photo(root / "images" / "near.png", 1)
    photo(root / "images" / "far.jpg", 2)
    photo(root / "images" / "lost.jpg", 3)
    (root / "depth").mkdir()
    np.save(root / "depth" / "near.npy", near)
    write_image(root / "depth" / "far.png", millimetres)
    np.save(root / "depth" / "orphan.npy", near)
    return {"near": near, "far": millimetres.astype(np.float32) * np.float32(0.001)}


def semantic_folder(root: Path, classes: list[str]) -> dict[str, np.ndarray]:
    """images/ and labels/ (8-bit PNG, 255 unlabelled) for three photos: "bands" and "blocks"
    use every class; "stray" holds a label outside classes.txt."""
    (root / "labels").mkdir(parents=True)
    (root / "classes.txt").write_text("\n".join(classes) + "\n")
    k = len(classes)
    y, x = np.mgrid[0:H, 0:W]
    labels = {
        "bands": (x * k // W).astype(np.uint8),
        "blocks": ((y // 12 + x // 16) % k).astype(np.uint8),
    }
    labels["blocks"][:6, :6] = 255
    stray = labels["bands"].copy()
    stray[10, 20] = k + 3
    for i, (name, values) in enumerate([*labels.items(), ("stray", stray)]):
        photo(root / "images" / f"{name}.jpg", 10 + i)
        write_image(root / "labels" / f"{name}.png", values)
    return labels


def instances_folder(root: Path) -> dict[str, np.ndarray]:
    """images/ and instances/ id maps: 16-bit PNG with ids 3, 17 and 900 (not consecutive), and
    an .npy with one instance."""
    (root / "instances").mkdir(parents=True)
    shelf = np.zeros((H, W), np.uint16)
    shelf[4:20, 4:24] = 3
    shelf[4:20, 30:60] = 17
    shelf[26:44, 10:50] = 900
    single = np.zeros((H, W), np.int32)
    single[10:30, 10:30] = 1
    photo(root / "images" / "shelf.png", 20)
    photo(root / "images" / "single.jpg", 21)
    write_image(root / "instances" / "shelf.png", shelf)
    np.save(root / "instances" / "single.npy", single)
    return {"shelf": shelf, "single": single}


def normals_folder(root: Path) -> np.ndarray:
    """images/room.jpg and normals/room.npy in the OpenCV frame: a wall facing the camera (left
    half), a floor (bottom right) and a left-facing wall (top right), and a zero (invalid)
    strip."""
    normals = np.zeros((H, W, 3), np.float32)
    normals[:, : W // 2] = (0, 0, -1)
    normals[H // 2 :, W // 2 :] = (0, -1, 0)
    normals[: H // 2, W // 2 :] = (1, 0, 0)
    normals[:, 30:33] = 0
    photo(root / "images" / "room.jpg", 30)
    (root / "normals").mkdir()
    np.save(root / "normals" / "room.npy", normals)
    return normals


def coco_set(root: Path) -> Path:
    """Two photos and instances.json: cats (1) and dogs (2). Image 1: a cat polygon, two dogs as
    compressed RLE, one of them small and inside the cat's box region (drawn on top of it);
    image 2: a dog polygon and a crowd of cats (uncompressed RLE, iscrowd 1); image 3: none."""
    from pycocotools import mask as coco_mask

    photo(root / "images" / "one.jpg", 40)
    photo(root / "images" / "two.png", 41)
    photo(root / "images" / "three.jpg", 42)

    def rle(mask: np.ndarray) -> dict:
        encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": encoded["size"], "counts": encoded["counts"].decode("ascii")}

    def uncompressed(mask: np.ndarray) -> dict:
        flat = mask.astype(np.uint8).flatten(order="F")
        changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
        counts = np.diff(np.concatenate([[0], changes])).tolist()
        return {"size": [H, W], "counts": counts}

    dog_a = np.zeros((H, W), bool)
    dog_a[30:46, 40:62] = True
    dog_b = np.zeros((H, W), bool)
    dog_b[10:16, 10:18] = True  # inside the cat polygon
    crowd = np.zeros((H, W), bool)
    crowd[2:12, 40:60] = True
    cat_polygon = [[4.0, 4.0, 36.0, 4.0, 36.0, 28.0, 4.0, 28.0]]
    dog_polygon = [[8.0, 20.0, 30.0, 20.0, 19.0, 44.0]]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": cat_polygon, "area": 768.0,
         "iscrowd": 0, "bbox": [4, 4, 32, 24]},
        {"id": 2, "image_id": 1, "category_id": 2, "segmentation": rle(dog_a), "area": 352.0,
         "iscrowd": 0, "bbox": [40, 30, 22, 16]},
        {"id": 3, "image_id": 1, "category_id": 2, "segmentation": rle(dog_b), "area": 48.0,
         "iscrowd": 0, "bbox": [10, 10, 8, 6]},
        {"id": 4, "image_id": 2, "category_id": 2, "segmentation": dog_polygon, "area": 264.0,
         "iscrowd": 0, "bbox": [8, 20, 22, 24]},
        {"id": 5, "image_id": 2, "category_id": 1, "segmentation": uncompressed(crowd),
         "area": 200.0, "iscrowd": 1, "bbox": [40, 2, 20, 10]},
    ]  # fmt: skip
    data = {
        "images": [
            {"id": 1, "file_name": "one.jpg", "height": H, "width": W},
            {"id": 2, "file_name": "two.png", "height": H, "width": W},
            {"id": 3, "file_name": "three.jpg", "height": H, "width": W},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": annotations,
    }
    path = root / "instances.json"
    path.write_text(json.dumps(data))
    return path
