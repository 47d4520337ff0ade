"""Edits to a sample, each returning a new validated Sample (the old one is untouched).

Every edit a user can make in the app lives here, so the app only maps keys to
calls: set a cell, grow or shrink a matrix, change a parameter, apply a preset,
load a matrix file. An impossible result (a kernel larger than the padded
input, a non-number, a last row removed) raises CnnError and nothing changes.
History keeps the samples for undo and redo.

Matrices are named by a target: "input" (N, C, H, W), or "STAGE.kernel"
(O, C, kh, kw), "STAGE.bias" (O,), "STAGE.gamma" / ".beta" / ".running_mean" /
".running_var" (C,) for a stage called STAGE.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import CnnError, shown, suggest
from engine.samples import MAX_DEPTH, Sample, Stage, read_matrix_file, stage_params, stage_table, validate
from engine.shapes import MAX_SIDE

#: Axis of a 4-D matrix that each shape edit changes.
AXES = {"batch": 0, "filters": 0, "channels": 1, "rows": 2, "cols": 3}
INPUT_AXES = ("batch", "channels", "rows", "cols")
KERNEL_AXES = ("filters", "rows", "cols")
#: What a new per-channel batch-norm value starts as.
CHANNEL_DEFAULTS = {"gamma": 1.0, "beta": 0.0, "running_mean": 0.0, "running_var": 1.0}

KERNEL_PRESETS: dict[str, list[list[float]]] = {
    "lecture X": [[1, 0, 1], [0, 1, 0], [1, 0, 1]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "Gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}

LECTURE_IMAGE = [[1, 2, 1, 0, 0], [0, 1, 0, 2, 1], [1, 0, 2, 1, 0], [0, 1, 0, 1, 0], [1, 2, 1, 0, 0]]
DIGIT_SEVEN = [
    [0, 0, 0, 0, 0, 0, 0],
    [0, 8, 8, 8, 8, 8, 0],
    [0, 0, 0, 0, 0, 8, 0],
    [0, 0, 0, 0, 8, 0, 0],
    [0, 0, 0, 8, 0, 0, 0],
    [0, 0, 0, 8, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
]
INPUT_PRESETS = ("lecture image", "zeros", "random integers", "digit 7", "square")


def parse_number(text: str, where: str = "cell") -> float:
    """A typed cell value: '2', '-0.5', '1e-3', '3/4'. NaN, inf and other text are refused."""
    cleaned = text.strip().replace("−", "-").replace(",", ".")
    try:
        if "/" in cleaned:
            top, bottom = cleaned.split("/", 1)
            value = float(top) / float(bottom)
        else:
            value = float(cleaned)
    except (ValueError, ZeroDivisionError):
        raise CnnError(f"{where}: {shown(text.strip())} is not a number (type e.g. 2, -0.5, 1e-3 or 3/4)") from None
    if not math.isfinite(value):
        raise CnnError(f"{where}: {text.strip()} is not allowed (use a finite number)")
    return value


def targets(sample: Sample) -> list[str]:
    """Every editable matrix of the sample, in screen order."""
    names = ["input"]
    for stage in sample.stages:
        if stage.op == "conv":
            names.append(f"{stage.name}.kernel")
            if stage.params.get("bias") is not None:
                names.append(f"{stage.name}.bias")
        elif stage.op == "batchnorm":
            names += [f"{stage.name}.{key}" for key in CHANNEL_DEFAULTS]
    return names


def _stage(sample: Sample, name: str) -> Stage:
    for stage in sample.stages:
        if stage.name == name:
            return stage
    names = [s.name for s in sample.stages]
    raise CnnError(f"no stage {name!r}{suggest(name, names)}; stages: {', '.join(names)}")


def get_matrix(sample: Sample, target: str) -> np.ndarray:
    """The array a target names (a view into the sample)."""
    if target == "input":
        return sample.input
    stage_name, _, key = target.partition(".")
    params = _stage(sample, stage_name).params
    key = "weight" if key == "kernel" else key
    if params.get(key) is None:
        raise CnnError(f"{target} is not a matrix of this sample; editable: {', '.join(targets(sample))}")
    return params[key]


def _with_matrix(sample: Sample, target: str, array: np.ndarray) -> Sample:
    """A copy of the sample with target replaced, the stages conformed, and validated."""
    new = copy.deepcopy(sample)
    if target == "input":
        new.input = array
        new.input_rank = max(new.input_rank, 4 if array.shape[0] > 1 else 3 if array.shape[1] > 1 else 2)
    else:
        stage_name, _, key = target.partition(".")
        _stage(new, stage_name).params["weight" if key == "kernel" else key] = array
    return conform(new)


def _resized(array: np.ndarray, axis: int, length: int, fill: float) -> np.ndarray:
    """array cut or padded with fill at the end of axis to length."""
    if length <= array.shape[axis]:
        return np.take(array, range(length), axis=axis)
    shape = list(array.shape)
    shape[axis] = length - array.shape[axis]
    return np.concatenate([array, np.full(shape, fill)], axis=axis)


def conform(sample: Sample) -> Sample:
    """Make every stage fit the channels it receives (kernel channels, bias, batch-norm vectors),
    padding new entries with neutral values, then validate; mutates and returns the sample."""
    channels = sample.input.shape[1]
    for stage in sample.stages:
        p = stage.params
        if stage.op == "conv":
            p["weight"] = _resized(p["weight"], 1, channels, 0.0)
            if p.get("bias") is not None:
                p["bias"] = _resized(p["bias"], 0, p["weight"].shape[0], 0.0)
            channels = p["weight"].shape[0]
        elif stage.op == "batchnorm":
            for key, default in CHANNEL_DEFAULTS.items():
                p[key] = _resized(p[key], 0, channels, default)
    validate(sample, "")
    return sample


def set_cell(sample: Sample, target: str, index: tuple[int, ...], text: str) -> Sample:
    """Set one cell of a matrix from typed text; 'running_var' cells must not be negative."""
    value = parse_number(text, f"{target}{list(index)}")
    if target.endswith("running_var") and value < 0:
        raise CnnError(f"{target}: a variance cannot be negative, got {value}")
    array = get_matrix(sample, target).copy()
    array[index] = value
    return _with_matrix(sample, target, array)


def resize(sample: Sample, target: str, axis: str, delta: int) -> Sample:
    """Add (delta > 0) or remove (delta < 0) rows, cols, channels, filters or batch items at the end.

    axis: 'rows', 'cols' (input, kernel), 'channels' (input; kernel channels follow the input),
    'filters' (kernel), 'batch' (input).
    """
    if axis not in AXES:
        raise CnnError(f"unknown axis {axis!r}{suggest(axis, AXES)}; valid: {', '.join(AXES)}")
    allowed = INPUT_AXES if target == "input" else KERNEL_AXES if target.endswith(".kernel") else ()
    if axis not in allowed:
        if not allowed:
            raise CnnError(f"{target} follows the channels of its stage; resize the input or the kernel")
        raise CnnError(f"{target}: cannot change {axis} here; valid: {', '.join(allowed)}")
    array = get_matrix(sample, target)
    number = AXES[axis]
    length = array.shape[number] + delta
    limit = MAX_SIDE if axis in ("rows", "cols") else MAX_DEPTH
    singular = {"batch": "batch item"}.get(axis, axis.rstrip("s"))
    if length < 1:
        raise CnnError(f"{target}: cannot remove the last {singular}")
    if length > limit:
        raise CnnError(f"{target}: at most {limit} {axis}")
    return _with_matrix(sample, target, _resized(array, number, length, 0.0))


def set_param(sample: Sample, stage_name: str, key: str, value: object) -> Sample:
    """Change one parameter of a stage (stride, padding, dilation as int or [h, w], mode, size,
    eps, momentum, training, bias on/off with value None or a number); validated like a file."""
    return set_params(sample, stage_name, {key: value})


def set_params(sample: Sample, stage_name: str, values: dict[str, object]) -> Sample:
    """Change several parameters of a stage at once (as set_param), validated together: a panel
    that lowers the padding and the stride in one go never fails on the state in between."""
    new = copy.deepcopy(sample)
    stage = _stage(new, stage_name)
    # Through the file format's own validation: arrays as the nested lists a file holds.
    table = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in stage_table(stage).items()}
    for key, value in values.items():
        if key == "bias" and stage.op == "conv" and value is None:
            table.pop("bias", None)
        else:
            table[key] = value
    channels = _channels_into(new, stage)
    stage.params = stage_params(stage.op, table, channels, f"{stage_name}")
    return conform(new)


#: Parameters that `step_param` moves by whole steps, per operation.
STEPPED = {"conv": ("stride", "padding", "dilation"), "pool": ("size", "stride", "padding")}
#: Batch-norm numbers that `nudge` changes: ε is multiplied, momentum is added to.
NUDGED = {"eps": "times", "momentum": "plus"}


def step_param(sample: Sample, stage_name: str, key: str, delta: int) -> Sample:
    """stride, padding, dilation (conv) or size, stride, padding (pool) + delta in height and width."""
    stage = _stage(sample, stage_name)
    keys = STEPPED.get(stage.op, ())
    if key not in keys:
        go = "go to a conv or pool stage" if not keys else f"valid here: {', '.join(keys)}"
        raise CnnError(f"{key}: the {stage_name} stage ({stage.op}) has no {key} ({go})")
    return set_param(sample, stage_name, key, [int(v) + delta for v in stage.params[key]])


def nudge(sample: Sample, stage_name: str, key: str, amount: float) -> Sample:
    """Batch norm's ε times amount, or its momentum plus amount (rounded: 0.1 + 0.2 is 0.3)."""
    stage = _stage(sample, stage_name)
    if stage.op != "batchnorm" or key not in NUDGED:
        raise CnnError(f"{key}: the {stage_name} stage is not batch norm (go to a batch-norm stage)")
    old = float(stage.params[key])
    return set_param(sample, stage_name, key, old * amount if NUDGED[key] == "times" else round(old + amount, 10))


def toggle_mode(sample: Sample, stage_name: str) -> Sample:
    """Pool: max ↔ average; batch norm: training ↔ eval."""
    stage = _stage(sample, stage_name)
    if stage.op == "pool":
        return set_param(sample, stage_name, "mode", "avg" if stage.params["mode"] == "max" else "max")
    if stage.op == "batchnorm":
        return set_param(sample, stage_name, "training", not stage.params["training"])
    raise CnnError(f"mode: the {stage_name} stage has no mode (pool: max/avg, batch norm: training/eval)")


def toggle_bias(sample: Sample, stage_name: str) -> Sample:
    """A conv stage's bias on (0 per filter) or off."""
    stage = _stage(sample, stage_name)
    if stage.op != "conv":
        raise CnnError(f"bias: the {stage_name} stage is not a convolution")
    return set_param(sample, stage_name, "bias", 0.0 if stage.params.get("bias") is None else None)


def describe(sample: Sample, stage_name: str, key: str) -> str:
    """One parameter as a notification says it after an edit: 'conv: stride 2', 'bn: eval'."""
    value = _stage(sample, stage_name).params.get(key)
    if key == "training":
        shown = "training" if value else "eval"
    elif key == "bias":
        shown = "bias off" if value is None else "bias on (0 per filter; edit it in the bias grid)"
    elif isinstance(value, tuple):
        shown = f"{key} {value[0] if value[0] == value[1] else list(value)}"
    elif isinstance(value, float):
        shown = f"{key} {value:.6g}"
    else:
        shown = f"{key} {value}"
    return f"{stage_name}: {shown}"


#: The longest title a sample may have (it is one line of the screen).
MAX_TITLE = 200


def set_text(sample: Sample, title: str, description: str) -> Sample:
    """A new title (one line, not empty) and description (any text) for the sample."""
    title = " ".join(title.split())
    if not title:
        raise CnnError("title: a sample needs a title (one line that says what it shows)")
    if len(title) > MAX_TITLE:
        raise CnnError(f"title: at most {MAX_TITLE} characters, got {len(title)}")
    new = copy.deepcopy(sample)
    new.title, new.description = title, description.strip()
    return new


def _channels_into(sample: Sample, stage: Stage) -> int:
    channels = sample.input.shape[1]
    for earlier in sample.stages:
        if earlier is stage:
            return channels
        if earlier.op == "conv":
            channels = earlier.params["weight"].shape[0]
    return channels


def _write_slice(sample: Sample, target: str, picture: np.ndarray, at: tuple[int, int]) -> Sample:
    """Write a 2-D picture into slice `at` of a 4-D target, resizing its rows and cols to fit."""
    array = get_matrix(sample, target)
    array = _resized(_resized(array, 2, picture.shape[0], 0.0), 3, picture.shape[1], 0.0).copy()
    array[at] = picture
    return _with_matrix(sample, target, array)


def apply_kernel_preset(sample: Sample, stage_name: str, preset: str, at: tuple[int, int] = (0, 0)) -> Sample:
    """Write a 3x3 preset into filter/channel slice `at` of the stage's kernel."""
    if preset not in KERNEL_PRESETS:
        raise CnnError(
            f"unknown kernel preset {preset!r}{suggest(preset, KERNEL_PRESETS)}; valid: {', '.join(KERNEL_PRESETS)}"
        )
    return _write_slice(sample, f"{stage_name}.kernel", np.array(KERNEL_PRESETS[preset], dtype=float), at)


def apply_input_preset(sample: Sample, preset: str, at: tuple[int, int] = (0, 0), seed: int = 0) -> Sample:
    """Write an input preset into image/channel slice `at` (zeros and random keep the current size)."""
    height, width = sample.input.shape[2:]
    if preset == "lecture image":
        picture = np.array(LECTURE_IMAGE, dtype=float)
    elif preset == "zeros":
        picture = np.zeros((height, width))
    elif preset == "random integers":
        picture = np.random.default_rng(seed).integers(0, 10, size=(height, width)).astype(float)
    elif preset == "digit 7":
        picture = np.array(DIGIT_SEVEN, dtype=float)
    elif preset == "square":
        picture = np.zeros((8, 8))
        picture[2:6, 2:6] = 9
    else:
        raise CnnError(
            f"unknown input preset {preset!r}{suggest(preset, INPUT_PRESETS)}; valid: {', '.join(INPUT_PRESETS)}"
        )
    return _write_slice(sample, "input", picture, at)


def load_matrix(sample: Sample, target: str, path: str | Path, at: tuple[int, int] = (0, 0)) -> Sample:
    """Load a .csv/.txt/.npy file into the input or a kernel: a 2-D file fills slice `at`,
    a file of the target's full rank replaces it."""
    if target != "input" and not target.endswith(".kernel"):
        raise CnnError(f"a matrix file can be loaded into the input or a kernel, not {target}")
    array = read_matrix_file(Path(path), target)
    if array.ndim == 2:
        return _write_slice(sample, target, array, at)
    full = array.reshape((1,) * (4 - array.ndim) + array.shape)
    return _with_matrix(sample, target, full)


@dataclass
class History:
    """Samples in edit order for undo/redo; `dirty` means unsaved edits since the last save."""

    samples: list[Sample] = field(default_factory=list)
    position: int = 0
    saved_position: int = 0

    @classmethod
    def start(cls, sample: Sample) -> History:
        return cls([sample])

    @property
    def current(self) -> Sample:
        return self.samples[self.position]

    @property
    def dirty(self) -> bool:
        return self.position != self.saved_position

    def push(self, sample: Sample) -> Sample:
        """Record a new state; anything that was undone is dropped."""
        if self.saved_position > self.position:
            self.saved_position = -1  # the saved state is in the redo branch being dropped
        del self.samples[self.position + 1 :]
        self.samples.append(sample)
        self.position += 1
        return sample

    def undo(self) -> Sample | None:
        if self.position == 0:
            return None
        self.position -= 1
        return self.current

    def redo(self) -> Sample | None:
        if self.position + 1 >= len(self.samples):
            return None
        self.position += 1
        return self.current

    def mark_saved(self) -> None:
        self.saved_position = self.position
