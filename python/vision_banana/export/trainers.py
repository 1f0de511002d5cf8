"""The files each trainer reads to find an export's pairs: Hugging Face ``datasets``' ImageFolder
metadata and one sidecar per LoRA trainer, all pointing at the same ``control/`` and ``target/``
pictures (no trainer gets copies).

Each writer takes the export folder and its samples, and returns {file name: text}. Field names
are the trainers' own; the comment above each writer names the file of the trainer it follows.
Paths are relative where the trainer resolves them against a folder it is given (``datasets``,
DiffSynth-Studio's ``--dataset_base_path``) and absolute where it opens them as written (from the
directory it runs in): after moving the folder, run the export again into it to rewrite them
(nothing else is rewritten).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMATS", "SIDECARS", "ExportedSample", "sidecar_files"]


@dataclass(frozen=True)
class ExportedSample:
    """One exported pair, as the trainers' files list it.

    Attributes:
        id: the stem of ``control/<id>.png``, ``target/<id>.png`` and ``target/<id>.txt``.
        source_id: where it came from (see `ExportSample.source_id`).
        prompt: the prompt (also in ``target/<id>.txt``).
        task: "depth", "normals", "semantic" or "instances".
    """

    id: str
    source_id: str
    prompt: str
    task: str

    @property
    def control(self) -> str:
        return f"control/{self.id}.png"

    @property
    def target(self) -> str:
        return f"target/{self.id}.png"


def _jsonl(rows: Sequence[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _quoted(path: Path) -> str:
    # A JSON string is a YAML double-quoted scalar and a TOML basic string alike.
    return json.dumps(str(path), ensure_ascii=False)


# huggingface/datasets src/datasets/packaged_modules/folder_based_builder/folder_based_builder.py:
# "file_name" becomes the "image" column and any "<name>_file_name" an image column "<name>",
# relative to the folder holding metadata.jsonl (the only metadata.* file it may find there).
def imagefolder(out: Path, samples: Sequence[ExportedSample]) -> dict[str, str]:
    rows = [
        {
            "file_name": s.target,
            "control_file_name": s.control,
            "prompt": s.prompt,
            "task": s.task,
            "source_id": s.source_id,
        }
        for s in samples
    ]
    return {"metadata.jsonl": _jsonl(rows)}


# ostris/ai-toolkit toolkit/config_modules.py DatasetConfig (folder_path, control_path,
# caption_ext, resolution) and config/examples/train_lora_flux_kontext_24gb.yaml: the control
# image of folder_path/<stem>.png is control_path/<stem>.<jpg|jpeg|png|webp>
# (toolkit/dataloader_mixins.py), its caption folder_path/<stem>.txt.
def ai_toolkit(out: Path, samples: Sequence[ExportedSample]) -> dict[str, str]:
    text = (
        "# ai-toolkit: paste this entry into config.process[0].datasets of your job config\n"
        "# (e.g. config/examples/train_lora_flux_kontext_24gb.yaml); written by vision-banana.\n"
        "datasets:\n"
        f"  - folder_path: {_quoted(out / 'target')}\n"
        f"    control_path: {_quoted(out / 'control')}\n"
        '    caption_ext: "txt"\n'
        "    resolution: [512, 768, 1024]\n"
    )
    return {"ai-toolkit.yaml": text}


# modelscope/DiffSynth-Studio diffsynth/core/data/unified_dataset.py reads a CSV with pandas and
# loads the columns named by --data_file_keys relative to --dataset_base_path; the editing models
# take the photo as edit_image (Qwen-Image-Edit, FLUX.2: examples/qwen_image/model_training/
# lora/Qwen-Image-Edit-2511.sh) or kontext_images (examples/flux/model_training/lora/
# FLUX.1-Kontext-dev.sh). Not named metadata.csv: ImageFolder would read that one too.
def diffsynth(out: Path, samples: Sequence[ExportedSample]) -> dict[str, str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "prompt", "edit_image", "kontext_images"])
    for s in samples:
        writer.writerow([s.target, s.prompt, s.control, s.control])
    return {"diffsynth_metadata.csv": buffer.getvalue()}


# kohya-ss/musubi-tuner docs/dataset_config.md ("Image Dataset with Metadata JSONL File", "Image
# Dataset with Control Images") and src/musubi_tuner/dataset/config_utils.py (general:
# resolution, batch_size, enable_bucket, bucket_no_upscale; datasets: image_jsonl_file,
# cache_directory, num_repeats); src/musubi_tuner/dataset/datasources.py ImageJsonlDatasource
# reads image_path, control_path and caption, and opens the paths as written.
def musubi(out: Path, samples: Sequence[ExportedSample]) -> dict[str, str]:
    rows = [
        {
            "image_path": str(out / s.target),
            "control_path": str(out / s.control),
            "caption": s.prompt,
        }
        for s in samples
    ]
    toml = (
        "# musubi-tuner dataset config: --dataset_config musubi_dataset.toml (written by "
        "vision-banana)\n"
        "[general]\n"
        "resolution = [1024, 1024]\n"
        "batch_size = 1\n"
        "enable_bucket = true\n"
        "bucket_no_upscale = false\n"
        "\n"
        "[[datasets]]\n"
        f"image_jsonl_file = {_quoted(out / 'musubi_metadata.jsonl')}\n"
        f"cache_directory = {_quoted(out / 'cache' / 'musubi')}\n"
        "num_repeats = 1\n"
    )
    return {"musubi_dataset.toml": toml, "musubi_metadata.jsonl": _jsonl(rows)}


# bghira/SimpleTuner documentation/DATALOADER.md (dataset_type, conditioning_type,
# source_dataset_id, conditioning_data, caption_strategy) and documentation/quickstart/
# QWEN_EDIT.md and FLUX_KONTEXT.md: the edited pictures with textfile captions, paired by file
# name with a reference_strict conditioning dataset, and the default text-embed cache.
def simpletuner(out: Path, samples: Sequence[ExportedSample]) -> dict[str, str]:
    cache = out / "cache" / "simpletuner"
    backends = [
        {
            "id": "vision-banana-target",
            "type": "local",
            "dataset_type": "image",
            "instance_data_dir": str(out / "target"),
            "caption_strategy": "textfile",
            "resolution": 1024,
            "resolution_type": "pixel_area",
            "conditioning_data": ["vision-banana-control"],
            "cache_dir_vae": str(cache / "vae" / "target"),
        },
        {
            "id": "vision-banana-control",
            "type": "local",
            "dataset_type": "conditioning",
            "conditioning_type": "reference_strict",
            "source_dataset_id": "vision-banana-target",
            "instance_data_dir": str(out / "control"),
            "caption_strategy": None,
            "resolution": 1024,
            "resolution_type": "pixel_area",
            "cache_dir_vae": str(cache / "vae" / "control"),
        },
        {
            "id": "vision-banana-text-embeds",
            "type": "local",
            "dataset_type": "text_embeds",
            "default": True,
            "cache_dir": str(cache / "text"),
        },
    ]
    return {"multidatabackend.json": json.dumps(backends, indent=2) + "\n"}


SidecarWriter = Callable[[Path, Sequence[ExportedSample]], dict[str, str]]

#: --format name -> its writer.
SIDECARS: dict[str, SidecarWriter] = {
    "imagefolder": imagefolder,
    "ai-toolkit": ai_toolkit,
    "diffsynth": diffsynth,
    "musubi": musubi,
    "simpletuner": simpletuner,
}
FORMATS: tuple[str, ...] = ("all", *SIDECARS)


def sidecar_files(
    out: Path, samples: Sequence[ExportedSample], formats: Sequence[str]
) -> dict[str, str]:
    """The files of ``formats`` ("all" for every one) for ``samples`` exported into ``out``
    (an absolute path)."""
    names = list(SIDECARS) if "all" in formats else list(dict.fromkeys(formats))
    files: dict[str, str] = {}
    for name in names:
        files.update(SIDECARS[name](out, samples))
    return files
