"""The README.md written into an export folder: what it holds and how each trainer reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import ExportReport

__all__ = ["folder_readme"]

# huggingface/diffusers examples/dreambooth: train_dreambooth_lora_flux_kontext.py and
# train_dreambooth_lora_flux2_klein_img2img.py take --dataset_name (a local folder is loaded with
# load_dataset) and --image_column, --cond_image_column, --caption_column.
_DIFFUSERS = """\
accelerate launch train_dreambooth_lora_{script}.py \\
  --pretrained_model_name_or_path={model} \\
  --dataset_name={out} \\
  --image_column=image --cond_image_column=control --caption_column=prompt \\
  --output_dir=vision-banana-lora --resolution=1024 --train_batch_size=1 \\
  --learning_rate=1e-4 --max_train_steps=2000 --rank=16 --gradient_checkpointing"""


def folder_readme(report: ExportReport, files: Sequence[str]) -> str:
    """The folder's README (deterministic: a rerun that changes nothing rewrites nothing)."""
    out = report.out
    kontext = _DIFFUSERS.format(
        script="flux_kontext", model="black-forest-labs/FLUX.1-Kontext-dev", out=out
    )
    klein = _DIFFUSERS.format(
        script="flux2_klein_img2img", model="black-forest-labs/FLUX.2-klein-4B", out=out
    )
    listed = "\n".join(f"- `{name}`" for name in files if name != "README.md")
    return f"""\
# Vision Banana training set: {report.task}

Written by `vision-banana export-train` from the `{report.source}` source: {len(report.samples)}
(photo, prompt, target picture) triples, {len(report.skipped)} source samples skipped (their
reasons are in `.vision-banana-export.json`). Never train on benchmark data: it voids their scores.

- `control/<id>.png`: the photo (the image the model edits).
- `target/<id>.png`: the picture the model must answer with (Vision Banana's colour code).
- `target/<id>.txt`: the prompt that asks for it.

Index and trainer files:
{listed}

## Hugging Face datasets and the diffusers LoRA scripts

`load_dataset("imagefolder", data_dir="{out}")` gives the columns `image` (target), `control`
(photo), `prompt`, `task` and `source_id`. FLUX.1 Kontext:

```bash
{kontext}
```

FLUX.2 klein:

```bash
{klein}
```

Then `DiffusersGenerator("flux2-klein-4b", lora="vision-banana-lora")` answers with the adapter.

## Other trainers

- ai-toolkit: paste the entry of `ai-toolkit.yaml` into `config.process[0].datasets`.
- DiffSynth-Studio: `--dataset_base_path {out} --dataset_metadata_path
  {out}/diffsynth_metadata.csv --data_file_keys "image,edit_image" --extra_inputs "edit_image"`
  (Qwen-Image-Edit, FLUX.2), or `kontext_images` in both for FLUX.1 Kontext.
- musubi-tuner: `--dataset_config {out}/musubi_dataset.toml`.
- SimpleTuner: `--data_backend_config {out}/multidatabackend.json`.

The trainers' files hold absolute paths where the trainer opens paths as written: after moving
this folder, run the same export again into it to rewrite them.
"""
