"""Generators for the Ray Data tests, in a module of their own so that Ray's workers import them
(the session's Ray puts tests/ on their path, see the root conftest.py)."""

from __future__ import annotations

import os
import time

import numpy as np

import vision_banana as vb
from vision_banana.backends import CallableGenerator, Generator


def depth_of(photo: np.ndarray) -> float:
    """The depth `paint_depth` paints for a photo: 1 m plus 5 m times its mean brightness."""
    return 1.0 + float(np.asarray(photo, np.float64).mean()) / 255 * 5


def paint_depth(image, prompt, seed):
    """A local generator: the depth picture of a flat wall at `depth_of(image)`, photo-sized."""
    array = np.asarray(image)
    return vb.encode_depth(np.full(array.shape[:2], depth_of(array), np.float32))


def logging_generator(log: str) -> Generator:
    """`paint_depth` that appends "<pid> <time>" to ``log`` as each generation starts."""

    def paint(image, prompt, seed):
        with open(log, "a") as file:
            file.write(f"{os.getpid()} {time.time()}\n")
        return paint_depth(image, prompt, seed)

    return CallableGenerator(paint, name="logging")


def read_log(log) -> list[tuple[int, float]]:
    """The (pid, time) of each generation `logging_generator` logged, in time order."""
    with open(log) as file:
        rows = [line.split() for line in file.read().splitlines()]
    return sorted(((int(pid), float(t)) for pid, t in rows), key=lambda row: row[1])
