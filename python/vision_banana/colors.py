"""Colours as prompts write them (SPEC.md sections 3 to 5): names, hex and tuples, and palettes.

A prompt tells the model which colour stands for which class, and the decoder needs the same colours
as numbers. `parse_color` reads every syntax the paper's prompts use; `format_color` writes them;
`distinct_palette` picks colours for open-vocabulary class lists that a model can keep apart.

Names are the 148 CSS Color Module Level 4 named colours (both gray and grey spellings) with one
change: **"green" is (0, 255, 0)**, the colour the model paints for it (SPEC.md, measured), and the
same as "lime". CSS's own green, (0, 128, 0), is reachable as "web green" (X11's name for it) or
"css green". Names ignore case, spaces, hyphens and underscores ("Light Blue" == "light-blue" ==
"lightblue").

Every colour here is an 8-bit ``(r, g, b)`` tuple of ints.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "COLOR_FORMATS",
    "NAMED_COLORS",
    "RGB",
    "ColorFormat",
    "color_name",
    "delta_e",
    "distinct_palette",
    "format_color",
    "parse_color",
    "srgb_to_lab",
]

RGB = tuple[int, int, int]
ColorFormat = Literal["name", "hex", "tuple", "angle", "rgb"]
#: The styles `format_color` writes: a CSS name, ``#rrggbb``, ``(r, g, b)``, ``<r, g, b>``,
#: ``RGB(r, g, b)``.
COLOR_FORMATS: tuple[str, ...] = ("name", "hex", "tuple", "angle", "rgb")

# CSS Color Module Level 4 named colours, written with spaces between words so that prompts read
# naturally ("light blue"); lookups ignore the spaces. Where several names share a colour, the
# first one listed here is the name `color_name` gives (cyan before aqua, green before lime...).
_TABLE = """
alice blue f0f8ff; antique white faebd7; cyan 00ffff; aqua 00ffff; aquamarine 7fffd4; azure f0ffff
beige f5f5dc; bisque ffe4c4; black 000000; blanched almond ffebcd; blue 0000ff; blue violet 8a2be2
brown a52a2a; burlywood deb887; cadet blue 5f9ea0; chartreuse 7fff00; chocolate d2691e
coral ff7f50; cornflower blue 6495ed; cornsilk fff8dc; crimson dc143c; dark blue 00008b
dark cyan 008b8b; dark goldenrod b8860b; dark gray a9a9a9; dark grey a9a9a9; dark green 006400
dark khaki bdb76b; dark magenta 8b008b; dark olive green 556b2f; dark orange ff8c00
dark orchid 9932cc; dark red 8b0000; dark salmon e9967a; dark sea green 8fbc8f
dark slate blue 483d8b; dark slate gray 2f4f4f; dark slate grey 2f4f4f; dark turquoise 00ced1
dark violet 9400d3; deep pink ff1493; deep sky blue 00bfff; dim gray 696969; dim grey 696969
dodger blue 1e90ff; firebrick b22222; floral white fffaf0; forest green 228b22; magenta ff00ff
fuchsia ff00ff; gainsboro dcdcdc; ghost white f8f8ff; gold ffd700; goldenrod daa520; gray 808080
grey 808080; green 00ff00; web green 008000; css green 008000; green yellow adff2f
honeydew f0fff0; hot pink ff69b4; indian red cd5c5c; indigo 4b0082; ivory fffff0; khaki f0e68c
lavender e6e6fa; lavender blush fff0f5; lawn green 7cfc00; lemon chiffon fffacd
light blue add8e6; light coral f08080; light cyan e0ffff; light goldenrod yellow fafad2
light gray d3d3d3; light grey d3d3d3; light green 90ee90; light pink ffb6c1; light salmon ffa07a
light sea green 20b2aa; light sky blue 87cefa; light slate gray 778899; light slate grey 778899
light steel blue b0c4de; light yellow ffffe0; lime 00ff00; lime green 32cd32; linen faf0e6
maroon 800000; medium aquamarine 66cdaa; medium blue 0000cd; medium orchid ba55d3
medium purple 9370db; medium sea green 3cb371; medium slate blue 7b68ee
medium spring green 00fa9a; medium turquoise 48d1cc; medium violet red c71585
midnight blue 191970; mint cream f5fffa; misty rose ffe4e1; moccasin ffe4b5; navajo white ffdead
navy 000080; old lace fdf5e6; olive 808000; olive drab 6b8e23; orange ffa500; orange red ff4500
orchid da70d6; pale goldenrod eee8aa; pale green 98fb98; pale turquoise afeeee
pale violet red db7093; papaya whip ffefd5; peach puff ffdab9; peru cd853f; pink ffc0cb
plum dda0dd; powder blue b0e0e6; purple 800080; rebecca purple 663399; red ff0000
rosy brown bc8f8f; royal blue 4169e1; saddle brown 8b4513; salmon fa8072; sandy brown f4a460
sea green 2e8b57; seashell fff5ee; sienna a0522d; silver c0c0c0; sky blue 87ceeb
slate blue 6a5acd; slate gray 708090; slate grey 708090; snow fffafa; spring green 00ff7f
steel blue 4682b4; tan d2b48c; teal 008080; thistle d8bfd8; tomato ff6347; turquoise 40e0d0
violet ee82ee; wheat f5deb3; white ffffff; white smoke f5f5f5; yellow ffff00; yellow green 9acd32
"""


def _read_table(table: str) -> dict[str, RGB]:
    colors = {}
    for entry in re.split(r"[;\n]", table):
        if entry.strip():
            name, hex_digits = entry.strip().rsplit(" ", 1)
            value = int(hex_digits, 16)
            colors[name] = (value >> 16, (value >> 8) & 255, value & 255)
    return colors


#: Every colour name `parse_color` knows, as written in prompts, to its (r, g, b): the 148 CSS
#: names with "green" = (0, 255, 0), plus "web green" and "css green" for CSS's (0, 128, 0).
NAMED_COLORS = MappingProxyType(_read_table(_TABLE))


def _name_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.lower())


_BY_KEY = {_name_key(name): rgb for name, rgb in NAMED_COLORS.items()}
_NAME_OF: dict[RGB, str] = {}
for _name, _rgb in NAMED_COLORS.items():
    _NAME_OF.setdefault(_rgb, _name)

# Words a prompt or a model puts around a colour: "a solid yellow", "the colour red", "black color".
_LEADING_WORDS = frozenset({"a", "an", "the", "solid", "pure", "color", "colour"})
_TRAILING_WORDS = frozenset({"color", "colour"})
_EXPECTED = "expected a CSS name, #RGB, #RRGGBB, (r, g, b), <r, g, b> or RGB(r, g, b)"
_TUPLE = re.compile(r"(?:rgb\s*\((?P<rgb>.*)\)|\((?P<paren>.*)\)|<(?P<angle>.*)>|\[(?P<list>.*)\])")
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)(?:e[+-]?\d+)?%?|[+-]?\d+%")


def _strip_words(text: str) -> str:
    words = text.split()
    while len(words) > 1 and words[0].lower() in _LEADING_WORDS:
        words.pop(0)
    while len(words) > 1 and words[-1].lower() in _TRAILING_WORDS:
        words.pop()
    return " ".join(words)


def _component(part: str, text: str) -> int:
    part = part.strip()
    if _INTEGER.fullmatch(part):
        value = int(part)
        if not 0 <= value <= 255:
            raise InvalidArgumentError(f"colour component {value} in {text!r} is outside 0-255")
        return value
    if _DECIMAL.fullmatch(part):
        # (1.0, 0.0, 0.0) read as 8-bit would be almost black, not red: refuse rather than guess.
        raise InvalidArgumentError(
            f"colour component {part} in {text!r} is not a whole number: give 8-bit values 0-255"
        )
    raise InvalidArgumentError(f"could not read a colour from {text!r}: {part!r} is not a number")


def _parse_text(text: str) -> RGB:
    body = _strip_words(text.strip()).lower()
    if body.startswith("#"):
        digits = body[1:]
        if not re.fullmatch(r"[0-9a-f]+", digits):
            raise InvalidArgumentError(f"could not read a colour from {text!r}: {_EXPECTED}")
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        if len(digits) != 6:
            raise InvalidArgumentError(
                f"could not read a colour from {text!r}: a hex colour has 3 or 6 digits, "
                f"got {len(body) - 1}"
            )
        return int(digits[:2], 16), int(digits[2:4], 16), int(digits[4:], 16)
    match = _TUPLE.fullmatch(body)
    if match:
        inner = next(group for group in match.groups() if group is not None)
        parts = inner.split(",")
        if len(parts) != 3:
            raise InvalidArgumentError(
                f"could not read a colour from {text!r}: expected three components (r, g, b), "
                f"got {len(parts)}"
            )
        r, g, b = (_component(part, text) for part in parts)
        return r, g, b
    found = _BY_KEY.get(_name_key(body))
    if found is not None:
        return found
    close = difflib.get_close_matches(_name_key(body), _BY_KEY, n=1)
    hint = f" (did you mean {_display_name(close[0])!r}?)" if close else ""
    raise InvalidArgumentError(f"could not read a colour from {text!r}: {_EXPECTED}{hint}")


def _display_name(key: str) -> str:
    return next(name for name in NAMED_COLORS if _name_key(name) == key)


def _parse_sequence(value: Sequence[Any] | NDArray[Any]) -> RGB:
    if len(value) != 3:
        raise InvalidArgumentError(
            f"a colour must have three components (r, g, b), got {len(value)}: {value!r}"
        )
    components = []
    for component in value:
        if isinstance(component, (bool, np.bool_)) or not isinstance(component, (int, np.integer)):
            raise InvalidTypeError(
                f"colour components must be integers 0-255, got {type(component).__name__} "
                f"{component!r} in {value!r}"
            )
        if not 0 <= component <= 255:
            raise InvalidArgumentError(
                f"colour component {int(component)} in {value!r} is outside 0-255"
            )
        components.append(int(component))
    return components[0], components[1], components[2]


def parse_color(color: str | Sequence[int] | NDArray[np.integer]) -> RGB:
    """Reads one colour as an 8-bit ``(r, g, b)`` tuple.

    Text may be a name from `NAMED_COLORS` ("red", "Light Blue", "dark-slate-grey"), ``#RGB``
    (each digit doubled: ``#f80`` is (255, 136, 0)), ``#RRGGBB``, ``(r, g, b)``, ``<r, g, b>``,
    ``RGB(r, g, b)`` or ``[r, g, b]`` (the JSON array), in any case and with any spaces. The words
    a prompt puts around a colour are dropped: leading "a", "an", "the", "solid", "pure", "color",
    "colour" and trailing "color", "colour", so "a solid yellow" and "black color" read as the
    names. Components must be whole numbers 0-255; decimals such as (0.5, 0.2, 0.1) are refused
    because reading them as 8-bit values would give a different colour from the one meant.

    A tuple, list or array of three integers 0-255 is also accepted and returned as a tuple.

    Raises:
        InvalidArgumentError: the text is not a colour, or a component is outside 0-255 or not a
            whole number; the message quotes the text.
        InvalidTypeError: ``color`` is neither text nor a sequence of three integers.

    Example:
        >>> parse_color("solid yellow"), parse_color("#f80"), parse_color("RGB(0, 128, 255)")
        ((255, 255, 0), (255, 136, 0), (0, 128, 255))
        >>> parse_color("green"), parse_color("web green")
        ((0, 255, 0), (0, 128, 0))
    """
    if isinstance(color, str):
        return _parse_text(color)
    if isinstance(color, (tuple, list)) or (isinstance(color, np.ndarray) and color.ndim == 1):
        return _parse_sequence(color)
    raise InvalidTypeError(
        f"a colour must be text or a sequence of three integers 0-255, got "
        f"{type(color).__name__} {color!r}"
    )


def format_color(color: str | Sequence[int], style: ColorFormat = "name") -> str:
    """Writes a colour in one of the prompt syntaxes `parse_color` reads back exactly.

    Styles: "name" (the CSS name when one means exactly this colour, else hex), "hex"
    (``#rrggbb``), "tuple" (``(r, g, b)``), "angle" (``<r, g, b>``), "rgb" (``RGB(r, g, b)``).

    Example:
        >>> format_color((255, 0, 0)), format_color((255, 1, 0)), format_color("red", "rgb")
        ('red', '#ff0100', 'RGB(255, 0, 0)')
    """
    r, g, b = parse_color(color)
    if style == "name":
        return _NAME_OF.get((r, g, b)) or f"#{r:02x}{g:02x}{b:02x}"
    if style == "hex":
        return f"#{r:02x}{g:02x}{b:02x}"
    if style == "tuple":
        return f"({r}, {g}, {b})"
    if style == "angle":
        return f"<{r}, {g}, {b}>"
    if style == "rgb":
        return f"RGB({r}, {g}, {b})"
    raise InvalidArgumentError(f"style must be one of {', '.join(COLOR_FORMATS)}; got {style!r}")


# --- CIELAB ---------------------------------------------------------------------------------------

# sRGB primaries to CIE XYZ, D65 white (IEC 61966-2-1), and the D65 white point itself.
_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: ArrayLike) -> NDArray[np.float64]:
    """CIELAB (D65) coordinates of sRGB colours: (..., 3) in, (..., 3) float64 L*, a*, b* out.

    The dtype sets the input range: float arrays hold 0-1, uint16 0-65535, every other integer
    type (uint8, or Python ints in a list) 0-255.

    Example:
        >>> srgb_to_lab([255, 0, 0]).round(2)
        array([53.24, 80.09, 67.2 ])
    """
    array = np.asarray(rgb)
    if array.ndim < 1 or array.shape[-1] != 3:
        raise InvalidArgumentError(f"rgb must have shape (..., 3), got {array.shape}")
    if array.dtype.kind == "f":
        unit = array.astype(np.float64)
    elif array.dtype.kind in "iu":
        unit = array / (65535.0 if array.dtype == np.uint16 else 255.0)
    else:
        raise InvalidTypeError(f"rgb must be integers or floats, got dtype {array.dtype}")
    linear = np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack(
        [
            116.0 * f[..., 1] - 16.0,
            500.0 * (f[..., 0] - f[..., 1]),
            200.0 * (f[..., 1] - f[..., 2]),
        ],
        axis=-1,
    )


def delta_e(first: str | Sequence[int], second: str | Sequence[int]) -> float:
    """CIE 1976 colour difference: Euclidean distance in CIELAB. About 2.3 is just noticeable.

    Example:
        >>> round(delta_e("black", "white"), 3)
        100.0
    """
    lab = srgb_to_lab(np.array([parse_color(first), parse_color(second)], dtype=np.uint8))
    return float(np.linalg.norm(lab[0] - lab[1]))


def color_name(color: str | Sequence[int], *, tolerance: float = 0.0) -> str | None:
    """The name of the named colour nearest ``color`` (in CIELAB ΔE), or None beyond ``tolerance``.

    With the default tolerance 0 a name is given only when it means exactly this colour, so the
    name parses back to the same tuple. Of several names for one colour the common one wins
    ("cyan", "magenta", "gray", "green").

    Example:
        >>> color_name((0, 255, 255)), color_name((250, 5, 0)), color_name((250, 5, 0), tolerance=3)
        ('cyan', None, 'red')
    """
    rgb = parse_color(color)
    tolerance = float(tolerance)
    if not tolerance >= 0:
        raise InvalidArgumentError(f"tolerance must be a ΔE of 0 or more, got {tolerance}")
    if rgb in _NAME_OF:
        return _NAME_OF[rgb]
    named, lab = _named_lab()
    distances = np.linalg.norm(lab - srgb_to_lab(np.array(rgb, dtype=np.uint8)), axis=1)
    nearest = int(np.argmin(distances))
    return _NAME_OF[named[nearest]] if distances[nearest] <= tolerance else None


# --- palettes -------------------------------------------------------------------------------------

#: How close (ΔE) a lattice colour must be to a named colour for the palette to take the name.
SNAP_DELTA_E = 6.0
# The lattice steps through 18 levels per channel, 0, 15, ..., 255, so the cube's corners are in it.
_LATTICE_LEVELS = np.arange(0, 256, 15)
_SNAP_KEEP = 0.8**2


@functools.cache
def _named_lab() -> tuple[list[RGB], NDArray[np.float64]]:
    named = list(_NAME_OF)
    return named, srgb_to_lab(np.array(named, dtype=np.uint8))


@functools.cache
def _candidates() -> tuple[NDArray[np.uint8], NDArray[np.float64], NDArray[np.intp], int]:
    """Named colours, then the lattice colours that are not named; their CIELAB coordinates;
    for each candidate, the index of the nearest named colour within the snap distance (or -1)."""
    named, named_lab = _named_lab()
    grid = np.stack(np.meshgrid(*[_LATTICE_LEVELS] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    known = set(named)
    lattice = [tuple(int(v) for v in c) for c in grid if tuple(int(v) for v in c) not in known]
    rgb = np.array(named + lattice, dtype=np.uint8)
    lab = srgb_to_lab(rgb)
    to_named = np.linalg.norm(lab[:, None, :] - named_lab[None, :, :], axis=2)
    nearest = np.argmin(to_named, axis=1)
    snap = np.where(to_named[np.arange(len(rgb)), nearest] <= SNAP_DELTA_E, nearest, -1)
    return rgb, lab, snap, len(named)


def _avoid_colors(avoid: Any) -> list[RGB]:
    if isinstance(avoid, str):
        return [parse_color(avoid)]
    if (
        isinstance(avoid, (tuple, list))
        and len(avoid) == 3
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in avoid)
    ):
        return [parse_color(avoid)]
    if not isinstance(avoid, Iterable):
        raise InvalidTypeError(
            f"avoid must be a colour or a sequence of colours, got {type(avoid).__name__}"
        )
    return [parse_color(color) for color in avoid]


def distinct_palette(
    n: int, *, avoid: str | Sequence[int] | Iterable[str | Sequence[int]] = ((0, 0, 0),)
) -> list[RGB]:
    """``n`` colours as far apart as possible, and far from the colours to ``avoid``.

    Greedy farthest-point selection in CIELAB (ΔE): each colour is the candidate farthest from all
    colours chosen or avoided so far. Candidates are the named colours and an 18-level lattice of
    the 8-bit cube (5832 colours; 5957 candidates in all). When the pick is within
    `SNAP_DELTA_E` of a named colour, the named colour is taken instead, so prompts can say
    names. The result is deterministic, and a palette of n is the first n colours of any longer
    one. A name is taken only when it keeps 80 % of the pick's distance, so large palettes do not
    crowd onto the named colours. With nothing to avoid, the first colour is the one farthest
    from mid-gray.

    Args:
        n: how many colours, 0 up to the number of candidates not avoided (the nearest pair is
            about 11 ΔE apart for 300 colours, 6 for 1000; 1000 take about 0.2 s).
        avoid: the background and any other reserved colour: one colour or a sequence of them,
            in any `parse_color` syntax. Default black, the implicit background of the prompts.

    Example:
        >>> [format_color(c) for c in distinct_palette(4)]
        ['green', 'blue', 'red', 'cyan']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InvalidTypeError(f"n must be an integer, got {type(n).__name__}")
    reserved = _avoid_colors(avoid)
    rgb, lab, snap, _ = _candidates()
    if reserved:
        reserved_lab = srgb_to_lab(np.array(reserved, dtype=np.uint8))
        nearest = np.min(np.sum((lab[:, None, :] - reserved_lab[None]) ** 2, axis=2), axis=1)
    else:
        nearest = np.sum((lab - np.array([50.0, 0.0, 0.0])) ** 2, axis=1)
    available = int(np.count_nonzero(nearest > 0))
    if not 0 <= n <= available:
        raise InvalidArgumentError(
            f"n must be between 0 and {available} (the candidate colours not avoided), got {n}"
        )
    chosen: list[RGB] = []
    for _ in range(n):
        pick = int(np.argmax(nearest))
        # A name is worth a little separation, not much: take it only when it keeps 80 % of the
        # distance (compared squared), so large palettes do not crowd onto the named colours.
        if snap[pick] >= 0 and nearest[snap[pick]] >= _SNAP_KEEP * nearest[pick]:
            pick = int(snap[pick])
        chosen.append((int(rgb[pick, 0]), int(rgb[pick, 1]), int(rgb[pick, 2])))
        np.minimum(nearest, np.sum((lab - lab[pick]) ** 2, axis=1), out=nearest)
    return chosen
