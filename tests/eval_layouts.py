"""Tiny copies of the benchmarks' official layouts on disk, in their real file formats (16-bit
PNGs, raw little-endian float32, .npy, the nuScenes devkit's JSON tables and .pcd.bin), for the
adapter and end-to-end tests.

Each builder writes a few samples under ``root`` and returns what it wrote (``Written``), so
that a test computes the expected ground truth from the stored values with its own numpy. The
poses of the nuScenes copy are built with scipy's rotations, independently of the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from vision_banana.io import write_image


@dataclass
class Written:
    """One sample written: its expected id, its photo, and the arrays stored in its files."""

    id: str
    photo: Path
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def photo(path: Path, shape: tuple[int, int], rng: np.random.Generator) -> Path:
    """A random RGB photo (PNG or JPEG by extension; ``.JPG`` written as JPEG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    if path.suffix == ".JPG":  # write_image picks the format from a lower-case extension
        write_image(path.with_suffix(".jpg"), pixels)
        path.with_suffix(".jpg").rename(path)
    else:
        write_image(path, pixels)
    return path


def png16(path: Path, values: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, values.astype(np.uint16))
    return values


def sparse_uint16(shape: tuple[int, int], rng: np.random.Generator, top: int) -> np.ndarray:
    """uint16 values in 1..top with about a quarter of zeros (no return)."""
    values = rng.integers(1, top, shape, dtype=np.uint16)
    values[rng.random(shape) < 0.25] = 0
    return values


# ---------------------------------------------------------------------------------------------
# Depth


def build_nyu(root: Path, rng: np.random.Generator) -> list[Written]:
    """official_splits/test/<scene>/rgb_<n>.jpg + sync_depth_<n>.png, 480 x 640 uint16 mm."""
    written = []
    for scene, n in (("bathroom", "00045"), ("bedroom", "00003"), ("bedroom", "00012")):
        folder = root / "official_splits" / "test" / scene
        p = photo(folder / f"rgb_{n}.jpg", (480, 640), rng)
        depth = png16(folder / f"sync_depth_{n}.png", sparse_uint16((480, 640), rng, 12000))
        written.append(Written(f"official_splits/test/{scene}/rgb_{n}", p, {"depth": depth}))
    return sorted(written, key=lambda w: w.id)


def build_ibims(root: Path, rng: np.random.Generator, shape=(24, 32)) -> list[Written]:
    """ibims1_core_raw/imagelist.txt + {rgb,depth,mask_invalid,mask_transp}/<name>.png."""
    core = root / "ibims1_core_raw"
    names = ["corridor_01", "office_02"]
    core.mkdir(parents=True, exist_ok=True)
    (core / "imagelist.txt").write_text("\n".join(names) + "\n")
    written = []
    for name in names:
        p = photo(core / "rgb" / f"{name}.png", shape, rng)
        depth = png16(core / "depth" / f"{name}.png", rng.integers(0, 65536, shape))
        arrays = {"depth": depth}
        for mask in ("mask_invalid", "mask_transp"):
            values = np.where(rng.random(shape) < 0.2, 0, 255).astype(np.uint8)
            (core / mask).mkdir(exist_ok=True)
            write_image(core / mask / f"{name}.png", values)
            arrays[mask] = values
        written.append(Written(f"ibims1_core_raw/rgb/{name}", p, arrays))
    return written


def build_eth3d(root: Path, rng: np.random.Generator, shape=(12, 18)) -> list[Written]:
    """rgb/<scene>/images/dslr_images/<name>.JPG + depth/<scene>_dslr_depth/<scene>/
    ground_truth_depth/dslr_images/<name>.JPG, raw little-endian float32 (inf: no depth)."""
    written = []
    for scene, name in (("courtyard", "DSC_0286"), ("office", "DSC_0219")):
        p = photo(root / "rgb" / scene / "images" / "dslr_images" / f"{name}.JPG", shape, rng)
        depth = rng.uniform(0.005, 70, shape).astype(np.float32)
        depth[rng.random(shape) < 0.2] = np.inf
        depth[rng.random(shape) < 0.1] = 0
        folder = root / "depth" / f"{scene}_dslr_depth" / scene / "ground_truth_depth"
        (folder / "dslr_images").mkdir(parents=True)
        depth.astype("<f4").tofile(folder / "dslr_images" / f"{name}.JPG")
        written.append(Written(f"rgb/{scene}/images/dslr_images/{name}", p, {"depth": depth}))
    return sorted(written, key=lambda w: w.id)


def build_diode(root: Path, rng: np.random.Generator, shape=(24, 32)) -> list[Written]:
    """val/indoors/scene_*/scan_*/<id>.png + <id>_depth.npy (H, W, 1) + <id>_depth_mask.npy +
    <id>_normal.npy (H, W, 3); an outdoor scan beside, which the indoor sets must not read."""
    written = []
    for scene, scan in (("00019", "00183"), ("00021", "00188")):
        folder = root / "val" / "indoors" / f"scene_{scene}" / f"scan_{scan}"
        stem = f"{scene}_{scan}_indoors_000_010"
        p = photo(folder / f"{stem}.png", shape, rng)
        depth = rng.uniform(0.0, 30.0, (*shape, 1)).astype(np.float32)
        mask = (rng.random(shape) > 0.2).astype(np.float32)
        normals = rng.normal(size=(*shape, 3)).astype(np.float32)
        normals /= np.linalg.norm(normals, axis=2, keepdims=True)
        normals[rng.random(shape) < 0.2] = 0
        np.save(folder / f"{stem}_depth.npy", depth)
        np.save(folder / f"{stem}_depth_mask.npy", mask)
        np.save(folder / f"{stem}_normal.npy", normals)
        arrays = {"depth": depth, "mask": mask, "normals": normals}
        written.append(Written(f"val/indoors/scene_{scene}/scan_{scan}/{stem}", p, arrays))
    outdoor = root / "val" / "outdoor" / "scene_00022" / "scan_00193"
    photo(outdoor / "00022_00193_outdoor_000_000.png", shape, rng)
    return written


def build_kitti(root: Path, rng: np.random.Generator, shape=(37, 124)) -> list[Written]:
    """A KITTI copy and its split file ``split.txt`` (RGB_PATH GT_PATH focal), in list order."""
    lines, written = [], []
    for drive, frame in (
        ("2011_09_26_drive_0002_sync", "0000000069"),
        ("2011_09_26_drive_0002_sync", "0000000054"),
    ):
        rgb = f"2011_09_26/{drive}/image_02/data/{frame}.png"
        gt = f"{drive}/proj_depth/groundtruth/image_02/{frame}.png"
        p = photo(root / rgb, shape, rng)
        depth = png16(root / gt, sparse_uint16(shape, rng, 25000))
        lines.append(f"{rgb} {gt} 721.5377")
        written.append(Written(rgb.removesuffix(".png"), p, {"depth": depth}))
    (root / "split.txt").write_text("# two test images\n" + "\n".join(lines) + "\n")
    return written


# ---------------------------------------------------------------------------------------------
# nuScenes


CAMERAS = (
    "CAM_FRONT",
    "CAM_FRONT_RIGHT",
    "CAM_BACK_RIGHT",
    "CAM_BACK",
    "CAM_BACK_LEFT",
    "CAM_FRONT_LEFT",
)
CAMERA_YAW = (0, -55, -110, 180, 110, 55)  # degrees about the ego's z axis (up)
IMAGE = (24, 32)  # (H, W)
INTRINSIC = np.array([[20.0, 0, 15.5], [0, 22.0, 11.25], [0, 0, 1]])


def pose(rotation: Rotation, translation) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation.as_matrix()
    matrix[:3, 3] = translation
    return matrix


def devkit_quaternion(rotation: Rotation) -> list[float]:
    """The devkit's quaternion order, (w, x, y, z); scipy's is (x, y, z, w)."""
    x, y, z, w = rotation.as_quat()
    return [float(w), float(x), float(y), float(z)]


@dataclass
class View:
    """One camera of one key frame: where its files are and, from scipy, its geometry."""

    id: str
    photo: Path
    lidar: Path
    camera_from_global: np.ndarray
    global_from_lidar: np.ndarray


def write_pcd(path: Path, points: np.ndarray) -> None:
    """(N, 3) points as a .pcd.bin: float32 x, y, z, intensity, ring."""
    rows = np.zeros((len(points), 5), np.float32)
    rows[:, :3] = points
    rows[:, 3] = 7.0
    rows[:, 4] = np.arange(len(points)) % 32
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.astype("<f4").tofile(path)


def build_nuscenes(
    root: Path, rng: np.random.Generator, scenes=(("scene-0003", 3), ("scene-0012", 2))
) -> list[View]:
    """v1.0-trainval/*.json + samples/CAM_*/<name>.jpg + samples/LIDAR_TOP/<name>.pcd.bin for
    ``scenes`` (name, key frames), plus a train scene and non-key-frame sweeps that the val
    set must not read. Every sample_data record has its own ego pose (the lidar and each camera
    fire at different times). Returns the views in the adapter's order."""
    tables: dict[str, list[dict]] = {
        k: [] for k in ("scene", "sample", "sample_data", "calibrated_sensor", "ego_pose", "sensor")
    }
    counter = iter(range(10**6))

    def token(kind: str) -> str:
        return f"{kind}{next(counter):06d}"

    mounts = {}
    for channel, yaw in (("LIDAR_TOP", None), *zip(CAMERAS, CAMERA_YAW, strict=True)):
        sensor = token("sensor")
        tables["sensor"].append(
            {"token": sensor, "channel": channel, "modality": "lidar" if yaw is None else "camera"}
        )
        if yaw is None:  # lidar: x right of the car, y forward, as nuScenes mounts it
            rotation = Rotation.from_euler("z", -90, degrees=True)
            translation = [0.94, 0.0, 1.84]
        else:  # camera: z forward along the yawed heading, x right, y down
            rotation = Rotation.from_euler("z", yaw, degrees=True) * Rotation.from_matrix(
                [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
            )
            translation = [1.5 * np.cos(np.radians(yaw)), 1.5 * np.sin(np.radians(yaw)), 1.5]
        calibration = token("calib")
        tables["calibrated_sensor"].append(
            {
                "token": calibration,
                "sensor_token": sensor,
                "translation": translation,
                "rotation": devkit_quaternion(rotation),
                "camera_intrinsic": [] if yaw is None else INTRINSIC.tolist(),
            }
        )
        mounts[channel] = (calibration, pose(rotation, translation))

    def ego_pose(time: float) -> tuple[str, np.ndarray]:
        rotation = Rotation.from_euler("zyx", [0.3 * time + 0.2, 0.02, -0.01])
        translation = [400 + 5 * time, 1100 + 2 * time, 0.1]
        record = {
            "token": token("pose"),
            "rotation": devkit_quaternion(rotation),
            "translation": translation,
            "timestamp": int(time * 1e6),
        }
        tables["ego_pose"].append(record)
        return record["token"], pose(rotation, translation)

    def sample_data(sample: str, channel: str, time: float, key: bool) -> tuple[dict, np.ndarray]:
        pose_token, ego = ego_pose(time)
        calibration, mount = mounts[channel]
        folder = "samples" if key else "sweeps"
        extension = "pcd.bin" if channel == "LIDAR_TOP" else "jpg"
        name = f"n015-2018-07-18-11-07-57+0800__{channel}__{int(time * 1e6)}"
        record = {
            "token": token("sd"),
            "sample_token": sample,
            "ego_pose_token": pose_token,
            "calibrated_sensor_token": calibration,
            "is_key_frame": key,
            "filename": f"{folder}/{channel}/{name}.{extension}",
            "width": 0 if channel == "LIDAR_TOP" else IMAGE[1],
            "height": 0 if channel == "LIDAR_TOP" else IMAGE[0],
            "timestamp": int(time * 1e6),
        }
        tables["sample_data"].append(record)
        return record, ego @ mount

    views = []
    time = 0.0
    for name, frames in (*scenes, ("scene-0001", 1)):  # scene-0001 is a train scene
        samples = [token("sample") for _ in range(frames)]
        scene = token("scene")
        tables["scene"].append(
            {
                "token": scene,
                "name": name,
                "nbr_samples": frames,
                "first_sample_token": samples[0],
                "last_sample_token": samples[-1],
            }
        )
        for i, sample in enumerate(samples):
            tables["sample"].append(
                {
                    "token": sample,
                    "scene_token": scene,
                    "timestamp": int(time * 1e6),
                    "prev": samples[i - 1] if i else "",
                    "next": samples[i + 1] if i + 1 < frames else "",
                }
            )
            time += 0.5
            lidar, global_from_lidar = sample_data(sample, "LIDAR_TOP", time, True)
            sample_data(sample, "LIDAR_TOP", time + 0.05, False)  # a sweep between key frames
            points = rng.uniform([-40, -40, -2], [40, 40, 4], (400, 3))
            write_pcd(root / lidar["filename"], points)
            for j, channel in enumerate(CAMERAS):
                record, global_from_camera = sample_data(
                    sample, channel, time + 0.01 * (j + 1), True
                )
                p = photo(root / record["filename"], IMAGE, rng)
                if name != "scene-0001":
                    views.append(
                        View(
                            record["filename"].removesuffix(".jpg"),
                            p,
                            root / lidar["filename"],
                            np.linalg.inv(global_from_camera),
                            global_from_lidar,
                        )
                    )
    # the tables list records in no particular order
    for records in tables.values():
        rng.shuffle(records)
    folder = root / "v1.0-trainval"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, records in tables.items():
        (folder / f"{kind}.json").write_text(json.dumps(records, indent=0))
    (root / "val_scenes.txt").write_text("\n".join(n for n, _ in scenes) + "\n")
    return views


# ---------------------------------------------------------------------------------------------
# Normals


def build_dsine(root: Path, rng: np.random.Generator, folder: str, shape=(24, 32)) -> list[Written]:
    """dsine_eval/<folder>/<scene>/<id>_img.png|jpg + <id>_normal.png (8-bit; 16-bit for vkitti):
    DSINE's encoding of random inward unit normals, (n + 1) / 2 x max, with zeros (invalid)."""
    sixteen = folder == "vkitti"
    top = 65535 if sixteen else 255
    written = []
    for scene, n in (("scene0011_00", "000000"), ("scene0532_00", "000450")):
        base = root / "dsine_eval" / folder / scene
        p = photo(base / f"{n}_img.{'jpg' if sixteen else 'png'}", shape, rng)
        inward = rng.normal(size=(*shape, 3))
        inward /= np.linalg.norm(inward, axis=2, keepdims=True)
        stored = np.round((inward + 1) / 2 * top).astype(np.uint16 if sixteen else np.uint8)
        stored[rng.random(shape) < 0.2] = 0
        write_image(base / f"{n}_normal.png", stored)
        (base / f"{n}_intrins.npy").parent.mkdir(exist_ok=True)
        np.save(base / f"{n}_intrins.npy", np.eye(3))  # DSINE ships one; the adapter needs none
        written.append(Written(f"dsine_eval/{folder}/{scene}/{n}_img", p, {"normal": stored}))
    return written
