"""The TOML sample format: load, validate, save (round trip), and the shipped samples.

A sample is one operation (`op = "conv"`) with its parameters at the top level,
or a pipeline (`op = ["conv", "batchnorm", "relu", "pool"]`) with one
`[stage.NAME]` table per stage that has parameters; stage names are the op
names, a repeated op numbered from 2 (conv, conv2). `op = "network"` samples
describe a whole network and are loaded by engine.network instead.
See samples/README.md for every key.
"""

from __future__ import annotations

import math
import numbers
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from engine import rules
from engine.backward import LOSSES, BackwardSpec, trace_backward
from engine.errors import CnnError, quoted, shown, suggest
from engine.files import user_path, write_atomic
from engine.limits import (
    MAX_DEPTH,
    MAX_MAGNITUDE,
    MAX_MATRIX_FILE_BYTES,
    MAX_SIDE,
    check_products,
    check_steps,
    regular_file,
)
from engine.shapes import output_hw, pair
from engine.trace import PARAM_ALIASES, Trace, trace_stages

OPS = ("conv", "pool", "batchnorm", "relu")
#: Parameter keys of each op, in the order they are written.
OP_KEYS = {
    "conv": ("kernel", "bias", "stride", "padding", "dilation"),
    "pool": ("mode", "size", "stride", "padding"),
    "batchnorm": ("gamma", "beta", "eps", "momentum", "training", "running_mean", "running_var"),
    "relu": (),
}
TOP_KEYS = ("title", "description", "op", "input")
#: The backward pass's keys (see parse_backward).
BACKWARD_KEYS = ("backward", "grad_output", "loss", "labels", "lr", "momentum", "weight_decay")
MATRIX_SUFFIXES = (".csv", ".txt", ".npy")
DEFAULT_SAMPLE = "seed_conv"


class StageParams(dict):
    """A stage's parameters, the tracer's keywords. A convolution's matrix is `kernel`, as in the
    TOML file and the trace; `weight`, its older name here, still reads and writes it."""

    ALIASES = PARAM_ALIASES

    def __getitem__(self, key):
        return super().__getitem__(self.ALIASES.get(key, key))

    def __setitem__(self, key, value) -> None:
        super().__setitem__(self.ALIASES.get(key, key), value)

    def __contains__(self, key) -> bool:
        return super().__contains__(self.ALIASES.get(key, key))

    def get(self, key, default=None):
        return super().get(self.ALIASES.get(key, key), default)


@dataclass
class Stage:
    """One operation of a sample with its normalised parameters (the tracer's keywords)."""

    op: str
    name: str
    params: dict = field(default_factory=dict)

    def __setattr__(self, key: str, value) -> None:
        if key == "params":
            value = StageParams({StageParams.ALIASES.get(k, k): v for k, v in value.items()})
        super().__setattr__(key, value)


@dataclass
class Sample:
    """A loaded sample. input is (N, C, H, W) float64; input_rank is how it was written (2, 3 or 4)."""

    title: str
    input: np.ndarray
    stages: list[Stage]
    description: str = ""
    input_rank: int = 4
    path: Path | None = None
    backward: BackwardSpec | None = None
    """With `backward = true`: the backward pass's upstream gradient or loss, and the SGD step."""

    def trace(self) -> Trace:
        """The step-by-step trace through every stage (then the backward stages, when asked for);
        CnnError when a result overflows float64."""
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, in words
            forward = trace_stages(self.input, [(s.op, s.name, s.params) for s in self.stages])
            trace = forward if self.backward is None else trace_backward(forward, self.backward)
        for stage in trace.stages:
            if not np.all(np.isfinite(stage.output)):
                raise CnnError(
                    f"{stage.name}: a result overflows (inf or nan in float64); use numbers of a smaller magnitude"
                )
        return trace

    @property
    def is_pipeline(self) -> bool:
        return len(self.stages) > 1


# ---------------------------------------------------------------- reading values


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CnnError(f"{where}: {shown(value)} is not a number")
    try:
        value = float(value)
    except OverflowError:  # a 400-digit integer
        raise CnnError(f"{where}: {quoted(value)} is too large (at most {MAX_MAGNITUDE:g} in size)") from None
    if not math.isfinite(value):
        raise CnnError(f"{where}: {value} is not allowed (use a finite number)")
    if abs(value) > MAX_MAGNITUDE:
        raise CnnError(f"{where}: {value:g} is too large (at most {MAX_MAGNITUDE:g} in size)")
    return value


def matrix(value: object, where: str, ranks: tuple[int, ...]) -> np.ndarray:
    """Nested lists of numbers -> float64 array of one of the given ranks; refuses ragged, empty, NaN/inf."""

    deepest = max(ranks)

    def shape_of(item: object, depth: int) -> tuple[int, ...]:
        if isinstance(item, list):
            if depth >= deepest:  # checked before going deeper: lists nested hundreds deep never recurse
                raise CnnError(f"{where}: lists nested deeper than a {deepest}-D matrix")
            if not item:
                raise CnnError(f"{where}: empty list at depth {depth + 1}")
            if len(item) > 4 * max(MAX_SIDE, MAX_DEPTH):  # refused before its items are looked at
                raise CnnError(
                    f"{where}: a list of {len(item):,} items is too large to step through "
                    f"(a matrix side is at most {MAX_SIDE}, a batch or channel count at most {MAX_DEPTH})"
                )
            shapes = {shape_of(child, depth + 1) for child in item}
            if len(shapes) > 1:
                raise CnnError(f"{where}: ragged matrix (rows of different lengths at depth {depth + 1})")
            return (len(item),) + shapes.pop()
        _number(item, where)
        return ()

    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 in ranks:
        return np.array(_number(value, where))
    if not isinstance(value, list):
        raise CnnError(f"{where}: expected a matrix (nested lists of numbers), got {shown(value)}")
    shape = shape_of(value, 0)
    if len(shape) not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        raise CnnError(f"{where}: expected a {wanted} matrix, got shape {list(shape)}")
    check_size(shape, where)
    return np.array(value, dtype=np.float64)


def check_size(shape: tuple[int, ...], where: str) -> None:
    """Refuse a matrix shape too large to step through (sides > MAX_SIDE, depth > MAX_DEPTH)."""
    if len(shape) >= 2 and max(shape[-2:]) > MAX_SIDE:
        raise CnnError(f"{where}: {shape[-2]}×{shape[-1]} is too large to step through (at most {MAX_SIDE}×{MAX_SIDE})")
    if len(shape) > 2 and max(shape[:-2]) > MAX_DEPTH:
        raise CnnError(f"{where}: shape {list(shape)} has more than {MAX_DEPTH} channels or items")


def read_matrix_file(path: Path, where: str) -> np.ndarray:
    """A .csv/.txt (2-D, comma or whitespace separated) or .npy (2- to 4-D) file as float64."""
    if path.suffix.lower() not in MATRIX_SUFFIXES:
        raise CnnError(f"{where}: {path.name} must be a .csv, .txt or .npy file")
    if not path.exists():
        raise CnnError(f"{where}: file {path} not found")
    regular_file(path, "matrix file", MAX_MATRIX_FILE_BYTES)
    try:
        if path.suffix.lower() == ".npy":
            array = _read_npy(path, where)
        else:
            text = path.read_text(encoding="utf-8")
            rows = [line.replace(",", " ").split() for line in text.splitlines() if line.strip()]
            if len({len(row) for row in rows}) > 1:
                raise CnnError(f"{where}: {path.name} has rows of different lengths")
            array = np.array([[float(cell) for cell in row] for row in rows]) if rows else np.zeros((0, 0))
    except CnnError:
        raise
    except (ValueError, OSError) as error:
        raise CnnError(f"{where}: cannot read {path.name}: {str(error).splitlines()[0]}") from None
    if array.ndim not in (2, 3, 4) or array.size == 0:
        raise CnnError(f"{where}: {path.name} must hold a non-empty 2-D to 4-D matrix, got shape {list(array.shape)}")
    if array.dtype.kind not in "iuf" or not np.all(np.isfinite(array)):
        raise CnnError(f"{where}: {path.name} must hold finite real numbers only, got {array.dtype}")
    check_size(array.shape, where)
    array = array.astype(np.float64)
    if np.any(np.abs(array) > MAX_MAGNITUDE):
        raise CnnError(f"{where}: {path.name} holds numbers larger than {MAX_MAGNITUDE:g} in size")
    return array


def _read_npy(path: Path, where: str) -> np.ndarray:
    """An .npy read only after its header's shape has been checked against the limits and the file size
    (memory-mapped first: a truncated file or a declared shape larger than the file fails before any copy)."""
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise CnnError(f"{where}: {path.name} is truncated or not a readable .npy ({error})") from None
    if mapped.dtype.kind not in "iuf":
        raise CnnError(f"{where}: {path.name} must hold real numbers, got {mapped.dtype}")
    if mapped.ndim in (2, 3, 4):
        check_size(mapped.shape, where)
    return np.array(mapped)


def _as_nchw(array: np.ndarray) -> np.ndarray:
    return array.reshape((1,) * (4 - array.ndim) + array.shape)


# ---------------------------------------------------------------- stages


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            valid = ", ".join(allowed) if allowed else "none"
            raise CnnError(f"{where}: unknown key {shown(key)}{suggest(key, allowed)}; valid keys: {valid}")


def stage_params(op: str, table: dict, channels: int, where: str) -> dict:
    """Validate one stage's keys -> the tracer's keyword arguments."""
    _check_keys(table, OP_KEYS[op], where)
    if op == "conv":
        if "kernel" not in table:
            raise CnnError(f"{where}: a conv stage needs a kernel")
        kernel = matrix(table["kernel"], f"{where}.kernel", (2, 3, 4))
        if kernel.ndim == 3:
            kernel = kernel[None]
        elif kernel.ndim == 2:
            kernel = kernel[None, None]
        rules.kernel_channels(
            kernel.shape[1],
            channels,
            f"{where}.kernel",
            f"write the kernel as (channels, kh, kw) = ({channels}, {kernel.shape[2]}, {kernel.shape[3]})"
            " or (filters, channels, kh, kw)",
        )
        bias = None
        if "bias" in table:
            bias = matrix(table["bias"], f"{where}.bias", (0, 1))
            bias = rules.per_channel(bias, kernel.shape[0], f"{where}.bias", unit="filter")
        return {
            "kernel": kernel,
            "bias": bias,
            "stride": pair(table.get("stride", 1), f"{where}.stride"),
            "padding": pair(table.get("padding", 0), f"{where}.padding", 0),
            "dilation": pair(table.get("dilation", 1), f"{where}.dilation"),
        }
    if op == "pool":
        mode = rules.pool_mode(table.get("mode", "max"), f"{where}.mode")
        size = pair(table.get("size", 2), f"{where}.size")
        return {
            "mode": mode,
            "size": size,
            "stride": rules.pool_stride(table.get("stride"), size, f"{where}.stride"),
            "padding": pair(table.get("padding", 0), f"{where}.padding", 0),
        }
    if op == "batchnorm":
        params: dict = {}
        for key, default in (("gamma", 1.0), ("beta", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            values = matrix(table.get(key, default), f"{where}.{key}", (0, 1))
            params[key] = rules.per_channel(values, channels, f"{where}.{key}")
        rules.running_var(params["running_var"], f"{where}.running_var")
        eps = rules.eps(_number(table.get("eps", 1e-5), f"{where}.eps"), f"{where}.eps")
        momentum = rules.momentum(_number(table.get("momentum", 0.1), f"{where}.momentum"), f"{where}.momentum")
        training = table.get("training", True)
        if not isinstance(training, bool):
            raise CnnError(f"{where}.training must be true or false, got {shown(training)}")
        return params | {"eps": eps, "momentum": momentum, "training": training}
    return {}


def stage_output_shape(stage: Stage, shape: tuple[int, int, int, int], where: str) -> tuple[int, int, int, int]:
    """(N, C, H, W) after the stage; CnnError with the formula when a window does not fit."""
    n, c, h, w = shape
    p = stage.params
    if stage.op == "conv":
        weight = p["kernel"]
        rules.kernel_channels(weight.shape[1], c, where)
        try:
            h_out, w_out = output_hw((h, w), weight.shape[2:], p["stride"], p["padding"], p["dilation"])
        except CnnError as error:
            raise CnnError(f"{where}: {error}") from None
        return n, weight.shape[0], h_out, w_out
    if stage.op == "pool":
        rules.pool_padding(p["size"], p["padding"], where)
        try:
            h_out, w_out = output_hw((h, w), p["size"], p["stride"], p["padding"], (1, 1), "pool size")
        except CnnError as error:
            raise CnnError(f"{where}: {error}") from None
        return n, c, h_out, w_out
    if stage.op == "batchnorm" and p["training"]:
        rules.batch_statistics(n * h * w, where)
    return shape


def validate(sample: Sample, where: str = "sample") -> None:
    """Check that every stage fits the shape it receives and the work is within the limits (raises CnnError)."""
    shape = sample.input.shape
    for stage in sample.stages:
        shape = stage_output_shape(stage, shape, f"{where}: {stage.name}" if where else stage.name)
    check_work(sample, where)


def work(sample: Sample) -> tuple[int, int]:
    """(steps, products) the trace of a valid sample would take, from the shapes alone.

    A convolution step shows C·kh·kw products, a pooling step kh·kw taps; a
    batch-norm or ReLU step counts as one product. The steps count the backward
    stages too when the sample asks for them; the products are the forward
    stages' (a backward shows about twice as many: dW's are the forward's, dX's
    as many again; the network view's dW bridge on conv1 shows 147,456 in all).
    """
    shape = sample.input.shape
    steps = products = 0
    shapes: list[tuple[Stage, tuple[int, ...], tuple[int, ...]]] = []
    for stage in sample.stages:
        out = stage_output_shape(stage, shape, stage.name)
        shapes.append((stage, shape, out))
        n, c, h, w = shape
        if stage.op == "conv":
            count = int(np.prod(out))
            steps, products = steps + count, products + count * int(np.prod(stage.params["weight"].shape[1:]))
        elif stage.op == "pool":
            count = int(np.prod(out))
            size = stage.params["size"]
            steps, products = steps + count, products + count * size[0] * size[1]
        elif stage.op == "batchnorm":
            training = stage.params["training"]
            count = c * (n * h * w * (3 if training else 1) + (2 if training else 0))
            steps, products = steps + count, products + count
        else:
            count = n * c * h * w
            steps, products = steps + count, products + count
        shape = out
    if sample.backward is not None:
        steps += backward_steps(sample.backward, shapes)
    return steps, products


def backward_steps(spec: BackwardSpec, shapes: list[tuple[Stage, tuple[int, ...], tuple[int, ...]]]) -> int:
    """Steps of the backward stages engine.backward.trace_backward makes for stages of these (input,
    output) shapes: the loss, each stage's gradients (one step per weight, bias and input cell; batch
    norm adds a sum per channel for dγ and dβ) and the SGD step of every parameter."""
    steps = 0 if spec.loss is None else int(np.prod(shapes[-1][2]))
    for number, (stage, shape, _out) in enumerate(shapes):
        size, p = int(np.prod(shape)), stage.params
        weights = 0
        if stage.op == "conv":
            weights = p["kernel"].size + (0 if p["bias"] is None else len(p["bias"]))
            steps += weights + (size if number > 0 or spec.input_gradient else 0)
        elif stage.op == "batchnorm":
            weights = 2 * shape[1]
            steps += weights + size
        else:
            steps += size
        if spec.lr is not None:
            steps += weights
    return steps


def check_work(sample: Sample, where: str) -> None:
    """Refuse a sample whose whole trace would exceed MAX_STEPS steps or MAX_PRODUCTS products."""
    steps, products = work(sample)
    what = f"{where}: this sample" if where else "this sample"
    check_steps(steps, what)
    check_products(products, what)


# ---------------------------------------------------------------- load


def stage_names(ops: list[str]) -> list[str]:
    """conv, batchnorm, conv2, ...: op names, a repeated op numbered from 2."""
    seen: dict[str, int] = {}
    names = []
    for op in ops:
        seen[op] = seen.get(op, 0) + 1
        names.append(op if seen[op] == 1 else f"{op}{seen[op]}")
    return names


def parse(data: dict, where: str, folder: Path | None = None) -> Sample:
    """A parsed TOML document -> Sample (raises CnnError naming `where` and the key)."""
    op = data.get("op")
    if op is None:
        raise CnnError(f"{where}: missing key 'op' (one of {', '.join(OPS)}, or a list of them)")
    if op == "network":
        raise CnnError(
            f'{where} describes a whole network (op = "network"): open it in the app '
            "or use `cnn-tui summary` / `cnn-tui train`"
        )
    ops = op if isinstance(op, list) else [op]
    if not ops:
        raise CnnError(f"{where}: op is an empty list")
    for item in ops:
        if item not in OPS:
            raise CnnError(f"{where}: unknown op {shown(item)}{suggest(str(item), OPS)}; valid ops: {', '.join(OPS)}")
    pipeline = isinstance(op, list)
    allowed = TOP_KEYS + BACKWARD_KEYS + (("stage",) if pipeline else OP_KEYS[ops[0]])
    _check_keys(data, allowed, where)
    title = data.get("title", "")
    if not isinstance(title, str) or not title.strip():
        raise CnnError(f"{where}: 'title' must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise CnnError(f"{where}: 'description' must be a string")
    if "input" not in data:
        raise CnnError(f"{where}: missing key 'input' (a matrix, or a .csv/.txt/.npy file beside the sample)")
    if isinstance(data["input"], str):
        if folder is None:
            raise CnnError(f"{where}.input: a file name needs the sample to be a file")
        array = read_matrix_file(folder / data["input"], f"{where}.input")
    else:
        array = matrix(data["input"], f"{where}.input", (2, 3, 4))
    sample = Sample(title=title, description=description, input=_as_nchw(array), stages=[], input_rank=array.ndim)
    names = stage_names(ops)
    tables = data.get("stage", {}) if pipeline else {}
    if not isinstance(tables, dict):
        raise CnnError(f"{where}: 'stage' must be tables [stage.NAME]")
    for name in tables:
        if name not in names:
            raise CnnError(f"{where}: [stage.{name}] is not a stage{suggest(name, names)}; stages: {', '.join(names)}")
    shape = sample.input.shape
    for op_name, name in zip(ops, names):
        table = tables.get(name, {}) if pipeline else {k: v for k, v in data.items() if k in OP_KEYS[op_name]}
        place = f"{where}: [stage.{name}]" if pipeline else where
        if not isinstance(table, dict):
            raise CnnError(f"{place} must be a table of parameters, got {shown(table)}")
        stage = Stage(op_name, name, stage_params(op_name, table, shape[1], place))
        shape = stage_output_shape(stage, shape, place)
        sample.stages.append(stage)
    # A single op's own keys (a batch norm's momentum) are not the backward pass's.
    own = () if pipeline else OP_KEYS[ops[0]]
    sample.backward = parse_backward({k: v for k, v in data.items() if k not in own}, where, shape, ops)
    check_work(sample, where)
    return sample


def parse_backward(
    data: dict, where: str, output_shape: tuple[int, int, int, int], ops: list[str]
) -> BackwardSpec | None:
    """The backward keys of a sample -> BackwardSpec (None without `backward = true`).

    output_shape is the last stage's output (N, C, H, W): grad_output must have it, and with
    `loss = "cross_entropy"` each image's C·H·W outputs are its class scores.
    """
    backward = data.get("backward", False)
    if not isinstance(backward, bool):
        raise CnnError(f"{where}.backward must be true or false, got {quoted(backward)}")
    given = [key for key in BACKWARD_KEYS[1:] if key in data]
    if not backward:
        if given:
            raise CnnError(f"{where}: {given[0]} needs backward = true")
        return None
    grad_output = None
    if "grad_output" in data:
        if "loss" in data:
            raise CnnError(f"{where}: give either grad_output or loss, not both (the loss makes the gradient)")
        array = matrix(data["grad_output"], f"{where}.grad_output", (2, 3, 4))
        if _as_nchw(array).shape != output_shape:
            raise CnnError(
                f"{where}.grad_output must have the last stage's output shape {list(output_shape)} "
                f"(N, C, H, W; leading 1s may be left out), got {list(array.shape)}"
            )
        grad_output = _as_nchw(array)
    loss = data.get("loss")
    labels: tuple[int, ...] = ()
    if loss is not None:
        if loss not in LOSSES:
            raise CnnError(f"{where}.loss must be {' or '.join(map(quoted, LOSSES))}, got {quoted(loss)}")
        if "labels" not in data:
            raise CnnError(f"{where}: loss = {quoted(loss)} needs labels = [...] (one class index per image)")
        raw = data["labels"]
        classes = int(np.prod(output_shape[1:]))
        if not isinstance(raw, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in raw):
            raise CnnError(f"{where}.labels must be a list of class indices 0..{classes - 1}, got {quoted(raw)}")
        if len(raw) != output_shape[0]:
            raise CnnError(f"{where}.labels needs one class index per image ({output_shape[0]}), got {len(raw)}")
        for label in raw:
            if not 0 <= label < classes:
                raise CnnError(f"{where}.labels: {label} is not a class index 0..{classes - 1}")
        labels = tuple(raw)
    elif "labels" in data:
        raise CnnError(f'{where}: labels needs loss = "cross_entropy"')
    lr = None
    if "lr" in data:
        lr = _number(data["lr"], f"{where}.lr")
        if lr <= 0:
            raise CnnError(f"{where}.lr must be a positive learning rate, got {lr}")
        if not {"conv", "batchnorm"} & set(ops):
            raise CnnError(f"{where}: lr has nothing to update (SGD needs a conv or batchnorm stage's parameters)")
    for key in ("momentum", "weight_decay"):
        if key in data and lr is None:
            raise CnnError(f"{where}: {key} needs lr (the SGD step's learning rate)")
    momentum = _number(data.get("momentum", 0.0), f"{where}.momentum")
    if not 0 <= momentum < 1:
        raise CnnError(f"{where}.momentum must be in [0, 1), got {momentum}")
    weight_decay = _number(data.get("weight_decay", 0.0), f"{where}.weight_decay")
    if weight_decay < 0:
        raise CnnError(f"{where}.weight_decay must be 0 or more, got {weight_decay}")
    return BackwardSpec(grad_output, loss, labels, lr, momentum, weight_decay)


def backward_lines(spec: BackwardSpec | None, rank: int) -> list[str]:
    """The backward keys as TOML lines (grad_output written with the input's rank)."""
    if spec is None:
        return []
    lines = ["backward = true"]
    if spec.grad_output is not None:
        written = spec.grad_output.reshape(spec.grad_output.shape[4 - rank :])
        lines.append(f"grad_output = {_toml_matrix(written)}")
    if spec.loss is not None:
        lines += [f"loss = {_toml_value(spec.loss)}", f"labels = {_toml_value(list(spec.labels))}"]
    if spec.lr is not None:
        lines.append(f"lr = {_toml_value(spec.lr)}")
        if spec.momentum:
            lines.append(f"momentum = {_toml_value(spec.momentum)}")
        if spec.weight_decay:
            lines.append(f"weight_decay = {_toml_value(spec.weight_decay)}")
    return lines


def read_toml(path: str | os.PathLike) -> dict:
    """A sample file's TOML, read only when it is a regular file within the size limit."""
    path = Path(path)
    if not path.exists():
        raise CnnError(f"{path}: file not found")
    regular_file(path, "sample file", MAX_MATRIX_FILE_BYTES)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CnnError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise CnnError(f"{path}: not valid TOML: lists or tables nested too deep") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CnnError(f"{path}: cannot read: {error}") from None


def load(path: str | os.PathLike) -> Sample:
    """Read and validate a sample file."""
    path = Path(path)
    data = read_toml(path)
    sample = parse(data, str(path), path.parent)
    sample.path = path
    return sample


# ---------------------------------------------------------------- save


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    number = float(value)  # type: ignore[arg-type]
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _toml_string(text: str) -> str:
    """A TOML basic string: backslash, quote and every control character escaped, so any text loads back."""
    out = []
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_matrix(array: np.ndarray) -> str:
    """Multi-line nested list, one innermost row a line, so it reads like the matrix."""
    if array.ndim <= 1:
        return _toml_value(array)
    if array.ndim == 2:
        rows = ",\n".join("  " + _toml_value(row) for row in array)
        return "[\n" + rows + ",\n]"
    blocks = ",\n".join(_toml_matrix(block) for block in array)
    return "[\n" + blocks + ",\n]"


def _compact(value: tuple[int, int]) -> object:
    return value[0] if value[0] == value[1] else list(value)


def stage_table(stage: Stage) -> dict[str, object]:
    p = stage.params
    if stage.op == "conv":
        table: dict[str, object] = {"kernel": p["kernel"]}
        if p.get("bias") is not None:
            table["bias"] = p["bias"]
        table |= {
            "stride": _compact(p["stride"]),
            "padding": _compact(p["padding"]),
            "dilation": _compact(p["dilation"]),
        }
        return table
    if stage.op == "pool":
        return {
            "mode": p["mode"],
            "size": _compact(p["size"]),
            "stride": _compact(p["stride"]),
            "padding": _compact(p["padding"]),
        }
    if stage.op == "batchnorm":
        return {key: p[key] for key in OP_KEYS["batchnorm"]}
    return {}


def _kernel_for_saving(sample: Sample, stage: Stage) -> np.ndarray:
    weight = stage.params["kernel"]
    if weight.shape[0] == 1:
        weight = weight[0]
        if weight.shape[0] == 1 and sample.input_rank == 2 and stage is sample.stages[0]:
            weight = weight[0]
    return weight


def dumps(sample: Sample) -> str:
    """The sample as TOML text that `parse` reads back to an equal sample."""
    lines = [f"title = {_toml_value(sample.title)}"]
    if sample.description:
        lines.append(f"description = {_toml_value(sample.description)}")
    ops = [s.op for s in sample.stages]
    lines.append(f"op = {_toml_value(ops if sample.is_pipeline else ops[0])}")
    shown_input = sample.input.reshape(sample.input.shape[4 - sample.input_rank :])
    lines.append(f"input = {_toml_matrix(shown_input)}")
    lines += backward_lines(sample.backward, sample.input_rank)

    def write_table(stage: Stage) -> None:
        for key, value in stage_table(stage).items():
            if key == "kernel":
                lines.append(f"kernel = {_toml_matrix(_kernel_for_saving(sample, stage))}")
            else:
                lines.append(f"{key} = {_toml_value(value)}")

    if sample.is_pipeline:
        for stage in sample.stages:
            if stage.op != "relu":
                lines.append(f"\n[stage.{stage.name}]")
                write_table(stage)
    else:
        write_table(sample.stages[0])
    return "\n".join(lines) + "\n"


def save(sample: Sample, path: str | os.PathLike) -> Path:
    """Validate and write the sample atomically; refuses to overwrite a shipped sample."""
    path = user_path(path)
    if is_shipped(path):
        raise CnnError(f"{path.name} is a shipped sample and is never overwritten; save under a new path")
    validate(sample, str(path))
    try:
        data = dumps(sample).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be written as UTF-8
        raise CnnError(f"{path}: the title or description holds a character that cannot be saved") from None
    write_atomic(path, data)
    sample.path = path
    return path


# ---------------------------------------------------------------- shipped samples


def shipped_dir() -> Path:
    """The samples folder: the source tree's when running from one, else the installed package's."""
    source = Path(__file__).resolve().parent.parent / "samples"
    if (source / f"{DEFAULT_SAMPLE}.toml").is_file():
        return source
    import cnn_tui_samples

    return Path(cnn_tui_samples.__file__).resolve().parent


def is_shipped(path: Path) -> bool:
    try:
        return Path(path).resolve().parent == shipped_dir()
    except OSError:
        return False


class ShippedSample(NamedTuple):
    name: str
    title: str
    op: str
    """'conv', 'pool', 'batchnorm', 'relu', 'pipeline' or 'network'."""


def shipped() -> list[ShippedSample]:
    """Every shipped sample, sorted by name."""
    found = []
    for path in sorted(shipped_dir().glob("*.toml")):
        data = _peek(path)
        if "slide" in data:
            continue  # a lecture (engine.lecture), not a sample
        found.append(ShippedSample(path.stem, str(data.get("title", "")), _op_name(data)))
    return found


def _peek(path: Path) -> dict:
    try:
        return read_toml(path)
    except CnnError:  # a FIFO, a folder, too large, not TOML
        return {"title": "(unreadable)"}


def _op_name(data: dict) -> str:
    op = data.get("op", "")
    return "pipeline" if isinstance(op, list) else str(op)


def sample_op(path: str | os.PathLike) -> str:
    """The op a sample file names ('conv', ..., 'pipeline', 'network'; '' when unreadable): which view opens it."""
    return _op_name(_peek(Path(path)))


def resolve(name_or_path: str | os.PathLike | None) -> Path:
    """A path that exists, or the name of a shipped sample (with or without .toml); None is the default."""
    if name_or_path is None:
        return shipped_dir() / f"{DEFAULT_SAMPLE}.toml"
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.is_dir():
        raise CnnError(f"{path} is a folder; give a sample file (.toml)")
    if path.exists():  # a FIFO or a device: refused by name, never opened
        regular_file(path, "sample file")
    name = path.name.removesuffix(".toml")
    candidate = shipped_dir() / f"{name}.toml"
    if len(path.parts) == 1 and candidate.is_file():
        return candidate
    names = [entry.name for entry in shipped()]
    raise CnnError(
        f"{name_or_path}: no such file, and not a shipped sample{suggest(name, names)} (see `cnn-tui samples`)"
    )
