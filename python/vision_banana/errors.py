"""The exceptions vision-banana raises on purpose.

Every error is a `VisionBananaError`, and also the built-in exception a caller would expect for
the same mistake (`ValueError` or `TypeError`), so ``except ValueError`` keeps working in code
that does not know this package.
"""

from __future__ import annotations

__all__ = [
    "GenerationBlocked",
    "GeneratorError",
    "ImageReadError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "VisionBananaError",
]


class VisionBananaError(Exception):
    """Base class of every error the package raises on purpose."""


class InvalidArgumentError(VisionBananaError, ValueError):
    """An argument has the right type but a wrong value (shape, range, NaN...)."""


class InvalidTypeError(VisionBananaError, TypeError):
    """An argument has the wrong type or dtype."""


class ImageReadError(VisionBananaError, ValueError):
    """An image file cannot be decoded: corrupt, truncated, or not an image."""


class GeneratorError(VisionBananaError, RuntimeError):
    """A generator backend cannot run or did not answer with a picture: a missing API key,
    package or GPU, an HTTP error, a timeout, an answer that is not an image."""


class GenerationBlocked(GeneratorError):
    """The model refused to answer, or its answer was withheld (a safety or policy block, or an
    answer without a picture). Retrying the same image and prompt is unlikely to help.

    ``reason`` is the backend's word for why, e.g. ``"SAFETY"``, ``"IMAGE_SAFETY"``,
    ``"PROHIBITED_CONTENT"`` or ``"NO_IMAGE"`` (None when it gave none).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
