"""generation_size: an approximation of the model's answer size, with its documented error."""

import pytest

import vision_banana as vb
from vision_banana.backends import generation_size as from_backends
from vision_banana.backends.reference import generation_size as from_reference
from vision_banana.resolution import MEASURED_SIZES, generation_size

# The error the docstring states against each measured answer: (height error, width error).
DOCUMENTED_ERROR = {(1051, 1440): (0, -16), (375, 1242): (0, -32)}


@pytest.mark.parametrize(("source", "answer"), MEASURED_SIZES)
def test_generation_size_gets_the_measured_height_and_the_width_short_by_the_documented_pixels(
    source, answer
):
    h, w = generation_size(*source)
    assert (h - answer[0], w - answer[1]) == DOCUMENTED_ERROR[source]
    # The docstring's table states the same numbers.
    row = next(line for line in generation_size.__doc__.splitlines() if str(source) in line)
    assert row.split() == f"{source} {answer} {(h, w)}".split()


def test_generation_size_keeps_about_the_pixel_budget_and_the_aspect_in_multiples():
    for height, width in [(480, 640), (1051, 1440), (375, 1242), (4000, 3000), (17, 19)]:
        h, w = generation_size(height, width)
        assert h % 16 == w % 16 == 0
        assert abs(h * w / (1 << 20) - 1) < 0.05 + 16 * (h + w) / (1 << 20)
        assert abs(w / h - width / height) <= (width / height) * (16 / h + 16 / w)
    assert generation_size(100, 100, pixels=64 * 64, multiple=8) == (64, 64)


def test_generation_size_is_importable_where_it_used_to_live():
    assert from_backends is from_reference is generation_size


def test_generation_size_refuses_bad_sizes():
    with pytest.raises(vb.InvalidArgumentError, match="height must be a positive integer"):
        generation_size(0, 10)
    with pytest.raises(vb.InvalidArgumentError, match="multiple must be a positive integer"):
        generation_size(10, 10, multiple=1.5)
