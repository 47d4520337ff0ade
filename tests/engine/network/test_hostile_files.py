"""Hostile network samples, data files, weight files and save targets.

Every case ends, under a memory limit and a hang guard, in one CnnError line or a correct result:
a network that builds runs a forward pass and a training step on two images with finite results; a
data or weights file that loads holds what was written.
"""

from __future__ import annotations

import os
import struct
import zipfile

import numpy as np
import pytest
from hostile_helpers import Tally

from engine.errors import CnnError
from engine.network import from_sample, load
from engine.network.data import load_data
from engine.network.loss import cross_entropy
from engine.network.model import LAYER_TYPES
from engine.samples import shipped_dir

LAYERS = [
    {"type": "conv", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "avgpool", "size": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10},
]
BASE = {"title": "t", "op": "network", "input_shape": [3, 8, 8], "layer": LAYERS}
VALUES = [
    "x",
    True,
    {},
    [],
    [1, 2, 3],
    [[1]],
    0,
    -1,
    1.5,
    1e9,
    10**400,
    float("nan"),
    float("inf"),
    2**62,
    100_000,
    4096,
    4097,
    1024,
    1025,
]


def builds_and_steps(network) -> None:
    x = np.random.default_rng(0).normal(size=(2, *network.input_shape)).astype(np.float32)
    logits = network.forward(x, training=True)
    assert logits.shape == (2, len(network.classes)) and np.all(np.isfinite(logits))
    _, dlogits = cross_entropy(logits, np.zeros(2, dtype=np.int64))
    grads = network.backward(dlogits)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def network_cases() -> list[tuple[str, dict]]:
    found = []
    for number, value in enumerate(VALUES):
        for key in ("input_shape", "classes", "layer", "op", "title"):
            found.append((f"{key}#{number}", BASE | {key: value}))
        found.append((f"input_shape entry#{number}", BASE | {"input_shape": [3, value, 8]}))
        found.append((f"layer list entry#{number}", BASE | {"layer": [value, *LAYERS]}))
        for index, layer in enumerate(LAYERS):
            for key in ("type", "name", *LAYER_TYPES[layer["type"]].OPTIONS):
                changed = [dict(table) for table in LAYERS]
                changed[index] = layer | {key: value}
                found.append((f"{layer['type']}.{key}#{number}", BASE | {"layer": changed}))
    found += [
        ("a thousand layers", BASE | {"layer": [{"type": "relu"}] * 1000 + LAYERS}),
        ("input at the side limit", BASE | {"input_shape": [1, 1024, 1024], "layer": [{"type": "flatten"}]}),
        (
            "parameters past the limit",
            BASE
            | {"layer": [{"type": "flatten"}, {"type": "linear", "out_features": 65536}]}
            | {"input_shape": [3, 32, 32]},
        ),
        (
            "memory per image past the limit",
            BASE
            | {
                "input_shape": [64, 1024, 1024],
                "layer": [{"type": "conv", "out_channels": 64, "kernel": 3}, {"type": "flatten"}],
            },
        ),
    ]
    return found


def test_every_hostile_network_sample_ends_in_a_network_or_one_error_line():
    tally = Tally()
    for name, data in network_cases():
        tally.run(name, lambda data=data: from_sample(data, "hostile.toml"), builds_and_steps)
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert tally.errors > 0 and tally.successes > 0


def npz_with_header(path, name: str, shape: tuple[int, ...], dtype: str = "<f4", data: bytes = b"") -> None:
    """An .npz whose one array declares shape and dtype but stores only data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w") as archive, archive.open(f"{name}.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(data)


def lie_about_size(path, size: int) -> None:
    """Patch the zip's central directory so its only member claims `size` uncompressed bytes (a bomb's claim)."""
    raw = bytearray(path.read_bytes())
    entry = raw.rindex(b"PK\x01\x02")
    raw[entry + 24 : entry + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(raw))


def data_files(folder) -> dict[str, object]:
    """name -> path of every hostile data file; the good one is last."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 3, 8, 8), dtype=np.uint8)
    labels = np.arange(20) % 10
    files = {}

    def npz(name: str, **arrays) -> None:
        np.savez(folder / name, **arrays)
        files[name] = folder / name

    os.mkfifo(folder / "fifo.npz")
    files["fifo.npz"] = folder / "fifo.npz"
    os.mkfifo(folder / "fifo.bin")
    files["fifo.bin"] = folder / "fifo.bin"
    with open(folder / "sparse.bin", "wb") as out:
        out.truncate(3 * 2**30)
    files["sparse.bin"] = folder / "sparse.bin"
    (folder / "empty.npz").write_bytes(b"")
    files["empty.npz"] = folder / "empty.npz"
    with zipfile.ZipFile(folder / "no_arrays.npz", "w"):
        pass
    files["no_arrays.npz"] = folder / "no_arrays.npz"
    npz_with_header(folder / "truncated.npz", "images", (100_000, 3, 1000, 1000), "|u1", b"\0" * 100)
    files["truncated.npz"] = folder / "truncated.npz"
    npz("bomb.npz", images=images, labels=labels)
    lie_about_size(folder / "bomb.npz", 2**32 - 1)
    npz("empty_test.npz", images=images, labels=labels, test_images=images[:0], test_labels=labels[:0])
    npz("complex.npz", images=images.astype(np.complex64), labels=labels)
    npz("objects.npz", images=np.array([None] * 3, dtype=object), labels=labels[:3])
    npz("nan.npz", images=np.full((4, 3, 8, 8), np.nan, dtype=np.float32), labels=labels[:4])
    npz("labels.npz", images=images, labels=labels + 100)
    npz("flat.npz", images=images.reshape(20, -1), labels=labels)
    npz("one.npz", images=images[:1], labels=labels[:1])
    npz("good.npz", images=images, labels=labels)
    return files


def test_hostile_data_files_end_in_data_or_one_error_line(tmp_path):
    tally = Tally()
    classes = tuple(str(i) for i in range(10))
    for name, path in data_files(tmp_path).items():
        tally.run(name, lambda path=path: load_data(str(path), classes, seed=0))
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.successes == 1  # good.npz


def test_hostile_weight_files_end_in_weights_or_one_error_line(tmp_path):
    network = from_sample(BASE, "net")
    tally = Tally()
    files = {name: path for name, path in data_files(tmp_path).items() if name != "good.npz"}
    files["weights.npz"] = weights = tmp_path / "weights.npz"
    network.save(weights)

    def loads(path):
        def case():
            fresh = from_sample(BASE, "net", seed=1)
            fresh.load_weights(path)
            return fresh

        return case

    def same(fresh) -> None:
        for key, value in network.state.items():
            np.testing.assert_array_equal(fresh.state[key], value)

    for name, path in files.items():
        tally.run(name, loads(path), same)
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.successes == 1


def test_hostile_save_targets(tmp_path):
    network = from_sample(BASE, "net")
    (tmp_path / "folder.npz").mkdir()
    real = tmp_path / "real.npz"
    network.save(real)
    (tmp_path / "link.npz").symlink_to(real)
    tally = Tally()
    targets = {
        "a folder": tmp_path / "folder.npz",
        "a folder by name": str(tmp_path) + "/",
        "a NUL byte": str(tmp_path / "a\0b.npz"),
        "/proc": "/proc/weights.npz",
        "no such folder": tmp_path / "nowhere" / "w.npz",
        "not .npz": tmp_path / "w.toml",
        "a shipped sample": shipped_dir() / "seed_conv.toml",
        "the shipped folder": shipped_dir() / "w.npz",
        "~nosuchuser": "~nosuchuser_cnn/w.npz",
        "empty": "",
        "a long name": tmp_path / ("w" * 251 + ".npz"),
        "a symlink": tmp_path / "link.npz",
    }
    for name, target in targets.items():
        tally.run(name, lambda target=target: network.save(target))
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.successes == 2  # the long name and the symlink
    assert (tmp_path / "link.npz").is_symlink()  # written through the link, which stays a link
    assert (shipped_dir() / "seed_conv.toml").read_text().startswith("title")


def test_train_refuses_a_bad_save_target_before_training(tmp_path, capsys):
    import tui.cli

    for target in (str(shipped_dir() / "seed_conv.toml"), str(tmp_path), "/proc/w.npz", str(tmp_path / "w.csv")):
        assert tui.cli.main(["train", "--save", target, "--train-size", "4", "--test-size", "2"]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1  # nothing trained, nothing printed


def test_a_fifo_given_as_weights_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "w.npz")
    with pytest.raises(CnnError, match="not a regular file"):
        load("seed_convnet").load_weights(tmp_path / "w.npz")
