"""`VisionBanana`: a photo in, numbers out, through a generator.

Each task builds its prompt (or takes yours), asks the generator for a picture, decodes that
picture at the size it came in, and resizes the decoded result to the input (SPEC.md section 6):
bilinear for depth, bilinear then renormalised for normals, nearest for labels, masks and
instance ids. The colour picture itself is never resized.

Example:
    >>> import numpy as np, vision_banana as vb
    >>> from vision_banana.backends import ReferenceGenerator
    >>> truth = np.full((48, 64), 3.0, np.float32)
    >>> vision = vb.VisionBanana(ReferenceGenerator(depth=truth, degrade=True))
    >>> result = vision.depth(np.zeros((48, 64, 3), np.uint8))
    >>> result.depth.shape, round(float(np.median(result.depth)), 1)
    ((48, 64), 3.0)
"""

from .results import (
    BatchResult,
    DepthResult,
    InstancesResult,
    NormalsResult,
    ReferringResult,
    Result,
    SemanticResult,
)
from .vision_banana import TASKS, VisionBanana

__all__ = [
    "TASKS",
    "BatchResult",
    "DepthResult",
    "InstancesResult",
    "NormalsResult",
    "ReferringResult",
    "Result",
    "SemanticResult",
    "VisionBanana",
]
