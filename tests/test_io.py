"""Tests for vision_banana.io: exact reading and writing of 8-bit and 16-bit pictures."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile, features

from vision_banana import io as vb_io
from vision_banana.errors import (
    ImageReadError,
    InvalidArgumentError,
    InvalidTypeError,
    VisionBananaError,
)
from vision_banana.io import read_image, write_image

needs_webp = pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _full_range_uint16(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random 16-bit samples that use all 16 bits, including 0 and 65535."""
    values = _rng(seed).integers(0, 65536, size=shape, dtype=np.uint16)
    values.flat[0] = 0
    values.flat[-1] = 65535
    assert np.any(values & 0x00FF), "the low bytes must carry information"
    assert np.any(values & 0xFF00)
    return values


# An independent PNG writer for the tests: pure Python, every filter type, optional Adam7 interlace.


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filtered_rows(image: np.ndarray, bpp: int, first_filter: int) -> bytes:
    """Big-endian rows of `image`, row y filtered with type (first_filter + y) % 5."""
    out = bytearray()
    prior = None
    for y, row_samples in enumerate(image):
        row = row_samples.astype(">u2" if image.dtype == np.uint16 else np.uint8).tobytes()
        kind = (first_filter + y) % 5
        out.append(kind)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prior[i] if prior is not None else 0
            c = prior[i - bpp] if prior is not None and i >= bpp else 0
            predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            out.append((x - predictor) % 256)
        prior = row
    return bytes(out)


def _png16(
    samples: np.ndarray,
    *,
    interlace: bool = False,
    trns: tuple[int, ...] | None = None,
    bit_depth: int = 16,
) -> bytes:
    """A 16-bit (or 8-bit) PNG (colour type from the channel count) using all five filter types."""
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    image = samples.reshape(samples.shape[0], samples.shape[1], channels)
    bpp = bit_depth // 8 * channels
    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4)]
        passes += [(0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(
            _filtered_rows(image[y0::dy, x0::dx], bpp, first_filter=n)
            for n, (x0, y0, dx, dy) in enumerate(passes)
            if image[y0::dy, x0::dx].size
        )
    else:
        raw = _filtered_rows(image, bpp, first_filter=0)
    height, width = samples.shape[:2]
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlace))
    chunks = [_chunk(b"IHDR", ihdr)]
    if trns is not None:
        chunks.append(_chunk(b"tRNS", struct.pack(f">{len(trns)}H", *trns)))
    chunks += [_chunk(b"IDAT", zlib.compress(raw)), _chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _ihdr(path: Path) -> tuple[int, int]:
    """(bit depth, colour type) of a PNG file."""
    data = path.read_bytes()
    assert data[12:16] == b"IHDR"
    return data[24], data[25]


# ------------------------------------------------------------------------------ 8-bit PNG reading


def test_rgb_png_round_trip(tmp_path: Path) -> None:
    pixels = _rng().integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)
    for mode in ("rgb", "keep"):
        image = read_image(path, mode=mode)
        assert image.dtype == np.uint8
        np.testing.assert_array_equal(image, pixels)
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., :3], pixels)
    assert np.all(rgba[..., 3] == 255)


def test_rgba_png_round_trip(tmp_path: Path) -> None:
    pixels = _rng(1).integers(0, 256, (9, 14, 4), dtype=np.uint8)
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels).save(path)
    np.testing.assert_array_equal(read_image(path, mode="rgba"), pixels)
    np.testing.assert_array_equal(read_image(path, mode="keep"), pixels)
    np.testing.assert_array_equal(read_image(path), pixels[..., :3])


def test_grey_png_round_trip(tmp_path: Path) -> None:
    grey = _rng(2).integers(0, 256, (12, 7), dtype=np.uint8)
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)
    keep = read_image(path, mode="keep")
    assert keep.shape == (12, 7)
    np.testing.assert_array_equal(keep, grey)
    np.testing.assert_array_equal(read_image(path), np.stack([grey] * 3, axis=2))
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., :3], np.stack([grey] * 3, axis=2))
    assert np.all(rgba[..., 3] == 255)


def test_grey_alpha_png(tmp_path: Path) -> None:
    la = _rng(3).integers(0, 256, (5, 6, 2), dtype=np.uint8)
    path = tmp_path / "la.png"
    Image.merge("LA", [Image.fromarray(la[..., 0]), Image.fromarray(la[..., 1])]).save(path)
    np.testing.assert_array_equal(read_image(path, mode="keep"), la)
    np.testing.assert_array_equal(read_image(path), np.repeat(la[..., :1], 3, axis=2))
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., 3], la[..., 1])
    np.testing.assert_array_equal(rgba[..., 0], la[..., 0])


def test_palette_png_expands_to_its_colours(tmp_path: Path) -> None:
    palette = _rng(4).integers(0, 256, (16, 3), dtype=np.uint8)
    indices = _rng(5).integers(0, 16, (10, 11), dtype=np.uint8)
    image = Image.new("P", (11, 10))
    image.putdata(indices.ravel().tolist())
    image.putpalette(palette.ravel().tolist())
    path = tmp_path / "palette.png"
    image.save(path)
    expected = palette[indices]
    np.testing.assert_array_equal(read_image(path), expected)
    np.testing.assert_array_equal(read_image(path, mode="keep"), expected)
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., :3], expected)
    assert np.all(rgba[..., 3] == 255)


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (3, 2))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.putdata([0, 1, 2, 2, 1, 0])
    path = tmp_path / "palette_trns.png"
    image.save(path, transparency=1)
    keep = read_image(path, mode="keep")
    assert keep.shape == (2, 3, 4)
    np.testing.assert_array_equal(keep[..., 3], [[255, 0, 255], [255, 0, 255]])
    np.testing.assert_array_equal(keep[0, 2], [0, 0, 255, 255])
    assert read_image(path).shape == (2, 3, 3)


def test_grey_and_rgb_png_transparent_colour(tmp_path: Path) -> None:
    grey = np.array([[0, 7], [7, 255]], np.uint8)
    path = tmp_path / "grey_trns.png"
    Image.fromarray(grey).save(path, transparency=7)
    np.testing.assert_array_equal(read_image(path, mode="rgba")[..., 3], [[255, 0], [0, 255]])
    np.testing.assert_array_equal(read_image(path, mode="keep"), grey)

    rgb = np.array([[[1, 2, 3], [1, 2, 4]]], np.uint8)
    path = tmp_path / "rgb_trns.png"
    Image.fromarray(rgb).save(path, transparency=(1, 2, 3))
    np.testing.assert_array_equal(read_image(path, mode="rgba")[..., 3], [[0, 255]])


def test_one_bit_png_is_scaled_to_0_and_255(tmp_path: Path) -> None:
    bits = np.array([[0, 1, 1], [1, 0, 0]], dtype=bool)
    path = tmp_path / "bits.png"
    Image.fromarray(bits).save(path, transparency=1)
    keep = read_image(path, mode="keep")
    assert keep.dtype == np.uint8
    np.testing.assert_array_equal(keep, bits * 255)
    np.testing.assert_array_equal(read_image(path, mode="rgba")[..., 3], np.where(bits, 0, 255))


def test_results_are_fresh_writable_contiguous(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    Image.fromarray(_rng().integers(0, 256, (4, 5, 4), dtype=np.uint8)).save(path)
    for mode in ("rgb", "rgba", "keep"):
        image = read_image(path, mode=mode)
        assert image.flags.writeable
        assert image.flags.c_contiguous
        # Its own memory: not a view into a larger numpy array (a Rust buffer may own it).
        base = image.base
        assert not isinstance(base, np.ndarray) or base.flags.owndata
        assert base is None or not isinstance(base, np.ndarray) or base.nbytes == image.nbytes


# ---------------------------------------------------------------------------------------- 16-bit


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_write_image_16_bit_png_round_trip(tmp_path: Path, channels: int) -> None:
    shape = (31, 29) if channels == 1 else (31, 29, channels)
    samples = _full_range_uint16(shape, seed=channels)
    path = tmp_path / f"deep{channels}.png"
    write_image(path, samples)
    assert _ihdr(path) == (16, {1: 0, 3: 2, 4: 6}[channels])
    image = read_image(path, mode="keep")
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image, samples)


def test_16_bit_rgb_png_all_bits(tmp_path: Path) -> None:
    """The case Pillow alone gets wrong: it keeps only the high byte of 16-bit colour."""
    samples = _full_range_uint16((64, 48, 3), seed=7)
    path = tmp_path / "rgb16.png"
    write_image(path, samples)
    image = read_image(path)
    assert image.dtype == np.uint16
    assert image.shape == (64, 48, 3)
    np.testing.assert_array_equal(image, samples)
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., :3], samples)
    assert np.all(rgba[..., 3] == 65535)


def test_written_16_bit_pngs_decode_in_pillow(tmp_path: Path) -> None:
    """Pillow's own decoder checks our encoder: exact for grey, the high byte for colour."""
    grey = _full_range_uint16((40, 33), seed=8)
    write_image(tmp_path / "grey16.png", grey)
    with Image.open(tmp_path / "grey16.png") as image:
        np.testing.assert_array_equal(np.array(image).astype(np.uint16), grey)
    rgb = _full_range_uint16((40, 33, 3), seed=9)
    write_image(tmp_path / "rgb16.png", rgb)
    with Image.open(tmp_path / "rgb16.png") as image:
        pillow = np.array(image)
    expected = rgb if pillow.dtype == np.uint16 else (rgb >> 8).astype(np.uint8)
    np.testing.assert_array_equal(pillow, expected)


def test_16_bit_grey_png_written_by_pillow(tmp_path: Path) -> None:
    grey = _full_range_uint16((20, 21), seed=10)
    path = tmp_path / "pillow_grey16.png"
    Image.fromarray(grey).save(path)
    assert _ihdr(path) == (16, 0)
    image = read_image(path, mode="keep")
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image, grey)
    np.testing.assert_array_equal(read_image(path), np.stack([grey] * 3, axis=2))
    rgba = read_image(path, mode="rgba")
    assert rgba.dtype == np.uint16
    assert np.all(rgba[..., 3] == 65535)


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(13, 11), (1, 1), (3, 9), (10, 2)])
def test_16_bit_png_every_filter_and_interlace(
    channels: int, interlace: bool, size: tuple[int, int]
) -> None:
    shape = size if channels == 1 else (*size, channels)
    samples = _full_range_uint16(shape, seed=sum(shape)) if np.prod(shape) > 1 else None
    if samples is None:
        samples = np.full(shape, 0x1234, np.uint16)
    data = _png16(samples, interlace=interlace)
    np.testing.assert_array_equal(read_image(data, mode="keep"), samples)


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_8_bit_png_every_filter_and_interlace_reads_as_pillow(
    channels: int, interlace: bool
) -> None:
    shape = (13, 11) if channels == 1 else (13, 11, channels)
    samples = _rng(channels).integers(0, 256, shape, dtype=np.uint8)
    data = _png16(samples, interlace=interlace, bit_depth=8)
    np.testing.assert_array_equal(read_image(data, mode="keep"), samples)
    with Image.open(io.BytesIO(data)) as pillow:
        np.testing.assert_array_equal(read_image(data), np.asarray(pillow.convert("RGB")))
        if channels != 2:  # Pillow's LA to RGBA conversion is not a plain copy of the alpha
            np.testing.assert_array_equal(
                read_image(data, mode="rgba"), np.asarray(pillow.convert("RGBA"))
            )


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_low_bit_palette_png_reads_as_pillow(tmp_path: Path, bits: int) -> None:
    colours = 2**bits
    palette = _rng(bits).integers(0, 256, (colours, 3), dtype=np.uint8)
    indices = _rng(bits + 1).integers(0, colours, (9, 13), dtype=np.uint8)
    image = Image.new("P", (13, 9))
    image.putdata(indices.ravel().tolist())
    image.putpalette(palette.ravel().tolist())
    path = tmp_path / "palette.png"
    alpha = bytes(range(0, 256, 256 // colours))[: max(1, colours // 2)]
    image.save(path, bits=bits, transparency=alpha)
    assert _ihdr(path) == (bits, 3)
    with Image.open(path) as pillow:
        expected = np.asarray(pillow.convert("RGBA"))
    np.testing.assert_array_equal(expected[..., :3], palette[indices])
    np.testing.assert_array_equal(read_image(path, mode="rgba"), expected)
    np.testing.assert_array_equal(read_image(path, mode="keep"), expected)
    np.testing.assert_array_equal(read_image(path), expected[..., :3])


def test_16_bit_grey_alpha_png(tmp_path: Path) -> None:
    samples = _full_range_uint16((8, 9, 2), seed=11)
    path = tmp_path / "la16.png"
    path.write_bytes(_png16(samples))
    np.testing.assert_array_equal(read_image(path, mode="keep"), samples)
    rgba = read_image(path, mode="rgba")
    np.testing.assert_array_equal(rgba[..., 3], samples[..., 1])
    np.testing.assert_array_equal(rgba[..., :3], np.repeat(samples[..., :1], 3, axis=2))


def test_16_bit_rgb_png_transparent_colour() -> None:
    samples = _full_range_uint16((4, 5, 3), seed=12)
    key = tuple(int(v) for v in samples[1, 2])
    rgba = read_image(_png16(samples, trns=key), mode="rgba")
    assert rgba.dtype == np.uint16
    expected = np.where(np.all(samples == key, axis=2), 0, 65535)
    np.testing.assert_array_equal(rgba[..., 3], expected)
    assert rgba[1, 2, 3] == 0


def test_large_smooth_16_bit_png_is_exact_and_compressed(tmp_path: Path) -> None:
    """Larger than one filtering band; adaptive filtering makes smooth depth maps small."""
    y, x = np.mgrid[0:1100, 0:700]
    smooth = np.stack([x * 93, y * 59, (x + y) * 36], axis=2).astype(np.uint16)
    path = tmp_path / "smooth16.png"
    write_image(path, smooth)
    np.testing.assert_array_equal(read_image(path), smooth)
    fast_size = path.stat().st_size
    assert fast_size < smooth.nbytes / 2
    write_image(path, smooth, compression="balanced")
    np.testing.assert_array_equal(read_image(path), smooth)
    assert path.stat().st_size < smooth.nbytes / 20


@pytest.mark.parametrize("compression", vb_io.PNG_COMPRESSION)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_every_compression_level_is_lossless(tmp_path: Path, compression: str, dtype: type) -> None:
    y, x = np.mgrid[0:40, 0:50]
    smooth = np.stack([x * 5, y * 6, x + y], axis=2).astype(dtype)
    path = tmp_path / "level.png"
    write_image(path, smooth, compression=compression)
    np.testing.assert_array_equal(read_image(path), smooth)
    with Image.open(path) as pillow:  # a valid PNG for other readers too
        pillow.load()
        assert pillow.size == (50, 40)


def test_stronger_compression_makes_smaller_files(tmp_path: Path) -> None:
    y, x = np.mgrid[0:200, 0:300]
    picture = np.stack([x % 256, y, (x * y) % 251], axis=2).astype(np.uint8)
    sizes = {}
    for level in ("none", "fast", "high"):
        write_image(tmp_path / f"{level}.png", picture, compression=level)
        sizes[level] = (tmp_path / f"{level}.png").stat().st_size
    assert sizes["none"] > picture.nbytes
    assert sizes["none"] > sizes["fast"] > sizes["high"]


@pytest.mark.parametrize("compression", ["best", "", "FAST", 6])
def test_unknown_compression_is_refused(tmp_path: Path, compression: object) -> None:
    with pytest.raises(InvalidArgumentError, match="compression must be one of none, fastest"):
        write_image(tmp_path / "x.png", np.zeros((2, 2), np.uint8), compression=compression)  # type: ignore[arg-type]
    assert not (tmp_path / "x.png").exists()


# --------------------------------------------------------------------------------- WebP and JPEG


@needs_webp
@pytest.mark.parametrize("channels", [3, 4])
def test_webp_lossless_round_trip(tmp_path: Path, channels: int) -> None:
    pixels = _rng(13).integers(0, 256, (19, 21, channels), dtype=np.uint8)
    if channels == 4:
        pixels[:4, :4, 3] = 0  # colours under transparent pixels must survive too
    path = tmp_path / "image.webp"
    write_image(path, pixels)
    with Image.open(path) as image:
        assert image.format == "WEBP"
    np.testing.assert_array_equal(read_image(path, mode="keep"), pixels)


@needs_webp
def test_webp_written_by_pillow(tmp_path: Path) -> None:
    pixels = _rng(14).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    path = tmp_path / "pillow.webp"
    Image.fromarray(pixels).save(path, lossless=True)
    np.testing.assert_array_equal(read_image(path), pixels)


@needs_webp
def test_grey_webp_reads_back_as_rgb(tmp_path: Path) -> None:
    grey = _rng(15).integers(0, 256, (6, 7), dtype=np.uint8)
    path = tmp_path / "grey.webp"
    write_image(path, grey)
    np.testing.assert_array_equal(read_image(path), np.stack([grey] * 3, axis=2))


def _smooth_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)


def test_jpeg_read_equals_pillow_decode(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    Image.fromarray(_smooth_rgb()).save(path, quality=85)
    with Image.open(path) as image:
        expected = np.array(image.convert("RGB"))
    np.testing.assert_array_equal(read_image(path), expected)
    np.testing.assert_array_equal(read_image(path, mode="keep"), expected)


def test_grey_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "grey.jpeg"
    Image.fromarray(_smooth_rgb()[..., 0]).save(path)
    with Image.open(path) as image:
        expected = np.array(image)
    keep = read_image(path, mode="keep")
    assert keep.ndim == 2
    np.testing.assert_array_equal(keep, expected)


def test_write_jpeg_is_close(tmp_path: Path) -> None:
    pixels = _smooth_rgb()
    path = tmp_path / "out.JPG"
    write_image(path, pixels)
    with Image.open(path) as image:
        assert image.format == "JPEG"
    back = read_image(path)
    assert np.abs(back.astype(int) - pixels).mean() < 2.0


# ---------------------------------------------------------------------------------------- sources


def test_bytes_and_file_objects(tmp_path: Path) -> None:
    pixels = _rng(16).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    path = tmp_path / "src.png"
    write_image(path, pixels)
    data = path.read_bytes()
    np.testing.assert_array_equal(read_image(data), pixels)
    np.testing.assert_array_equal(read_image(bytearray(data)), pixels)
    np.testing.assert_array_equal(read_image(memoryview(data)), pixels)
    np.testing.assert_array_equal(read_image(io.BytesIO(data)), pixels)
    with open(path, "rb") as file:
        np.testing.assert_array_equal(read_image(file), pixels)
    np.testing.assert_array_equal(read_image(str(path)), pixels)


def test_text_mode_file_object_is_a_type_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with open(path) as file, pytest.raises(InvalidTypeError, match="binary mode"):
        read_image(file)


@pytest.mark.parametrize("bad", [42, None, 3.5, ["a.png"]])
def test_wrong_path_type(bad: object) -> None:
    with pytest.raises(InvalidTypeError, match="path"):
        read_image(bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- errors


def _cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".png", lambda p, a: Image.fromarray(a).save(p)),
        (".jpg", lambda p, a: Image.fromarray(a).save(p, quality=90)),
        (".png", lambda p, a: write_image(p, a.astype(np.uint16) * 257)),
    ],
    ids=["png", "jpeg", "png16"],
)
def test_truncated_file_is_an_image_read_error(tmp_path: Path, suffix: str, writer) -> None:
    path = tmp_path / f"whole{suffix}"
    writer(path, _rng(17).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    cut = _cut_in_half(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ImageReadError, match=re.escape(str(cut))) as info:
        read_image(cut)
    assert "truncated" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, VisionBananaError)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_is_an_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.png"
    write_image(path, _rng(18).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF  # inside the IDAT chunk: its CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=re.escape(str(path))):
        read_image(path)


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (8-bit RGB) for any size, with a correct CRC."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    """A 65535 x 65535 header over a tiny body: refused on the header (12.9 GB of pixels)."""
    tiny_body = _chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + _chunk(b"IEND", b"")
    data = _png_header(65535, 65535) + tiny_body
    with pytest.raises(ImageReadError, match=r"<bytes>.*65535 x 65535.*decompression bomb"):
        read_image(data)


def test_pillow_pixel_limit_applies_to_png(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    write_image(path, np.zeros((40, 50, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 999)  # refused past twice the limit
    with pytest.raises(ImageReadError, match=r"40 = 2000 pixels\) exceeds the limit of 1998"):
        read_image(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert read_image(path).shape == (40, 50, 3)


@pytest.mark.parametrize(("width", "height"), [(0, 0), (0, 5), (5, 0)])
def test_empty_png_is_an_image_read_error(width: int, height: int) -> None:
    data = _png_header(width, height) + _chunk(b"IEND", b"")
    with pytest.raises(ImageReadError, match=r"<bytes>.*corrupt"):
        read_image(data)


def test_png_cut_anywhere_is_an_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "whole.png"
    write_image(path, _rng(19).integers(0, 256, (30, 40, 3), dtype=np.uint8))
    data = path.read_bytes()
    # Anywhere before the closing IEND chunk, which (as for Pillow) is not needed.
    for cut in (8, 12, 20, 33, 40, len(data) // 2, len(data) - 16, len(data) - 13):
        with pytest.raises(ImageReadError, match="<bytes>"):
            read_image(data[:cut])


def test_text_file_is_an_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "readme.txt"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageReadError, match=re.escape(str(path)) + ".*not an image") as info:
        read_image(path)
    assert isinstance(info.value, ValueError)


def test_empty_file_is_an_image_read_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(path)


def test_bad_bytes_name_the_source() -> None:
    with pytest.raises(ImageReadError, match="<bytes>"):
        read_image(b"GIF89a but not really")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.png"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))) as info:
        read_image(path)
    assert not isinstance(info.value, ImageReadError)


def test_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=re.escape(str(tmp_path))) as info:
        read_image(tmp_path)
    assert not isinstance(info.value, ImageReadError)


@pytest.mark.parametrize("mode", ["RGB", "bgr", "", "l"])
def test_bad_mode(tmp_path: Path, mode: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"mode.*'rgb', 'rgba', 'keep'") as info:
        read_image(tmp_path / "not_even_read.png", mode=mode)
    assert isinstance(info.value, ValueError)


def test_mode_of_wrong_type() -> None:
    with pytest.raises(InvalidTypeError, match="mode"):
        read_image(b"", mode=3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- writing


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_write_image_leaves_input_unchanged(tmp_path: Path, dtype: type, channels: int) -> None:
    shape = (6, 7) if channels == 1 else (6, 7, channels)
    array = _rng(19).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    before = array.copy()
    write_image(tmp_path / "out.png", array)
    np.testing.assert_array_equal(array, before)
    assert array.flags.writeable
    assert array.dtype == dtype


def test_write_image_accepts_read_only_input(tmp_path: Path) -> None:
    array = _rng(20).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    array.setflags(write=False)
    write_image(tmp_path / "ro.png", array)
    np.testing.assert_array_equal(read_image(tmp_path / "ro.png"), array)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, ::2],
        lambda a: a[::-1, ::-1],
        lambda a: a.transpose(1, 0, 2),
        np.asfortranarray,
        lambda a: a[..., [2, 1, 0]],
        lambda a: a[1:-1, 2:, :],
    ],
    ids=["strided", "reversed", "transposed", "fortran", "fancy", "sliced"],
)
def test_write_image_non_contiguous(tmp_path: Path, dtype: type, view) -> None:
    base = _rng(21).integers(0, np.iinfo(dtype).max + 1, (9, 12, 3), dtype=dtype)
    array = view(base)
    path = tmp_path / "view.png"
    write_image(path, array)
    np.testing.assert_array_equal(read_image(path), array)


def test_write_image_big_endian_uint16(tmp_path: Path) -> None:
    samples = _full_range_uint16((5, 6, 3), seed=22)
    write_image(tmp_path / "be.png", samples.astype(">u2"))
    np.testing.assert_array_equal(read_image(tmp_path / "be.png"), samples)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int32, np.uint32, bool])
def test_write_image_bad_dtype(tmp_path: Path, dtype: type) -> None:
    with pytest.raises(InvalidTypeError, match=r"array.*dtype") as info:
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), dtype=dtype))
    assert isinstance(info.value, TypeError)
    assert not (tmp_path / "x.png").exists()


def test_write_image_not_an_array(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match=r"array.*numpy\.ndarray"):
        write_image(tmp_path / "x.png", [[0, 1], [2, 3]])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "shape", [(4,), (4, 4, 1), (4, 4, 2), (4, 4, 5), (2, 4, 4, 3), (0, 4, 3), (4, 0)]
)
def test_write_image_bad_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    expected = r"array must have shape.*" + re.escape(str(shape))
    with pytest.raises(InvalidArgumentError, match=expected):
        write_image(tmp_path / "x.png", np.zeros(shape, np.uint8))


@pytest.mark.parametrize("name", ["x.bmp", "x.tiff", "x", "x.png.gz"])
def test_write_image_unknown_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match="extension"):
        write_image(tmp_path / name, np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize("name", ["x.jpg", "x.webp"])
def test_write_image_16_bit_needs_png(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"16-bit.*PNG"):
        write_image(tmp_path / name, np.zeros((2, 2, 3), np.uint16))


def test_write_image_jpeg_has_no_alpha(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="alpha"):
        write_image(tmp_path / "x.jpg", np.zeros((2, 2, 4), np.uint8))


def test_write_image_bad_path_type() -> None:
    with pytest.raises(InvalidTypeError, match="path"):
        write_image(7, np.zeros((2, 2, 3), np.uint8))  # type: ignore[arg-type]


def test_write_image_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.png"
    with pytest.raises(FileNotFoundError):
        write_image(target, np.zeros((2, 2, 3), np.uint8))
    assert not (tmp_path / "missing").exists()


def test_write_image_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    write_image(path, np.zeros((30, 30, 3), np.uint8))
    write_image(path, np.full((2, 3), 9, np.uint8))
    np.testing.assert_array_equal(read_image(path, mode="keep"), np.full((2, 3), 9, np.uint8))


# ------------------------------------------------------------------------------------- properties


_shapes = st.tuples(st.integers(1, 17), st.integers(1, 17), st.sampled_from([0, 3, 4])).map(
    lambda s: s[:2] if s[2] == 0 else s
)


@settings(max_examples=60, deadline=None)
@given(array=hnp.arrays(st.sampled_from([np.uint8, np.uint16]), _shapes))
def test_png_round_trip_property(tmp_path_factory: pytest.TempPathFactory, array) -> None:
    path = tmp_path_factory.mktemp("prop") / "x.png"
    write_image(path, array)
    back = read_image(path, mode="keep")
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
