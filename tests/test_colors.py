"""Colour names, colour syntaxes, CIELAB and the distinct palette (SPEC.md section 3), checked
against Pillow's CSS table and an independent scalar CIELAB written here from the CIE formulas."""

from __future__ import annotations

import doctest
import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import ImageColor

import vision_banana as vb
from vision_banana import InvalidArgumentError, InvalidTypeError, colors

rgbs = st.tuples(*[st.integers(0, 255)] * 3)


# --- an independent CIELAB --------------------------------------------------------------------


def reference_lab(rgb):
    """CIELAB of an 8-bit sRGB colour, one scalar at a time, with the CIE's rational constants
    (epsilon 216/24389, kappa 24389/27) and the XYZ matrix derived from the sRGB chromaticities."""

    def linear(v):
        v /= 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(float(v)) for v in rgb)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883
    epsilon, kappa = 216 / 24389, 24389 / 27

    def f(t):
        return t ** (1 / 3) if t > epsilon else (kappa * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def reference_delta_e(first, second):
    return math.dist(reference_lab(first), reference_lab(second))


def test_srgb_to_lab_matches_published_values():
    # Published CIELAB (D65) values of the sRGB primaries and white, to 2 decimals.
    expected = {
        (255, 0, 0): (53.24, 80.09, 67.20),
        (0, 255, 0): (87.73, -86.18, 83.18),
        (0, 0, 255): (32.30, 79.19, -107.86),
        (255, 255, 255): (100.0, 0.0, 0.0),
        (0, 0, 0): (0.0, 0.0, 0.0),
    }
    for rgb, lab in expected.items():
        np.testing.assert_allclose(vb.srgb_to_lab(np.array(rgb, np.uint8)), lab, atol=0.01)


@given(st.lists(rgbs, min_size=1, max_size=20))
def test_srgb_to_lab_matches_the_reference(batch):
    ours = vb.srgb_to_lab(np.array(batch, dtype=np.uint8))
    np.testing.assert_allclose(ours, [reference_lab(c) for c in batch], atol=1e-9)


def test_srgb_to_lab_reads_the_range_from_the_dtype():
    eight = vb.srgb_to_lab(np.array([[51, 102, 204]], np.uint8))
    np.testing.assert_allclose(vb.srgb_to_lab([[51, 102, 204]]), eight)
    np.testing.assert_allclose(vb.srgb_to_lab(np.array([[0.2, 0.4, 0.8]])), eight, atol=1e-12)
    sixteen = np.array([[51, 102, 204]], np.uint16) * 257
    np.testing.assert_allclose(vb.srgb_to_lab(sixteen), eight, atol=1e-12)
    assert vb.srgb_to_lab(np.zeros((2, 3, 4, 3), np.uint8)).shape == (2, 3, 4, 3)


def test_srgb_to_lab_errors():
    with pytest.raises(InvalidArgumentError, match=r"must have shape \(\.\.\., 3\), got \(4,\)"):
        vb.srgb_to_lab([1, 2, 3, 4])
    with pytest.raises(InvalidTypeError, match=r"rgb must be integers or floats, got dtype <U1"):
        vb.srgb_to_lab(["a", "b", "c"])


@given(rgbs, rgbs)
def test_delta_e_matches_the_reference(first, second):
    assert vb.delta_e(first, second) == pytest.approx(reference_delta_e(first, second), abs=1e-9)


# --- the name table ---------------------------------------------------------------------------


def test_the_table_is_css_level_4_with_the_models_green():
    pillow = {name: ImageColor.getrgb(value) for name, value in ImageColor.colormap.items()}
    assert len(pillow) == 148
    for name, rgb in pillow.items():
        expected = (0, 255, 0) if name == "green" else rgb
        assert vb.parse_color(name) == expected, name
    assert set(colors._BY_KEY) == set(pillow) | {"webgreen", "cssgreen"}
    assert vb.parse_color("green") == vb.parse_color("lime") == (0, 255, 0)
    assert vb.parse_color("web green") == vb.parse_color("CSS Green") == (0, 128, 0)
    assert len(vb.NAMED_COLORS) == 150
    for name, rgb in vb.NAMED_COLORS.items():
        assert vb.parse_color(name) == rgb


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("red", (255, 0, 0)),
        ("  RED ", (255, 0, 0)),
        ("Light Blue", (173, 216, 230)),
        ("light-blue", (173, 216, 230)),
        ("LIGHT_blue", (173, 216, 230)),
        ("dark slate grey", (47, 79, 79)),
        ("darkslategray", (47, 79, 79)),
        ("solid yellow", (255, 255, 0)),
        ("a solid yellow", (255, 255, 0)),
        ("yellow color", (255, 255, 0)),
        ("black colour", (0, 0, 0)),
        ("the color red", (255, 0, 0)),
        ("pure blue", (0, 0, 255)),
        ("#f80", (255, 136, 0)),
        ("#FF8800", (255, 136, 0)),
        ("solid #00ff00", (0, 255, 0)),
        ("(255, 192, 128)", (255, 192, 128)),
        ("( 255 ,192,128 )", (255, 192, 128)),
        ("<1, 2, 3>", (1, 2, 3)),
        ("RGB(1, 2, 3)", (1, 2, 3)),
        ("rgb (1,2,3)", (1, 2, 3)),
        ("[1, 2, 3]", (1, 2, 3)),
        ("(+7, 007, 0)", (7, 7, 0)),
        ("(255, 255, 0) color", (255, 255, 0)),
    ],
)
def test_parse_color_reads_every_syntax(text, rgb):
    assert vb.parse_color(text) == rgb


def test_the_wrapper_words_alone_are_not_stripped_away():
    # "color" alone is no colour, but the last word is never stripped to nothing.
    with pytest.raises(InvalidArgumentError, match=r"could not read a colour from 'solid'"):
        vb.parse_color("solid")


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=6, max_size=6))
def test_hex_matches_pillow(digits):
    assert vb.parse_color("#" + digits) == ImageColor.getrgb("#" + digits)
    assert vb.parse_color("#" + digits[:3]) == ImageColor.getrgb("#" + digits[:3])


def test_parse_color_accepts_sequences():
    assert vb.parse_color((1, 2, 3)) == (1, 2, 3)
    assert vb.parse_color([255, 0, 0]) == (255, 0, 0)
    out = vb.parse_color(np.array([9, 8, 7], np.uint8))
    assert out == (9, 8, 7)
    assert all(type(v) is int for v in out)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "reddish",
            r"could not read a colour from 'reddish': expected a CSS name, #RGB, #RRGGBB, "
            r"\(r, g, b\), <r, g, b> or RGB\(r, g, b\) \(did you mean 'red'\?\)$",
        ),
        ("blurple", r"could not read a colour from 'blurple': expected a CSS name"),
        ("", r"could not read a colour from '': expected a CSS name"),
        ("#ff00", r"could not read a colour from '#ff00': a hex colour has 3 or 6 digits, got 4"),
        ("#ff00000", r"'#ff00000': a hex colour has 3 or 6 digits, got 7"),
        ("#xyz", r"could not read a colour from '#xyz': expected a CSS name"),
        ("(300, 0, 0)", r"^colour component 300 in '\(300, 0, 0\)' is outside 0-255$"),
        ("<0, -5, 0>", r"^colour component -5 in '<0, -5, 0>' is outside 0-255$"),
        (
            "(0.5, 0.2, 0.1)",
            r"^colour component 0.5 in '\(0.5, 0.2, 0.1\)' is not a whole number: "
            r"give 8-bit values 0-255$",
        ),
        ("(100%, 0%, 0%)", r"colour component 100% in .* is not a whole number"),
        ("(1, 2)", r"could not read a colour from '\(1, 2\)': expected three components"),
        ("RGB(1, 2, 3, 4)", r"expected three components \(r, g, b\), got 4"),
        ("rgb(1, 2, x)", r"could not read a colour from 'rgb\(1, 2, x\)': 'x' is not a number"),
        ("(1, 2, )", r"'\(1, 2, \)': '' is not a number"),
        ("255, 0, 0", r"could not read a colour from '255, 0, 0'"),
    ],
)
def test_parse_color_errors_quote_the_text(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        vb.parse_color(text)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (None, InvalidTypeError, r"a colour must be text or a sequence of three integers 0-255, "),
        (0xFF0000, InvalidTypeError, r"got int 16711680"),
        ((1, 2), InvalidArgumentError, r"a colour must have three components \(r, g, b\), got 2"),
        ((0.5, 0.2, 0.1), InvalidTypeError, r"colour components must be integers 0-255, got float"),
        ((True, 0, 0), InvalidTypeError, r"got bool True"),
        ((256, 0, 0), InvalidArgumentError, r"colour component 256 in \(256, 0, 0\) is outside"),
        (np.zeros((2, 3), np.uint8), InvalidTypeError, r"got ndarray"),
    ],
)
def test_parse_color_rejects_bad_values(value, error, message):
    with pytest.raises(error, match=message):
        vb.parse_color(value)


# --- writing colours --------------------------------------------------------------------------


@given(rgbs, st.sampled_from(vb.COLOR_FORMATS))
def test_every_format_reads_back(rgb, style):
    assert vb.parse_color(vb.format_color(rgb, style)) == rgb


def test_format_color_writes_each_style():
    assert [vb.format_color((255, 136, 0), s) for s in vb.COLOR_FORMATS] == [
        "#ff8800",
        "#ff8800",
        "(255, 136, 0)",
        "<255, 136, 0>",
        "RGB(255, 136, 0)",
    ]
    assert vb.format_color("lightblue") == "light blue"
    with pytest.raises(InvalidArgumentError, match=r"style must be one of name, hex, tuple, "):
        vb.format_color("red", "css")


def test_color_name_prefers_the_common_name_and_honours_the_tolerance():
    assert vb.color_name((0, 255, 0)) == "green"
    assert vb.color_name((0, 128, 0)) == "web green"
    assert vb.color_name("aqua") == "cyan"
    assert vb.color_name("fuchsia") == "magenta"
    assert vb.color_name("grey") == "gray"
    assert vb.color_name((250, 5, 0)) is None
    assert vb.color_name((250, 5, 0), tolerance=3) == "red"
    # The nearest name by the independent ΔE, for colours a few units off a named one.
    for rgb in [(250, 5, 0), (10, 10, 130), (240, 230, 135), (100, 149, 230)]:
        nearest = min(vb.NAMED_COLORS.values(), key=lambda c, rgb=rgb: reference_delta_e(rgb, c))
        assert vb.parse_color(vb.color_name(rgb, tolerance=50)) == nearest
    with pytest.raises(InvalidArgumentError, match=r"tolerance must be a ΔE of 0 or more, got -1"):
        vb.color_name("red", tolerance=-1)


# --- the distinct palette ---------------------------------------------------------------------

LATTICE = list(itertools.product(range(0, 256, 15), repeat=3))


def pick_distances(palette, avoid):
    """For each pick, its ΔE to the nearest avoided or earlier pick (independent CIELAB)."""
    seen = [reference_lab(c) for c in avoid]
    out = []
    for rgb in palette:
        lab = reference_lab(rgb)
        out.append(min((math.dist(lab, s) for s in seen), default=math.inf))
        seen.append(lab)
    return out


@pytest.mark.parametrize(("n", "avoid"), [(12, ((0, 0, 0),)), (40, ["white", "gray"])])
def test_palette_is_a_farthest_point_sequence(n, avoid):
    palette = vb.distinct_palette(n, avoid=avoid)
    assert len(set(palette)) == n
    avoided = [vb.parse_color(c) for c in avoid]
    assert not set(palette) & set(avoided)
    d = pick_distances(palette, avoided)
    # Each pick keeps at least 80 % of the distance of any later one (snapping to a name costs
    # at most 20 %), and every lattice colour lies within the last pick's distance / 0.8 of the
    # palette or the avoided colours: nothing is left far away.
    for k in range(n - 1):
        assert d[k] >= 0.8 * max(d[k + 1 :]) - 1e-9
    labs = np.array([reference_lab(c) for c in [*palette, *avoided]])
    lattice = np.array([reference_lab(c) for c in LATTICE])
    coverage = np.sqrt(((lattice[:, None] - labs[None]) ** 2).sum(-1)).min(1).max()
    assert coverage <= d[-1] / 0.8 + 1e-9


@pytest.mark.parametrize(
    ("n", "separation", "from_black"),
    [(2, 250, 130), (10, 60, 60), (20, 40, 45), (100, 15, 20), (300, 10, 12)],
)
def test_palette_separation(n, separation, from_black):
    palette = vb.distinct_palette(n)
    labs = np.array([reference_lab(c) for c in palette])
    pairwise = np.sqrt(((labs[:, None] - labs[None]) ** 2).sum(-1))
    pairwise[np.diag_indices(n)] = np.inf
    assert pairwise.min() >= separation
    assert min(reference_delta_e(c, (0, 0, 0)) for c in palette) >= from_black


def test_palette_is_deterministic_and_each_prefix_is_the_shorter_palette():
    long = vb.distinct_palette(200)
    assert vb.distinct_palette(200) == long
    assert vb.distinct_palette(17) == long[:17]
    assert vb.distinct_palette(0) == []
    assert all(type(v) is int for c in long for v in c)


def test_palette_prefers_names():
    palette = vb.distinct_palette(8)
    assert palette[:4] == [(0, 255, 0), (0, 0, 255), (255, 0, 0), (0, 255, 255)]
    assert sum(vb.color_name(c) is not None for c in vb.distinct_palette(50)) >= 10


def test_palette_avoid_forms():
    white = vb.distinct_palette(5, avoid="white")
    assert vb.distinct_palette(5, avoid=(255, 255, 255)) == white
    assert vb.distinct_palette(5, avoid=["#fff"]) == white
    assert (255, 255, 255) not in white
    free = vb.distinct_palette(6, avoid=[])
    assert len(set(free)) == 6


def test_palette_of_a_thousand_is_fast():
    vb.distinct_palette(10)  # the candidate table is built once
    start = time.perf_counter()
    palette = vb.distinct_palette(1000)
    assert time.perf_counter() - start < 2.0  # about 0.2 s; slack for a loaded machine
    assert len(set(palette)) == 1000
    assert min(pick_distances(palette, [(0, 0, 0)])) > 5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": -1}, InvalidArgumentError, r"n must be between 0 and 59\d\d \(the candidate"),
        ({"n": 10**6}, InvalidArgumentError, r"n must be between 0 and 59\d\d"),
        ({"n": 2.0}, InvalidTypeError, r"n must be an integer, got float"),
        ({"n": 3, "avoid": 5}, InvalidTypeError, r"avoid must be a colour or a sequence of col"),
        ({"n": 3, "avoid": ["reddish"]}, InvalidArgumentError, r"from 'reddish'"),
    ],
)
def test_palette_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        vb.distinct_palette(**kwargs)


def test_palette_can_use_every_candidate():
    available = len(colors._candidates()[0]) - 1  # black is avoided
    palette = vb.distinct_palette(available)
    assert len(set(palette)) == available
    with pytest.raises(InvalidArgumentError, match=rf"between 0 and {available}"):
        vb.distinct_palette(available + 1)


def test_docstring_examples():
    assert doctest.testmod(colors, raise_on_error=False).failed == 0
