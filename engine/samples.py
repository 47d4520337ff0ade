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

from engine.errors import CnnError, suggest
from engine.files import user_path, write_atomic
from engine.shapes import MAX_SIDE, output_hw, pair
from engine.trace import Trace, trace_stages

OPS = ("conv", "pool", "batchnorm", "relu")
#: Parameter keys of each op, in the order they are written.
OP_KEYS = {
    "conv": ("kernel", "bias", "stride", "padding", "dilation"),
    "pool": ("mode", "size", "stride", "padding"),
    "batchnorm": ("gamma", "beta", "eps", "momentum", "training", "running_mean", "running_var"),
    "relu": (),
}
TOP_KEYS = ("title", "description", "op", "input")
MATRIX_SUFFIXES = (".csv", ".txt", ".npy")
#: Most items in a batch and channels in an input or kernel.
MAX_DEPTH = 64
DEFAULT_SAMPLE = "seed_conv"


@dataclass
class Stage:
    """One operation of a sample with its normalised parameters (the tracer's keywords)."""

    op: str
    name: str
    params: dict = field(default_factory=dict)


@dataclass
class Sample:
    """A loaded sample. input is (N, C, H, W) float64; input_rank is how it was written (2, 3 or 4)."""

    title: str
    input: np.ndarray
    stages: list[Stage]
    description: str = ""
    input_rank: int = 4
    path: Path | None = None

    def trace(self) -> Trace:
        """The step-by-step trace through every stage."""
        return trace_stages(self.input, [(s.op, s.name, s.params) for s in self.stages])

    @property
    def is_pipeline(self) -> bool:
        return len(self.stages) > 1


# ---------------------------------------------------------------- reading values


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CnnError(f"{where}: {value!r} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise CnnError(f"{where}: {value} is not allowed (use a finite number)")
    return value


def matrix(value: object, where: str, ranks: tuple[int, ...]) -> np.ndarray:
    """Nested lists of numbers -> float64 array of one of the given ranks; refuses ragged, empty, NaN/inf."""

    def shape_of(item: object, depth: int) -> tuple[int, ...]:
        if isinstance(item, list):
            if not item:
                raise CnnError(f"{where}: empty list at depth {depth + 1}")
            shapes = {shape_of(child, depth + 1) for child in item}
            if len(shapes) > 1:
                raise CnnError(f"{where}: ragged matrix (rows of different lengths at depth {depth + 1})")
            return (len(item),) + shapes.pop()
        _number(item, where)
        return ()

    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 in ranks:
        return np.array(_number(value, where))
    if not isinstance(value, list):
        raise CnnError(f"{where}: expected a matrix (nested lists of numbers), got {value!r}")
    shape = shape_of(value, 0)
    if len(shape) not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        raise CnnError(f"{where}: expected a {wanted} matrix, got shape {list(shape)}")
    array = np.array(value, dtype=np.float64)
    check_size(array, where)
    return array


def check_size(array: np.ndarray, where: str) -> None:
    """Refuse matrices too large to step through (sides > MAX_SIDE, depth > MAX_DEPTH)."""
    if array.ndim >= 2 and max(array.shape[-2:]) > MAX_SIDE:
        raise CnnError(
            f"{where}: {array.shape[-2]}×{array.shape[-1]} is too large to step through (at most {MAX_SIDE}×{MAX_SIDE})"
        )
    if array.ndim > 2 and max(array.shape[:-2]) > MAX_DEPTH:
        raise CnnError(f"{where}: shape {list(array.shape)} has more than {MAX_DEPTH} channels or items")


def read_matrix_file(path: Path, where: str) -> np.ndarray:
    """A .csv/.txt (2-D, comma or whitespace separated) or .npy (2- to 4-D) file as float64."""
    if path.suffix.lower() not in MATRIX_SUFFIXES:
        raise CnnError(f"{where}: {path.name} must be a .csv, .txt or .npy file")
    if not path.is_file():
        raise CnnError(f"{where}: file {path} not found")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
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
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise CnnError(f"{where}: {path.name} must hold finite numbers only")
    array = array.astype(np.float64)
    check_size(array, where)
    return array


def _as_nchw(array: np.ndarray) -> np.ndarray:
    return array.reshape((1,) * (4 - array.ndim) + array.shape)


# ---------------------------------------------------------------- stages


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            valid = ", ".join(allowed) if allowed else "none"
            raise CnnError(f"{where}: unknown key {key!r}{suggest(key, allowed)}; valid keys: {valid}")


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
        if kernel.shape[1] != channels:
            raise CnnError(
                f"{where}.kernel has {kernel.shape[1]} channel(s) but its input has {channels}; "
                f"write the kernel as (channels, kh, kw) = ({channels}, {kernel.shape[2]}, {kernel.shape[3]})"
                " or (filters, channels, kh, kw)"
            )
        bias = None
        if "bias" in table:
            bias = matrix(table["bias"], f"{where}.bias", (0, 1)).reshape(-1)
            if bias.size == 1:
                bias = np.full(kernel.shape[0], bias[0])
            if bias.size != kernel.shape[0]:
                raise CnnError(f"{where}.bias needs one value per filter ({kernel.shape[0]}), got {bias.size}")
        return {
            "weight": kernel,
            "bias": bias,
            "stride": pair(table.get("stride", 1), f"{where}.stride"),
            "padding": pair(table.get("padding", 0), f"{where}.padding", 0),
            "dilation": pair(table.get("dilation", 1), f"{where}.dilation"),
        }
    if op == "pool":
        mode = table.get("mode", "max")
        if mode not in ("max", "avg"):
            raise CnnError(f'{where}.mode must be "max" or "avg", got {mode!r}{suggest(str(mode), ("max", "avg"))}')
        size = pair(table.get("size", 2), f"{where}.size")
        return {
            "mode": mode,
            "size": size,
            "stride": pair(table.get("stride", size), f"{where}.stride"),
            "padding": pair(table.get("padding", 0), f"{where}.padding", 0),
        }
    if op == "batchnorm":
        params: dict = {}
        for key, default in (("gamma", 1.0), ("beta", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            values = matrix(table.get(key, default), f"{where}.{key}", (0, 1)).reshape(-1)
            if values.size == 1:
                values = np.full(channels, values[0])
            if values.size != channels:
                raise CnnError(f"{where}.{key} needs one value per channel ({channels}), got {values.size}")
            params[key] = values
        if np.any(params["running_var"] < 0):
            raise CnnError(f"{where}.running_var must not be negative")
        eps = _number(table.get("eps", 1e-5), f"{where}.eps")
        if eps <= 0:
            raise CnnError(f"{where}.eps must be a small positive number, got {eps}")
        momentum = _number(table.get("momentum", 0.1), f"{where}.momentum")
        if not 0 <= momentum <= 1:
            raise CnnError(f"{where}.momentum must be between 0 and 1, got {momentum}")
        training = table.get("training", True)
        if not isinstance(training, bool):
            raise CnnError(f"{where}.training must be true or false, got {training!r}")
        return params | {"eps": eps, "momentum": momentum, "training": training}
    return {}


def stage_output_shape(stage: Stage, shape: tuple[int, int, int, int], where: str) -> tuple[int, int, int, int]:
    """(N, C, H, W) after the stage; CnnError with the formula when a window does not fit."""
    n, c, h, w = shape
    p = stage.params
    if stage.op == "conv":
        weight = p["weight"]
        if weight.shape[1] != c:
            raise CnnError(f"{where}: the kernel has {weight.shape[1]} channel(s) but its input has {c}")
        try:
            h_out, w_out = output_hw((h, w), weight.shape[2:], p["stride"], p["padding"], p["dilation"])
        except CnnError as error:
            raise CnnError(f"{where}: {error}") from None
        return n, weight.shape[0], h_out, w_out
    if stage.op == "pool":
        for dim, kk, pp in zip(("height", "width"), p["size"], p["padding"]):
            if 2 * pp > kk:
                raise CnnError(f"{where}: pool padding {pp} must be at most half the pool size {kk} ({dim})")
        try:
            h_out, w_out = output_hw((h, w), p["size"], p["stride"], p["padding"], (1, 1), "pool size")
        except CnnError as error:
            raise CnnError(f"{where}: {error}") from None
        return n, c, h_out, w_out
    if stage.op == "batchnorm" and p["training"] and n * h * w < 2:
        raise CnnError(f"{where}: batch norm in training needs more than 1 value per channel (N·H·W ≥ 2)")
    return shape


def validate(sample: Sample, where: str = "sample") -> None:
    """Check that every stage fits the shape it receives (raises CnnError)."""
    shape = sample.input.shape
    for stage in sample.stages:
        shape = stage_output_shape(stage, shape, f"{where}: {stage.name}" if where else stage.name)


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
            raise CnnError(f"{where}: unknown op {item!r}{suggest(str(item), OPS)}; valid ops: {', '.join(OPS)}")
    pipeline = isinstance(op, list)
    allowed = TOP_KEYS + (("stage",) if pipeline else OP_KEYS[ops[0]])
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
        stage = Stage(op_name, name, stage_params(op_name, table, shape[1], place))
        shape = stage_output_shape(stage, shape, place)
        sample.stages.append(stage)
    return sample


def read_toml(path: Path) -> dict:
    """A TOML file's table; CnnError (one line naming the file) when missing, unreadable or not TOML."""
    if not path.is_file():
        raise CnnError(f"{path}: file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CnnError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CnnError(f"{path}: cannot read: {error}") from None


def load(path: str | os.PathLike) -> Sample:
    """Read and validate a sample file."""
    path = Path(path)
    sample = parse(read_toml(path), str(path), path.parent)
    sample.path = path
    return sample


# ---------------------------------------------------------------- save


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    number = float(value)  # type: ignore[arg-type]
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


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
        table: dict[str, object] = {"kernel": p["weight"]}
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
    weight = stage.params["weight"]
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
    write_atomic(path, dumps(sample).encode("utf-8"))
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
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
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
    name = path.name.removesuffix(".toml")
    candidate = shipped_dir() / f"{name}.toml"
    if len(path.parts) == 1 and candidate.is_file():
        return candidate
    names = [entry.name for entry in shipped()]
    raise CnnError(
        f"{name_or_path}: no such file, and not a shipped sample{suggest(name, names)} (see `cnn-tui samples`)"
    )
