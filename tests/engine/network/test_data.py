"""Data sets: the synthetic classes, CIFAR-10 binary files and .npz files, and their bad forms."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import CnnError
from engine.network.data import (
    CIFAR10_CLASSES,
    SYNTHETIC_CLASSES,
    load_data,
    read_cifar_binary,
    read_images_npz,
    synthetic,
)


def test_synthetic_set_is_deterministic_balanced_and_normalised():
    first, again, other = synthetic(50, seed=1), synthetic(50, seed=1), synthetic(50, seed=2)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)
    assert first.images.shape == (50, 3, 32, 32) and first.images.dtype == np.float32
    assert np.bincount(first.labels).tolist() == [5] * 10 and first.classes == SYNTHETIC_CLASSES
    assert -2.01 <= first.images.min() and first.images.max() <= 2.01


def nearest_mean_accuracy(images: np.ndarray, labels: np.ndarray) -> float:
    """Fit class means on the first half and classify the second half by the nearest mean.

    The features are the log power spectrum of the grey image, which ignores where a pattern sits
    (the synthetic patterns have random positions, so their pixel means are all a blur)."""
    power = np.abs(np.fft.fft2(images.mean(axis=1))) ** 2
    features = np.log1p(power).reshape(len(images), -1)
    half = len(images) // 2
    means = np.stack([features[:half][labels[:half] == k].mean(axis=0) for k in range(10)])
    guesses = np.argmin(((features[half:, None] - means[None]) ** 2).sum(axis=-1), axis=1)
    return float(np.mean(guesses == labels[half:]))


def test_synthetic_classes_are_separable_and_noise_is_not():
    data = synthetic(400, seed=0)
    assert nearest_mean_accuracy(data.images, data.labels) > 0.5  # 0.71; chance is 0.1
    noise = np.random.default_rng(1).standard_normal(data.images.shape).astype(np.float32)
    assert nearest_mean_accuracy(noise, data.labels) < 0.25
    shuffled = np.random.default_rng(1).permutation(data.labels)
    assert nearest_mean_accuracy(data.images, shuffled) < 0.25


def write_cifar(path, labels, rng):
    records = np.concatenate(
        [np.array(labels, np.uint8)[:, None], rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)], axis=1
    )
    records.tofile(path)
    return records


def test_cifar_binary_reader(tmp_path):
    rng = np.random.default_rng(0)
    records = write_cifar(tmp_path / "data_batch_1.bin", [3, 9, 0], rng)
    data = read_cifar_binary(tmp_path / "data_batch_1.bin")
    assert data.labels.tolist() == [3, 9, 0] and data.classes == CIFAR10_CLASSES
    red_of_first = records[0, 1:1025].reshape(32, 32)
    np.testing.assert_allclose(data.images[0, 0], (red_of_first / 255 - 0.5) / 0.25, atol=1e-6)
    write_cifar(tmp_path / "data_batch_2.bin", [1, 1], rng)
    write_cifar(tmp_path / "test_batch.bin", [5, 6], rng)
    train, test = load_data(str(tmp_path), CIFAR10_CLASSES)
    assert len(train) == 5 and test.labels.tolist() == [5, 6]


def test_bad_cifar_files(tmp_path):
    rng = np.random.default_rng(0)
    records = write_cifar(tmp_path / "a.bin", [1, 2], rng)
    records.reshape(-1)[:-5].tofile(tmp_path / "short.bin")
    with pytest.raises(CnnError, match="not a whole number of 3073-byte CIFAR-10 records"):
        read_cifar_binary(tmp_path / "short.bin")
    records[1, 0] = 12
    records.tofile(tmp_path / "label.bin")
    with pytest.raises(CnnError, match="record 1 has label 12"):
        read_cifar_binary(tmp_path / "label.bin")
    with pytest.raises(CnnError, match="no such CIFAR-10 file"):
        read_cifar_binary(tmp_path / "missing.bin")
    with pytest.raises(CnnError, match="needs data_batch_1.bin"):
        load_data(str(tmp_path), CIFAR10_CLASSES)


def test_npz_reader_and_split(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 3, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "set.npz", images=images, labels=np.arange(10) % 4)
    train, test = load_data(str(tmp_path / "set.npz"), ("a", "b", "c", "d"), seed=1)
    assert len(train) == 8 and len(test) == 2 and train.classes == ("a", "b", "c", "d")
    floats = images.astype(np.float32) / 255
    np.savez(
        tmp_path / "both.npz",
        images=floats,
        labels=np.zeros(10, np.int64),
        test_images=floats[:3],
        test_labels=np.ones(3, np.int64),
    )
    train, test = read_images_npz(tmp_path / "both.npz", ("a", "b"))
    np.testing.assert_allclose(train.images, (floats - 0.5) / 0.25, atol=1e-6)
    assert test.labels.tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"pixels": np.zeros((2, 3, 32, 32), np.uint8)}, "needs arrays images and labels"),
        ({"images": np.zeros((2, 32, 32), np.uint8), "labels": np.zeros(2, np.int64)}, "must be (N, C, H, W)"),
        (
            {"images": np.zeros((2, 3, 32, 32), np.uint8), "labels": np.array([0, 7])},
            "labels must be whole numbers 0..1",
        ),
        ({"images": np.zeros((2, 3, 32, 32), np.int32), "labels": np.zeros(2, np.int64)}, "must be uint8 or floats"),
        (
            {"images": np.array([None, None], dtype=object), "labels": np.zeros(2, np.int64)},
            "not a readable .npz data file",
        ),
    ],
)
def test_bad_npz_files(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CnnError) as error:
        read_images_npz(tmp_path / "bad.npz", ("a", "b"))
    assert message in str(error.value)


def test_truncated_npz_and_unknown_sources(tmp_path):
    np.savez(tmp_path / "ok.npz", images=np.zeros((4, 3, 32, 32), np.uint8), labels=np.zeros(4, np.int64))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "ok.npz").read_bytes()[:200])
    with pytest.raises(CnnError, match="not a readable .npz data file"):
        read_images_npz(tmp_path / "cut.npz", ("a",))
    with pytest.raises(CnnError, match="no such file or folder"):
        load_data(str(tmp_path / "nothing.npy"), ("a",))
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(CnnError, match="unknown data format"):
        load_data(str(tmp_path / "data.csv"), ("a",))
