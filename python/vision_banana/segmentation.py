"""Deprecated: the old name of `vision_banana.semantic` (kept so old imports keep working)."""

import warnings

from .semantic import decode_referring, decode_semantic, encode_semantic, palette_colors

__all__ = ["decode_referring", "decode_semantic", "encode_semantic", "palette_colors"]

warnings.warn(
    "vision_banana.segmentation is deprecated; import from vision_banana.semantic "
    "(or from vision_banana)",
    DeprecationWarning,
    stacklevel=2,
)
