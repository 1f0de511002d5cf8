"""For the eval tests: independent numpy versions of the protocols, tiny ``folder`` layouts on disk,
and a generator that paints known pictures.

Depth follows ZoeDepth / Depth Anything ``compute_errors`` (BENCHMARKS.md, depth): pixels where the
truth is valid and min_depth < gt < max_depth, predictions clipped to [min_depth, max_depth]; each
metric per image then the mean over images, or pooled over all pixels. Normals follow DSINE's
``compute_normal_error``: the angle in degrees, a zero prediction 180 degrees; pooled over all
valid pixels of the set, or per image then the mean over images.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

import vision_banana as vb

DEPTH_KEYS = (
    "delta1",
    "delta2",
    "delta3",
    "abs_rel",
    "sq_rel",
    "rmse",
    "rmse_log",
    "log10",
    "silog",
)
NORMAL_KEYS = ("mean", "median", "rmse", "a5", "a7_5", "a11_25", "a22_5", "a30")


def _depth_errors(p: np.ndarray, g: np.ndarray) -> dict[str, float]:
    ratio = np.maximum(g / p, p / g)
    d = np.log(p) - np.log(g)
    return {
        "delta1": np.mean(ratio < 1.25),
        "delta2": np.mean(ratio < 1.25**2),
        "delta3": np.mean(ratio < 1.25**3),
        "abs_rel": np.mean(np.abs(g - p) / g),
        "sq_rel": np.mean((g - p) ** 2 / g),
        "rmse": np.sqrt(np.mean((g - p) ** 2)),
        "rmse_log": np.sqrt(np.mean(d**2)),
        "log10": np.mean(np.abs(np.log10(g) - np.log10(p))),
        "silog": np.sqrt(np.mean(d**2) - np.mean(d) ** 2) * 100,
    }


def depth_reference(
    preds: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
    valids: Sequence[np.ndarray],
    *,
    min_depth: float = 1e-3,
    max_depth: float | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """(per image then averaged, pooled) depth metrics of a set."""
    top = np.inf if max_depth is None else max_depth
    ps, gs, per_image = [], [], []
    for pred, gt, valid in zip(preds, gts, valids, strict=True):
        gt = gt.astype(np.float64)
        with np.errstate(invalid="ignore"):
            mask = valid & (gt > min_depth) & (gt < top)
        if not mask.any():
            continue
        p = np.clip(np.nan_to_num(pred[mask].astype(np.float64), nan=min_depth), min_depth, top)
        ps.append(p)
        gs.append(gt[mask])
        per_image.append(_depth_errors(p, gt[mask]))
    averaged = {k: float(np.mean([m[k] for m in per_image])) for k in DEPTH_KEYS}
    pooled = {k: float(v) for k, v in _depth_errors(np.concatenate(ps), np.concatenate(gs)).items()}
    return averaged, pooled


def _normal_errors(e: np.ndarray) -> dict[str, float]:
    return {
        "mean": np.mean(e),
        "median": np.median(e),
        "rmse": np.sqrt(np.mean(e**2)),
        "a5": 100 * np.mean(e < 5),
        "a7_5": 100 * np.mean(e < 7.5),
        "a11_25": 100 * np.mean(e < 11.25),
        "a22_5": 100 * np.mean(e < 22.5),
        "a30": 100 * np.mean(e < 30),
    }


def angular_errors(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Degrees between each valid pixel's vectors; a zero prediction is 180 degrees."""
    p, g = pred[valid].astype(np.float64), gt[valid].astype(np.float64)
    norms = np.linalg.norm(p, axis=-1) * np.linalg.norm(g, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, np.sum(p * g, axis=-1) / norms, -1.0)
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


def normals_reference(
    preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], valids: Sequence[np.ndarray]
) -> tuple[dict[str, float], dict[str, float]]:
    """(pooled, per image then averaged) normal metrics of a set."""
    errors = [angular_errors(p, g, v) for p, g, v in zip(preds, gts, valids, strict=True)]
    errors = [e for e in errors if e.size]
    pooled = {k: float(v) for k, v in _normal_errors(np.concatenate(errors)).items()}
    per_image = [_normal_errors(e) for e in errors]
    averaged = {k: float(np.mean([m[k] for m in per_image])) for k in NORMAL_KEYS}
    return pooled, averaged


def decoded_depth(picture: np.ndarray) -> np.ndarray:
    """What the harness reads from a generated depth picture (the codec is tested elsewhere)."""
    return vb.decode_depth(picture)


def decoded_normals(picture: np.ndarray) -> np.ndarray:
    """The OpenCV-frame normals the harness reads from a picture, zero where invalid."""
    normals, _ = vb.decode_normals(picture, frame="opencv")
    return normals


# --- folder layouts and generators that paint known predictions ----------------------------------

SHAPE = (12, 16)


def photo_of(index: int) -> np.ndarray:
    """A uniform photo whose grey level tells the generator which sample it is (JPEG keeps it)."""
    return np.full((*SHAPE, 3), 20 + 40 * index, np.uint8)


def index_of(image: object) -> int:
    return round((float(np.asarray(image).mean()) - 20) / 40)


class Painter:
    """A generator function answering sample i's photo with ``pictures[i]``; counts its calls
    and fails (GeneratorError) on the calls listed in ``fail_on`` (1-based)."""

    def __init__(self, pictures: Sequence[np.ndarray], fail_on: Sequence[int] = ()):
        self.pictures = list(pictures)
        self.fail_on = set(fail_on)
        self.calls = 0
        self.prompts: list[str] = []
        self.seeds: list[int | None] = []

    def __call__(self, image: object, prompt: str, seed: int | None) -> np.ndarray:
        self.calls += 1
        self.prompts.append(prompt)
        self.seeds.append(seed)
        if self.calls in self.fail_on:
            raise vb.GeneratorError(f"call {self.calls} refused")
        return self.pictures[index_of(image)]

    def generator(self) -> vb.backends.CallableGenerator:
        """This painter as a generator whose identity (the cache's key) is the same for every
        painter and subclass: a rerun with another painter finds the first one's pictures."""
        return vb.backends.CallableGenerator(
            lambda image, prompt, seed: self(image, prompt, seed), name="painter"
        )


def build_depth_folder(root: Path, count: int = 3, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """``root/images`` + ``root/depth``: sample 0 a .npy with zeros and NaN, sample 1 a 16-bit PNG
    in millimetres (depth_scale 0.001), further samples (H, W, 1) .npy files; the photos PNG but
    sample 1's JPEG. Returns the truths as numpy reads them, the valid masks, and the generated
    pictures (truth times a per-pixel factor in [0.7, 1.4], on the cube walk)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "depth").mkdir()
    gts, valids, pictures = [], [], []
    for i in range(count):
        photo = photo_of(i)
        suffix = ".jpg" if i == 1 else ".png"
        Image.fromarray(photo).save(root / "images" / f"s{i}{suffix}", quality=95)
        depth = rng.uniform(0.3, 12.0, SHAPE)
        if i == 1:
            millimetres = np.rint(depth * 1000).astype(np.uint16)
            millimetres[rng.random(SHAPE) < 0.2] = 0
            Image.fromarray(millimetres).save(root / "depth" / f"s{i}.png")
            with Image.open(root / "depth" / f"s{i}.png") as stored:
                read = np.array(stored).astype(np.uint16)
            gt = read * 0.001
            valid = read > 0
        else:
            depth[rng.random(SHAPE) < 0.15] = 0
            depth[0, :3] = np.nan
            stored = depth.astype(np.float32)
            np.save(root / "depth" / f"s{i}.npy", stored if i == 0 else stored[..., None])
            gt = stored.astype(np.float64)
            valid = np.isfinite(gt) & (np.nan_to_num(gt) > 0)
        gts.append(gt)
        valids.append(valid)
        guess = np.where(valid, np.nan_to_num(gt), 1.0) * rng.uniform(0.7, 1.4, SHAPE)
        pictures.append(vb.encode_depth(guess.astype(np.float32)))
    return {"gts": gts, "valids": valids, "pictures": pictures}


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def build_normals_folder(root: Path, count: int = 3, seed: int = 1) -> dict[str, list[np.ndarray]]:
    """``root/images`` + ``root/normals`` (OpenCV frame, about a fifth zero vectors). The
    pictures paint the truth turned by up to about 40 degrees (in the paper's frame)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "normals").mkdir()
    gts, valids, pictures = [], [], []
    for i in range(count):
        Image.fromarray(photo_of(i)).save(root / "images" / f"n{i}.png")
        gt = unit(rng.normal(size=(*SHAPE, 3)) + np.array([0, 0, -2.5])).astype(np.float32)
        valid = rng.random(SHAPE) > 0.2
        gt[~valid] = 0
        np.save(root / "normals" / f"n{i}.npy", gt)
        gts.append(gt)
        valids.append(valid)
        filled = np.where(valid[..., None], gt, np.array([0, 0, -1.0]))
        guess = unit(filled + rng.normal(0, 0.35, gt.shape))
        pictures.append(vb.encode_normals(vb.to_opencv(guess)))
    return {"gts": gts, "valids": valids, "pictures": pictures}
