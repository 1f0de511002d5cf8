"""`CallableGenerator`: any Python function as a generator backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from ..errors import GeneratorError, InvalidTypeError, VisionBananaError
from .base import Generator, as_pil_image, to_rgb_image

__all__ = ["CallableGenerator"]


class CallableGenerator(Generator):
    """Wraps a user's function ``fn(image, prompt, seed)`` as a `Generator`.

    The function gets an RGB PIL image, the prompt text and the seed (an int or None), and
    answers with a PIL image, an (H, W, 3) array (uint8, uint16 or float in [0, 1]) or encoded
    image bytes. Any exception it raises becomes a `GeneratorError` naming the function (errors
    of this package pass through unchanged).

    Example:
        >>> import numpy as np
        >>> gen = CallableGenerator(lambda image, prompt, seed: np.zeros((32, 48, 3), np.uint8))
        >>> gen.generate(np.zeros((10, 10, 3), np.uint8), "a prompt").size
        (48, 32)
    """

    def __init__(
        self, fn: Callable[[Image.Image, str, int | None], Any], *, name: str | None = None
    ):
        if not callable(fn):
            raise InvalidTypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or f"callable:{getattr(fn, '__qualname__', type(fn).__name__)}"

    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        if not isinstance(prompt, str):
            raise InvalidTypeError(f"prompt must be text, got {type(prompt).__name__}")
        picture = as_pil_image(image)
        try:
            answer = self.fn(picture, prompt, seed)
        except VisionBananaError:
            raise
        except Exception as error:
            raise GeneratorError(
                f"generator {self.name} failed: {type(error).__name__}: {error}"
            ) from error
        return to_rgb_image(answer, f"generator {self.name}")

    def identity(self) -> dict[str, Any]:
        """The base identity plus the function's module and qualified name (what it closes
        over or reads is not seen: give such functions distinct ``name``s)."""
        function = getattr(self.fn, "__qualname__", type(self.fn).__qualname__)
        module = getattr(self.fn, "__module__", None) or type(self.fn).__module__
        return {**super().identity(), "function": f"{module}.{function}"}
