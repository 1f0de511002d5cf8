"""What ``vision-banana encode`` makes of one ground-truth file, task by task: the training target
picture (``.png``) and, where the task has one, the prompt that asks for it (``.prompt.txt``), so
that a target and its prompt travel together.

Each factory checks its options once and returns a `TruthEncoder`, a function from one
ground-truth array (as `read_truth` gives it) and its name to the `Outputs` to write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._arrays import check_number
from ._cli_decode import parameter_default
from ._cli_files import Outputs
from .colors import RGB, ColorFormat
from .depth import encode_depth
from .errors import InvalidArgumentError
from .instances import encode_instances
from .io import read_image
from .normals import encode_normals, to_opencv
from .prompts import depth_prompt, instance_prompt, normals_prompt, parse_mapping, semantic_prompt
from .semantic import encode_semantic

__all__ = ["TruthEncoder", "depth", "instances", "normals", "read_truth", "semantic"]

#: (ground truth, name for messages) -> what to write.
TruthEncoder = Callable[[np.ndarray, str], Outputs]

_DTYPES: dict[int, type[np.unsignedinteger[Any]]] = {8: np.uint8, 16: np.uint16}


def read_truth(path: Path) -> np.ndarray:
    """A ground-truth array from a ``.npy`` file (any array but pickled objects) or a PNG (the
    stored samples, `io.read_image` with ``mode="keep"``: (H, W) for grey, 8 or 16 bits)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        return read_image(path, mode="keep")
    if suffix != ".npy":
        raise InvalidArgumentError(f"{path}: ground truth must be a .npy or .png file")
    try:
        array: np.ndarray = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:
        raise InvalidArgumentError(f"cannot read {path} as a .npy array: {error}") from None
    return array


def _map(values: np.ndarray, name: str, what: str, kinds: str) -> None:
    """Refuses anything but one (H, W) map whose dtype kind is in ``kinds``."""
    if values.ndim != 2:
        raise InvalidArgumentError(
            f"{name}: {what} must be one (H, W) map, got shape {values.shape}"
        )
    if values.dtype.kind not in kinds:
        expected = "integers" if kinds == "iu" else "numbers"
        raise InvalidArgumentError(f"{name}: {what} must hold {expected}, got dtype {values.dtype}")


def _target_colour(colour: RGB | None, bits: int) -> tuple[int, int, int] | None:
    """An 8-bit colour in the range of a ``bits``-bit target (16 bits: times 257, 255 -> 65535)."""
    if colour is None:
        return None
    factor = 257 if bits == 16 else 1
    return (colour[0] * factor, colour[1] * factor, colour[2] * factor)


@contextmanager
def _invalid_as_option() -> Iterator[None]:
    """The encoders' errors for unpaintable values say how to paint them in Python
    (``invalid=``); on the command line that is ``--invalid COLOR``."""
    try:
        yield
    except InvalidArgumentError as error:
        message = str(error).replace("Pass invalid=(r, g, b)", "Pass --invalid COLOR")
        raise InvalidArgumentError(message) from None


def depth(
    *,
    scale: float | None,
    zero_invalid: bool,
    bits: int,
    invalid: RGB | None,
    options: Mapping[str, Any],
) -> TruthEncoder:
    """Depth maps to depth pictures.

    Args:
        scale: metres per stored unit; required for integer depths (16-bit PNG, integer .npy),
            which are never taken as metres; float depths are metres times ``scale`` (default 1).
        zero_invalid: stored zeros mean "no measurement" (as in KITTI and NYU PNGs) and are
            painted ``invalid``, which must then be given.
        bits: 8 or 16 bits per channel.
        invalid: colour (8-bit) for NaN, infinite or negative depths; None makes them an error.
        options: keywords of `encode_depth` (lam, c, colormap).

    The prompt written beside is `depth_prompt`, for the cube walk only: the paper published no
    prompt for the other colour maps.
    """
    if scale is not None:
        scale = check_number(scale, "--scale", above=0)
    if zero_invalid and invalid is None:
        raise InvalidArgumentError(
            "--zero-invalid needs --invalid COLOR: the colour to paint pixels without depth"
        )
    colormap = options.get("colormap", parameter_default(encode_depth, "colormap"))
    prompt = depth_prompt() if colormap == "cube_walk" else None

    def run(values: np.ndarray, name: str) -> Outputs:
        _map(values, name, "depth", "iuf")
        if values.dtype.kind in "iu" and scale is None:
            raise InvalidArgumentError(
                f"{name}: depth holds integers ({values.dtype}), not metres: pass --scale with "
                f"the metres per stored unit, e.g. --scale 0.001 for millimetres"
            )
        metres = values.astype(np.float64) * (1.0 if scale is None else scale)
        if zero_invalid:
            metres[values == 0] = np.nan
        with _invalid_as_option():
            picture = encode_depth(
                metres, dtype=_DTYPES[bits], invalid=_target_colour(invalid, bits), **options
            )
        known = metres[np.isfinite(metres) & (metres >= 0)]
        span = f"{known.min():.3f}-{known.max():.3f} m" if known.size else "no valid depth"
        summary = f"{name}: {values.shape[1]}x{values.shape[0]} depth {span}, {colormap}"
        files: dict[str, np.ndarray | str] = {".png": picture}
        if prompt is not None:
            files[".prompt.txt"] = prompt
        return Outputs(summary, files)

    return run


def normals(*, frame: str, bits: int, invalid: RGB | None) -> TruthEncoder:
    """(H, W, 3) float normal vectors to normal pictures.

    Args:
        frame: the frame of the input vectors: "camera", the paper's (x right, y up, z toward
            the viewer) or "opencv" (x right, y down, z forward), converted to the paper's
            frame first.
        bits: 8 or 16 bits per channel.
        invalid: colour (8-bit) for zero or non-finite vectors; None makes them an error.
    """
    if frame not in ("camera", "opencv"):
        raise InvalidArgumentError(f"--frame must be 'camera' or 'opencv', got {frame!r}")

    def run(values: np.ndarray, name: str) -> Outputs:
        if values.ndim != 3 or values.shape[-1] != 3 or values.dtype.kind != "f":
            raise InvalidArgumentError(
                f"{name}: normals must be one (H, W, 3) float array of vectors, got shape "
                f"{values.shape} and dtype {values.dtype}"
            )
        # to_opencv flips y and z, so it also takes OpenCV vectors to the paper's frame.
        vectors = to_opencv(values) if frame == "opencv" else values
        with _invalid_as_option():
            picture = encode_normals(
                vectors, dtype=_DTYPES[bits], invalid=_target_colour(invalid, bits)
            )
        summary = f"{name}: {values.shape[1]}x{values.shape[0]} normals ({frame} frame)"
        return Outputs(summary, {".png": picture, ".prompt.txt": normals_prompt()})

    return run


def semantic(
    *,
    prompt: str | None,
    entries: Mapping[str, RGB] | None,
    classes: Sequence[str] | None,
    background: RGB | None,
    style: Literal["json", "sentences"],
    color_format: ColorFormat,
    options: Mapping[str, Any],
) -> TruthEncoder:
    """Label maps (label i = the i-th class) to semantic pictures, with the prompt that names
    their colours beside each.

    The colours come from exactly one of:
        prompt: a prompt naming them (written beside as it is; its background, black when it
            names none, cannot be changed by ``background``);
        entries: {class: colour} in label order, a "background" entry allowed;
        classes: names in label order, coloured by `distinct_palette` as `semantic_prompt` does.
    For ``entries`` and ``classes`` the prompt is `semantic_prompt` with ``style``,
    ``color_format`` and ``background``, and the colours painted are read back from it.

    ``options``: keywords of `encode_semantic` (ignore_index: the label painted in the
    background colour).
    """
    if prompt is not None:
        if background is not None:
            raise InvalidArgumentError(
                "--background cannot be used with --prompt: the prompt names the background "
                "(black when it names none)"
            )
    else:
        names = entries if entries is not None else classes
        if not names:
            raise InvalidArgumentError("encode semantic needs --prompt, --mapping or --classes")
        prompt = semantic_prompt(
            names, style=style, color_format=color_format, background=background
        )
    mapping = parse_mapping(prompt)
    if not mapping.classes:
        raise InvalidArgumentError(f"--prompt names no class with a colour: {prompt!r}")
    text = prompt

    def run(values: np.ndarray, name: str) -> Outputs:
        _map(values, name, "labels", "iu")
        picture = encode_semantic(values, mapping, background=mapping.background, **options)
        present = [i for i in range(len(mapping.classes)) if np.any(values == i)]
        summary = (
            f"{name}: {values.shape[1]}x{values.shape[0]} labels, {len(present)} of "
            f"{len(mapping.classes)} classes present"
        )
        return Outputs(summary, {".png": picture, ".prompt.txt": text})

    return run


def instances(*, background: RGB, class_name: str | None) -> TruthEncoder:
    """Instance-id maps (0 = background) to instance pictures in distinct colours (as
    `encode_instances` paints them), with `instance_prompt` for ``class_name`` beside when given.
    """
    prompt = None if class_name is None else instance_prompt(class_name, background=background)

    def run(values: np.ndarray, name: str) -> Outputs:
        _map(values, name, "instance ids", "iu")
        picture = encode_instances(values, background=background)
        count = len(np.unique(values[values != 0]))
        summary = f"{name}: {values.shape[1]}x{values.shape[0]} instance ids, {count} instances"
        files: dict[str, np.ndarray | str] = {".png": picture}
        if prompt is not None:
            files[".prompt.txt"] = prompt
        return Outputs(summary, files)

    return run
