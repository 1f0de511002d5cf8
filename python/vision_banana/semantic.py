"""Semantic and referring segmentation pictures (SPEC.md sections 3 and 5).

The prompt gives each class (or referent) a colour; the model paints each pixel with its class's
colour, and unlabelled regions black unless the prompt names another background. Decoding gives
each pixel the class whose colour is nearest in RGB (ties to the class listed first). The search
runs on a grid over the RGB cube, so its cost per pixel does not grow with the number of classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from ._arrays import as_picture, check_number, check_unit_range, to_4d
from .colors import parse_color
from .errors import InvalidArgumentError, InvalidTypeError
from .prompts import ColorMapping

__all__ = ["decode_referring", "decode_semantic", "encode_semantic", "palette_colors"]

#: A colour: (r, g, b) in 0-255, or colour text (read by `vision_banana.colors.parse_color`).
Color = Sequence[float] | str
#: Class colours in label order; a `ColorMapping` (from `parse_mapping`) also gives the background.
Colors = Sequence[Color] | Mapping[str, Color] | ColorMapping | ArrayLike


def _parse(color: Color, name: str) -> tuple[float, float, float]:
    if isinstance(color, str):
        r, g, b = parse_color(color)
        return (float(r), float(g), float(b))
    try:
        values = np.asarray(color, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (3,) or not np.all((values >= 0) & (values <= 255)):
        raise InvalidArgumentError(
            f"{name} must be an (r, g, b) colour with channels in 0-255, got {color!r}"
        )
    return (float(values[0]), float(values[1]), float(values[2]))


def palette_colors(colors: Colors, name: str = "colors") -> list[tuple[float, float, float]]:
    """The colours of a class list as 8-bit (r, g, b) tuples, in label order.

    Args:
        colors: a sequence of colours, a (K, 3) array, or a mapping {class name: colour} (label
            i is the i-th entry). Colours are (r, g, b) in 0-255 or colour text.
    """
    return [(r, g, b) for r, g, b in _palette_array(colors, name).tolist()]


def _palette_array(colors: Colors, name: str = "colors") -> NDArray[np.float64]:
    """`palette_colors` as a (K, 3) float64 array (what the decoder takes)."""
    if isinstance(colors, np.ndarray) and colors.dtype.kind in "uif":
        # The common case for many classes: no per-colour Python objects.
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise InvalidArgumentError(f"{name} must have shape (K, 3), got {colors.shape}")
        if len(colors) and np.all((colors >= 0) & (colors <= 255)):
            return colors.astype(np.float64)
    # Each item is checked below (a colour, or something the error names).
    items: list[Any]
    if isinstance(colors, ColorMapping):
        items = list(colors.classes.values())
    elif isinstance(colors, Mapping):
        items = list(colors.values())
    elif isinstance(colors, str):
        raise InvalidTypeError(f"{name} must be a sequence or a mapping of colours, got a string")
    elif isinstance(colors, np.ndarray):
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise InvalidArgumentError(f"{name} must have shape (K, 3), got {colors.shape}")
        items = list(colors)
    elif isinstance(colors, Sequence):
        items = list(colors)
    else:
        raise InvalidTypeError(
            f"{name} must be a sequence or a mapping of colours, got {type(colors).__name__}"
        )
    if not items:
        raise InvalidArgumentError(f"{name} must hold at least one colour")
    if not any(isinstance(c, str) for c in items):
        # All numeric (the common case, and long for many classes): check them in one go.
        try:
            values = np.asarray(items, dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            if (
                values.ndim == 2
                and values.shape[1] == 3
                and np.all((values >= 0) & (values <= 255))
            ):
                return values
    return np.array([_parse(c, f"{name}[{i}]") for i, c in enumerate(items)], np.float64)


def semantic_options(
    colors: Colors, background: Any, max_distance: Any, ignore_index: Any
) -> tuple[NDArray[np.float64], NDArray[np.uint32], float | None, int]:
    """`decode_semantic`'s options checked, as the core takes them: the palette (K, 3) in 8-bit
    units with the background appended when no class has its colour, each colour's label,
    max_distance and ignore_index."""
    palette = _palette_array(colors)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise InvalidTypeError(f"ignore_index must be an integer, got {ignore_index!r}")
    if isinstance(background, str) and background == "prompt":
        background = colors.background if isinstance(colors, ColorMapping) else (0, 0, 0)
    classes = len(palette)
    labels = np.arange(classes, dtype=np.uint32)
    if background is not None:
        bg = _parse(background, "background")
        if not (palette == bg).all(1).any():
            palette = np.vstack([palette, bg])
            labels = np.append(labels, np.uint32(ignore_index))
    if max_distance is not None:
        max_distance = check_number(max_distance, "max_distance")
        if max_distance < 0:
            raise InvalidArgumentError(f"max_distance must be >= 0, got {max_distance:g}")
    # ignore_index only matters where some pixel can get it: then it must not be a class label.
    if (len(labels) > classes or max_distance is not None) and not (
        classes <= ignore_index <= 65535
    ):
        raise InvalidArgumentError(
            f"ignore_index must be in {classes}-65535 (not one of the {classes} class labels), got "
            f"{ignore_index}; pass a larger ignore_index, or background=None"
        )
    return palette, labels, max_distance, int(ignore_index)


@overload
def decode_semantic(
    rgb: Any,
    colors: Colors,
    *,
    background: Color | Literal["prompt"] | None = ...,
    max_distance: float | None = ...,
    ignore_index: int = ...,
    return_distance: Literal[False] = ...,
) -> NDArray[np.unsignedinteger]: ...
@overload
def decode_semantic(
    rgb: Any,
    colors: Colors,
    *,
    background: Color | Literal["prompt"] | None = ...,
    max_distance: float | None = ...,
    ignore_index: int = ...,
    return_distance: Literal[True],
) -> tuple[NDArray[np.unsignedinteger], NDArray[np.float32]]: ...
@overload
def decode_semantic(
    rgb: Any,
    colors: Colors,
    *,
    background: Color | Literal["prompt"] | None = ...,
    max_distance: float | None = ...,
    ignore_index: int = ...,
    return_distance: bool,
) -> NDArray[np.unsignedinteger] | tuple[NDArray[np.unsignedinteger], NDArray[np.float32]]: ...


def decode_semantic(
    rgb: Any,
    colors: Colors,
    *,
    background: Color | Literal["prompt"] | None = "prompt",
    max_distance: float | None = None,
    ignore_index: int = 255,
    return_distance: bool = False,
) -> NDArray[np.unsignedinteger] | tuple[NDArray[np.unsignedinteger], NDArray[np.float32]]:
    """A generated semantic segmentation picture to a label map.

    Args:
        rgb: (H, W, C) or (N, H, W, C) picture, C = 3 or 4, uint8, uint16 or float in [0, 1].
        colors: the class colours in label order: a sequence, a (K, 3) array, a mapping
            {class: colour}, or the `ColorMapping` that `parse_mapping` reads from the prompt.
            Colours are (r, g, b) in 0-255 or colour text.
        background: the colour of unlabelled regions (black unless the prompt names another;
            by default a `ColorMapping`'s background). When no class has exactly this colour,
            pixels nearest to it get ``ignore_index``. None: no implicit background.
        max_distance: pixels farther than this from every colour (RGB Euclidean distance in
            8-bit units, whatever the dtype) get ``ignore_index``.
        ignore_index: label of unlabelled pixels; must not be a class label (0..K-1).
        return_distance: also return each pixel's distance to its colour (in units of the full
            channel range, as for depth).

    Returns:
        The label map, (H, W) or (N, H, W): uint8 when every label the call can write fits
        (the class labels, and ``ignore_index`` when a background or ``max_distance`` can give
        it), else uint16.

    Example:
        >>> picture = np.array([[[250, 5, 0], [0, 0, 0], [10, 240, 5]]], np.uint8)
        >>> decode_semantic(picture, {"cat": (255, 0, 0), "lock": (0, 255, 0)}).tolist()
        [[0, 255, 1]]
    """
    picture = as_picture(rgb)
    palette, labels, max_distance, ignore_index = semantic_options(
        colors, background, max_distance, ignore_index
    )
    picture4 = to_4d(picture)
    check_unit_range(picture4, picture.shape)
    out, distance = _core.decode_semantic(
        picture4, palette, labels, max_distance, ignore_index, bool(return_distance)
    )
    shape = picture.shape[:-1]
    out = out.reshape(shape)
    # The core returns distances exactly when asked for them.
    return out if distance is None else (out, distance.reshape(shape))


def decode_referring(
    rgb: Any,
    colors: Colors,
    *,
    background: Color | Literal["prompt"] = "prompt",
    max_distance: float | None = None,
) -> NDArray[np.bool_]:
    """A generated referring (or reasoning) segmentation picture to one mask per referent.

    Each pixel goes to the nearest of the background and the referents' colours.

    Args:
        rgb: (H, W, C) or (N, H, W, C) picture.
        colors: one colour per referent (sequence, array or mapping {expression: colour}).
        background: the background colour the prompt named: by default a `ColorMapping`'s,
            else black.
        max_distance: pixels farther than this (8-bit RGB units) from every colour belong to no
            referent.

    Returns:
        bool masks (K, H, W), or (N, K, H, W) for a batch.

    Example:
        >>> picture = np.array([[[250, 250, 0], [0, 0, 0]]], np.uint8)
        >>> decode_referring(picture, [(255, 255, 0)]).tolist()
        [[[True, False]]]
    """
    count = len(_palette_array(colors))
    labels = decode_semantic(
        rgb, colors, background=background, max_distance=max_distance, ignore_index=count
    )
    return referent_masks(labels, count)


def referent_masks(labels: NDArray[np.unsignedinteger], count: int) -> NDArray[np.bool_]:
    """Label maps (H, W) or (N, H, W) of referents 0..count-1 as masks (K, H, W) or
    (N, K, H, W)."""
    referents = np.arange(count, dtype=labels.dtype).reshape((count,) + (1,) * 2)
    # (..., 1, H, W) against (K, 1, 1): (K, H, W), or (N, K, H, W) for a batch. numpy's stubs
    # type comparisons as Any.
    masks: NDArray[np.bool_] = labels[..., None, :, :] == referents
    return masks


def encode_semantic(
    labels: ArrayLike,
    colors: Colors,
    *,
    ignore_index: int | None = 255,
    background: Color = (0, 0, 0),
) -> NDArray[np.uint8]:
    """A label map to the picture a Vision Banana model is trained to produce.

    Args:
        labels: (H, W) or (N, H, W) integer labels 0..K-1 (and ``ignore_index``).
        colors: the class colours in label order (as for :func:`decode_semantic`).
        ignore_index: label painted with ``background``; None when there is none.
        background: colour of ``ignore_index`` pixels.

    Returns:
        uint8 picture of shape ``labels.shape + (3,)``.

    Example:
        >>> encode_semantic(np.array([[0, 1, 255]]), [(255, 0, 0), (0, 255, 0)]).tolist()
        [[[255, 0, 0], [0, 255, 0], [0, 0, 0]]]
    """
    array = labels if isinstance(labels, np.ndarray) else np.asarray(labels)
    if array.dtype.kind not in "iu":
        raise InvalidTypeError(f"labels must be an integer array, got {array.dtype}")
    if array.ndim not in (2, 3):
        raise InvalidArgumentError(f"labels must have shape (H, W) or (N, H, W), got {array.shape}")
    palette = np.rint(_palette_array(colors)).astype(np.uint8)
    if ignore_index is not None and not len(palette) <= ignore_index <= 65535:
        raise InvalidArgumentError(
            f"ignore_index must be in {len(palette)}-65535 (not one of the {len(palette)} class "
            f"labels) or None, got {ignore_index}"
        )
    lut_size = len(palette) if ignore_index is None else max(len(palette), ignore_index + 1)
    lut = np.zeros((lut_size, 3), np.uint8)
    lut[: len(palette)] = palette
    known = np.zeros(lut_size, bool)
    known[: len(palette)] = True
    if ignore_index is not None:
        lut[ignore_index] = np.rint(_parse(background, "background")).astype(np.uint8)
        known[ignore_index] = True
    inside = (array >= 0) & (array < lut_size)
    bad = ~inside
    bad[inside] = ~known[array[inside]]
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidArgumentError(
            f"labels has {int(bad.sum())} value(s) that are neither a class (0-{len(palette) - 1})"
            f" nor ignore_index; the first, at {first}, is {array[first]}"
        )
    return lut[array]
