"""`HTTPGenerator`: a generator served over HTTP by the user's own service (standard library only).

Protocol. Each generation is one ``POST`` to the URL with ``Content-Type: application/json`` and
the body::

    {"prompt": "<prompt text>", "image": "<base64 of the input as PNG>",
     "mime_type": "image/png", "seed": <int or null>}

The service answers ``200`` with either

- the picture itself: any ``image/*`` content type (PNG, JPEG, WebP...), or
- JSON: ``{"image": "<base64 of an encoded picture>"}``; a ``data:image/...;base64,`` prefix is
  allowed.

Any other status, a timeout, an unreachable host, or an answer that is not a picture raises
`GeneratorError` with the URL, the status and the start of the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from ..errors import GeneratorError, InvalidArgumentError, InvalidTypeError
from ..io import png_bytes
from .base import Generator, as_pil_image, to_rgb_image

__all__ = ["HTTPGenerator"]

_EXCERPT = 200


def _excerpt(body: bytes) -> str:
    text = body[:_EXCERPT].decode("utf-8", errors="replace").strip()
    return repr(text + ("..." if len(body) > _EXCERPT else ""))


class HTTPGenerator(Generator):
    """Posts the image and the prompt to ``url`` and reads the picture from the answer (see the
    module docstring for the protocol).

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout: seconds to wait for the answer.
        headers: extra request headers (an ``Authorization`` header, say).

    Example:
        >>> gen = HTTPGenerator("http://127.0.0.1:8000/generate", timeout=60)
        >>> gen.name
        'http:http://127.0.0.1:8000/generate'
    """

    def __init__(
        self, url: str, *, timeout: float = 300.0, headers: Mapping[str, str] | None = None
    ):
        if not isinstance(url, str):
            raise InvalidTypeError(f"url must be text, got {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgumentError(f"url must be an http:// or https:// URL, got {url!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidArgumentError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        self.url = url
        self.timeout = float(timeout)
        self.headers = dict(headers or {})
        self.name = f"http:{url}"

    def requirements(self) -> list[str]:
        return [f"a service answering POST requests at {self.url}"]

    def identity(self) -> dict[str, Any]:
        """The base identity plus the URL (headers are left out: they carry credentials)."""
        return {**super().identity(), "url": self.url}

    def generate(self, image: Any, prompt: str, *, seed: int | None = None) -> Image.Image:
        if not isinstance(prompt, str):
            raise InvalidTypeError(f"prompt must be text, got {type(prompt).__name__}")
        photo = png_bytes(np.asarray(as_pil_image(image)))
        body = json.dumps(
            {
                "prompt": prompt,
                "image": base64.b64encode(photo).decode("ascii"),
                "mime_type": "image/png",
                "seed": None if seed is None else int(seed),
            }
        ).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "image/*, application/json"}
            | self.headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content_type = response.headers.get_content_type()
                answer = response.read()
        except urllib.error.HTTPError as error:
            detail = _excerpt(error.read() or b"")
            raise GeneratorError(
                f"generator {self.url} answered HTTP {error.code} {error.reason}: {detail}"
            ) from error
        except TimeoutError as error:
            raise GeneratorError(
                f"generator {self.url} did not answer within {self.timeout:g} s"
            ) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise GeneratorError(
                    f"generator {self.url} did not answer within {self.timeout:g} s"
                ) from error
            raise GeneratorError(f"cannot reach generator {self.url}: {error.reason}") from error
        except OSError as error:
            raise GeneratorError(f"cannot reach generator {self.url}: {error}") from error
        return self._picture(content_type, answer)

    def _picture(self, content_type: str, answer: bytes) -> Image.Image:
        source = f"generator {self.url}"
        if content_type == "application/json" or answer[:1] == b"{":
            try:
                payload = json.loads(answer)
                encoded = payload["image"]
                if not isinstance(encoded, str):
                    raise TypeError("the 'image' field is not text")
                if encoded.startswith("data:"):
                    encoded = encoded.partition(",")[2]
                data = base64.b64decode(encoded, validate=True)
            except (ValueError, KeyError, TypeError, binascii.Error) as error:
                raise GeneratorError(
                    f"{source} answered JSON without a base64 'image' field "
                    f"({type(error).__name__}: {error}): {_excerpt(answer)}"
                ) from error
            return to_rgb_image(data, source)
        try:
            return to_rgb_image(answer, source)
        except GeneratorError as error:
            raise GeneratorError(
                f"{source} answered {content_type}, not a picture: {_excerpt(answer)}"
            ) from error
