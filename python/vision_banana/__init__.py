"""vision-banana: perception as image generation.

A Vision Banana model answers every vision task with a picture whose colours follow an invertible
code. This package holds the codecs (ground truth to target pictures and back, in Rust), and the
tools around them. See README.md and SPEC.md.

Example:
    >>> import numpy as np, vision_banana as vb
    >>> depth = np.array([[0.5, 2.0], [10.0, 40.0]], dtype=np.float32)
    >>> picture = vb.encode_depth(depth)          # (2, 2, 3) uint8 on the cube walk
    >>> vb.decode_depth(picture).round(2)
    array([[ 0.5,  2. ],
           [10. , 40.2]], dtype=float32)
"""

from importlib.metadata import PackageNotFoundError, version

from .depth import (
    COLORMAPS,
    decode_depth,
    encode_depth,
    inverse_power_transform,
    power_transform,
    project,
    walk,
)
from .errors import ImageReadError, InvalidArgumentError, InvalidTypeError, VisionBananaError
from .io import read_image, write_image
from .metrics import (
    DepthMetric,
    InstanceMetric,
    NormalMetric,
    ReferringMetric,
    SemanticMetric,
    depth_metrics,
    mask_iou,
    normal_metrics,
    referring_metrics,
    semantic_metrics,
)

try:
    __version__ = version("vision-banana")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "COLORMAPS",
    "DepthMetric",
    "ImageReadError",
    "InstanceMetric",
    "InvalidArgumentError",
    "InvalidTypeError",
    "NormalMetric",
    "ReferringMetric",
    "SemanticMetric",
    "VisionBananaError",
    "__version__",
    "decode_depth",
    "depth_metrics",
    "encode_depth",
    "inverse_power_transform",
    "mask_iou",
    "normal_metrics",
    "power_transform",
    "project",
    "read_image",
    "referring_metrics",
    "semantic_metrics",
    "walk",
    "write_image",
]
