"""Prompts in the paper's words (SPEC.md sections 1 to 5), and the mapping read back out of them.

One builder per task writes the prompt that asks the model for its colour-coded answer. The
segmentation prompts carry the class-to-colour mapping the decoder needs; `parse_mapping` reads it
back out of such a prompt (ours or anyone's), so a picture can be decoded from its prompt alone.

Sentence forms read and written:

- "The <class> is/are represented by <colour>." (also "colored", "shown", "marked"... "by", "in",
  "with", "as"), and "The <class> is <colour>." when the colour reads as one;
- "The background is <colour> (color)." for the background;
- "<class>: <colour>" (or "=", "->"), separated by commas, semicolons or lines;
- a JSON object ``{"class": "colour", ...}`` anywhere in the text (single quotes, tuples and
  ``[r, g, b]`` arrays too); its "background" key is the background;
- "Each <class> is colored differently." names the class of an instance prompt.

A sentence's own article is not part of the name: "The macaron cakes are represented by (255,
255, 0)" maps "macaron cakes", and "A red ball is ..." maps "a red ball". So the sentence builders
write a name that starts with "the" without it ("the dog" reads back as "dog"), and one that starts
with "A"/"An" lowercased; JSON keys are kept exactly. Colours are anything `parse_color` reads.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .colors import (
    COLOR_FORMATS,
    RGB,
    ColorFormat,
    distinct_palette,
    format_color,
    parse_color,
)
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "ColorMapping",
    "depth_prompt",
    "instance_prompt",
    "normals_prompt",
    "parse_mapping",
    "referring_prompt",
    "semantic_prompt",
]

BLACK: RGB = (0, 0, 0)
ColorLike = str | Sequence[int]


@dataclass(frozen=True)
class ColorMapping:
    """The colours a segmentation prompt asks for.

    Attributes:
        classes: class name (or referring expression) to its (r, g, b), in the prompt's order,
            without the background. Read-only.
        background: the background's (r, g, b); black when the prompt names none (SPEC.md 3).
        instance_class: for an instance prompt, the class whose instances get distinct colours.
    """

    classes: Mapping[str, RGB] = field(default_factory=dict)
    background: RGB = BLACK
    instance_class: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", MappingProxyType(dict(self.classes)))

    def __hash__(self) -> int:
        return hash((tuple(self.classes.items()), self.background, self.instance_class))

    def labels(self) -> dict[str, RGB]:
        """Every label with its colour, background first: label i of a decoded map is entry i."""
        return {"background": self.background, **self.classes}


# --- builders -------------------------------------------------------------------------------------


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be text, got {type(value).__name__} {value!r}")
    text = value.strip()
    if not text:
        raise InvalidArgumentError(f"{name} must not be empty, got {value!r}")
    return text


def _check_format(color_format: Any) -> ColorFormat:
    if color_format not in COLOR_FORMATS:
        raise InvalidArgumentError(
            f"color_format must be one of {', '.join(COLOR_FORMATS)}; got {color_format!r}"
        )
    return color_format  # type: ignore[no-any-return]


def _sentence_name(name: str) -> str:
    """The name as a sentence can carry it: a leading "the" belongs to the sentence ("The cat is
    ..."), so it is dropped, and a leading "A"/"An" is lowercased (the sentence capitalises it)."""
    if re.match(r"the\s", name, re.IGNORECASE):
        return name[4:].lstrip()
    if re.match(r"an?\s", name, re.IGNORECASE):
        return name[0].lower() + name[1:]
    return name


def _subject(name: str) -> str:
    """The sentence subject for a name from `_sentence_name`: "The cat", "A red ball"."""
    if re.match(r"an?\s", name):
        return name[0].upper() + name[1:]
    return f"The {name}"


def _verb(name: str) -> str:
    # Grammar only (the parser reads both): a last word in -s, not -ss, -us or -is, is a plural.
    last = name.split()[-1].lower()
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return "are" if plural else "is"


def _assign_colors(
    names: Sequence[str], colors: Sequence[ColorLike] | None, background: RGB, what: str
) -> dict[str, RGB]:
    if colors is None:
        chosen = distinct_palette(len(names), avoid=[background])
    else:
        if isinstance(colors, str) or len(colors) != len(names):
            count = 1 if isinstance(colors, str) else len(colors)
            raise InvalidArgumentError(
                f"colors must give one colour per {what}: {len(names)} {what}(s), got {count}"
            )
        chosen = [parse_color(color) for color in colors]
    return dict(zip(names, chosen, strict=True))


def _check_distinct(classes: Mapping[str, RGB], background: RGB) -> None:
    seen = {background: "the background"}
    for name, rgb in classes.items():
        if rgb in seen:
            raise InvalidArgumentError(
                f"{name!r} has the same colour {rgb} as {seen[rgb]}: the decoder could not tell "
                f"them apart"
            )
        seen[rgb] = repr(name)


def _self_check(prompt: str, expected: ColorMapping, argument: str) -> str:
    """Builders promise that `parse_mapping` reads their prompt back: a name that would break a
    sentence (a full stop, "is represented by"...) is caught here, not by a wrong decode."""
    try:
        found = parse_mapping(prompt)
    except InvalidArgumentError:
        found = None
    if found != expected:
        raise InvalidArgumentError(
            f"the {argument} cannot be written so that the prompt reads back unambiguously (a "
            f"name holds a full stop, a colon or a phrase such as 'is represented by'); "
            f"rename it, or use style='json'. The prompt was: {prompt!r}"
        )
    return prompt


def semantic_prompt(
    mapping: Mapping[str, ColorLike] | Sequence[str],
    *,
    style: Literal["json", "sentences"] = "json",
    color_format: ColorFormat = "name",
    background: ColorLike | None = None,
) -> str:
    """The semantic segmentation prompt for a class-to-colour mapping (SPEC.md section 3).

    Args:
        mapping: {class: colour} with colours in any `parse_color` syntax, or a list of classes,
            which get `distinct_palette` colours far from the background. A class named
            "background" (any case) is the background.
        style: "json", the paper's first form (``using this color mapping: {"cat": "red", ...}``,
            the background as a "background" key), or "sentences", its second ("This image is a
            per-pixel class labeling of the input. The cats are represented by red.").
        color_format: how colours are written: "name" (hex where no name means the exact colour),
            "hex", "tuple", "angle" or "rgb" (see `format_color`).
        background: the background colour. When neither this nor a "background" class is given,
            the prompt names none and black is the implicit background.

    Sentences begin "The <class>" ("A"/"An" when the class starts with one; a leading "the" is
    dropped, see the module docstring) and say "are" for a class whose last word looks plural;
    class names are otherwise written as given. Every
    prompt is checked to read back, with `parse_mapping`, to the mapping it was built from.

    Raises:
        InvalidArgumentError: no classes, an empty name, a bad colour, two classes (or a class
            and the background) with one colour, or a name that cannot be written as a sentence.

    Example:
        >>> semantic_prompt({"cat": "red", "lock": "pink", "background": "yellow"})
        'Generate a semantic segmentation visualization image, using this color mapping: \
{"cat": "red", "lock": "pink", "background": "yellow"}.'
        >>> semantic_prompt({"macaron cakes": (255, 255, 0)},
        ...                 style="sentences", color_format="tuple")
        'This image is a per-pixel class labeling of the input. The macaron cakes are represented \
by (255, 255, 0).'
    """
    color_format = _check_format(color_format)
    if style not in ("json", "sentences"):
        raise InvalidArgumentError(f"style must be 'json' or 'sentences', got {style!r}")
    # (name, colour as given): parse_color checks the colours; a list of names has None.
    items: list[tuple[str, Any]]
    if isinstance(mapping, Mapping):
        items = [(_check_text(k, "a class name"), v) for k, v in mapping.items()]
    elif isinstance(mapping, Sequence) and not isinstance(mapping, str):
        items = [(_check_text(k, "a class name"), None) for k in mapping]
    else:
        raise InvalidTypeError(
            f"mapping must be a {{class: colour}} mapping or a list of classes, got "
            f"{type(mapping).__name__}"
        )
    backgrounds = [parse_color(v) for k, v in items if k.lower() == "background" and v is not None]
    if background is not None:
        backgrounds.append(parse_color(background))
    if len(set(backgrounds)) > 1:
        raise InvalidArgumentError(
            f"the background is given two colours, {backgrounds[0]} and {backgrounds[-1]}"
        )
    bg = backgrounds[0] if backgrounds else None
    items = [(k, v) for k, v in items if k.lower() != "background"]
    if not items:
        raise InvalidArgumentError("mapping must name at least one class besides the background")
    if style == "sentences":
        items = [(_sentence_name(k), v) for k, v in items]
    names = [k for k, _ in items]
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"class names must be distinct, got {names}")
    given = [v for _, v in items] if isinstance(mapping, Mapping) else None
    classes = _assign_colors(names, given, bg or BLACK, "class")
    _check_distinct(classes, bg or BLACK)

    def write(rgb: RGB) -> str:
        return format_color(rgb, color_format)

    if style == "json":
        entries = {name: write(rgb) for name, rgb in classes.items()}
        if bg is not None:
            entries["background"] = write(bg)
        prompt = (
            "Generate a semantic segmentation visualization image, using this color mapping: "
            f"{json.dumps(entries, ensure_ascii=False)}."
        )
    else:
        sentences = ["This image is a per-pixel class labeling of the input."]
        sentences += [
            f"{_subject(name)} {_verb(name)} represented by {write(rgb)}."
            for name, rgb in classes.items()
        ]
        if bg is not None:
            sentences.append(f"The background is {write(bg)}.")
        prompt = " ".join(sentences)
    return _self_check(prompt, ColorMapping(classes, bg or BLACK), "class names")


def referring_prompt(
    expressions: str | Sequence[str],
    *,
    background: ColorLike = "black",
    colors: Sequence[ColorLike] | None = None,
    color_format: ColorFormat = "name",
) -> str:
    """The referring segmentation prompt (SPEC.md section 5): one solid colour per referent.

    Args:
        expressions: one referring expression ("game control device") or several. Surrounding
            spaces, a final full stop and a leading "the" are dropped; a sentence begins "The
            <expression>", or "A"/"An" when the expression starts with one.
        background: the background colour, black by default (as in the paper).
        colors: one colour per expression; by default `distinct_palette` colours far from the
            background.
        color_format: as in `semantic_prompt`. Names are written "a solid yellow" and the
            background "black color", as the paper does.

    Example:
        >>> referring_prompt("game control device", colors=["yellow"])
        'This image shows segmentation masks from the given image. The background is black color. \
The game control device is represented by a solid yellow.'
    """
    color_format = _check_format(color_format)
    if isinstance(expressions, str):
        expressions = [expressions]
    if not isinstance(expressions, Sequence):
        raise InvalidTypeError(
            f"expressions must be text or a list of texts, got {type(expressions).__name__}"
        )
    names = [
        _sentence_name(_check_text(e, "a referring expression").rstrip(".!? ")) for e in expressions
    ]
    if not names or not all(names):
        raise InvalidArgumentError(f"expressions must hold at least one expression, got {names}")
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"referring expressions must be distinct, got {names}")
    bg = parse_color(background)
    referents = _assign_colors(names, colors, bg, "expression")
    _check_distinct(referents, bg)

    def write(rgb: RGB, solid: str) -> str:
        text = format_color(rgb, color_format)
        return text if text.startswith(("#", "(", "<", "RGB")) else solid.format(text)

    sentences = [
        "This image shows segmentation masks from the given image.",
        f"The background is {write(bg, '{} color')}.",
    ]
    sentences += [
        f"{_subject(name)} is represented by {write(rgb, 'a solid {}')}."
        for name, rgb in referents.items()
    ]
    prompt = " ".join(sentences)
    return _self_check(prompt, ColorMapping(referents, bg), "referring expressions")


def instance_prompt(
    class_name: str, *, background: ColorLike = "black", color_format: ColorFormat = "name"
) -> str:
    """The instance segmentation prompt (SPEC.md section 4): one class, a colour per instance.

    ``class_name`` is written as given inside "Each <class_name> is colored differently", so give
    it in the singular ("price tag"). One prompt (and one generation) per class.

    Example:
        >>> instance_prompt("price tag")
        'Generate an instance segmentation visualization of this image. Each price tag is colored \
differently. The background is black.'
    """
    color_format = _check_format(color_format)
    name = _check_text(class_name, "class_name").rstrip(".!? ")
    bg = parse_color(background)
    prompt = (
        "Generate an instance segmentation visualization of this image. "
        f"Each {name} is colored differently. The background is {format_color(bg, color_format)}."
    )
    return _self_check(prompt, ColorMapping({}, bg, name), "class_name")


def depth_prompt() -> str:
    """The metric depth prompt (SPEC.md section 1), naming the cube walk's colours in order.

    Example:
        >>> depth_prompt()[:38]
        'Generate a depth map visualization of '
    """
    return (
        "Generate a depth map visualization of this image. Color each pixel by its distance from "
        "the camera along the path black-red-yellow-green-cyan-blue-violet-white, from nearest "
        "(black) to farthest (white)."
    )


def normals_prompt() -> str:
    """The surface normals prompt (SPEC.md section 2): red for surfaces facing left, green up,
    blue toward the camera.

    Example:
        >>> normals_prompt()[:47]
        'Generate a surface normal map visualization of '
    """
    return (
        "Generate a surface normal map visualization of this image. The red channel grows as the "
        "surface faces left, the green channel as it faces up, and the blue channel as it faces "
        "the camera."
    )


# --- reading a mapping back -----------------------------------------------------------------------

_VERBS = (
    r"(?:represented|shown|marked|colou?red|painted|drawn|labell?ed|rendered|filled|displayed|"
    r"depicted|indicated|highlighted)"
)
_VERB_PHRASE = re.compile(rf"{_VERBS}(?:\s+(?:by|in|with|as|using))*\s+", re.IGNORECASE)
_IS = re.compile(r"\s(?:is|are)\s", re.IGNORECASE)
_INSTANCE = re.compile(
    r"each\s+(?P<name>.+?)\s+(?:is|are)\s+colou?red\s+differently", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)|\n")
_PAIR_SEPARATOR = re.compile(r"\s*(?::|=|->|→)\s*")
# Text that tries to be a colour: its parse error is the user's answer, not a reason to skip.
_COLOR_SYNTAX = re.compile(
    r"(?:(?:a|an|the|solid|pure|colou?r)\s+)*(?:#[0-9a-f]|(?:rgb\s*)?[(<\[]\s*[+-]?[\d.])",
    re.IGNORECASE,
)


def _json_objects(text: str) -> Iterator[tuple[int, int]]:
    """Spans of balanced {...} outside quotes, outermost only."""
    depth, start, quote, escaped = 0, 0, "", False
    for i, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'" and depth:
            quote = char
        elif char == "{":
            start = i if depth == 0 else start
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                yield start, i + 1


def _load_object(source: str) -> dict[Any, Any] | None:
    for load in (json.loads, ast.literal_eval):
        try:
            value = load(source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _color_or_none(value: Any, strict: bool) -> RGB | None:
    """The colour, None when the value is no colour; with ``strict`` (or colour syntax), the
    parse error is raised instead."""
    try:
        return parse_color(value)
    except (InvalidArgumentError, InvalidTypeError):
        if strict or (isinstance(value, str) and _COLOR_SYNTAX.match(value.strip())):
            raise
        return None


def _unquote(text: str) -> str:
    text = re.sub(r"^(?:[-*•]\s+)", "", text.strip())  # list bullets
    return text[1:-1].strip() if len(text) > 1 and text[0] == text[-1] in "\"'" else text


def _subject_name(subject: str) -> str:
    """The name in a sentence's subject, without the sentence's own "The" or capital."""
    name = _unquote(subject)
    if re.match(r"The\s", name):
        return name[4:].lstrip()
    return name[0].lower() + name[1:] if re.match(r"An?\s", name) else name


class _Collector:
    def __init__(self) -> None:
        self.classes: dict[str, RGB] = {}
        self.background: RGB | None = None
        self.instance_class: str | None = None

    def add(self, name: str, rgb: RGB) -> None:
        if name.lower() == "background":
            if self.background is not None and self.background != rgb:
                raise InvalidArgumentError(
                    f"the prompt gives the background two colours, {self.background} and {rgb}"
                )
            self.background = rgb
            return
        if self.classes.get(name, rgb) != rgb:
            raise InvalidArgumentError(
                f"the prompt gives {name!r} two colours, {self.classes[name]} and {rgb}"
            )
        self.classes[name] = rgb

    def read_object(self, entries: dict[Any, Any]) -> None:
        colors = {k: _color_or_none(v, strict=False) for k, v in entries.items()}
        if not any(rgb is not None for rgb in colors.values()):
            return  # a JSON object in the prompt that is not a colour mapping
        for key, value in entries.items():
            self.add(str(key).strip(), _color_or_none(value, strict=True))  # type: ignore[arg-type]

    def read_sentence(self, sentence: str) -> None:
        sentence = sentence.strip()
        instance = _INSTANCE.search(sentence)
        if instance:
            self.instance_class = instance.group("name").strip()
            return
        for verb in _IS.finditer(sentence):
            rest = sentence[verb.end() :]
            phrase = _VERB_PHRASE.match(rest)
            rgb = _color_or_none(rest[phrase.end() :] if phrase else rest, strict=False)
            if rgb is not None:
                self.add(_subject_name(sentence[: verb.start()]), rgb)
                return
        self.read_pairs(sentence)

    def read_pairs(self, text: str) -> None:
        """'name: colour' entries separated by commas; also JSON-like objects that neither JSON
        nor Python can load, such as {"cat": <255, 0, 0>}."""
        for entry in _split_outside_brackets(text, ","):
            parts = _PAIR_SEPARATOR.split(entry)
            if len(parts) >= 2 and _unquote(parts[-2]):
                rgb = _color_or_none(_unquote(parts[-1]), strict=False)
                if rgb is not None:
                    self.add(_unquote(parts[-2]), rgb)


def _split_outside_brackets(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "([<"
        depth -= char in ")]>" and depth > 0
        if char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _sentences(text: str) -> Iterator[str]:
    start = 0
    for end in _SENTENCE_END.finditer(text):
        yield text[start : end.start()]
        start = end.end()
    yield text[start:]


def parse_mapping(prompt: str) -> ColorMapping:
    """Reads the class-to-colour mapping (and the background) out of a segmentation prompt.

    Reads the forms listed in this module's docstring, in the order they appear; a JSON object
    that holds no colour is ignored. A class or the background given two different colours is an
    error, and so is a colour in colour syntax that does not parse ("(300, 0, 0)"). When the
    prompt names no background, it is black (SPEC.md section 3).

    Raises:
        InvalidArgumentError: nothing in the prompt reads as a mapping (the message quotes the
            prompt's start), or a colour in it is malformed.
        InvalidTypeError: ``prompt`` is not text.

    Example:
        >>> mapping = parse_mapping(
        ...     "This image shows segmentation masks from the given image. The background is "
        ...     "black color. The game control device is represented by a solid yellow."
        ... )
        >>> dict(mapping.classes), mapping.background
        ({'game control device': (255, 255, 0)}, (0, 0, 0))
    """
    if not isinstance(prompt, str):
        raise InvalidTypeError(f"prompt must be text, got {type(prompt).__name__}")
    found = _Collector()
    position = 0
    for start, end in [*_json_objects(prompt), (len(prompt), len(prompt))]:
        for sentence in _sentences(prompt[position:start]):
            found.read_sentence(sentence)
        if start < end:
            entries = _load_object(prompt[start:end])
            if entries is not None:
                found.read_object(entries)
            else:
                found.read_pairs(prompt[start + 1 : end - 1])
        position = end
    if not found.classes and found.background is None and found.instance_class is None:
        head = prompt if len(prompt) <= 80 else prompt[:80] + "..."
        raise InvalidArgumentError(
            f"could not read a class-to-colour mapping from the prompt {head!r}: expected a JSON "
            f'object such as {{"cat": "red"}}, or sentences such as "The cat is represented by '
            f'red." or "The background is black."'
        )
    return ColorMapping(found.classes, found.background or BLACK, found.instance_class)
