"""Generator backends: the model between the prompt and the picture (see `Generator`).

- `ReferenceGenerator`: a stand-in that renders the exact target picture from ground truth
  (optionally degraded like a real generator's); for tests, demos and measuring decoders.
- `CallableGenerator`: any Python function ``fn(image, prompt, seed)``.
- `HTTPGenerator`: the user's own service over HTTP (protocol in `vision_banana.backends.http`).
- `DiffusersGenerator`: open-weight editing models through diffusers (FLUX.2 klein, Qwen-Image-Edit,
  FLUX.1 Kontext, InstructPix2Pix), extra ``diffusers``; torch is imported on first use.
- `vision_banana.backends.gemini.GeminiGenerator`: Google's image models, extra ``gemini``.
"""

from ..errors import GenerationBlocked, GeneratorError
from ..resolution import generation_size
from .base import Generator, as_pil_image, to_rgb_image
from .callable import CallableGenerator
from .diffusers import DiffusersGenerator
from .http import HTTPGenerator
from .reference import Degradation, ReferenceGenerator

__all__ = [
    "CallableGenerator",
    "Degradation",
    "DiffusersGenerator",
    "GenerationBlocked",
    "Generator",
    "GeneratorError",
    "HTTPGenerator",
    "ReferenceGenerator",
    "as_pil_image",
    "generation_size",
    "to_rgb_image",
]
