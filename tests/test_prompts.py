"""Prompt builders and `parse_mapping` (SPEC.md sections 3 to 5): the paper's prompts parse to the
right mappings, and every builder's prompt reads back to what it was built from."""

from __future__ import annotations

import doctest
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vision_banana as vb
from vision_banana import ColorMapping, InvalidArgumentError, InvalidTypeError, prompts

BLACK = (0, 0, 0)
rgbs = st.tuples(*[st.integers(0, 255)] * 3)
# Words that cannot change a sentence's structure (no "is", "are", verbs or articles).
WORDS = ["cat", "dog", "round", "plate", "macaron", "cakes", "traffic", "light", "sky", "glass"]
sentence_names = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
# JSON keys may be any text: quotes, braces, backslashes, unicode.
json_names = st.text(min_size=1, max_size=12).filter(
    lambda s: s.strip() and s.strip().lower() != "background"
)


def mappings(names):
    return st.dictionaries(names, rgbs, min_size=1, max_size=6).filter(
        lambda m: (
            len({k.strip() for k in m}) == len(m)
            and len(set(m.values())) == len(m)
            and BLACK not in m.values()
        )
    )


# --- the paper's prompts ----------------------------------------------------------------------

PAPER = [
    (
        'Generate a semantic segmentation visualization image, using this color mapping: {"cat": '
        '"red", "lock": "pink", "background": "yellow"}.',
        {"cat": (255, 0, 0), "lock": (255, 192, 203)},
        (255, 255, 0),
        None,
    ),
    (
        "This image is a per-pixel class labeling of the input. The macaron cakes are represented "
        "by (255, 255, 0). The round plates are represented by (255, 192, 128).",
        {"macaron cakes": (255, 255, 0), "round plates": (255, 192, 128)},
        BLACK,
        None,
    ),
    (
        "This image shows segmentation masks from the given image. The background is black color. "
        "The game control device is represented by a solid yellow.",
        {"game control device": (255, 255, 0)},
        BLACK,
        None,
    ),
    (
        "Generate an instance segmentation visualization of this image. Each price tag is colored "
        "differently. The background is black.",
        {},
        BLACK,
        "price tag",
    ),
]


@pytest.mark.parametrize(("prompt", "classes", "background", "instance"), PAPER)
def test_the_papers_prompts_parse(prompt, classes, background, instance):
    mapping = vb.parse_mapping(prompt)
    assert list(mapping.classes.items()) == list(classes.items())
    assert mapping.background == background
    assert mapping.instance_class == instance


def test_the_builders_write_the_papers_prompts():
    assert vb.semantic_prompt({"cat": "red", "lock": "pink", "background": "yellow"}) == PAPER[0][0]
    assert (
        vb.semantic_prompt(
            {"macaron cakes": (255, 255, 0), "round plates": (255, 192, 128)},
            style="sentences",
            color_format="tuple",
        )
        == PAPER[1][0]
    )
    assert vb.referring_prompt("game control device", colors=["yellow"]) == PAPER[2][0]
    assert vb.instance_prompt("price tag") == PAPER[3][0]


@pytest.mark.parametrize(
    ("prompt", "classes", "background"),
    [
        (
            "Use {'cat': (255, 0, 0), 'dog': [0, 0, 255]} please",
            {"cat": (255, 0, 0), "dog": (0, 0, 255)},
            BLACK,
        ),
        (
            'map {"cat": <255, 0, 0>, "dog": RGB(1, 2, 3)}',
            {"cat": (255, 0, 0), "dog": (1, 2, 3)},
            BLACK,
        ),
        (
            "cat: red, dog: (0, 255, 0); sky = #abc",
            {"cat": (255, 0, 0), "dog": (0, 255, 0), "sky": (170, 187, 204)},
            BLACK,
        ),
        ("- cat -> red\n- background: white", {"cat": (255, 0, 0)}, (255, 255, 255)),
        (
            "The man who is tall is colored in the color red.",
            {"man who is tall": (255, 0, 0)},
            BLACK,
        ),
        (
            "Cars are shown in blue. The road is gray.",
            {"Cars": (0, 0, 255), "road": (128, 128, 128)},
            BLACK,
        ),
        ("A red ball is painted with #00ff00.", {"a red ball": (0, 255, 0)}, BLACK),
        (
            '{"task": "segment"} {"cat": "red"} The background is white color.',
            {"cat": (255, 0, 0)},
            (255, 255, 255),
        ),
        ('{"a \\"b\\" {c}": "red"}', {'a "b" {c}': (255, 0, 0)}, BLACK),
    ],
)
def test_other_forms_parse(prompt, classes, background):
    mapping = vb.parse_mapping(prompt)
    assert list(mapping.classes.items()) == list(classes.items())
    assert mapping.background == background


def test_ordinary_sentences_are_not_classes():
    mapping = vb.parse_mapping(
        "This image is a per-pixel class labeling of the input. Note: be precise. "
        "The cat is represented by red. Each part is important."
    )
    assert dict(mapping.classes) == {"cat": (255, 0, 0)}


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("color_format", vb.COLOR_FORMATS)
@pytest.mark.parametrize("style", ["json", "sentences"])
@given(data=st.data())
def test_semantic_prompts_read_back(style, color_format, data):
    mapping = data.draw(mappings(json_names if style == "json" else sentence_names))
    background = data.draw(st.none() | rgbs.filter(lambda c: c not in mapping.values()))
    prompt = vb.semantic_prompt(
        mapping, style=style, color_format=color_format, background=background
    )
    found = vb.parse_mapping(prompt)
    assert list(found.classes.items()) == [(k.strip(), v) for k, v in mapping.items()]
    assert found.background == (BLACK if background is None else background)
    # The background is spelled out only when given (class names may hold "background" too).
    plain = vb.semantic_prompt(mapping, style=style, color_format=color_format)
    assert (prompt != plain) == (background is not None)


@pytest.mark.parametrize("color_format", vb.COLOR_FORMATS)
@given(data=st.data())
def test_referring_prompts_read_back(color_format, data):
    referents = data.draw(mappings(sentence_names))
    background = data.draw(rgbs.filter(lambda c: c not in referents.values()))
    prompt = vb.referring_prompt(
        list(referents),
        colors=list(referents.values()),
        background=background,
        color_format=color_format,
    )
    found = vb.parse_mapping(prompt)
    assert list(found.classes.items()) == list(referents.items())
    assert found.background == background


@pytest.mark.parametrize("color_format", vb.COLOR_FORMATS)
@given(name=sentence_names, background=rgbs)
def test_instance_prompts_read_back(color_format, name, background):
    prompt = vb.instance_prompt(name, background=background, color_format=color_format)
    assert vb.parse_mapping(prompt) == ColorMapping({}, background, name)


def test_class_lists_get_palette_colours():
    prompt = vb.semantic_prompt(["cat", "dog", "sky"])
    assert prompt.endswith('{"cat": "green", "dog": "blue", "sky": "red"}.')
    on_white = vb.parse_mapping(vb.semantic_prompt(["cat", "dog"], background="white"))
    assert list(on_white.classes.values()) == vb.distinct_palette(2, avoid="white")
    referring = vb.parse_mapping(vb.referring_prompt(["the dog", "the ball"], background="blue"))
    assert list(referring.classes.values()) == vb.distinct_palette(2, avoid="blue")


def test_sentence_names_lose_the_sentences_article():
    prompt = vb.referring_prompt(["the man on the left.", "The dog", "A red ball", "an apple"])
    assert "The man on the left is" in prompt
    assert "A red ball is" in prompt
    assert "An apple is" in prompt
    assert list(vb.parse_mapping(prompt).classes) == [
        "man on the left",
        "dog",
        "a red ball",
        "an apple",
    ]
    json_prompt = vb.semantic_prompt({"The dog": "red"})
    assert list(vb.parse_mapping(json_prompt).classes) == ["The dog"]


def test_plural_classes_say_are():
    prompt = vb.semantic_prompt({"cakes": "red", "grass": "blue", "bus": "cyan"}, style="sentences")
    assert "The cakes are represented by red." in prompt
    assert "The grass is represented by blue." in prompt
    assert "The bus is represented by cyan." in prompt


def test_referring_prompt_formats():
    prompt = vb.referring_prompt("dog", colors=[(1, 2, 3)], color_format="hex")
    assert prompt.endswith("The background is #000000. The dog is represented by #010203.")
    prompt = vb.referring_prompt("dog", colors=["red"], background="white")
    assert "The background is white color. The dog is represented by a solid red." in prompt


def test_labels_put_the_background_first():
    mapping = vb.parse_mapping(PAPER[0][0])
    assert list(mapping.labels().items()) == [
        ("background", (255, 255, 0)),
        ("cat", (255, 0, 0)),
        ("lock", (255, 192, 203)),
    ]
    assert hash(mapping) == hash(vb.parse_mapping(PAPER[0][0]))
    with pytest.raises(TypeError):
        mapping.classes["dog"] = (1, 2, 3)


def test_depth_and_normals_prompts():
    depth = vb.depth_prompt()
    assert "black-red-yellow-green-cyan-blue-violet-white" in depth
    normals = vb.normals_prompt()
    assert all(word in normals for word in ("red", "left", "green", "up", "blue", "camera"))
    for prompt in (depth, normals):
        with pytest.raises(InvalidArgumentError, match=r"could not read a class-to-colour"):
            vb.parse_mapping(prompt)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "error", "message"),
    [
        (
            "Describe this image.",
            InvalidArgumentError,
            r"^could not read a class-to-colour mapping from the prompt 'Describe this image.': "
            r'expected a JSON object such as \{"cat": "red"\}, or sentences such as "The cat is '
            r'represented by red." or "The background is black."$',
        ),
        ("x" * 200, InvalidArgumentError, r"from the prompt '" + "x" * 80 + r"\.\.\.'"),
        ("", InvalidArgumentError, r"from the prompt ''"),
        (
            "The cat is represented by (300, 0, 0).",
            InvalidArgumentError,
            r"^colour component 300 in '\(300, 0, 0\)' is outside 0-255$",
        ),
        ("cat: (0.5, 0.2, 0.1)", InvalidArgumentError, r"component 0.5 .* is not a whole number"),
        ("The cat is a solid #ff00.", InvalidArgumentError, r"'a solid #ff00': a hex colour has"),
        ('{"cat": "red", "dog": "reddish"}', InvalidArgumentError, r"from 'reddish'"),
        ('{"cat": "red", "dog": 7}', InvalidTypeError, r"got int 7"),
        (
            "The cat is red. The cat is blue.",
            InvalidArgumentError,
            r"the prompt gives 'cat' two colours, \(255, 0, 0\) and \(0, 0, 255\)",
        ),
        (
            '{"cat": "red", "background": "white"} The background is black.',
            InvalidArgumentError,
            r"the prompt gives the background two colours, \(255, 255, 255\) and \(0, 0, 0\)",
        ),
        (b"The cat is red.", InvalidTypeError, r"prompt must be text, got bytes"),
    ],
)
def test_parse_mapping_errors(prompt, error, message):
    with pytest.raises(error, match=message):
        vb.parse_mapping(prompt)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: vb.semantic_prompt({}), InvalidArgumentError, r"at least one class besides"),
        (
            lambda: vb.semantic_prompt({"background": "red"}),
            InvalidArgumentError,
            r"mapping must name at least one class besides the background",
        ),
        (lambda: vb.semantic_prompt("cat"), InvalidTypeError, r"got str"),
        (lambda: vb.semantic_prompt({" ": "red"}), InvalidArgumentError, r"must not be empty"),
        (lambda: vb.semantic_prompt({3: "red"}), InvalidTypeError, r"a class name must be text"),
        (
            lambda: vb.semantic_prompt({"cat": "red", "dog": "#f00"}),
            InvalidArgumentError,
            r"'dog' has the same colour \(255, 0, 0\) as 'cat'",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "black"}),
            InvalidArgumentError,
            r"'cat' has the same colour \(0, 0, 0\) as the background",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "red", "background": "white"}, background="blue"),
            InvalidArgumentError,
            r"the background is given two colours, \(255, 255, 255\) and \(0, 0, 255\)",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "red", " cat": "blue"}),
            InvalidArgumentError,
            r"class names must be distinct",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "reddish"}),
            InvalidArgumentError,
            r"could not read a colour from 'reddish'",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "red"}, style="yaml"),
            InvalidArgumentError,
            r"style must be 'json' or 'sentences', got 'yaml'",
        ),
        (
            lambda: vb.semantic_prompt({"cat": "red"}, color_format="css"),
            InvalidArgumentError,
            r"color_format must be one of name, hex, tuple, angle, rgb; got 'css'",
        ),
        (
            lambda: vb.semantic_prompt({"cat. dog": "red"}, style="sentences"),
            InvalidArgumentError,
            r"the class names cannot be written so that the prompt reads back unambiguously",
        ),
        (
            lambda: vb.semantic_prompt({"cat is": "red"}, style="sentences"),
            InvalidArgumentError,
            r"rename it, or use style='json'",
        ),
        (
            lambda: vb.referring_prompt(["dog", "cat"], colors=["red"]),
            InvalidArgumentError,
            r"colors must give one colour per expression: 2 expression\(s\), got 1",
        ),
        (
            lambda: vb.referring_prompt(["dog"], colors="red"),
            InvalidArgumentError,
            r"colors must give one colour per expression: 1 expression\(s\), got 1",
        ),
        (lambda: vb.referring_prompt([]), InvalidArgumentError, r"at least one expression"),
        (lambda: vb.referring_prompt(["dog", "dog."]), InvalidArgumentError, r"must be distinct"),
        (lambda: vb.referring_prompt(5), InvalidTypeError, r"expressions must be text or a list"),
        (
            lambda: vb.referring_prompt("dog", colors=["black"]),
            InvalidArgumentError,
            r"'dog' has the same colour \(0, 0, 0\) as the background",
        ),
        (lambda: vb.instance_prompt(""), InvalidArgumentError, r"class_name must not be empty"),
        (lambda: vb.instance_prompt(None), InvalidTypeError, r"class_name must be text"),
        (
            lambda: vb.instance_prompt("tag", background="(1, 2)"),
            InvalidArgumentError,
            r"expected three components",
        ),
    ],
)
def test_builder_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_json_prompts_are_valid_json():
    prompt = vb.semantic_prompt(
        {'a "quoted" name': "red", "ünïcode": (1, 2, 3)}, color_format="tuple"
    )
    body = prompt[prompt.index("{") : prompt.rindex("}") + 1]
    assert json.loads(body) == {'a "quoted" name': "(255, 0, 0)", "ünïcode": "(1, 2, 3)"}


def test_docstring_examples():
    assert doctest.testmod(prompts, raise_on_error=False).failed == 0
