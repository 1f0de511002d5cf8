"""One sample's target picture and prompt, with the variety the paper trains with.

Choices made at random come from a generator seeded by the export's seed and the sample's id
(`sample_rng`), never from the order of the samples, so an export is the same with any number of
workers and a resumed export writes what a fresh one would.

- depth: the cube walk, or with ``colormap="mix"`` one of `COLORMAPS` per sample (the paper's
  augmentation maps: plasma, inferno, viridis, gray), each with its `depth_prompt`;
- semantic: every class of the sample's class list in `distinct_palette` colours (a class named
  "background" in the background's black); with ``prompt_style="mix"`` the style (JSON or
  sentences), the colour format and the colours' order are drawn per sample;
- instances: the instances in colours drawn per sample from `distinct_palette`, in a shuffled
  order, on black; with ``prompt_style="mix"`` the background's colour format is drawn too;
- normals: `normals_prompt` (the paper's one form).

Pixels without ground truth (``valid`` False) are painted ``invalid``; when it is None a sample
holding any is refused (trainers learn every pixel of a target, so a guessed colour is taught).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from ..colors import COLOR_FORMATS, RGB, ColorFormat, distinct_palette
from ..depth import COLORMAPS, encode_depth
from ..errors import InvalidArgumentError
from ..eval.benchmarks.base import DepthTruth, NormalsTruth
from ..instances import encode_instances
from ..normals import encode_normals, to_opencv
from ..prompts import depth_prompt, instance_prompt, normals_prompt, semantic_prompt
from ..semantic import encode_semantic
from .sources import InstancesTruth, LabelsTruth, TrainingTruth

__all__ = ["PROMPT_STYLES", "Augmentation", "make_target", "sample_rng"]

PROMPT_STYLES = ("json", "sentences", "mix")
BLACK: RGB = (0, 0, 0)
Target = tuple[NDArray[Any], str]  # the picture and its prompt
# Instances take their colours from at least this many palette colours, so that a photo with
# two instances is not always painted in the palette's first two.
_INSTANCE_POOL = 12


@dataclass(frozen=True)
class Augmentation:
    """How targets and prompts vary (see the module docstring).

    Attributes:
        colormap: a name of `COLORMAPS`, or "mix" for one drawn per sample.
        prompt_style: "json", "sentences" or "mix".
        invalid: the 8-bit colour of pixels without ground truth (depth, normals), or None.
        seed: the export's seed (0 or more).
    """

    colormap: str = "cube_walk"
    prompt_style: Literal["json", "sentences", "mix"] = "json"
    invalid: RGB | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.colormap != "mix" and self.colormap not in COLORMAPS:
            raise InvalidArgumentError(
                f"colormap must be one of {', '.join(COLORMAPS)} or mix, got {self.colormap!r}"
            )
        if self.prompt_style not in PROMPT_STYLES:
            raise InvalidArgumentError(
                f"prompt_style must be one of {', '.join(PROMPT_STYLES)}, got {self.prompt_style!r}"
            )


def sample_rng(seed: int, sample_id: str) -> np.random.Generator:
    """The random generator of one sample: a function of the seed and the id alone."""
    digest = hashlib.sha256(sample_id.encode("utf-8")).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


@lru_cache(maxsize=64)
def _palette(n: int) -> tuple[RGB, ...]:
    return tuple(distinct_palette(n))


def _style(
    rng: np.random.Generator, augmentation: Augmentation
) -> tuple[Literal["json", "sentences"], ColorFormat]:
    if augmentation.prompt_style == "mix":
        style: Literal["json", "sentences"] = "json" if rng.integers(2) == 0 else "sentences"
        color_format = COLOR_FORMATS[int(rng.integers(len(COLOR_FORMATS)))]
        return style, cast(ColorFormat, color_format)
    return augmentation.prompt_style, "name"


def _no_gaps(valid: NDArray[np.bool_], augmentation: Augmentation, what: str) -> None:
    if augmentation.invalid is None and not valid.all():
        missing = int(valid.size - np.count_nonzero(valid))
        raise InvalidArgumentError(
            f"{missing} of {valid.size} pixels have no valid {what}; pass invalid=COLOR "
            "(--invalid COLOR) to paint them"
        )


def _depth(truth: DepthTruth, rng: np.random.Generator, augmentation: Augmentation) -> Target:
    colormap = augmentation.colormap
    if colormap == "mix":
        colormap = COLORMAPS[int(rng.integers(len(COLORMAPS)))]
    _no_gaps(truth.valid, augmentation, "depth")
    depth = np.where(truth.valid, truth.depth, np.float32(np.nan))
    picture = encode_depth(depth, colormap=colormap, invalid=augmentation.invalid)
    return picture, depth_prompt(colormap)


def _normals(truth: NormalsTruth, augmentation: Augmentation) -> Target:
    _no_gaps(truth.valid, augmentation, "normal")
    # The truth is in the OpenCV frame; to_opencv flips y and z, so it also takes OpenCV
    # vectors to the paper's camera frame that encode_normals paints.
    vectors = np.where(truth.valid[..., None], to_opencv(truth.normals), np.float32(0))
    return encode_normals(vectors, invalid=augmentation.invalid), normals_prompt()


def _semantic(truth: LabelsTruth, rng: np.random.Generator, augmentation: Augmentation) -> Target:
    style, color_format = _style(rng, augmentation)
    others = [name for name in truth.classes if name.lower() != "background"]
    palette = list(_palette(len(others)))
    if augmentation.prompt_style == "mix":
        palette = [palette[i] for i in rng.permutation(len(palette))]
    given = iter(palette)
    colours = {
        name: BLACK if name.lower() == "background" else next(given) for name in truth.classes
    }
    prompt = semantic_prompt(colours, style=style, color_format=color_format)
    try:
        picture = encode_semantic(
            truth.labels,
            list(colours.values()),
            ignore_index=truth.ignore_index,
            background=BLACK,
        )
    except InvalidArgumentError as error:
        raise InvalidArgumentError(
            f"a label outside the class list ({len(truth.classes)} classes, unlabelled "
            f"{truth.ignore_index}): {error}"
        ) from None
    return picture, prompt


def _instances(
    truth: InstancesTruth, rng: np.random.Generator, augmentation: Augmentation
) -> Target:
    _, color_format = _style(rng, augmentation)
    ids = truth.ids
    if ids.size and ids.min() < 0:
        raise InvalidArgumentError(f"instance ids must be 0 or more, got {int(ids.min())}")
    # Ids need not be consecutive (16-bit id maps often are not): number them 1..n first.
    numbers = np.unique(ids[ids != 0])
    consecutive = np.where(ids != 0, np.searchsorted(numbers, ids) + 1, 0)
    pool = _palette(max(len(numbers), _INSTANCE_POOL))
    chosen = rng.permutation(len(pool))[: len(numbers)]
    palette = np.array([pool[i] for i in chosen], np.uint8).reshape(-1, 3)
    picture = encode_instances(consecutive, palette=palette)
    return picture, instance_prompt(truth.class_name, color_format=color_format)


def make_target(
    truth: TrainingTruth, sample_id: str, augmentation: Augmentation
) -> tuple[NDArray[np.uint8], str]:
    """The target picture, (H, W, 3) uint8 at the truth's size, and its prompt.

    Raises:
        InvalidArgumentError: pixels without ground truth and no ``invalid`` colour, a label
            outside the class list, negative instance ids.
    """
    rng = sample_rng(augmentation.seed, sample_id)
    if isinstance(truth, DepthTruth):
        picture, prompt = _depth(truth, rng, augmentation)
    elif isinstance(truth, NormalsTruth):
        picture, prompt = _normals(truth, augmentation)
    elif isinstance(truth, LabelsTruth):
        picture, prompt = _semantic(truth, rng, augmentation)
    else:
        picture, prompt = _instances(truth, rng, augmentation)
    return np.asarray(picture, np.uint8), prompt
