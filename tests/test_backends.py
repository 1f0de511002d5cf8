"""Generator backends: the base class, the callable and HTTP adapters, the reference renderer."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from vision_banana.backends import (
    CallableGenerator,
    Degradation,
    GenerationBlocked,
    Generator,
    GeneratorError,
    HTTPGenerator,
    ReferenceGenerator,
)

PHOTO = np.zeros((24, 32, 3), np.uint8)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class _Echo(Generator):
    name = "echo"

    def __init__(self):
        self.calls = []

    def generate(self, image, prompt, *, seed=None):
        self.calls.append((prompt, seed))
        return Image.new("RGB", (16, 8), (seed or 0, 0, 0))


def test_errors_are_runtime_errors():
    assert issubclass(GeneratorError, RuntimeError)
    assert issubclass(GeneratorError, vb.VisionBananaError)
    assert issubclass(GenerationBlocked, GeneratorError)


def test_base_class_is_abstract_and_batches_sequentially():
    with pytest.raises(TypeError):
        Generator()  # type: ignore[abstract]
    gen = _Echo()
    assert gen.requirements() == []
    assert gen.check() is None
    pictures = gen.generate_batch([PHOTO, PHOTO, PHOTO], "p", seeds=[1, 2, 3])
    assert [p.getpixel((0, 0))[0] for p in pictures] == [1, 2, 3]
    gen.generate_batch([PHOTO, PHOTO], ["a", "b"], seeds=7)
    assert gen.calls[-2:] == [("a", 7), ("b", 7)]
    with pytest.raises(vb.InvalidArgumentError, match="prompts must be one value or one per"):
        gen.generate_batch([PHOTO, PHOTO], ["a"])


def test_a_failing_check_stops_the_pipeline_before_any_work():
    class NeedsKey(_Echo):
        def requirements(self):
            return ["the EXAMPLE_KEY environment variable"]

        def check(self):
            raise GeneratorError("NeedsKey needs the EXAMPLE_KEY environment variable")

    gen = NeedsKey()
    with pytest.raises(GeneratorError, match="EXAMPLE_KEY"):
        vb.VisionBanana(gen)
    assert gen.calls == []


@pytest.mark.parametrize(
    "answer",
    [
        Image.new("RGBA", (5, 4), (1, 2, 3, 4)),
        np.full((4, 5, 3), 7, np.uint8),
        np.full((4, 5, 3), 0.5, np.float32),
        _png(np.full((4, 5, 3), 9, np.uint8)),
    ],
)
def test_callable_adapter_accepts_images_arrays_and_bytes(answer):
    seen = []
    gen = CallableGenerator(
        lambda image, prompt, seed: seen.append((image, prompt, seed)) or answer
    )
    picture = gen.generate(np.zeros((3, 3, 3), np.uint8), "hello", seed=5)
    assert picture.mode == "RGB"
    assert picture.size == (5, 4)
    image, prompt, seed = seen[0]
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert (prompt, seed) == ("hello", 5)


def test_callable_adapter_errors():
    with pytest.raises(vb.InvalidTypeError, match="fn must be callable"):
        CallableGenerator(3)  # type: ignore[arg-type]

    def broken(image, prompt, seed):
        raise KeyError("boom")

    with pytest.raises(GeneratorError, match="broken failed: KeyError"):
        CallableGenerator(broken).generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match="PIL image, an"):
        CallableGenerator(lambda *a: "text").generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match="readable picture"):
        CallableGenerator(lambda *a: b"not an image").generate(PHOTO, "p")


# --- HTTP --------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    requests: list = []  # noqa: RUF012

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.requests.append((self.path, dict(self.headers), body))
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["image"]))))
        answer = np.full((image.shape[0] * 2, image.shape[1] * 2, 3), 200, np.uint8)
        if self.path == "/raw":
            self._send(200, "image/png", _png(answer))
        elif self.path == "/json":
            encoded = base64.b64encode(_png(answer)).decode()
            self._send(200, "application/json", json.dumps({"image": encoded}).encode())
        elif self.path == "/dataurl":
            encoded = "data:image/png;base64," + base64.b64encode(_png(answer)).decode()
            self._send(200, "application/json", json.dumps({"image": encoded}).encode())
        elif self.path == "/error":
            self._send(503, "text/plain", b"model overloaded, try later")
        elif self.path == "/text":
            self._send(200, "text/html", b"<html>hello</html>")
        elif self.path == "/badjson":
            self._send(200, "application/json", b'{"picture": "x"}')
        elif self.path == "/slow":
            threading.Event().wait(1.0)
            self._send(200, "image/png", _png(answer))

    def _send(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up (the timeout test)
            self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["/raw", "/json", "/dataurl"])
def test_http_generator_round_trip(server, path):
    gen = HTTPGenerator(server + path, timeout=10, headers={"Authorization": "Bearer t"})
    picture = gen.generate(PHOTO, "Generate a depth map", seed=3)
    assert picture.size == (64, 48)
    assert picture.getpixel((0, 0)) == (200, 200, 200)
    sent_path, headers, body = _Handler.requests[-1]
    assert sent_path == path
    assert headers["Authorization"] == "Bearer t"
    assert body["prompt"] == "Generate a depth map"
    assert body["seed"] == 3
    assert body["mime_type"] == "image/png"


def test_http_generator_errors(server):
    with pytest.raises(GeneratorError, match=r"HTTP 503 .*model overloaded"):
        HTTPGenerator(server + "/error").generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match=r"text/html, not a picture: '<html>hello"):
        HTTPGenerator(server + "/text").generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match="without a base64 'image' field"):
        HTTPGenerator(server + "/badjson").generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match=r"did not answer within 0\.2 s"):
        HTTPGenerator(server + "/slow", timeout=0.2).generate(PHOTO, "p")
    with pytest.raises(GeneratorError, match="cannot reach generator"):
        HTTPGenerator("http://127.0.0.1:1/x", timeout=5).generate(PHOTO, "p")
    with pytest.raises(vb.InvalidArgumentError, match="http:// or https://"):
        HTTPGenerator("ftp://example.com")


# --- reference ---------------------------------------------------------------------------------


def test_reference_renders_the_exact_targets():
    depth = np.linspace(0.5, 30, 24 * 32, dtype=np.float32).reshape(24, 32)
    labels = np.zeros((24, 32), np.int64)
    labels[5:15, 5:20] = 1
    gen = ReferenceGenerator(depth=depth, labels=labels, classes=["sky", "cat"])
    picture = np.asarray(gen.generate(PHOTO, vb.depth_prompt()))
    np.testing.assert_array_equal(picture, vb.encode_depth(depth))
    prompt = vb.semantic_prompt({"cat": "red"})
    picture = np.asarray(gen.generate(PHOTO, prompt))
    expected = np.where((labels == 1)[..., None], np.uint8([255, 0, 0]), np.uint8(0))
    np.testing.assert_array_equal(picture, expected)
    with pytest.raises(GeneratorError, match="no normals= ground truth"):
        gen.generate(PHOTO, vb.normals_prompt())
    with pytest.raises(GeneratorError, match="cannot tell the task"):
        gen.generate(PHOTO, "draw a cat")


def test_reference_degradation_is_deterministic_and_sized():
    depth = np.full((30, 40), 4.0, np.float32)
    gen = ReferenceGenerator(depth=depth, degrade=Degradation(pixels=4800 * 4), seed=1)
    first = np.asarray(gen.generate(PHOTO, vb.depth_prompt()))
    again = np.asarray(gen.generate(PHOTO, vb.depth_prompt()))
    other = np.asarray(gen.generate(PHOTO, vb.depth_prompt(), seed=2))
    assert first.shape == (128, 160, 3)  # 4x the area, sides rounded to 16
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    with pytest.raises(vb.InvalidArgumentError, match="jpeg_quality"):
        Degradation(jpeg_quality=100)


def test_reference_needs_ground_truth():
    with pytest.raises(vb.InvalidArgumentError, match="needs ground truth"):
        ReferenceGenerator()
    with pytest.raises(vb.InvalidArgumentError, match="labels= and classes= go together"):
        ReferenceGenerator(labels=np.zeros((2, 2), int))
    assert "not a model" in ReferenceGenerator.__doc__
