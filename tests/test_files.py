"""Tests for vision_banana.decode_files: many files read and decoded in Rust threads."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import vision_banana as vb
from vision_banana.errors import ImageReadError, InvalidArgumentError, InvalidTypeError

SEMANTIC_COLORS = {"cat": (255, 0, 0), "lock": (0, 0, 255)}


def _picture(seed: int, shape: tuple[int, int] = (37, 53)) -> np.ndarray:
    """A generated-looking picture: blocks of a few colours with colour noise."""
    rng = np.random.default_rng(seed)
    colours = np.array([[255, 0, 0], [0, 0, 255], [0, 0, 0], [255, 255, 0], [20, 200, 90]])
    blocks = rng.integers(0, len(colours), (shape[0] // 8 + 1, shape[1] // 8 + 1))
    labels = np.kron(blocks, np.ones((8, 8), int))[: shape[0], : shape[1]]
    noisy = colours[labels] + rng.integers(-6, 7, (*shape, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture
def pictures(tmp_path: Path) -> list[tuple[Path, np.ndarray]]:
    out = []
    for i in range(6):
        picture = _picture(i, (30 + i, 40 + 2 * i))
        path = tmp_path / f"p{i}.png"
        vb.write_image(path, picture)
        out.append((path, picture))
    return out


OPTIONS: list[tuple[str, dict[str, object]]] = [
    ("depth", {}),
    ("depth", {"return_distance": True, "max_depth": 50.0, "colormap": "cube_walk"}),
    ("normals", {"frame": "opencv", "sky_tolerance": 20.0}),
    ("semantic", {"colors": SEMANTIC_COLORS}),
    ("semantic", {"colors": SEMANTIC_COLORS, "max_distance": 30, "return_distance": True}),
    ("referring", {"colors": ["yellow", (20, 200, 90)]}),
    ("instances", {"tau": 20.0, "connectivity": 8}),
]


def _same(a: object, b: object) -> None:
    """The results of two decodes are identical (arrays, tuples of arrays, Instances)."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, vb.Instances):
        assert isinstance(b, vb.Instances)
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.colors, b.colors)
        np.testing.assert_array_equal(a.scores, b.scores)
    else:
        assert isinstance(a, np.ndarray)
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("task", "options"), OPTIONS, ids=[t for t, _ in OPTIONS])
@pytest.mark.parametrize("workers", [1, 3])
def test_every_task_gives_what_its_decoder_gives(
    pictures: list[tuple[Path, np.ndarray]], task: str, options: dict[str, object], workers: int
) -> None:
    decoder = vb.files.TASKS[task]
    paths = [p for p, _ in pictures]
    results = list(vb.decode_files(task, paths, workers=workers, **options))
    assert len(results) == len(paths)
    for (_, picture), result in zip(pictures, results, strict=True):
        _same(result, decoder(picture, **options))


def test_bytes_and_paths_mix_and_order_is_kept(pictures: list[tuple[Path, np.ndarray]]) -> None:
    sources: list[object] = []
    for i, (path, _) in enumerate(pictures):
        data = path.read_bytes()
        sources.append([path, str(path), data, bytearray(data), memoryview(data)][i % 5])
    results = list(vb.decode_files("depth", sources, workers=2))
    for (_, picture), depth in zip(pictures, results, strict=True):
        np.testing.assert_array_equal(depth, vb.decode_depth(picture))


def test_16_bit_and_rgba_pngs(tmp_path: Path) -> None:
    rgba = np.dstack([_picture(7), np.full((37, 53), 9, np.uint8)])
    wide = _picture(8).astype(np.uint16) * 257 + 3
    vb.write_image(tmp_path / "rgba.png", rgba)
    vb.write_image(tmp_path / "wide.png", wide)
    depth = list(vb.decode_files("depth", [tmp_path / "rgba.png", tmp_path / "wide.png"]))
    np.testing.assert_array_equal(depth[0], vb.decode_depth(rgba[..., :3]))
    np.testing.assert_array_equal(depth[1], vb.decode_depth(wide))


def test_jpeg_and_webp_go_through_pillow(tmp_path: Path) -> None:
    picture = _picture(9)
    vb.write_image(tmp_path / "a.jpg", picture)
    vb.write_image(tmp_path / "b.webp", picture)
    results = list(
        vb.decode_files(
            "semantic", [tmp_path / "a.jpg", tmp_path / "b.webp"], colors=SEMANTIC_COLORS
        )
    )
    np.testing.assert_array_equal(
        results[0], vb.decode_semantic(vb.read_image(tmp_path / "a.jpg"), SEMANTIC_COLORS)
    )
    np.testing.assert_array_equal(results[1], vb.decode_semantic(picture, SEMANTIC_COLORS))


def _png_header(width: int, height: int) -> bytes:
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def test_failures_are_returned_and_the_rest_goes_on(
    tmp_path: Path, pictures: list[tuple[Path, np.ndarray]]
) -> None:
    good, picture = pictures[0]
    data = good.read_bytes()
    bad_crc = bytearray(data)  # the image data intact, its chunk's checksum wrong
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    bad_crc[idat + 4 + length] ^= 0xFF
    (tmp_path / "notes.txt").write_text("not a picture")
    sources = [
        good,
        tmp_path / "missing.png",
        data[: len(data) // 2],  # cut short
        bytes(bad_crc),  # wrong CRC
        _png_header(0, 0),  # a 0x0 image
        _png_header(65535, 65535) + b"\x00" * 30,  # a decompression bomb
        b"these bytes are not an image",
        tmp_path / "notes.txt",
        data,
    ]
    results = list(vb.decode_files("depth", sources, workers=2))
    assert len(results) == len(sources)
    np.testing.assert_array_equal(results[0], vb.decode_depth(picture))
    np.testing.assert_array_equal(results[-1], vb.decode_depth(picture))
    expected = [
        rf"'{tmp_path / 'missing.png'}'.*No such file",
        r"<bytes: sources\[2\]>.*truncated",
        r"<bytes: sources\[3\]>.*(CRC|crc)",
        r"<bytes: sources\[4\]>.*corrupt",
        r"<bytes: sources\[5\]>.*65535 x 65535.*decompression bomb",
        r"<bytes: sources\[6\]>.*not an image",
        rf"'{tmp_path / 'notes.txt'}'.*not an image",
    ]
    for result, pattern in zip(results[1:-1], expected, strict=True):
        assert isinstance(result, ImageReadError), result
        assert re.search(pattern, str(result)), (pattern, str(result))


def test_options_are_checked_before_any_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="task must be one of depth, normals"):
        vb.decode_files("segmentation", [tmp_path / "x.png"])
    with pytest.raises(InvalidTypeError, match=r"unknown option\(s\) lambda_; decode_depth takes"):
        vb.decode_files("depth", [tmp_path / "x.png"], lambda_=3)
    with pytest.raises(InvalidArgumentError, match=r"decode_files\('semantic'\) needs colors="):
        vb.decode_files("semantic", [tmp_path / "x.png"])
    with pytest.raises(InvalidArgumentError, match="lam"):
        vb.decode_files("depth", [tmp_path / "x.png"], lam=-0.5)
    with pytest.raises(InvalidArgumentError, match="tau must be above 0"):
        vb.decode_files("instances", [tmp_path / "x.png"], tau=0)
    with pytest.raises(InvalidArgumentError, match="workers must be a positive integer, got 0"):
        vb.decode_files("depth", [tmp_path / "x.png"], workers=0)
    with pytest.raises(InvalidTypeError, match="sources must be a sequence"):
        vb.decode_files("depth", str(tmp_path / "x.png"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"sources\[1\] must be a path or the bytes"):
        vb.decode_files("depth", [tmp_path / "x.png", 42])  # type: ignore[list-item]


def test_no_sources_yields_nothing() -> None:
    assert list(vb.decode_files("depth", [])) == []


def test_stopping_early_leaves_no_work_running(pictures: list[tuple[Path, np.ndarray]]) -> None:
    paths = [p for p, _ in pictures] * 50
    results = vb.decode_files("depth", paths, workers=2)
    first = next(results)
    np.testing.assert_array_equal(first, vb.decode_depth(pictures[0][1]))
    results.close()  # the Rust side stops handing out work and joins its threads


# VmHWM is the peak resident memory; writing 5 to clear_refs resets it to the current resident
# memory. 1000 sources of a 1 MP picture: holding all results would take 4 GB of depth.
MEMORY_PROGRAM = textwrap.dedent(
    """
    import numpy as np
    import vision_banana as vb

    def status(key):
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith(key + ":"))
        return int(line.split()[1]) * 1024

    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    vb.write_image("{path}", picture)
    data = open("{path}", "rb").read()
    list(vb.decode_files("depth", [data] * 4, workers=2))  # warm up
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    count = 0
    for depth in vb.decode_files("depth", ["{path}"] * 1000, workers=2):
        count += depth.shape == (1024, 1024)
    print(count, status("VmHWM") - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_memory_over_1000_files_is_bounded(tmp_path: Path) -> None:
    program = MEMORY_PROGRAM.format(path=tmp_path / "noise.png")
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    count, growth = map(int, result.stdout.split())
    assert count == 1000
    # Per item in flight: the file (3 MB of noise), its pixels (3 MB) and the depth (4 MB); at
    # most 2 * workers results held, plus the one being looked at: well under 100 MB, where
    # holding them all would take 4 GB.
    assert growth < 100 * 2**20, f"{growth / 2**20:.0f} MiB"
