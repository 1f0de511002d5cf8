"""The examples in the docstrings run and print what they say (doctest), so they cannot rot.

Examples that need files a reader would have (a dataset's root, a photo) are marked
``# doctest: +SKIP`` where they stand.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vision_banana

# Modules whose examples read files from the working directory.
NEEDS_FILES = {"vision_banana.io"}
DEPRECATED = {"vision_banana.segmentation"}  # imports with a warning, and has no examples
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(vision_banana.__path__, "vision_banana.")
    if info.name not in NEEDS_FILES | DEPRECATED
    and not info.name.startswith("vision_banana._core")
    and not info.name.startswith("vision_banana.backends.diffusers")  # imports torch lazily
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_cover_the_codecs():
    assert {"vision_banana.depth", "vision_banana.semantic", "vision_banana.metrics.depth"} <= set(
        MODULES
    )
