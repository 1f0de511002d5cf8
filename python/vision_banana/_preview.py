"""Pictures that show decoded results to a person (previews), shared by the pipeline and the CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .depth import walk
from .instances import encode_instances
from .normals import encode_normals

_GREY = (128, 128, 128)


def as_uint8(picture: np.ndarray) -> np.ndarray:
    """An (H, W, C) picture as (H, W, 3) uint8 for display."""
    shown: np.ndarray = picture[..., :3]
    if shown.dtype == np.uint8:
        return shown
    if shown.dtype == np.uint16:
        return np.asarray(shown >> 8, np.uint8)
    return np.asarray(np.rint(np.clip(shown, 0, 1) * 255), np.uint8)


# Depth shading: viridis on inverse depth, scaled so that `near` (and anything nearer) is the
# brightest colour and infinity the darkest. Depths below a millimetre count as one.
_MIN_DEPTH = 1e-3


def depth_range(depth: np.ndarray) -> tuple[float, float]:
    """The depths (metres) that the preview's shading and colour bar span: the 1st percentile of
    the finite depths (nearer pixels share its colour) and the largest finite depth."""
    finite = depth[np.isfinite(depth)]
    if not finite.size:
        return _MIN_DEPTH, _MIN_DEPTH
    near = max(float(np.percentile(finite, 1)), _MIN_DEPTH)
    return near, max(float(finite.max()), near)


def shade_depths(depth: np.ndarray, near: float) -> np.ndarray:
    """(H, W) depths in metres to (H, W, 3) uint8 colours: viridis of ``near / depth`` clipped to
    [0, 1], so nearer than ``near`` is the brightest colour and infinity (or NaN) the darkest."""
    inverse = near / np.maximum(np.asarray(depth, np.float64), _MIN_DEPTH)
    return walk(np.clip(np.nan_to_num(inverse), 0.0, 1.0), dtype=np.uint8, colormap="viridis")


def depth_shade(depth: np.ndarray) -> np.ndarray:
    """Depth drawn with viridis on inverse depth (near is bright), over `depth_range`."""
    return shade_depths(depth, depth_range(depth)[0])


#: Width in pixels of the colour bar panel `depth_preview` adds on the right.
BAR_WIDTH = 72
# Columns of the panel: margin, colour strip, tick mark, gap, label (text up to about 44 px).
_STRIP = (6, 20)
_TICK_END = 24
_LABEL_X = 28


def _bar_row(depth: float, near: float, far: float, height: int) -> int:
    """The row of the bar that shows ``depth``: rows are linear in inverse depth, ``near`` at the
    top row and ``far`` at the bottom one."""
    if far <= near or height == 1:
        return 0
    return round((1.0 - near / depth) / (1.0 - near / far) * (height - 1))


def _metres(depth: float) -> str:
    """A tick label: three significant digits, whole metres from 100 m (never "1e+03")."""
    return f"{depth:.0f} m" if depth >= 100 else f"{depth:.3g} m"


def _tick_candidates(near: float, far: float) -> list[float]:
    """Depths worth a label, in the order they are tried: 1, 5 and 2 times powers of ten inside
    [near, far], then the two ends themselves, then 3 times powers of ten."""
    low, high = math.floor(math.log10(near)), math.ceil(math.log10(far))

    def round_numbers(*leading: int) -> list[float]:
        values = [float(f"{m}e{k}") for m in leading for k in range(low, high + 1)]
        return [t for t in values if near <= t <= far]

    return [*round_numbers(1, 5, 2), near, far, *round_numbers(3)]


def depth_bar(height: int, near: float, far: float) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """A vertical colour bar for depths shaded by `shade_depths` with this ``near``.

    Rows are linear in inverse depth from ``near`` (top) to ``far`` (bottom), so the bar holds the
    same colours as the shading and round depths sit where the eye expects them. Each row's colour
    is ``shade_depths`` of that row's depth; a tick row shows exactly its tick's depth. Ticks are
    labelled in metres with Pillow's default font, as many as fit without overlapping (none when
    the bar is shorter than a line of text).

    Returns:
        The panel, (height, BAR_WIDTH, 3) uint8 (colour strip, tick marks and labels on white),
        and the ticks as ``(row, depth in metres)``, top to bottom.

    Example:
        >>> panel, ticks = depth_bar(200, 0.5, 20.0)
        >>> panel.shape, ticks
        ((200, 72, 3), [(0, 0.5), (102, 1.0), (153, 2.0), (170, 3.0), (194, 10.0)])
    """
    rows = np.arange(height, dtype=np.float64)
    span = 1.0 - near / far if height > 1 else 0.0
    inverse = 1.0 - rows / max(height - 1, 1) * span
    depths = near / inverse
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line = draw.textbbox((0, 0), "0.5 m", font=font)
    text_height = line[3] - line[1]
    ticks: list[tuple[int, float]] = []
    for depth in _tick_candidates(near, far):
        row = _bar_row(depth, near, far, height)
        label = _metres(depth)
        box = draw.textbbox((0, 0), label, font=font)
        fits = height >= text_height and _LABEL_X + box[2] - box[0] <= BAR_WIDTH
        if fits and all(abs(row - other) >= 2 * text_height for other, _ in ticks):
            ticks.append((row, depth))
    ticks.sort()
    for row, depth in ticks:
        depths[row] = depth
    panel = np.full((height, BAR_WIDTH, 3), 255, np.uint8)
    panel[:, _STRIP[0] : _STRIP[1]] = shade_depths(depths, near)[:, None]
    if not height:  # Pillow draws on no empty image
        return panel, ticks
    image = Image.fromarray(panel)
    draw = ImageDraw.Draw(image)
    half = text_height / 2
    for row, depth in ticks:
        draw.line([(_STRIP[1], row), (_TICK_END - 1, row)], fill=(0, 0, 0))
        # The label centred on its tick, moved inside the panel at the top and bottom.
        y = min(max(row, half), height - 1 - half)
        draw.text((_LABEL_X, y), _metres(depth), fill=(0, 0, 0), font=font, anchor="lm")
    return np.asarray(image), ticks


def depth_preview(picture: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The picture, its depth shaded (viridis on inverse depth, near is bright) and a colour bar in
    metres, side by side: (H, 2 W + BAR_WIDTH, 3) uint8 for an (H, W) depth map and picture."""
    near, far = depth_range(depth)
    bar, _ = depth_bar(depth.shape[0], near, far)
    return np.concatenate([side_by_side(picture, shade_depths(depth, near)), bar], axis=1)


def normals_shade(normals: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Normals in the paper's colours; invalid pixels grey."""
    vectors = normals if valid is None else np.where(valid[..., None], normals, 0)
    return encode_normals(vectors, invalid=_GREY)


def labels_shade(
    labels: np.ndarray, colors: Sequence[Sequence[float]], background: Sequence[int]
) -> np.ndarray:
    """A label map painted with its class colours; every other label in ``background``."""
    table = np.zeros((max(int(labels.max(initial=0)) + 1, len(colors)), 3), np.uint8)
    table[:] = background
    table[: len(colors)] = np.rint(np.asarray(colors, np.float64).reshape(-1, 3)).astype(np.uint8)
    painted: np.ndarray = table[labels]
    return painted


def masks_shade(
    masks: np.ndarray, colors: Sequence[Sequence[float]], background: Sequence[int]
) -> np.ndarray:
    """(K, H, W) masks painted in their colours (later masks on top) on ``background``."""
    out = np.empty((*masks.shape[1:], 3), np.uint8)
    out[...] = background
    for mask, color in zip(masks, colors, strict=True):
        out[mask] = np.rint(color).astype(np.uint8)
    return out


def ids_shade(ids: np.ndarray) -> np.ndarray:
    """An instance-id map in distinct colours on black."""
    return encode_instances(ids)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two pictures of the same height side by side."""
    return np.concatenate([as_uint8(left), as_uint8(right)], axis=1)
