"""The interface every generator backend implements, and the conversions they share.

A generator is the model in the middle of the pipeline (DESIGN.md): it takes the input photo and a
prompt and answers with an RGB picture, at whatever size the model answers. Backends subclass
`Generator`, set `name`, implement `generate`, and declare what they need in `requirements()`;
`check()` fails early, before any work, with a `GeneratorError` that says what is missing.
"""

from __future__ import annotations

import abc
import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GeneratorError, InvalidArgumentError, InvalidTypeError

__all__ = ["Generator", "as_pil_image", "to_rgb_image"]


def as_pil_image(image: Any, name: str = "image") -> Image.Image:
    """An input image as an RGB PIL image.

    Args:
        image: a PIL image, a file path (``str`` or ``os.PathLike``), or an (H, W), (H, W, 3) or
            (H, W, 4) array, uint8, uint16 (scaled to 8 bits) or float in [0, 1]. Alpha is
            dropped, grey replicated.
        name: the argument's name, for error messages.

    Raises:
        InvalidTypeError / InvalidArgumentError: anything else.
    """
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        from ..io import read_image

        image = read_image(image)
    if not isinstance(image, np.ndarray):
        raise InvalidTypeError(
            f"{name} must be a PIL image, a file path or an (H, W, 3) array, "
            f"got {type(image).__name__}"
        )
    array = image
    if array.ndim == 2:
        array = array[..., None].repeat(3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4) or min(array.shape[:2]) < 1:
        raise InvalidArgumentError(
            f"{name} must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}"
        )
    array = array[..., :3]
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise InvalidArgumentError(f"{name} of dtype {array.dtype} must hold values in [0, 1]")
        array = np.rint(array * 255).astype(np.uint8)
    else:
        raise InvalidTypeError(f"{name} must be uint8, uint16 or float, got dtype {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def to_rgb_image(answer: Any, source: str = "the generator") -> Image.Image:
    """A backend's answer as an RGB PIL image.

    Args:
        answer: a PIL image, an array (as for :func:`as_pil_image`), or encoded image bytes (PNG,
            JPEG, WebP...).
        source: who answered, for error messages.

    Raises:
        GeneratorError: the answer is not a picture.
    """
    try:
        if isinstance(answer, (bytes, bytearray, memoryview)):
            with Image.open(io.BytesIO(bytes(answer))) as opened:
                opened.load()
                picture: Image.Image = opened.convert("RGB")  # Pillow types `opened` as Any
                return picture
        if isinstance(answer, (Image.Image, np.ndarray)):
            return as_pil_image(answer, "the answer")
    except (OSError, ValueError, TypeError, Image.DecompressionBombError) as error:
        raise GeneratorError(f"{source} did not answer with a readable picture: {error}") from error
    raise GeneratorError(
        f"{source} must answer with a PIL image, an (H, W, 3) array or image bytes, "
        f"got {type(answer).__name__}"
    )


def batch_arguments(
    images: Sequence[Any],
    prompts: str | Sequence[str],
    seeds: int | Sequence[int | None] | None,
) -> tuple[list[str], list[int | None]]:
    """One prompt and one seed per image, from one for all or one per image."""
    count = len(images)
    prompt_list = [prompts] * count if isinstance(prompts, str) else list(prompts)
    if seeds is None or isinstance(seeds, (int, np.integer)):
        seed_list: list[int | None] = [None if seeds is None else int(seeds)] * count
    else:
        seed_list = list(seeds)
    for name, values in (("prompts", prompt_list), ("seeds", seed_list)):
        if len(values) != count:
            raise InvalidArgumentError(
                f"{name} must be one value or one per image ({count}), got {len(values)}"
            )
    return prompt_list, seed_list


class Generator(abc.ABC):
    """An image generator: (photo, prompt) -> RGB picture.

    Subclasses implement :meth:`generate`, set ``name``, and override :meth:`requirements` and
    :meth:`check` when they need something (an API key, a package, a GPU). Callers (the pipeline)
    call :meth:`check` once before the first generation so that a missing requirement fails
    early, with one clear message, instead of after minutes of work.

    Attributes:
        name: a short identifier, used in messages and by the command line.
    """

    name: str = "generator"

    @abc.abstractmethod
    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        """Answers one prompt about one image.

        Args:
            image: the input photo (a PIL image, an array or a path: see :func:`as_pil_image`).
            prompt: the task prompt (see `vision_banana.prompts`).
            seed: makes sampling repeatable where the backend can; None: the backend's choice.

        Returns:
            An RGB PIL image, at whatever size the model answers (about 1 MP for Vision Banana).

        Raises:
            GeneratorError: the backend failed (GenerationBlocked when the model refused).
        """

    def generate_batch(
        self,
        images: Sequence[Any],
        prompts: str | Sequence[str],
        *,
        seeds: int | Sequence[int | None] | None = None,
    ) -> list[Image.Image]:
        """:meth:`generate` for many images, in order. This default runs them one after another;
        backends with a batch API override it.

        Args:
            images: the input photos.
            prompts: one prompt for all images, or one per image.
            seeds: None, one seed for all, or one per image.
        """
        prompt_list, seed_list = batch_arguments(images, prompts, seeds)
        return [
            self.generate(image, prompt, seed=seed)
            for image, prompt, seed in zip(images, prompt_list, seed_list, strict=True)
        ]

    def requirements(self) -> list[str]:
        """What this backend needs to run, in words ("the GEMINI_API_KEY environment variable",
        "a CUDA GPU"); empty when it needs nothing."""
        return []

    def check(self) -> None:
        """Raises `GeneratorError` naming what is missing when a requirement is not met; the
        base implementation needs nothing."""
        return None

    def identity(self) -> dict[str, Any]:
        """What decides this generator's answers, as a JSON-able dict.

        The evaluation cache (`vision_banana.eval.cache`) keys each picture on the photo, the
        prompt, the seed and this dict, so two generators with equal identities must answer
        alike, and any setting that changes the answers (model, adapter, steps...) belongs here.
        Backends extend this default, the class and ``name``.

        Example:
            >>> CallableGenerator(my_model).identity()  # doctest: +SKIP
            {'class': 'vision_banana.backends.callable.CallableGenerator',
             'name': 'callable:my_model', 'function': 'my_module.my_model'}
        """
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}", "name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
