"""Data sets for training: a synthetic 10-class set, CIFAR-10 binary files, and .npz files.

Every set is held as float32 images (N, 3, 32, 32) scaled from [0, 1] to
(pixel − 0.5) / 0.25, and int64 labels (N,).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import CnnError
from engine.limits import regular_file
from engine.network.files import read_npz

#: The synthetic set's classes; each is a pattern with random position, size, angle, colours and noise.
SYNTHETIC_CLASSES = (
    "h-stripes",
    "v-stripes",
    "diagonal",
    "anti-diagonal",
    "rings",
    "plus",
    "checkerboard",
    "blob",
    "square",
    "x-cross",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_RECORD = 1 + 3 * 32 * 32
#: Share of a single file's images held out as the test set.
TEST_SHARE = 0.2


@dataclass
class Dataset:
    """images (N, C, H, W) float32, labels (N,) int64, and the class names."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(x (B, C, H, W), labels (B,)) in order, or shuffled by rng; a last batch of 1 is dropped
        (batch norm cannot train on a single item)."""
        order = np.arange(len(self)) if rng is None else rng.permutation(len(self))
        for start in range(0, len(self), batch_size):
            index = order[start : start + batch_size]
            if len(index) == 1 and rng is not None:
                return
            yield self.images[index], self.labels[index]

    def split(self, test_share: float, seed: int) -> tuple[Dataset, Dataset]:
        """(train, test) after a seeded shuffle, test_share of the items in test."""
        order = np.random.default_rng(seed).permutation(len(self))
        cut = len(self) - max(1, round(len(self) * test_share))
        if cut < 2:
            raise CnnError(f"{len(self)} images are too few to split into a training and a test set")
        train, test = order[:cut], order[cut:]
        return (
            Dataset(self.images[train], self.labels[train], self.classes),
            Dataset(self.images[test], self.labels[test], self.classes),
        )


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 or floats in [0, 1] -> float32 (p − 0.5) / 0.25."""
    scaled = pixels.astype(np.float32) / 255 if pixels.dtype == np.uint8 else pixels.astype(np.float32)
    return (scaled - 0.5) / 0.25


def _stripes(along: np.ndarray, period: np.ndarray, phase: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * along / period + phase) > 0


def synthetic(count: int, seed: int = 0, size: int = 32) -> Dataset:
    """count RGB images (count, 3, size, size) in the 10 SYNTHETIC_CLASSES, the same for the same seed.

    Each image: a pattern mask at a random centre, scale and small rotation,
    painted in a random foreground over a random background colour (every
    channel differs by at least 0.35), plus Gaussian noise σ = 0.1.
    """
    if count < 1:
        raise CnnError(f"the synthetic set needs at least 1 image, got {count}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(SYNTHETIC_CLASSES))
    grid = np.linspace(-1, 1, size, dtype=np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")  # (size, size)

    def column(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, (count, 1, 1)).astype(np.float32)

    centre_x, centre_y = column(-0.35, 0.35), column(-0.35, 0.35)
    scale, period, width = column(0.5, 0.9), column(0.3, 0.55), column(0.08, 0.16)
    phase, tilt = column(0, 2 * np.pi), column(-0.2, 0.2)
    # plus and x-cross are one cross mask at 0° and 45°
    base_angle = np.array([0, 90, 45, 135, 0, 0, 0, 0, 0, 45], dtype=np.float32)[labels][:, None, None]
    angle = np.deg2rad(base_angle) + tilt
    dx, dy = xx - centre_x, yy - centre_y  # (count, size, size)
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    radius = np.sqrt(dx * dx + dy * dy)
    box = np.maximum(np.abs(u), np.abs(v))
    masks = {
        "stripes": _stripes(v, period, phase),
        "rings": _stripes(radius, period, phase) & (radius < scale + 0.3),
        "cross": ((np.abs(u) < width) | (np.abs(v) < width)) & (box < scale),
        "checkerboard": (np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / period)) > 0,
        "blob": radius < scale * 0.6,
        "square": np.abs(box - scale * 0.7) < width,
    }
    kind = np.array(["stripes"] * 4 + ["rings", "cross", "checkerboard", "blob", "square", "cross"])[labels]
    mask = np.zeros((count, size, size), dtype=np.float32)
    for name, pattern in masks.items():
        chosen = kind == name
        mask[chosen] = pattern[chosen]
    background = rng.uniform(0, 1, (count, 3, 1, 1)).astype(np.float32)
    foreground = (background + 0.5 + rng.uniform(-0.15, 0.15, (count, 3, 1, 1))).astype(np.float32) % 1
    pixels = background + mask[:, None] * (foreground - background)
    pixels += rng.normal(0, 0.1, pixels.shape).astype(np.float32)
    return Dataset(normalise(np.clip(pixels, 0, 1)), labels.astype(np.int64), SYNTHETIC_CLASSES)


def read_cifar_binary(path: str | os.PathLike) -> Dataset:
    """One CIFAR-10 binary file: records of 1 label byte and 3072 pixel bytes (R, G, B planes of 32x32)."""
    path = regular_file(path, "CIFAR-10 file")
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise CnnError(f"{path}: cannot read ({error})") from None
    if raw.size == 0 or raw.size % CIFAR_RECORD:
        raise CnnError(
            f"{path}: {raw.size} bytes is not a whole number of {CIFAR_RECORD}-byte CIFAR-10 records "
            f"(1 label byte + 3·32·32 pixel bytes); the file is truncated or not CIFAR-10 binary"
        )
    records = raw.reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() >= len(CIFAR10_CLASSES):
        bad = int(np.argmax(labels >= len(CIFAR10_CLASSES)))
        raise CnnError(f"{path}: record {bad} has label {labels[bad]}, CIFAR-10 labels are 0..9")
    return Dataset(normalise(records[:, 1:].reshape(-1, 3, 32, 32)), labels, CIFAR10_CLASSES)


def _concat(parts: list[Dataset]) -> Dataset:
    return Dataset(
        np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]), parts[0].classes
    )


def read_images_npz(path: str | os.PathLike, classes: tuple[str, ...]) -> tuple[Dataset, Dataset | None]:
    """An .npz with `images` (N, C, H, W) uint8 or floats in [0, 1] and `labels` (N,) in 0..K−1,
    and optionally `test_images` / `test_labels`. Read with allow_pickle=False."""
    arrays = read_npz(path, "data file")
    sets = []
    for prefix in ("", "test_"):
        images, labels = arrays.get(f"{prefix}images"), arrays.get(f"{prefix}labels")
        if images is None and labels is None and prefix:
            sets.append(None)
            continue
        if images is None or labels is None:
            raise CnnError(f"{path}: needs arrays {prefix}images and {prefix}labels, has {', '.join(arrays) or 'none'}")
        if images.ndim != 4 or labels.shape != (images.shape[0],):
            raise CnnError(
                f"{path}: {prefix}images must be (N, C, H, W) and {prefix}labels (N,), "
                f"got {images.shape} and {labels.shape}"
            )
        if len(labels) < (1 if prefix else 2):
            raise CnnError(
                f"{path}: {prefix}images holds {len(labels)} images; "
                f"{'a test part needs at least 1' if prefix else 'training needs at least 2'}"
            )
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= len(classes):
            raise CnnError(f"{path}: {prefix}labels must be whole numbers 0..{len(classes) - 1}")
        if not (images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating)):
            raise CnnError(f"{path}: {prefix}images must be uint8 or floats in [0, 1], got {images.dtype}")
        if images.dtype != np.uint8 and not np.all(np.isfinite(images)):
            raise CnnError(f"{path}: {prefix}images holds inf or nan values")
        sets.append(Dataset(normalise(images), labels.astype(np.int64), classes))
    return sets[0], sets[1]


def load_data(
    source: str, classes: tuple[str, ...], seed: int = 0, train_size: int = 5000, test_size: int = 1000
) -> tuple[Dataset, Dataset]:
    """(train, test) from "synthetic", a CIFAR-10 folder (data_batch_*.bin, test_batch.bin),
    one CIFAR-10 .bin file, or an .npz file; a single file without a test part is split 80/20."""
    if source == "synthetic":
        if train_size < 2 or test_size < 1:
            raise CnnError(
                f"the synthetic set needs at least 2 training and 1 test image, got {train_size} and {test_size}"
            )
        return synthetic(train_size, seed), synthetic(test_size, seed + 1_000_003)
    path = Path(source)
    if path.is_dir():
        batches = sorted(path.glob("data_batch_*.bin"))
        test_file = path / "test_batch.bin"
        if not batches or not test_file.is_file():
            raise CnnError(f"{path}: a CIFAR-10 folder needs data_batch_1.bin … and test_batch.bin")
        return _concat([read_cifar_binary(p) for p in batches]), read_cifar_binary(test_file)
    if path.suffix == ".npz":
        train, test = read_images_npz(path, classes)
        return (train, test) if test is not None else train.split(TEST_SHARE, seed)
    if path.suffix == ".bin":
        return read_cifar_binary(path).split(TEST_SHARE, seed)
    if not path.exists():
        raise CnnError(
            f'{source}: no such file or folder; --data takes "synthetic", a CIFAR-10 folder, a .bin or an .npz file'
        )
    raise CnnError(f"{source}: unknown data format; use a CIFAR-10 .bin file or folder, or an .npz file")
