"""Render the bundled depth example: a synthetic room, its true depth, and a mock generated answer.

We cannot ship a real Vision Banana output, so this script builds a stand-in that is honest about
what it is. It ray-casts a small indoor scene in numpy (a box room with a window, a sphere and three
boxes, two lights, tiled floor, striped walls) and writes, next to this file:

* ``room.jpg``: the "photo", 640x480, JPEG quality 92.
* ``room_depth.npz``: the ground truth, key ``depth``: float32 (480, 640) planar z-depth in metres
  (distance from the camera plane, not along the ray, as SPEC.md section 1 requires). The room
  spans about 1.3-8.5 m; through the window, buildings and a hillside 33-58 m away.
* ``room_depth_generated.png``: what a generator would hand back for "estimate metric depth":
  the true depth encoded with ``vision_banana.encode_depth`` and then degraded the way SPEC.md
  section 6 describes real outputs: resampled (bicubic) to about one megapixel with both sides
  multiples of 16, slight colour noise, a JPEG round trip at quality 90, saved as PNG.

With ``--figure`` it also draws ``docs/depth_example.png`` for the README: the photo, the depth
picture, and the error of the depth decoded from the generated picture. That part needs matplotlib,
a development-time dependency only; everything else needs numpy, Pillow and vision_banana.

Regenerate with ``python examples/make_example.py --figure``. The output is deterministic: every
random draw comes from a fixed seed.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from vision_banana import decode_depth, encode_depth

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"

WIDTH, HEIGHT = 640, 480
# The model answers at about one megapixel, both sides multiples of 16, roughly the input's aspect
# ratio (SPEC.md section 6: 1216x880 for a 1440x1051 input). 1184x880 is 1.04 MP, aspect 1.345
# for our 1.333.
GENERATED_SIZE = (1184, 880)
SEED = 20260420

# Camera: pinhole, 1.3 m above the floor, pitched 12 degrees down, 67 degrees horizontal field of
# view. World frame: x right, y up, z forward (into the room).
EYE = np.array([0.0, 1.3, 0.0])
PITCH = np.radians(12.0)
FOCAL = 480.0  # pixels at 640x480
FORWARD = np.array([0.0, -np.sin(PITCH), np.cos(PITCH)])
UP = np.array([0.0, np.cos(PITCH), np.sin(PITCH)])
RIGHT = np.array([1.0, 0.0, 0.0])

# Room: floor y = 0, ceiling y = 2.7, side walls x = +-2.4, back wall z = 8.4.
ROOM_LO = np.array([-2.4, 0.0, -1.0])
ROOM_HI = np.array([2.4, 2.7, 8.4])
WINDOW = (-1.3, 0.9, 1.0, 2.2)  # x0, x1, y0, y1 on the back wall
MULLION = 0.04  # half width of the window's cross bars, metres
SPHERE_CENTRE, SPHERE_RADIUS = np.array([0.95, 0.5, 3.0]), 0.5
BOXES = (  # (lo, hi, albedo): a cabinet near the camera, a sideboard, a bookcase
    (np.array([-1.35, 0.0, 1.2]), np.array([-0.55, 0.8, 1.8]), (0.55, 0.36, 0.2)),
    (np.array([-2.4, 0.0, 4.6]), np.array([-1.7, 1.0, 6.0]), (0.25, 0.33, 0.45)),
    (np.array([1.6, 0.0, 6.3]), np.array([2.4, 1.9, 7.6]), (0.45, 0.3, 0.22)),
)
# Outside, seen through the window: three building fronts and a hillside behind them, all far.
BUILDINGS = (  # x0, x1, top y, front z, colour (already lit: outdoor daylight, no shading)
    (-30.0, -3.0, 4.0, 34.0, (0.95, 0.9, 0.82)),
    (-6.0, 4.0, 4.5, 46.0, (0.8, 0.85, 0.92)),
    (2.0, 25.0, 12.0, 38.0, (0.98, 0.86, 0.78)),
)
HILLSIDE_Z = 60.0

# Lights: a ceiling lamp in front of the objects, and daylight from the window (a directional
# light coming from behind the back wall, slightly from above).
LAMP = np.array([0.2, 2.45, 2.4])
LAMP_COLOUR = np.array([1.0, 0.88, 0.72]) * 6.0
SUN_DIR = np.array([0.15, 0.55, 1.0]) / np.linalg.norm([0.15, 0.55, 1.0])  # surface to light
SUN_COLOUR = np.array([0.75, 0.85, 1.0]) * 0.9
AMBIENT = np.array([0.25, 0.25, 0.27])

# Material ids: which surface each ray hit, for texturing and for the outdoor colours.
FLOOR, CEILING, LEFT, RIGHT_WALL, BACK, SPHERE, OUTSIDE = range(7)
BOX0 = 10


def camera_rays(width: int, height: int, samples: int) -> np.ndarray:
    """Ray directions (H*s, W*s, 3), scaled so that t along a ray *is* the planar depth.

    Each direction has a unit component along FORWARD, so a hit at eye + t * dir lies t metres in
    front of the camera plane: the z-depth the codec wants, not the ray length.
    """
    n = samples
    u = (np.arange(width * n) + 0.5) / n - width / 2  # pixel-centre offsets at this resolution
    v = (np.arange(height * n) + 0.5) / n - height / 2
    a = u[None, :, None] / FOCAL
    b = -v[:, None, None] / FOCAL
    return a * RIGHT + b * UP + FORWARD


def intersect_box(
    origin: np.ndarray, dirs: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Slab test from outside: entry distance (inf on a miss) and the axis of the entry face."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - origin) / dirs
        t1 = (hi - origin) / dirs
    near = np.minimum(t0, t1)
    far = np.maximum(t0, t1)
    near = np.where(np.isnan(near), -np.inf, near)
    far = np.where(np.isnan(far), np.inf, far)
    t_in = near.max(axis=-1)
    t_out = far.min(axis=-1)
    hit = (t_in <= t_out) & (t_in > 1e-6)
    return np.where(hit, t_in, np.inf), near.argmax(axis=-1)


def intersect_sphere(origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Nearest positive distance to the sphere (inf on a miss)."""
    oc = origin - SPHERE_CENTRE
    a = np.einsum("...i,...i", dirs, dirs)
    b = np.einsum("...i,...i", dirs, oc)
    c = np.einsum("...i,...i", oc, oc) - SPHERE_RADIUS**2
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    t = (-b - root) / a
    t = np.where(t > 1e-6, t, (-b + root) / a)
    return np.where((disc >= 0) & (t > 1e-6), t, np.inf)


def trace(dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cast primary rays from EYE: distance t, material id, and surface normal per ray."""
    shape = dirs.shape[:-1]
    # The room's inside: every ray leaves through exactly one of its planes.
    with np.errstate(divide="ignore"):
        wall = np.where(dirs > 0, (ROOM_HI - EYE) / dirs, (ROOM_LO - EYE) / dirs)
    wall = np.where(dirs == 0, np.inf, wall)
    axis = wall.argmin(axis=-1)
    t = wall.min(axis=-1)
    sign = np.take_along_axis(dirs, axis[..., None], -1)[..., 0] > 0
    material = np.select(
        [axis == 0, axis == 1, axis == 2],
        [np.where(sign, RIGHT_WALL, LEFT), np.where(sign, CEILING, FLOOR), BACK],
    )
    normal = np.zeros((*shape, 3))
    np.put_along_axis(normal, axis[..., None], np.where(sign, -1.0, 1.0)[..., None], -1)

    # Window: a hole in the back wall, minus a cross of mullions.
    p = EYE + t[..., None] * dirs
    x0, x1, y0, y1 = WINDOW
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    hole = (
        (material == BACK)
        & (p[..., 0] > x0)
        & (p[..., 0] < x1)
        & (p[..., 1] > y0)
        & (p[..., 1] < y1)
        & (np.abs(p[..., 0] - xm) > MULLION)
        & (np.abs(p[..., 1] - ym) > MULLION)
    )
    if hole.any():
        d = dirs[hole]
        far = (HILLSIDE_Z - EYE[2]) / d[:, 2]
        for bx0, bx1, top, front, _ in BUILDINGS:
            tb = (front - EYE[2]) / d[:, 2]
            q = EYE + tb[:, None] * d
            front_hit = (q[:, 0] > bx0) & (q[:, 0] < bx1) & (q[:, 1] < top) & (tb < far)
            far = np.where(front_hit, tb, far)
        t[hole] = far
        material[hole] = OUTSIDE

    # Objects inside the room.
    ts = intersect_sphere(EYE, dirs)
    closer = ts < t
    t[closer] = ts[closer]
    material[closer] = SPHERE
    p = EYE + ts[closer][:, None] * dirs[closer]
    normal[closer] = (p - SPHERE_CENTRE) / SPHERE_RADIUS
    for i, (lo, hi, _) in enumerate(BOXES):
        tb, face = intersect_box(EYE, dirs, lo, hi)
        closer = tb < t
        t[closer] = tb[closer]
        material[closer] = BOX0 + i
        n = np.zeros((int(closer.sum()), 3))
        n[np.arange(len(n)), face[closer]] = -np.sign(dirs[closer][np.arange(len(n)), face[closer]])
        normal[closer] = n
    return t, material, normal


def occluded(points: np.ndarray, to_light: np.ndarray, limit: np.ndarray | float) -> np.ndarray:
    """Whether the sphere or a box blocks the segment from each point towards its light."""
    blocked = intersect_sphere(points, to_light) < limit
    for lo, hi, _ in BOXES:
        blocked |= intersect_box(points, to_light, lo, hi)[0] < limit
    return blocked


def albedo(material: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Surface colour with simple procedural textures, so the render reads as a photo."""
    rng = np.random.default_rng(SEED)
    jitter = rng.uniform(0.88, 1.08, size=(64, 64))  # per-tile brightness, a lookup by tile index
    colour = np.zeros((*material.shape, 3))
    x, y, z = p[..., 0], p[..., 1], p[..., 2]

    # Floor: 0.6 m tiles with dark grout and a slight per-tile variation.
    tile = 0.6
    tx, tz = np.floor(x / tile).astype(int) % 64, np.floor(z / tile).astype(int) % 64
    grout = (np.abs((x / tile) % 1 - 0.5) > 0.48) | (np.abs((z / tile) % 1 - 0.5) > 0.48)
    floor = np.array([0.62, 0.56, 0.48]) * jitter[tx, tz][..., None]
    floor = np.where(grout[..., None], [0.25, 0.24, 0.22], floor)
    colour = np.where((material == FLOOR)[..., None], floor, colour)

    # Side walls: a pale striped wallpaper along z, a white skirting board.
    stripes = 1.0 + 0.05 * np.sign(np.sin(2 * np.pi * z / 0.3))
    side = np.array([0.78, 0.74, 0.66]) * stripes[..., None]
    side = np.where((y < 0.1)[..., None], [0.85, 0.85, 0.83], side)
    sides = (material == LEFT) | (material == RIGHT_WALL)
    colour = np.where(sides[..., None], side, colour)

    # Back wall: a sage accent wall with faint vertical stripes, white mullions and skirting.
    stripes = 1.0 + 0.04 * np.sign(np.sin(2 * np.pi * x / 0.3))
    back = np.array([0.5, 0.6, 0.5]) * stripes[..., None]
    x0, x1, y0, y1 = WINDOW
    frame = (x > x0 - 0.06) & (x < x1 + 0.06) & (y > y0 - 0.06) & (y < y1 + 0.06)
    back = np.where((frame | (y < 0.1))[..., None], [0.88, 0.88, 0.86], back)
    colour = np.where((material == BACK)[..., None], back, colour)

    colour = np.where((material == CEILING)[..., None], [0.85, 0.85, 0.84], colour)
    colour = np.where((material == SPHERE)[..., None], [0.72, 0.2, 0.12], colour)

    # Boxes: wood-like grain, wavy horizontal lines.
    grain = 1.0 + 0.07 * np.sin(2 * np.pi * (y * 9.0 + 0.6 * np.sin(3.0 * (x + z))))
    for i, (_, _, base) in enumerate(BOXES):
        box = np.asarray(base) * grain[..., None]
        colour = np.where((material == BOX0 + i)[..., None], box, colour)
    return colour


def outside_colour(dirs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Emitted colour of what the window shows: bright facades with window rows, a hazy hill."""
    p = EYE + t[..., None] * dirs
    colour = np.broadcast_to(np.array([0.78, 0.9, 0.8]), p.shape).copy()
    for bx0, bx1, top, front, base in BUILDINGS:
        x, y = p[..., 0], p[..., 1]
        on = np.isclose(p[..., 2], front) & (x > bx0) & (x < bx1) & (y < top)
        rows = (y % 3.0 > 1.2) & (y % 3.0 < 2.2) & (x % 2.5 < 1.5)  # windows, 3 m storeys
        facade = np.where(rows[..., None], np.asarray(base) * 0.55, base)
        colour = np.where(on[..., None], facade, colour)
    return colour * 1.15  # brighter than the room: it is daylight, the camera exposes for inside


def shade(dirs: np.ndarray, t: np.ndarray, material: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Linear radiance: Lambertian lamp and daylight with hard shadows, ambient, a sphere gloss."""
    p = EYE + t[..., None] * dirs
    base = albedo(material, p)
    lit = p + normal * 1e-4

    to_lamp = LAMP - lit
    dist = np.linalg.norm(to_lamp, axis=-1)
    to_lamp /= dist[..., None]
    lamb = np.clip(np.einsum("...i,...i", normal, to_lamp), 0, None)
    lamb *= ~occluded(lit, to_lamp, dist)
    lamp = lamb[..., None] * LAMP_COLOUR / (1.0 + dist[..., None] ** 2)

    sun_dir = np.broadcast_to(SUN_DIR, lit.shape)
    sun = np.clip(normal @ SUN_DIR, 0, None) * ~occluded(lit, sun_dir, np.inf)
    light = AMBIENT + lamp + sun[..., None] * SUN_COLOUR
    colour = base * light

    # A glossy highlight of the lamp on the sphere (Blinn-Phong).
    view = -dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)
    half = to_lamp + view
    half /= np.linalg.norm(half, axis=-1, keepdims=True)
    spec = np.clip(np.einsum("...i,...i", normal, half), 0, None) ** 60
    colour += ((material == SPHERE) * spec)[..., None] * 0.8

    out = material == OUTSIDE
    colour[out] = outside_colour(dirs[out], t[out])
    return colour


def render_photo(rng: np.random.Generator) -> Image.Image:
    """The photo: 2x2 supersampled for anti-aliasing, tone-mapped, a little vignette and noise."""
    samples = 2
    dirs = camera_rays(WIDTH, HEIGHT, samples)
    t, material, normal = trace(dirs)
    radiance = shade(dirs, t, material, normal)
    radiance = radiance.reshape(HEIGHT, samples, WIDTH, samples, 3).mean(axis=(1, 3))
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    r2 = ((xx - WIDTH / 2) / WIDTH) ** 2 + ((yy - HEIGHT / 2) / HEIGHT) ** 2
    radiance *= (1.0 - 0.35 * r2)[..., None]
    srgb = np.clip(radiance * 0.9, 0, 1) ** (1 / 2.2) * 255
    srgb += rng.normal(0.0, 1.0, srgb.shape)  # sensor noise
    return Image.fromarray(np.clip(np.rint(srgb), 0, 255).astype(np.uint8))


def render_depth() -> np.ndarray:
    """Ground-truth planar depth at the pixel centres (no supersampling: no mixed depths)."""
    t, _, _ = trace(camera_rays(WIDTH, HEIGHT, 1))
    return t.astype(np.float32)


def mock_generation(depth: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The depth picture degraded the way a generator's answer is (SPEC.md section 6)."""
    picture = Image.fromarray(encode_depth(depth))
    picture = picture.resize(GENERATED_SIZE, Image.Resampling.BICUBIC)
    noisy = np.asarray(picture, dtype=np.float64) + rng.normal(0.0, 1.5, (*picture.size[::-1], 3))
    picture = Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def decode_generated(generated: Image.Image) -> np.ndarray:
    """Decode at the generated resolution, then resize the depth (never the picture)."""
    depth = decode_depth(np.asarray(generated))
    depth = Image.fromarray(depth).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    return np.asarray(depth)


def make_figure(photo: Image.Image, error: np.ndarray, generated: Image.Image) -> None:
    """The README picture: photo, generated depth picture, relative error of the decoded depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap, LogNorm

    fig, axes = plt.subplot_mosaic(
        [["photo", "picture", "error"], [".", "scale", "bar"]],
        figsize=(12.0, 3.9),
        dpi=90,
        height_ratios=[1.0, 0.05],
        layout="constrained",
    )
    for name in ("photo", "picture", "error"):
        axes[name].set_xticks([])
        axes[name].set_yticks([])
    axes["photo"].imshow(photo)
    axes["photo"].set_title("input photo (synthetic render)")
    # Display only: the picture is resized to sit beside the photo. Never decode a resized picture.
    axes["picture"].imshow(generated.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR))
    axes["picture"].set_title(f"generated depth picture ({GENERATED_SIZE[0]}x{GENERATED_SIZE[1]})")
    shown = axes["error"].imshow(error * 100, cmap="magma", vmin=0, vmax=10)
    axes["error"].set_title("decoded depth: relative error")
    fig.colorbar(shown, cax=axes["bar"], orientation="horizontal", label="|d - g| / g (%)")

    # The colour walk as a depth scale: the encoder's colour at log-spaced depths.
    metres = np.geomspace(0.05, 200.0, 512)
    walk = ListedColormap(encode_depth(metres[None, :])[0] / 255.0)
    scale = plt.cm.ScalarMappable(cmap=walk, norm=LogNorm(0.05, 200.0))
    bar = fig.colorbar(scale, cax=axes["scale"], orientation="horizontal", label="depth (m)")
    ticks = [0.1, 0.5, 1, 2, 5, 10, 20, 50, 200]
    bar.set_ticks(ticks, labels=[f"{v:g}" for v in ticks])
    bar.minorticks_off()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    DOCS.mkdir(exist_ok=True)
    Image.open(buffer).convert("RGB").save(DOCS / "depth_example.png", optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--figure", action="store_true", help="also draw docs/depth_example.png (needs matplotlib)"
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    photo = render_photo(rng)
    photo.save(HERE / "room.jpg", quality=92)
    depth = render_depth()
    np.savez_compressed(HERE / "room_depth.npz", depth=depth)
    generated = mock_generation(depth, rng)
    generated.save(HERE / "room_depth_generated.png", optimize=True)

    # How well the round trip survives the degradation, with the paper's depth metrics.
    decoded = decode_generated(generated)
    rel = np.abs(decoded - depth) / depth
    delta1 = np.mean(np.maximum(decoded / depth, depth / decoded) < 1.25)
    print(f"true depth {depth.min():.2f}-{depth.max():.2f} m; generated at {GENERATED_SIZE}")
    print(f"decoded: AbsRel median {np.median(rel):.4f} mean {rel.mean():.4f}, delta1 {delta1:.4f}")
    if args.figure:
        make_figure(photo, rel, generated)


if __name__ == "__main__":
    main()
