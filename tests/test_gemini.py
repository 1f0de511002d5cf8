"""`GeminiGenerator` against a stand-in for the Gemini API on 127.0.0.1: the real google-genai
client speaks HTTP to a local server that answers in the API's JSON shape and records what it got.
No network."""

from __future__ import annotations

import base64
import doctest
import http.server
import io
import json
import re
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("google.genai")

from google import genai
from google.genai import types

from vision_banana.backends import gemini
from vision_banana.backends.gemini import (
    GeminiGenerator,
    decode_image_bytes,
    sniff_image_format,
)
from vision_banana.errors import (
    GenerationBlocked,
    GeneratorError,
    InvalidArgumentError,
    InvalidTypeError,
    VisionBananaError,
)

MODEL = "gemini-3-pro-image"
KEY = "test-key-123"
# The API version in the path is the SDK's choice: v1beta in older google-genai, v1 in newer.
PATH = re.compile(r"/v1(beta)?/models/(?P<model>[^/:]+)(?P<method>:generateContent)?")


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def mime_type(inline_data: dict) -> str:
    # JSON field names: the API accepts camelCase and snake_case, and SDK versions differ.
    return inline_data.get("mimeType", inline_data.get("mime_type"))


def unbase64(text: str) -> bytes:
    # The SDK sends URL-safe base64; the API answers in the standard alphabet.
    return base64.b64decode(text.replace("-", "+").replace("_", "/"))


def solid(color, size=(24, 16)) -> Image.Image:
    return Image.new("RGB", size, color)


def image_part(data: bytes, mime: str = "image/png", *, thought: bool = False) -> dict:
    part = {"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}}
    if thought:
        part["thought"] = True
    return part


def answer(*parts: dict, finish: str = "STOP") -> dict:
    """A generateContent response body as the API sends it."""
    return {
        "candidates": [
            {"content": {"role": "model", "parts": list(parts)}, "finishReason": finish, "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 10, "totalTokenCount": 20},
        "modelVersion": MODEL,
    }


def api_error(code: int, status: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "status": status}}


GREEN = (0, 200, 0)
OK = (200, answer(image_part(encode(solid(GREEN)))))


class FakeGemini(http.server.ThreadingHTTPServer):
    """Answers POST .../models/{model}:generateContent and GET .../models/{model}.

    ``script`` holds the next answers, each ``(status, body)`` or ``(status, body, options)`` with
    options ``delay`` (seconds before answering) and ``headers``; when it is empty, ``default``
    (a callable of the request's JSON) answers. ``requests`` records every request.
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple] = []
        self.default = lambda body: OK
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeGemini

    def log_message(self, *args):  # keep the test output clean
        pass

    def _answer(self, body):
        srv = self.server
        with srv.lock:
            srv.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "json": body,
                }
            )
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
            step = srv.script.pop(0) if srv.script else srv.default(body)
        try:
            status, payload, options = (*step, {})[:3]
            if options.get("delay"):
                srv.stop.wait(options["delay"])
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in options.get("headers", {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self._answer(json.loads(self.rfile.read(length) or b"null"))

    def do_GET(self):
        self._answer(None)


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    # No proxy may capture 127.0.0.1, and no key of the developer's may leak into a test.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    srv = FakeGemini()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def make(server, **kwargs) -> GeminiGenerator:
    kwargs = {"api_key": KEY, "base_url": server.url, "initial_backoff": 0.01, **kwargs}
    return GeminiGenerator(**kwargs)


def assert_same(picture: Image.Image, color) -> None:
    assert isinstance(picture, Image.Image)
    assert picture.mode == "RGB"
    assert np.all(np.asarray(picture) == np.array(color, np.uint8))


# --- success and what the client sends --------------------------------------------------------


def test_success_returns_the_image_and_sends_image_before_prompt(server):
    photo = Image.fromarray(np.arange(16 * 24 * 3, dtype=np.uint8).reshape(16, 24, 3))
    picture = make(server).generate(photo, "Generate a depth map.")
    assert_same(picture, GREEN)
    assert picture.size == (24, 16)

    (request,) = server.requests
    assert request["method"] == "POST"
    assert PATH.fullmatch(request["path"])["model"] == MODEL
    assert PATH.fullmatch(request["path"])["method"] == ":generateContent"
    assert request["headers"]["x-goog-api-key"] == KEY
    assert request["headers"]["x-server-timeout"] == "300"  # the default timeout, in seconds
    body = request["json"]
    (content,) = body["contents"]
    assert content["role"] == "user"
    image, text = content["parts"]
    assert mime_type(image["inlineData"]) == "image/png"
    sent = Image.open(io.BytesIO(unbase64(image["inlineData"]["data"])))
    assert sent.format == "PNG"
    np.testing.assert_array_equal(np.asarray(sent), np.asarray(photo))  # lossless
    assert text == {"text": "Generate a depth map."}
    assert body["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert "imageConfig" not in body["generationConfig"]
    assert "seed" not in body["generationConfig"]


def test_output_size_aspect_ratio_seed_and_any_model_id(server):
    gen = make(server, model="gemini-2.5-flash-image", image_size="2K", aspect_ratio="4:3")
    gen.generate(solid((1, 2, 3)), "p", seed=7)
    (request,) = server.requests
    assert PATH.fullmatch(request["path"])["model"] == "gemini-2.5-flash-image"
    config = request["json"]["generationConfig"]
    assert config["imageConfig"] == {"imageSize": "2K", "aspectRatio": "4:3"}
    assert config["seed"] == 7


def test_numpy_input_and_jpeg_input_format(server):
    photo = np.full((8, 10, 3), 90, np.uint8)
    make(server, input_format="jpeg").generate(photo, "p")
    part = server.requests[0]["json"]["contents"][0]["parts"][0]["inlineData"]
    assert mime_type(part) == "image/jpeg"
    assert sniff_image_format(unbase64(part["data"])) == "jpeg"


def test_the_last_non_thought_image_is_the_answer(server):
    server.script = [
        (
            200,
            answer(
                image_part(encode(solid((255, 0, 0))), thought=True),
                {"text": "Planning the depth colours...", "thought": True},
                image_part(encode(solid((0, 0, 255)))),
                {"text": "Here it is."},
                image_part(encode(solid(GREEN))),
                image_part(encode(solid((9, 9, 9))), thought=True),
            ),
        )
    ]
    assert_same(make(server).generate(solid((0, 0, 0)), "p"), GREEN)


def test_jpeg_bytes_labelled_png_are_decoded(server):
    photo = solid((120, 60, 30), (32, 32))
    server.script = [(200, answer(image_part(encode(photo, "JPEG"), "image/png")))]
    picture = make(server).generate(photo, "p")
    assert picture.mode == "RGB"
    assert picture.size == (32, 32)
    assert np.abs(np.asarray(picture, np.int16) - (120, 60, 30)).max() <= 3


def test_webp_and_rgba_answers_are_decoded_to_rgb():
    rgba = Image.new("RGBA", (5, 4), (10, 20, 30, 128))
    assert sniff_image_format(encode(rgba, "WEBP")) == "webp"
    picture = decode_image_bytes(encode(rgba, "WEBP"), "image/jpeg")
    assert picture.mode == "RGB"
    assert picture.size == (5, 4)
    assert decode_image_bytes(encode(rgba)).mode == "RGB"


def test_bytes_that_are_no_image_are_a_generator_error(server):
    server.script = [(200, answer(image_part(b"<html>oops</html>", "image/png")))]
    with pytest.raises(GeneratorError, match="not a PNG, JPEG, WebP or GIF") as info:
        make(server).generate(solid((0, 0, 0)), "p")
    assert not isinstance(info.value, GenerationBlocked)
    truncated = encode(solid((1, 2, 3), (64, 64)))[:40]
    with pytest.raises(GeneratorError, match="cannot be decoded"):
        decode_image_bytes(truncated, "image/png")


# --- blocks and image-less answers --------------------------------------------------------------

BLOCKS = [
    pytest.param(
        {"promptFeedback": {"blockReason": "SAFETY"}},
        "SAFETY",
        "blocked the prompt",
        id="prompt-blocked",
    ),
    pytest.param(
        {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "candidates": []},
        "PROHIBITED_CONTENT",
        "PROHIBITED_CONTENT",
        id="prompt-prohibited",
    ),
    pytest.param(
        {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]},
        "IMAGE_SAFETY",
        "IMAGE_SAFETY",
        id="image-safety",
    ),
    pytest.param(
        answer({"text": "I can't make that picture."}, finish="NO_IMAGE"),
        "NO_IMAGE",
        "I can't make that picture",
        id="no-image",
    ),
    pytest.param(
        answer({"text": "Sure! Here is a description instead."}),
        "NO_IMAGE",
        "description instead",
        id="text-only-stop",
    ),
    pytest.param(
        answer(image_part(encode(solid((1, 1, 1))), thought=True), finish="STOP"),
        "NO_IMAGE",
        "without an image",
        id="only-thought-images",
    ),
    pytest.param({"candidates": []}, "NO_CANDIDATE", "no candidate", id="no-candidates"),
]


@pytest.mark.parametrize(("body", "reason", "message"), BLOCKS)
def test_blocks_and_imageless_answers_raise_generation_blocked(server, body, reason, message):
    server.script = [(200, body)]
    with pytest.raises(GenerationBlocked, match=message) as info:
        make(server).generate(solid((0, 0, 0)), "p")
    assert info.value.reason == reason
    assert isinstance(info.value, GeneratorError)
    assert isinstance(info.value, VisionBananaError)
    assert isinstance(info.value, RuntimeError)
    assert len(server.requests) == 1  # never retried


# --- retries --------------------------------------------------------------------------------------


def test_429_then_success(server):
    server.script = [(429, api_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")), OK]
    assert_same(make(server).generate(solid((0, 0, 0)), "p"), GREEN)
    assert len(server.requests) == 2
    # the retry is the same request
    assert server.requests[0]["json"] == server.requests[1]["json"]


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_server_errors_are_retried(server, status):
    server.script = [(status, api_error(status, "UNAVAILABLE", "try later"))] * 2 + [OK]
    assert_same(make(server).generate(solid((0, 0, 0)), "p"), GREEN)
    assert len(server.requests) == 3


def test_retries_give_up_after_max_retries(server):
    server.default = lambda body: (500, api_error(500, "INTERNAL", "boom"))
    with pytest.raises(GeneratorError, match=r"gave up after 3 attempts.*500.*boom"):
        make(server, max_retries=2).generate(solid((0, 0, 0)), "p")
    assert len(server.requests) == 3
    server.requests.clear()
    with pytest.raises(GeneratorError, match="gave up after 1 attempts"):
        make(server, max_retries=0).generate(solid((0, 0, 0)), "p")
    assert len(server.requests) == 1


def test_retry_after_header_is_honoured(server):
    server.script = [
        (503, api_error(503, "UNAVAILABLE", "busy"), {"headers": {"Retry-After": "0.3"}})
    ]
    start = time.monotonic()
    make(server, initial_backoff=0.0).generate(solid((0, 0, 0)), "p")
    assert time.monotonic() - start >= 0.3
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
    ],
)
def test_other_4xx_are_not_retried(server, status, name):
    server.default = lambda body: (status, api_error(status, name, "API key not valid"))
    with pytest.raises(GeneratorError, match=rf"HTTP {status} {name}: API key not valid") as info:
        make(server).generate(solid((0, 0, 0)), "p")
    assert not isinstance(info.value, GenerationBlocked)
    assert len(server.requests) == 1


def test_timeout_is_a_generator_error_naming_it_and_not_retried(server):
    server.script = [(200, OK[1], {"delay": 10})]
    start = time.monotonic()
    with pytest.raises(GeneratorError, match=r"timed out.*0\.3 s"):
        make(server, timeout=0.3).generate(solid((0, 0, 0)), "p")
    assert time.monotonic() - start < 5
    assert len(server.requests) == 1


def test_unreachable_server_is_retried_then_reported():
    # A port nobody listens on: bind, note the port, close.
    with http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler) as s:
        url = f"http://127.0.0.1:{s.server_address[1]}"
    gen = GeminiGenerator(api_key=KEY, base_url=url, max_retries=1, initial_backoff=0.0)
    with pytest.raises(GeneratorError, match=r"unreachable.*gave up after 2 attempts"):
        gen.generate(solid((0, 0, 0)), "p")


# --- batches and concurrency ------------------------------------------------------------------


def _answer_by_prompt(body):
    # Answer prompt "k" with a solid picture of grey level 10 k, after a short wait, so that
    # requests overlap and the order of answers differs from the order of requests.
    k = int(body["contents"][0]["parts"][1]["text"])
    return 200, answer(image_part(encode(solid((10 * k,) * 3)))), {"delay": 0.05 * (k % 3 + 1)}


def test_generate_batch_keeps_input_order_and_limits_concurrency(server):
    server.default = _answer_by_prompt
    gen = make(server, max_concurrency=3)
    prompts = [str(k) for k in range(10)]
    pictures = gen.generate_batch([solid((0, 0, 0))] * 10, prompts)
    for k, picture in enumerate(pictures):
        assert_same(picture, (10 * k,) * 3)
    assert len(server.requests) == 10
    assert 2 <= server.max_in_flight <= 3  # in parallel, never above the limit


def test_the_concurrency_limit_holds_across_threads(server):
    server.default = _answer_by_prompt
    gen = make(server, max_concurrency=2)
    threads = [
        threading.Thread(target=gen.generate, args=(solid((0, 0, 0)), str(k))) for k in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests) == 6
    assert server.max_in_flight == 2  # in parallel, never above the limit


def test_generate_batch_raises_the_first_failure(server):
    def answers(body):
        k = int(body["contents"][0]["parts"][1]["text"])
        if k == 2:
            return 200, {"promptFeedback": {"blockReason": "SAFETY"}}
        return _answer_by_prompt(body)

    server.default = answers
    with pytest.raises(GenerationBlocked) as info:
        make(server, max_concurrency=2).generate_batch([solid((0, 0, 0))] * 5, list("01234"))
    assert info.value.reason == "SAFETY"


def test_generate_batch_checks_its_arguments(server):
    gen = make(server)
    with pytest.raises(InvalidArgumentError, match=r"prompts must be one value or one per image"):
        gen.generate_batch([solid((0, 0, 0))], ["a", "b"])
    with pytest.raises(InvalidTypeError, match=r"images\[1\]"):
        gen.generate_batch([solid((0, 0, 0)), "photo.png"], ["a", "b"])
    with pytest.raises(InvalidTypeError, match=r"prompts\[0\]"):
        gen.generate_batch([solid((0, 0, 0))], [None])
    assert gen.generate_batch([], []) == []
    assert server.requests == []


# --- keys, clients, check ---------------------------------------------------------------------


def test_api_key_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    GeminiGenerator(base_url=server.url).generate(solid((0, 0, 0)), "p")
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    GeminiGenerator(base_url=server.url).generate(solid((0, 0, 0)), "p")
    GeminiGenerator(api_key="arg-key", base_url=server.url).generate(solid((0, 0, 0)), "p")
    keys = [r["headers"]["x-goog-api-key"] for r in server.requests]
    assert keys == ["gemini-key", "google-key", "arg-key"]


def test_missing_key_fails_at_construction():
    with pytest.raises(GeneratorError, match=r"GOOGLE_API_KEY.*GEMINI_API_KEY"):
        GeminiGenerator()


def test_a_ready_client(server):
    client = genai.Client(api_key="client-key", http_options=types.HttpOptions(base_url=server.url))
    gen = GeminiGenerator(client=client)
    assert gen.client is client
    assert_same(gen.generate(solid((0, 0, 0)), "p"), GREEN)
    assert server.requests[0]["headers"]["x-goog-api-key"] == "client-key"
    with pytest.raises(InvalidArgumentError, match="not both"):
        GeminiGenerator(client=client, api_key="x")


def test_check_looks_up_the_model(server):
    server.script = [(200, {"name": f"models/{MODEL}", "displayName": "Nano Banana Pro"})]
    gen = make(server)
    gen.check()
    assert server.requests[0]["method"] == "GET"
    match = PATH.fullmatch(server.requests[0]["path"])
    assert match["model"] == MODEL
    assert match["method"] is None
    server.script = [(404, api_error(404, "NOT_FOUND", f"models/{MODEL} is not found"))]
    with pytest.raises(GeneratorError, match="404 NOT_FOUND"):
        gen.check()


def test_bad_arguments():
    for kwargs, match in [
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"image_size": "8K"}, "image_size"),
        ({"input_format": "gif"}, "input_format"),
        ({"model": ""}, "model"),
    ]:
        with pytest.raises(InvalidArgumentError, match=match):
            GeminiGenerator(api_key=KEY, **kwargs)
    gen = GeminiGenerator(api_key=KEY)
    assert gen.name == "gemini"
    assert gen.model == MODEL
    with pytest.raises(InvalidTypeError, match="image"):
        gen.generate(np.zeros((4, 4, 3), np.float32), "p")
    with pytest.raises(InvalidArgumentError, match="shape"):
        gen.generate(np.zeros((4, 4, 2), np.uint8), "p")
    with pytest.raises(InvalidArgumentError, match="prompt"):
        gen.generate(solid((0, 0, 0)), "  ")


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ImportError, match=r'pip install "vision-banana\[gemini\]"'):
        GeminiGenerator(api_key=KEY)


def test_docstring_examples():
    assert doctest.testmod(gemini, raise_on_error=False).failed == 0
