"""The size a Vision Banana model answers at (SPEC.md section 6), for backends that must pick it.

A Gemini image model chooses its own output size; an open-weight editing model is told one. Both
the reference renderer (to resample its answers like the model) and the diffusers backend (to ask
for the model's size) use this one rule.
"""

from __future__ import annotations

import math

from ._arrays import check_positive_int

__all__ = ["MEASURED_SIZES", "generation_size"]

#: What the model answered for an input of (height, width): (input, answer), SPEC.md section 6.
MEASURED_SIZES: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = (
    ((1051, 1440), (880, 1216)),
    ((375, 1242), (560, 1888)),
)


def generation_size(
    height: int, width: int, *, pixels: int = 1 << 20, multiple: int = 16
) -> tuple[int, int]:
    """An approximation of the (height, width) a Vision Banana model answers at for an input of
    this size: about ``pixels`` pixels at the input's aspect ratio, each side rounded to the
    nearest multiple of ``multiple``.

    It is an approximation, not the model's rule. The two measured answers (SPEC.md section 6,
    ``MEASURED_SIZES``) are both about 1.05 MP and both a little *wider* than the input's aspect
    ratio (the model's width is 0.8 % and 1.8 % wider than proportional to its height); two
    points do not pin down a rule that reproduces that without being fitted to them. Against
    them this function gets the height exactly and the width 16 and 32 pixels short:

    ==============  ==========  ==============
    input (H, W)    the model   this function
    ==============  ==========  ==============
    (1051, 1440)    (880, 1216) (880, 1200)
    (375, 1242)     (560, 1888) (560, 1856)
    ==============  ==========  ==============

    Decoders do not depend on it: they decode at whatever size the picture comes in.

    Example:
        >>> generation_size(1051, 1440)
        (880, 1200)
    """
    height, width = check_positive_int(height, "height"), check_positive_int(width, "width")
    pixels = check_positive_int(pixels, "pixels")
    multiple = check_positive_int(multiple, "multiple")
    scale = math.sqrt(pixels / (height * width))

    def side(length: int) -> int:
        return max(multiple, round(length * scale / multiple) * multiple)

    return side(height), side(width)
