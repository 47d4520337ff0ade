"""Hostile single-operation samples: every key of every op given wrong types, deep nesting, huge and
non-finite numbers, sizes at and past every limit. Each case ends, in bounded memory and time, in one
CnnError line or in a trace whose output equals the vectorised ops (the golden path).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import numpy as np
from hostile_helpers import Tally

from engine import ops, samples
from engine.limits import MAX_DEPTH, MAX_SIDE

IMAGE = [[1, 2, 0, 1, 2], [0, 1, 2, 1, 0], [2, 1, 0, 0, 1], [1, 0, 2, 1, 0], [0, 2, 1, 0, 1]]
BASES = {
    "conv": {"title": "t", "op": "conv", "input": IMAGE, "kernel": [[1, 0, 1], [0, 1, 0], [1, 0, 1]]},
    "pool": {"title": "t", "op": "pool", "input": IMAGE, "mode": "max", "size": 2},
    "batchnorm": {"title": "t", "op": "batchnorm", "input": [[[[1, 2], [3, 4]]], [[[0, -1], [2, 5]]]]},
    "relu": {"title": "t", "op": "relu", "input": [[1, -2, 3], [-4, 5, -6]]},
}
PIPELINE = {
    "title": "t",
    "op": ["conv", "batchnorm", "relu", "pool"],
    "input": IMAGE,
    "stage": {"conv": {"kernel": [[1, 0], [0, 1]], "padding": 1}, "pool": {"size": 2}},
}


def deep(levels: int) -> list:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value  # type: ignore[return-value]


HOSTILE_VALUES = [
    "x",
    "",
    True,
    {},
    {"a": 1},
    [],
    [[]],
    ["a"],
    [[1, 2], [3]],
    deep(5),
    deep(400),
    10**400,
    -(10**400),
    1e308,
    -1e308,
    1e200,
    float("nan"),
    float("inf"),
    0,
    -1,
    1.5,
    2,
    64,
    65,
    10**9,
    2**63,
    datetime.date(2020, 1, 1),
    [1, 2, 3],
    [[1e308, 1e308], [1e308, 1e308]],
    [[1] * 1000],
    [[1.0] * 3] * 3,
]


def golden(sample: samples.Sample) -> np.ndarray:
    """The sample's output by the vectorised ops (torch.nn.functional semantics)."""
    x = sample.input
    for stage in sample.stages:
        p = stage.params
        if stage.op == "conv":
            x = ops.conv2d(x, p["weight"], p["bias"], p["stride"], p["padding"], p["dilation"])
        elif stage.op == "pool":
            pool = ops.max_pool2d if p["mode"] == "max" else ops.avg_pool2d
            x = pool(x, p["size"], p["stride"], p["padding"])
        elif stage.op == "batchnorm":
            x = ops.batch_norm(
                x,
                p["running_mean"].copy(),
                p["running_var"].copy(),
                p["gamma"],
                p["beta"],
                p["training"],
                p["momentum"],
                p["eps"],
            )
        else:
            x = ops.relu(x)
    return x


def traced_correctly(sample: samples.Sample) -> None:
    trace = sample.trace()
    assert np.all(np.isfinite(trace.output))
    # batch norm of values near 1e9 loses digits to cancellation in either path, hence 1e-6
    np.testing.assert_allclose(trace.output, golden(sample), rtol=1e-6, atol=1e-6)


def parse_and_trace(data: dict):
    def case() -> samples.Sample:
        return samples.parse(data, "hostile.toml")

    return case


def cases() -> list[tuple[str, dict]]:
    """(name, parsed TOML) of every generated case."""
    found = []
    for op, base in BASES.items():
        for key in (*samples.TOP_KEYS, *samples.OP_KEYS[op]):
            for number, value in enumerate(HOSTILE_VALUES):
                found.append((f"{op}.{key}#{number}", base | {key: value}))
    for number, value in enumerate(HOSTILE_VALUES):
        found.append((f"pipeline.stage#{number}", PIPELINE | {"stage": value}))
        for name in ("conv", "batchnorm", "pool"):
            found.append((f"pipeline.stage.{name}#{number}", PIPELINE | {"stage": {name: value}}))
        for key in samples.OP_KEYS["conv"]:
            table = {"kernel": [[1, 0], [0, 1]], key: value}
            found.append((f"pipeline.stage.conv.{key}#{number}", PIPELINE | {"stage": {"conv": table}}))
    # sizes at and past the documented limits
    side, depth = MAX_SIDE, MAX_DEPTH
    found += [
        ("side at the limit", {"title": "t", "op": "relu", "input": np.ones((side, side)).tolist()}),
        ("side past the limit", {"title": "t", "op": "relu", "input": np.ones((side + 1, 2)).tolist()}),
        ("depth past the limit", {"title": "t", "op": "relu", "input": np.ones((depth + 1, 2, 2)).tolist()}),
        ("steps at the limit", {"title": "t", "op": "relu", "input": np.ones((12, side, side)).tolist()}),
        ("steps past the limit", {"title": "t", "op": "relu", "input": np.ones((13, side, side)).tolist()}),
        (
            "steps past the limit over a pipeline of ReLUs",
            {"title": "t", "op": ["relu"] * 20, "input": np.ones((side, side)).tolist()},
        ),
        (
            "products below the limit",
            {"title": "t", "op": "conv", "input": np.ones((side, side)).tolist(), "kernel": np.ones((5, 5)).tolist()},
        ),
        (
            "products past the limit",
            {
                "title": "t",
                "op": "conv",
                "input": np.ones((16, side, side)).tolist(),
                "kernel": np.ones((16, 34, 34)).tolist(),
            },
        ),
        (
            "results that overflow",
            {"title": "t", "op": ["conv", "conv", "conv"], "input": [[1e100] * 3] * 3, "stage": {}}
            | {
                "stage": {"conv": {"kernel": [[1e100]]}, "conv2": {"kernel": [[1e100]]}, "conv3": {"kernel": [[1e100]]}}
            },
        ),
    ]
    return found


def test_every_hostile_sample_ends_in_a_result_or_one_error_line():
    tally = Tally()
    for name, data in cases():
        tally.run(name, parse_and_trace(data), traced_correctly)
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert tally.errors > 0 and tally.successes > 0


def test_hostile_sample_files(tmp_path):
    """Files: nesting TOML cannot parse, a FIFO, a sparse 2 GiB CSV, truncated / complex / object .npy."""
    tally = Tally()
    nested = tmp_path / "nested.toml"
    nested.write_text('title = "t"\nop = "relu"\ninput = ' + "[" * 2000 + "1" + "]" * 2000 + "\n")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    os.mkfifo(tmp_path / "fifo.csv")
    with open(tmp_path / "sparse.csv", "wb") as out:
        out.truncate(2 * 2**30)
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 2)))
    with open(tmp_path / "truncated.npy", "wb") as out:
        np.lib.format.write_array_header_1_0(out, header | {"shape": (100_000, 100_000)})
        out.write(b"\0" * 64)
    np.save(tmp_path / "complex.npy", np.ones((3, 3)) * (1 + 2j))
    np.save(tmp_path / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "huge.npy", np.full((3, 3), 1e300))
    np.save(tmp_path / "good.npy", np.arange(9.0).reshape(3, 3))
    (tmp_path / "good.csv").write_text("1, 2\n3, 4\n")
    for name in ("fifo.csv", "sparse.csv", "truncated.npy", "complex.npy", "objects.npy", "huge.npy", "good.npy"):
        sample = tmp_path / f"uses_{name}.toml"
        sample.write_text(f'title = "t"\nop = "relu"\ninput = "{name}"\n')
    sample = tmp_path / "uses_good.csv.toml"
    sample.write_text('title = "t"\nop = "relu"\ninput = "good.csv"\n')
    for path in sorted(tmp_path.glob("*.toml")):
        tally.run(path.name, lambda path=path: samples.load(path), traced_correctly)
    print(tally.summary())
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.successes == 2  # good.npy and good.csv


def test_trace_json_is_standard_json_and_overflow_is_one_error_line(tmp_path):
    """Values near 1e308 used to print Infinity/NaN in --format json; now the sample is refused."""
    sample = tmp_path / "overflow.toml"
    sample.write_text('title = "t"\nop = "conv"\ninput = [[1e300, 1e300], [1e300, 1e300]]\nkernel = [[1e300]]\n')
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "trace", str(sample), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Infinity" not in result.stdout
    assert result.stderr.startswith("cnn-tui: error:") and result.stderr.count("\n") == 1
