"""`GeminiGenerator`: Google's image models (Nano Banana Pro and kin) over the Gemini API.

Needs the ``gemini`` extra (``pip install "vision-banana[gemini]"``, which brings ``google-genai``).
One request per picture: the input photo as an inline image part *before* the prompt, image-only
responses (``response_modalities=["IMAGE"]``), and optionally an output size and aspect ratio.

What this module adds on top of the SDK, and why:

- Its own retry loop (the SDK's retries stay off unless a caller's own client turns them on):
  408, 429 and 5xx answers and dropped connections are retried with exponential backoff and full
  jitter, honouring a server's ``Retry-After``; other 4xx answers (a bad key, a bad model id, a
  malformed request) fail at once, since repeating them cannot help and costs quota.
- A client-side timeout per request, reported as a `GeneratorError` that names it. A request that
  timed out is not retried: image generation is slow and billed, and a second try would most
  likely time out the same way.
- A limit on concurrent requests (a semaphore shared by every call on the instance), and
  `generate_batch` running that many requests at a time, results in input order.
- Answers without a picture become `GenerationBlocked` with the API's reason (a blocked prompt's
  ``blockReason``, else the candidate's ``finishReason``: ``SAFETY``, ``IMAGE_SAFETY``,
  ``PROHIBITED_CONTENT``, ``NO_IMAGE``...), and any text the model wrote instead.
- The answer is the last image part that is not a "thought" (thinking models send draft images
  flagged ``thought: true`` first). Its bytes are sniffed rather than trusted (the API has been seen
  to label JPEG data ``image/png``) and decoded with Pillow to an RGB image.

Example:
    >>> import vision_banana as vb
    >>> from PIL import Image
    >>> from vision_banana.backends.gemini import GeminiGenerator
    >>> gen = GeminiGenerator()  # key from GOOGLE_API_KEY or GEMINI_API_KEY  # doctest: +SKIP
    >>> picture = gen.generate(Image.open("room.jpg"), vb.depth_prompt())  # doctest: +SKIP
    >>> depth = vb.decode_depth(np.asarray(picture))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GenerationBlocked, GeneratorError, InvalidArgumentError, InvalidTypeError
from .base import Generator, batch_arguments

__all__ = ["DEFAULT_MODEL", "GeminiGenerator", "decode_image_bytes", "sniff_image_format"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini-3-pro-image"
"""Nano Banana Pro, the model Vision Banana was instruction-tuned from."""

API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""Where the key is looked up when none is given, in this order (google-genai's convention)."""

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses that are retried; any other 5xx is retried too, any other 4xx never."""

_INSTALL_HINT = 'pip install "vision-banana[gemini]"'
_IMAGE_SIZES = ("1K", "2K", "4K")
_INPUT_FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg")}


def _import_genai() -> tuple[ModuleType, ModuleType, ModuleType]:
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"GeminiGenerator needs the google-genai package: {_INSTALL_HINT}"
        ) from exc
    return genai, types, errors


def sniff_image_format(data: bytes) -> str | None:
    """The format that ``data`` starts with: ``"png"``, ``"jpeg"``, ``"webp"``, ``"gif"`` or None.

    The magic numbers, not the MIME type an API attaches, decide how a picture is decoded.

    Example:
        >>> sniff_image_format(b"\\xff\\xd8\\xff\\xe0" + bytes(16))
        'jpeg'
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def decode_image_bytes(data: bytes, mime_type: str | None = None) -> Image.Image:
    """Decode a generated picture's bytes to an RGB Pillow image, whatever its label says.

    Raises:
        GeneratorError: the bytes are no PNG, JPEG, WebP or GIF, or do not decode.
    """
    kind = sniff_image_format(data)
    if kind is None:
        raise GeneratorError(
            f"the generated image part (labelled {mime_type!r}, {len(data)} bytes) is not a "
            f"PNG, JPEG, WebP or GIF image: it starts with {data[:8]!r}"
        )
    if mime_type and kind not in mime_type.lower().replace("jpg", "jpeg"):
        logger.debug("image part labelled %s holds %s data", mime_type, kind)
    try:
        with Image.open(io.BytesIO(data), formats=[kind.upper()]) as img:
            img.load()
            picture: Image.Image = img.convert("RGB")  # Pillow types `img` as Any
            return picture
    except Exception as exc:  # Pillow raises many types for bad data
        raise GeneratorError(
            f"the generated {kind.upper()} image (labelled {mime_type!r}, {len(data)} bytes) "
            f"cannot be decoded: {exc}"
        ) from exc


def _to_pil(image: Any, index: int | None = None) -> Image.Image:
    where = "image" if index is None else f"images[{index}]"
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise InvalidTypeError(
                f"{where}: expected a PIL image or a uint8 array, "
                f"got an array of dtype {image.dtype}"
            )
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4)):
            return Image.fromarray(
                image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
            )
        raise InvalidArgumentError(
            f"{where}: expected an array of shape (H, W), (H, W, 3) or (H, W, 4), "
            f"got shape {image.shape}"
        )
    raise InvalidTypeError(
        f"{where}: expected a PIL image or a uint8 numpy array, got {type(image).__name__}"
    )


def _is_timeout(exc: BaseException) -> bool:
    # httpx and its fork httpx2 have separate class trees; match on the names they share.
    return isinstance(exc, TimeoutError) or any(
        c.__name__ == "TimeoutException" for c in type(exc).__mro__
    )


def _is_transient_network_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return isinstance(exc, ConnectionError) or bool(names & {"NetworkError", "RemoteProtocolError"})


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait: a ``Retry-After`` header or a RetryInfo detail."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        value = headers.get("retry-after")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                pass  # an HTTP date: rare enough to fall back to our own backoff
    details = getattr(exc, "details", None)
    error = details.get("error", details) if isinstance(details, dict) else None
    for item in (error or {}).get("details", []) if isinstance(error, dict) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        match = re.fullmatch(r"\s*([0-9.]+)s\s*", delay) if isinstance(delay, str) else None
        if match:
            return float(match.group(1))
    return None


class GeminiGenerator(Generator):
    """Google's Gemini image models (default: Nano Banana Pro) as a Vision Banana generator.

    Args:
        model: any model id the API knows, e.g. ``"gemini-3-pro-image"`` (Nano Banana Pro,
            default) or ``"gemini-2.5-flash-image"``.
        api_key: the API key; default: the ``GOOGLE_API_KEY`` or else ``GEMINI_API_KEY``
            environment variable. Not used with ``client``.
        base_url: the API's address, for a gateway or proxy (default: Google's endpoint).
            Not used with ``client``.
        client: a ready ``google.genai.Client`` (for Vertex AI, custom transports...).
        timeout: seconds one request may take, or None for no limit.
        max_retries: retries after the first attempt for 408, 429, 5xx answers and dropped
            connections (0: no retries).
        max_concurrency: at most this many requests in flight at once from this instance.
        image_size: output size, ``"1K"``, ``"2K"`` or ``"4K"`` (None: the model's default, 1K,
            about one megapixel as the paper's model answers).
        aspect_ratio: output aspect ratio such as ``"4:3"`` (None: the model picks, which for an
            edit usually follows the input).
        input_format: how the input photo is sent: ``"png"`` (lossless, default) or ``"jpeg"``.
        initial_backoff: seconds before the first retry; doubled each retry, with full jitter.
        max_backoff: the longest wait between two attempts, in seconds.

    Raises:
        ImportError: google-genai is not installed.
        GeneratorError: no client and no API key anywhere.

    Example:
        >>> gen = GeminiGenerator(image_size="1K", max_concurrency=8)   # doctest: +SKIP
        >>> prompts = [vb.depth_prompt()] * len(photos)  # doctest: +SKIP
        >>> pictures = gen.generate_batch(photos, prompts)  # doctest: +SKIP
    """

    name = "gemini"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        client: Any = None,
        timeout: float | None = 300.0,
        max_retries: int = 4,
        max_concurrency: int = 4,
        image_size: str | None = None,
        aspect_ratio: str | None = None,
        input_format: str = "png",
        initial_backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        genai, types, errors = _import_genai()
        if not isinstance(model, str) or not model.strip():
            raise InvalidArgumentError(f"model: expected a non-empty model id, got {model!r}")
        if timeout is not None and not timeout > 0:
            raise InvalidArgumentError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidArgumentError(f"max_retries: expected an int >= 0, got {max_retries!r}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise InvalidArgumentError(
                f"max_concurrency: expected an int >= 1, got {max_concurrency!r}"
            )
        if image_size is not None and image_size not in _IMAGE_SIZES:
            raise InvalidArgumentError(
                f"image_size: expected one of {', '.join(_IMAGE_SIZES)} or None, got {image_size!r}"
            )
        if input_format not in _INPUT_FORMATS:
            raise InvalidArgumentError(
                f"input_format: expected 'png' or 'jpeg', got {input_format!r}"
            )
        if not initial_backoff >= 0 or not max_backoff >= 0:
            raise InvalidArgumentError(
                f"initial_backoff and max_backoff: expected seconds >= 0, "
                f"got {initial_backoff!r} and {max_backoff!r}"
            )
        self._types = types
        self._api_error = errors.APIError
        self.model = model.strip()
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self.image_size = image_size
        self.aspect_ratio = aspect_ratio
        self.input_format = input_format
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self._semaphore = threading.BoundedSemaphore(max_concurrency)

        if client is not None:
            if api_key is not None or base_url is not None:
                raise InvalidArgumentError(
                    "client: give either a ready client or api_key/base_url, not both "
                    "(the client already carries its key and address)"
                )
            self.client = client
            return
        if api_key is None:
            api_key = next((os.environ[v] for v in API_KEY_VARIABLES if os.environ.get(v)), None)
        if not api_key:
            raise GeneratorError(
                "GeminiGenerator needs an API key: pass api_key=..., or set the GOOGLE_API_KEY "
                "or GEMINI_API_KEY environment variable (or pass a ready google.genai.Client "
                "as client=...)"
            )
        http_options = types.HttpOptions(base_url=base_url) if base_url else None
        self.client = genai.Client(api_key=api_key, vertexai=False, http_options=http_options)

    def __repr__(self) -> str:
        return (
            f"GeminiGenerator(model={self.model!r}, image_size={self.image_size!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    # --- the Generator interface ----------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """The base identity plus the model and the settings that shape its answers."""
        return {
            **super().identity(),
            "model": self.model,
            "image_size": self.image_size,
            "aspect_ratio": self.aspect_ratio,
            "input_format": self.input_format,
        }

    def check(self) -> None:
        """Ask the API about the model (a free call): a bad key or unknown model fails here.

        Raises:
            GeneratorError: the key is rejected, the model is unknown, or the API is unreachable.
        """
        self._call(
            lambda options: self.client.models.get(
                model=self.model, config=self._types.GetModelConfig(http_options=options)
            ),
            what=f"looking up model {self.model!r}",
        )

    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        """Generate the picture that answers ``prompt`` about ``image``.

        Args:
            image: the input photo: a PIL image, or a uint8 array (H, W, 3), (H, W, 4) or (H, W).
            prompt: the instruction, e.g. `vision_banana.depth_prompt()`.
            seed: passed to the API (best effort: the service does not promise determinism).

        Returns:
            A new RGB PIL image at the size the model chose (about one megapixel by default).

        Raises:
            GenerationBlocked: a safety block, a refusal, or an answer without an image
                (``.reason`` says which).
            GeneratorError: an API error, a timeout, retries exhausted, undecodable bytes.
        """
        return self._generate(_to_pil(image), self._check_prompt(prompt), seed)

    def generate_batch(
        self,
        images: Sequence[Any],
        prompts: str | Sequence[str],
        *,
        seeds: int | Sequence[int | None] | None = None,
    ) -> list[Image.Image]:
        """`generate` for each image, ``max_concurrency`` requests at a time.

        ``prompts`` and ``seeds``: one for all images or one per image. Results come back in
        input order. If any request fails, the ones not yet started are cancelled and the first
        failure (in input order) is raised.
        """
        images = list(images)
        prompt_list, seed_list = batch_arguments(images, prompts, seeds)
        pils = [_to_pil(im, i) for i, im in enumerate(images)]
        texts = [self._check_prompt(p, i) for i, p in enumerate(prompt_list)]
        jobs = list(zip(pils, texts, seed_list, strict=True))
        if len(jobs) <= 1:
            return [self._generate(*job) for job in jobs]
        with ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, len(pils)), thread_name_prefix="gemini"
        ) as pool:
            futures = [pool.submit(self._generate, *job) for job in jobs]
            try:
                return [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _check_prompt(prompt: Any, index: int | None = None) -> str:
        where = "prompt" if index is None else f"prompts[{index}]"
        if not isinstance(prompt, str):
            raise InvalidTypeError(f"{where}: expected a str, got {type(prompt).__name__}")
        if not prompt.strip():
            raise InvalidArgumentError(f"{where}: expected a non-empty prompt")
        return prompt

    def _http_options(self) -> Any:
        timeout_ms = None if self.timeout is None else max(1, round(self.timeout * 1000))
        return self._types.HttpOptions(timeout=timeout_ms)

    def _config(self, seed: int | None, http_options: Any) -> Any:
        types = self._types
        image_config = None
        if self.image_size is not None or self.aspect_ratio is not None:
            image_config = types.ImageConfig(
                image_size=self.image_size, aspect_ratio=self.aspect_ratio
            )
        return types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=image_config,
            seed=seed,
            http_options=http_options,
        )

    def _image_part(self, image: Image.Image) -> Any:
        fmt, mime = _INPUT_FORMATS[self.input_format]
        if image.mode not in ("RGB", "L") and not (fmt == "PNG" and image.mode == "RGBA"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        return self._types.Part.from_bytes(data=buffer.getvalue(), mime_type=mime)

    def _generate(self, image: Image.Image, prompt: str, seed: int | None) -> Image.Image:
        contents = [self._image_part(image), prompt]

        def request(http_options: Any) -> Any:
            return self.client.models.generate_content(
                model=self.model, contents=contents, config=self._config(seed, http_options)
            )

        response = self._call(request, what=f"generating with {self.model!r}")
        return self._picture(response)

    def _call(self, request: Any, *, what: str) -> Any:
        """Run ``request(http_options)`` with the concurrency limit, timeout and retries."""
        attempt = 0
        while True:
            try:
                with self._semaphore:
                    return request(self._http_options())
            except self._api_error as exc:
                code = getattr(exc, "code", None)
                retryable = code in RETRY_STATUSES or (isinstance(code, int) and 500 <= code < 600)
                detail = f"HTTP {code} {exc.status or ''}: {exc.message or exc}".replace("  ", " ")
                if not retryable:
                    raise GeneratorError(f"Gemini API error while {what}: {detail}") from exc
                if attempt >= self.max_retries:
                    raise GeneratorError(
                        f"Gemini API error while {what}, gave up after {attempt + 1} attempts: "
                        f"{detail}"
                    ) from exc
                error: BaseException = exc
            except Exception as exc:
                if _is_timeout(exc):
                    raise GeneratorError(
                        f"Gemini request timed out while {what}: no answer within the timeout "
                        f"of {self.timeout} s (raise timeout=... for large images)"
                    ) from exc
                if not _is_transient_network_error(exc):
                    raise
                if attempt >= self.max_retries:
                    raise GeneratorError(
                        f"Gemini API unreachable while {what}, gave up after {attempt + 1} "
                        f"attempts: {type(exc).__name__}: {exc}"
                    ) from exc
                error = exc
            delay = self._backoff(attempt, error)
            logger.info(
                "Gemini request failed (%s); retry %d of %d in %.2f s",
                error,
                attempt + 1,
                self.max_retries,
                delay,
            )
            time.sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int, error: BaseException) -> float:
        # Full jitter (a uniform draw up to the exponential bound) spreads out the retries of
        # many concurrent requests that failed together.
        bound = min(self.max_backoff, self.initial_backoff * 2.0**attempt)
        delay = random.uniform(0.0, bound)
        asked = _retry_after(error)
        if asked is not None:
            delay = max(delay, min(asked, self.max_backoff))
        return delay

    def _picture(self, response: Any) -> Image.Image:
        feedback = getattr(response, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None)
        if block:
            reason = _enum_name(block)
            message = getattr(feedback, "block_reason_message", None)
            raise GenerationBlocked(
                f"Gemini blocked the prompt: {reason}" + (f" ({message})" if message else ""),
                reason,
            )
        candidates = getattr(response, "candidates", None) or []
        if not candidates:
            raise GenerationBlocked("Gemini answered with no candidate at all", "NO_CANDIDATE")
        candidate = candidates[0]
        parts = getattr(getattr(candidate, "content", None), "parts", None) or []
        answer = None
        for part in parts:
            blob = getattr(part, "inline_data", None)
            if blob is not None and blob.data and not getattr(part, "thought", False):
                answer = blob
        if answer is not None:
            return decode_image_bytes(answer.data, answer.mime_type)
        finish = _enum_name(getattr(candidate, "finish_reason", None))
        reason = "NO_IMAGE" if finish in (None, "STOP", "FINISH_REASON_UNSPECIFIED") else finish
        said = " ".join(
            p.text.strip()
            for p in parts
            if getattr(p, "text", None) and not getattr(p, "thought", False)
        )
        finish_message = getattr(candidate, "finish_message", None)
        raise GenerationBlocked(
            f"Gemini answered without an image (finish reason {finish or 'unknown'})"
            + (f": {finish_message}" if finish_message else "")
            + (f"; the model said: {said[:500]!r}" if said else ""),
            reason,
        )


def _enum_name(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
