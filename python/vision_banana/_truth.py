"""Reading ground-truth arrays from files, as ``vision-banana encode`` and the training-set
export (`vision_banana.export`) both read them: ``.npy`` arrays and grey 8/16-bit PNGs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import InvalidArgumentError
from .io import read_image

__all__ = ["check_map", "files_by_stem", "read_truth"]


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


def check_map(values: np.ndarray, name: str, what: str, kinds: str) -> None:
    """Refuses anything but one (H, W) map whose dtype kind is in ``kinds`` ("iu" for
    integers, "iuf" for numbers)."""
    if values.ndim != 2:
        raise InvalidArgumentError(
            f"{name}: {what} must be one (H, W) map, got shape {values.shape}"
        )
    if values.dtype.kind not in kinds:
        expected = "integers" if kinds == "iu" else "numbers"
        raise InvalidArgumentError(f"{name}: {what} must hold {expected}, got dtype {values.dtype}")


def files_by_stem(folder: Path, suffixes: Sequence[str]) -> dict[str, Path]:
    """The files of ``folder`` with one of ``suffixes`` (any case), by stem, in name order; two
    files with one stem are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in suffixes or not path.is_file():
            continue
        if path.stem in found:
            raise InvalidArgumentError(
                f"root: {found[path.stem].name} and {path.name} in {folder} share the stem "
                f"{path.stem!r}; keep one"
            )
        found[path.stem] = path
    return found
