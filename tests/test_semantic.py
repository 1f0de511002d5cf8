"""Semantic and referring segmentation pictures (SPEC.md sections 3, 5 and 6), on exact pictures and
on generator-like ones: blended edges, colour drift, noise, resampling and JPEG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import vision_banana as vb
from vision_banana import InvalidArgumentError, InvalidTypeError

# Well-separated class colours (Cityscapes' published palette).
CITYSCAPES = [
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32),
]  # fmt: skip


def numpy_nearest(picture, colors):
    """Brute force: exact integer squared distances to every colour, first minimum wins."""
    diff = picture[..., None, :3].astype(np.int64) - np.asarray(colors, np.int64)
    return np.argmin((diff * diff).sum(-1), axis=-1)


def random_colors(rng, k):
    return [tuple(int(v) for v in c) for c in rng.integers(0, 256, (k, 3))]


@pytest.mark.parametrize("k", [1, 2, 19, 150, 300, 1000])
def test_labels_are_the_nearest_colour_exactly(rng, k):
    colors = random_colors(rng, k)
    picture = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    labels = vb.decode_semantic(picture, colors, background=None)
    assert labels.dtype == (np.uint8 if k <= 255 else np.uint16)
    np.testing.assert_array_equal(labels, numpy_nearest(picture, colors))


def test_ties_go_to_the_class_listed_first():
    picture = np.array([[[100, 0, 0]]], np.uint8)
    assert vb.decode_semantic(picture, [(110, 0, 0), (90, 0, 0)], background=None)[0, 0] == 0
    assert vb.decode_semantic(picture, [(90, 0, 0), (110, 0, 0)], background=None)[0, 0] == 0


def test_black_is_the_implicit_background_unless_a_class_has_it():
    picture = np.array([[[0, 0, 0], [10, 10, 10], [250, 0, 0]]], np.uint8)
    assert vb.decode_semantic(picture, [(255, 0, 0)]).tolist() == [[255, 255, 0]]
    assert vb.decode_semantic(picture, [(255, 0, 0)], ignore_index=7).tolist() == [[7, 7, 0]]
    named = {"cat": (255, 0, 0), "background": (0, 0, 0)}
    assert vb.decode_semantic(picture, named).tolist() == [[1, 1, 0]]
    yellow = vb.decode_semantic(picture, [(255, 0, 0)], background=(255, 255, 0))
    assert yellow.tolist() == [[0, 0, 0]]  # black is nearer to red than to yellow


def test_max_distance_and_distances(rng):
    picture = np.array([[[250, 0, 0], [128, 128, 128], [0, 0, 250]]], np.uint8)
    labels, distance = vb.decode_semantic(
        picture, [(255, 0, 0), (0, 0, 255)], max_distance=20, return_distance=True
    )
    assert labels.tolist() == [[0, 255, 1]]
    np.testing.assert_allclose(distance[0, [0, 2]], 5 / 255, rtol=1e-6)


def test_dtypes_give_the_same_labels(rng):
    colors = random_colors(rng, 19)
    picture = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    expected = vb.decode_semantic(picture, colors)
    np.testing.assert_array_equal(
        vb.decode_semantic(picture.astype(np.uint16) * 257, colors), expected
    )
    np.testing.assert_array_equal(vb.decode_semantic(picture / 255.0, colors), expected)
    np.testing.assert_array_equal(vb.decode_semantic(picture[::-1], colors), expected[::-1])


def test_more_than_255_labels_widen_to_uint16(rng):
    colors = random_colors(rng, 400)
    labels = rng.integers(0, 400, (30, 30))
    picture = vb.encode_semantic(labels, colors, ignore_index=None)
    decoded = vb.decode_semantic(picture, colors, ignore_index=400)
    assert decoded.dtype == np.uint16
    # Equal colours drawn twice decode to the first of them: compare colours, not indices.
    np.testing.assert_array_equal(np.asarray(colors)[decoded], np.asarray(colors)[labels])


def test_encode_then_decode_is_exact_with_ignored_pixels(rng):
    labels = rng.integers(0, 19, (2, 50, 60))
    labels[:, :5] = 255
    pictures = vb.encode_semantic(labels, CITYSCAPES)
    assert pictures.shape == (2, 50, 60, 3)
    np.testing.assert_array_equal(vb.decode_semantic(pictures, CITYSCAPES), labels)
    mapping = {f"class {i}": c for i, c in enumerate(CITYSCAPES)}
    np.testing.assert_array_equal(vb.decode_semantic(pictures[0], mapping), labels[0])


def test_referring_masks(rng):
    colors = [(255, 255, 0), (0, 255, 255)]
    labels = rng.integers(0, 3, (2, 20, 30))
    picture = vb.encode_semantic(np.where(labels == 2, 255, labels), colors)
    masks = vb.decode_referring(picture, colors)
    assert masks.shape == (2, 2, 20, 30)
    assert masks.dtype == bool
    for k in range(2):
        np.testing.assert_array_equal(masks[:, k], labels == k)
    named = {"the game controller": colors[0], "the cup": colors[1]}
    single = vb.decode_referring(picture[0], named)
    np.testing.assert_array_equal(single, masks[0])


# --- generator-like pictures -----------------------------------------------------------------


def scene_labels(rng, height, width, k):
    """Voronoi regions around random seeds: a label map with long straight and oblique borders."""
    seeds = rng.uniform(0, 1, (k, 2)) * (height, width)
    y, x = np.mgrid[0:height, 0:width]
    d = (y[..., None] - seeds[:, 0]) ** 2 + (x[..., None] - seeds[:, 1]) ** 2
    return np.argmin(d, axis=-1)


def generate_like_a_model(rng, labels, colors, quality):
    """Render at 2x and box-filter (anti-aliased edges), drift colours slowly, add noise, resample
    to about a megapixel in multiples of 16 (bicubic), and round-trip through JPEG."""
    big = np.kron(labels, np.ones((2, 2), int))
    picture = vb.encode_semantic(big, colors).astype(np.float64)
    h, w = labels.shape
    picture = picture.reshape(h, 2, w, 2, 3).mean(axis=(1, 3))
    drift = np.linspace(-5, 5, w)[None, :, None] * np.array([1.0, -0.5, 0.8])
    picture = np.clip(picture + drift + rng.normal(0, 1.5, picture.shape), 0, 255)
    image = Image.fromarray(picture.round().astype(np.uint8)).resize((1184, 880), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return vb.read_image(buffer.getvalue())


def away_from_borders(labels, margin):
    """Pixels whose neighbourhood of `margin` pixels holds one label only."""
    inside = np.ones(labels.shape, bool)
    for dy in range(-margin, margin + 1):
        for dx in range(-margin, margin + 1):
            shifted = np.roll(labels, (dy, dx), axis=(0, 1))
            inside &= shifted == labels
    return inside


@pytest.mark.parametrize(("quality", "accuracy"), [(80, 0.99), (90, 0.99), (95, 0.995)])
def test_generator_like_pictures_decode_accurately(rng, quality, accuracy):
    truth = scene_labels(rng, 480, 640, 19)
    picture = generate_like_a_model(rng, truth, CITYSCAPES, quality)
    assert picture.shape == (880, 1184, 3)
    labels = vb.resize_labels(vb.decode_semantic(picture, CITYSCAPES), (480, 640))
    inside = away_from_borders(truth, 3)
    assert inside.mean() > 0.8
    assert np.mean(labels[inside] == truth[inside]) >= accuracy
    assert np.mean(labels == truth) >= 0.97  # borders included


@pytest.mark.parametrize(
    ("colors", "kwargs", "error", "message"),
    [
        ([], {}, InvalidArgumentError, "colors must hold at least one colour"),
        ("red", {}, InvalidTypeError, "colors must be a sequence or a mapping of colours"),
        ([(300, 0, 0)], {}, InvalidArgumentError, r"colors\[0\] must be an \(r, g, b\) colour"),
        ([(1, 2)], {}, InvalidArgumentError, r"colors\[0\] must be an \(r, g, b\) colour"),
        (np.zeros((3, 4)), {}, InvalidArgumentError, r"colors must have shape \(K, 3\)"),
        ([(1, 2, 3)], {"ignore_index": 0}, InvalidArgumentError, "ignore_index must be in 1-65535"),
        ([(9, 9, 9)] * 300, {}, InvalidArgumentError, "not one of the 300 class labels"),
        ([(1, 2, 3)], {"ignore_index": 1.5}, InvalidTypeError, "ignore_index must be an integer"),
        ([(1, 2, 3)], {"max_distance": -1}, InvalidArgumentError, "max_distance must be >= 0"),
        ([(1, 2, 3)], {"background": (0, 0)}, InvalidArgumentError, "background must be an"),
    ],
)
def test_decode_rejects_bad_arguments(colors, kwargs, error, message):
    with pytest.raises(error, match=message):
        vb.decode_semantic(np.zeros((2, 2, 3), np.uint8), colors, **kwargs)


def test_encode_rejects_unknown_labels():
    with pytest.raises(
        InvalidArgumentError,
        match=r"labels has 2 value\(s\) that are neither a class \(0-1\) nor ignore_index; "
        r"the first, at \(0, 1\), is 7",
    ):
        vb.encode_semantic(np.array([[0, 7, -1]]), [(1, 1, 1), (2, 2, 2)])
    with pytest.raises(InvalidArgumentError, match="ignore_index must be in 300-65535"):
        vb.encode_semantic(np.zeros((2, 2), int), [(1, 1, 1)] * 300)
    with pytest.raises(InvalidTypeError, match="labels must be an integer array, got float64"):
        vb.encode_semantic(np.zeros((2, 2)), [(1, 1, 1)])


def test_inputs_are_not_modified(rng):
    picture = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    keep = picture.copy()
    colors = np.array(CITYSCAPES)
    keep_colors = colors.copy()
    vb.decode_semantic(picture, colors, return_distance=True)
    np.testing.assert_array_equal(picture, keep)
    np.testing.assert_array_equal(colors, keep_colors)


def test_decoding_from_the_prompt_text_alone():
    prompt = (
        "Generate a semantic segmentation visualization image, using this color mapping: "
        '{"cat": "red", "lock": "pink", "background": "yellow"}.'
    )
    mapping = vb.parse_mapping(prompt)
    picture = np.array([[[250, 5, 5], [255, 190, 200], [250, 250, 5], [0, 0, 0]]], np.uint8)
    # Yellow is the prompt's background: it gets ignore_index; black is now just far from all.
    assert vb.decode_semantic(picture, mapping).tolist() == [[0, 1, 255, 0]]
    assert vb.decode_semantic(picture, mapping, max_distance=60).tolist() == [[0, 1, 255, 255]]
    referring = vb.parse_mapping(
        "This image shows segmentation masks from the given image. The background is black "
        "color. The game control device is represented by a solid yellow."
    )
    masks = vb.decode_referring(np.array([[[250, 250, 0], [5, 5, 5]]], np.uint8), referring)
    assert masks.tolist() == [[[True, False]]]


def test_colour_text_is_accepted_everywhere():
    picture = np.array([[[0, 250, 0], [250, 0, 0]]], np.uint8)
    assert vb.decode_semantic(picture, ["green", "#ff0000"]).tolist() == [[0, 1]]
    assert vb.encode_semantic(np.array([[1]]), ["green", "RGB(1, 2, 3)"]).tolist() == [[[1, 2, 3]]]
    with pytest.raises(InvalidArgumentError, match="could not read a colour from 'reddish'"):
        vb.decode_semantic(picture, ["reddish"])


def test_the_old_module_name_segmentation_still_imports_with_a_deprecation_warning():
    import importlib
    import sys

    sys.modules.pop("vision_banana.segmentation", None)
    with pytest.warns(DeprecationWarning, match=r"vision_banana\.segmentation is deprecated"):
        old = importlib.import_module("vision_banana.segmentation")
    assert old.decode_semantic is vb.decode_semantic
    assert old.decode_referring is vb.decode_referring


@pytest.mark.parametrize(
    ("background", "what"),
    [
        (None, "no implicit background"),
        ((255, 0, 0), "a background that is also a class colour"),
        ((0, 0, 255), "a background of its own"),
    ],
)
def test_an_ignore_index_above_255_is_written_whole_whatever_the_background(background, what):
    # Pixels far from every colour get ignore_index = 257: in uint8 it would read 1, a class.
    picture = np.array([[[255, 0, 0], [0, 255, 0], [128, 128, 128], [0, 0, 255]]], np.uint8)
    labels = vb.decode_semantic(
        picture,
        [(255, 0, 0), (0, 255, 0)],
        background=background,
        max_distance=30,
        ignore_index=257,
    )
    assert labels.dtype == np.uint16, what
    # Grey is far from every colour; blue is far from the classes, or the background.
    assert labels.tolist() == [[0, 1, 257, 257]], what


def test_labels_stay_uint8_when_ignore_index_can_never_be_written():
    picture = np.array([[[255, 0, 0], [128, 128, 128]]], np.uint8)
    labels = vb.decode_semantic(
        picture, [(255, 0, 0), (0, 255, 0)], background=None, ignore_index=300
    )
    assert labels.dtype == np.uint8
    assert labels.tolist() == [[0, 0]]
