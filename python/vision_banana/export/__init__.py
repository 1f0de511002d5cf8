"""Training sets for open image models: (photo, prompt, target picture) triples in one folder
that Hugging Face ``datasets`` and the LoRA trainers (ai-toolkit, DiffSynth-Studio, musubi-tuner,
SimpleTuner, diffusers' scripts) read, made from your data, a COCO instances file, or (only when
asked) a benchmark.

Example:
    >>> import vision_banana as vb
    >>> report = vb.export_training_set(  # doctest: +SKIP
    ...     "depth", "examples/eval_folder", "train/depth", colormap="mix", seed=0)
"""

from .runner import MANIFEST, ExportReport, Skipped, export_training_set
from .sources import BENCHMARK_WARNING, TASKS
from .targets import PROMPT_STYLES
from .trainers import FORMATS, ExportedSample

__all__ = [
    "BENCHMARK_WARNING",
    "FORMATS",
    "MANIFEST",
    "PROMPT_STYLES",
    "TASKS",
    "ExportReport",
    "ExportedSample",
    "Skipped",
    "export_training_set",
]
