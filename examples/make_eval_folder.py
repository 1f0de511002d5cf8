"""Write ``examples/eval_folder``: a tiny ``folder`` benchmark cut from the bundled room.

The synthetic room of ``make_example.py`` (``room.jpg`` and its true depth ``room_depth.npz``) is
cut into its four quadrants, each shrunk to 160x120:

* ``eval_folder/images/<quadrant>.jpg``: the photo's quadrant (JPEG, quality 92);
* ``eval_folder/depth/<quadrant>.npy``: its depth, float32 (120, 160), metres (every second
  pixel of the quadrant, so no depth is blended across an edge).

Then ``vision-banana eval folder --root examples/eval_folder ...`` scores a generator on it (see
the README's "Evaluate" section). Regenerate with ``python examples/make_eval_folder.py``; the
output is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
OUT = HERE / "eval_folder"
SIZE = (160, 120)  # width, height of each sample


def main() -> None:
    photo = Image.open(HERE / "room.jpg").convert("RGB")
    depth = np.load(HERE / "room_depth.npz")["depth"]
    height, width = depth.shape
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    (OUT / "depth").mkdir(exist_ok=True)
    for row, vertical in enumerate(("top", "bottom")):
        for column, horizontal in enumerate(("left", "right")):
            name = f"{vertical}_{horizontal}"
            top, left = row * height // 2, column * width // 2
            box = (left, top, left + width // 2, top + height // 2)
            tile = photo.crop(box).resize(SIZE, Image.Resampling.LANCZOS)
            tile.save(OUT / "images" / f"{name}.jpg", quality=92)
            patch = depth[top : top + height // 2 : 2, left : left + width // 2 : 2]
            np.save(OUT / "depth" / f"{name}.npy", np.ascontiguousarray(patch, np.float32))
            print(f"wrote {name}: depth {patch.min():.2f}-{patch.max():.2f} m")


if __name__ == "__main__":
    main()
