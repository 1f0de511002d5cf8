"""vision-banana: perception as image generation.

A Vision Banana model answers every vision task with a picture whose colours follow an invertible
code. This package holds the codecs (ground truth to target pictures and back, in Rust), and the
tools around them. See README.md and SPEC.md.

Example:
    >>> import numpy as np, vision_banana as vb
    >>> depth = np.array([[0.5, 2.0], [10.0, 40.0]], dtype=np.float32)
    >>> picture = vb.encode_depth(depth)          # (2, 2, 3) uint8 on the cube walk
    >>> vb.decode_depth(picture).round(1)      # 8 bits: finer near, coarser far
    array([[ 0.5,  2. ],
           [10. , 40.1]], dtype=float32)
"""

from importlib.metadata import PackageNotFoundError, version

from .colors import (
    COLOR_FORMATS,
    NAMED_COLORS,
    color_name,
    delta_e,
    distinct_palette,
    format_color,
    parse_color,
    srgb_to_lab,
)
from .depth import (
    COLORMAPS,
    decode_depth,
    encode_depth,
    inverse_power_transform,
    power_transform,
    project,
    walk,
)
from .errors import (
    GenerationBlocked,
    GeneratorError,
    ImageReadError,
    InvalidArgumentError,
    InvalidTypeError,
    VisionBananaError,
)
from .eval import EvalReport, evaluate
from .export import ExportReport, export_training_set
from .files import decode_files
from .instances import (
    Instance,
    Instances,
    encode_instances,
    extract_instances,
    extract_instances_batch,
)
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
from .normals import decode_normals, encode_normals, to_opencv
from .pipeline import (
    BatchResult,
    DepthResult,
    InstancesResult,
    NormalsResult,
    ReferringResult,
    Result,
    SemanticResult,
    VisionBanana,
)
from .prompts import (
    ColorMapping,
    depth_prompt,
    instance_prompt,
    normals_prompt,
    parse_mapping,
    referring_prompt,
    semantic_prompt,
)
from .resize import resize_depth, resize_labels, resize_normals
from .semantic import decode_referring, decode_semantic, encode_semantic

try:
    __version__ = version("vision-banana")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "COLORMAPS",
    "COLOR_FORMATS",
    "NAMED_COLORS",
    "BatchResult",
    "ColorMapping",
    "DepthMetric",
    "DepthResult",
    "EvalReport",
    "ExportReport",
    "GenerationBlocked",
    "GeneratorError",
    "ImageReadError",
    "Instance",
    "InstanceMetric",
    "Instances",
    "InstancesResult",
    "InvalidArgumentError",
    "InvalidTypeError",
    "NormalMetric",
    "NormalsResult",
    "ReferringMetric",
    "ReferringResult",
    "Result",
    "SemanticMetric",
    "SemanticResult",
    "VisionBanana",
    "VisionBananaError",
    "__version__",
    "color_name",
    "decode_depth",
    "decode_files",
    "decode_normals",
    "decode_referring",
    "decode_semantic",
    "delta_e",
    "depth_metrics",
    "depth_prompt",
    "distinct_palette",
    "encode_depth",
    "encode_instances",
    "encode_normals",
    "encode_semantic",
    "evaluate",
    "export_training_set",
    "extract_instances",
    "extract_instances_batch",
    "format_color",
    "instance_prompt",
    "inverse_power_transform",
    "mask_iou",
    "normal_metrics",
    "normals_prompt",
    "parse_color",
    "parse_mapping",
    "power_transform",
    "project",
    "read_image",
    "referring_metrics",
    "referring_prompt",
    "resize_depth",
    "resize_labels",
    "resize_normals",
    "semantic_metrics",
    "semantic_prompt",
    "srgb_to_lab",
    "to_opencv",
    "walk",
    "write_image",
]
