"""The teaching path: every operation one step at a time, in float64.

A tracer returns a StageTrace: the stage's input, parameters, output and an
immutable Step record for every elementary computation, in the order a
lecturer would show them. A Trace chains stages (conv → batchnorm → relu →
pool): each stage's output is the next one's input, and its steps are one flat
sequence with O(1) random access.

The steps compute their own numbers with plain loops; they are tested against
engine.ops, the NCHW face of engine.network.layers, which the network trains
with. Parameters are checked by engine.rules, the same rules a sample file and a
network layer obey.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine import rules
from engine.errors import CnnError
from engine.numbers import fmt, term
from engine.shapes import Pair, check_steps, output_hw, output_size_formula, pair, pool_size_formula


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Step:
    """What every step has: where it belongs, what it produced, and the line that explains it."""

    stage: int
    """Index of the stage in the pipeline."""
    index: int
    """Index of the step within its stage."""
    out_index: tuple[int, ...]
    """Position written in the stage's output: (n, c, i, j); (c,) for per-channel steps."""
    value: float
    text: str


@dataclass(frozen=True)
class WindowStep(Step):
    """A convolution or pooling step: one output element from one window."""

    rows: tuple[int, ...] = ()
    """Input row of each kernel row, in unpadded coordinates (< 0 or ≥ H is padding)."""
    cols: tuple[int, ...] = ()
    """Input column of each kernel column, in unpadded coordinates."""
    values: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """Input values under the window, (C, kh, kw); padding cells hold 0 (or −∞ for max)."""

    @property
    def window(self) -> list[tuple[int, int]]:
        """(row, col) of every tap, row-major, in unpadded input coordinates."""
        return [(r, c) for r in self.rows for c in self.cols]


@dataclass(frozen=True)
class ConvStep(WindowStep):
    """Σ over channels and taps of input·kernel, plus bias."""

    kernel: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """The filter's weights, (C, kh, kw)."""
    products: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """values · kernel element-wise, (C, kh, kw)."""
    total: float = 0.0
    """Sum of the products, before the bias."""
    bias: float = 0.0


@dataclass(frozen=True)
class PoolStep(WindowStep):
    """max or average of one window (values has one channel: (1, kh, kw))."""

    mode: str = "max"
    argmax: tuple[int, int] | None = None
    """(row, col) of the maximum within the window, for max pooling."""
    total: float = 0.0
    """Sum of the window, for average pooling."""
    divisor: int = 1


@dataclass(frozen=True)
class BatchNormStep(Step):
    """One step of batch norm for one channel, in phases: mean, var, normalize, running."""

    phase: str = "mean"
    channel: int = 0
    x: float = 0.0
    """The element this step reads (mean, var, normalize phases)."""
    done: int = 0
    """Elements of the channel accumulated so far, this one included."""
    count: int = 0
    """Elements per channel in the mini-batch: N·H·W."""
    mean: float | None = None
    """μ, once known (from the batch in training, the running mean in eval)."""
    var: float | None = None
    """σ², once known."""


@dataclass(frozen=True)
class ReluStep(Step):
    x: float = 0.0


@dataclass(frozen=True)
class StageTrace:
    """One operation traced: input (N, C, H, W) -> output (N, C', H', W') and its steps."""

    op: str
    """'conv', 'pool', 'batchnorm' or 'relu'."""
    name: str
    input: np.ndarray
    output: np.ndarray
    steps: tuple[Step, ...]
    params: dict
    """The parameters used, normalised (pairs, arrays); batchnorm adds the updated running stats."""
    formulas: tuple[str, ...] = ()
    """Output-size formulas for height and width, numbers filled in (conv and pool)."""

    def __len__(self) -> int:
        return len(self.steps)


class Trace(Sequence[Step]):
    """The stages of a pipeline and all their steps as one sequence."""

    def __init__(self, stages: Sequence[StageTrace]) -> None:
        if not stages:
            raise CnnError("a trace needs at least one stage")
        self.stages: tuple[StageTrace, ...] = tuple(stages)
        self._steps: tuple[Step, ...] = tuple(itertools.chain.from_iterable(s.steps for s in self.stages))
        starts = list(itertools.accumulate((len(s) for s in self.stages), initial=0))
        self.stage_starts: tuple[int, ...] = tuple(starts[:-1])
        """Global index of each stage's first step."""

    def __len__(self) -> int:
        return len(self._steps)

    def __getitem__(self, index):  # type: ignore[override]
        return self._steps[index]

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    @property
    def output(self) -> np.ndarray:
        """The final output, (N, C, H, W)."""
        return self.stages[-1].output


def _geometry(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, what: str):
    h_out, w_out = output_hw(x.shape[2:], kernel, stride, padding, dilation, what)
    formulas = tuple(
        output_size_formula(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
    )
    return h_out, w_out, formulas


def _taps(i: int, j: int, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
    rows = tuple(i * stride[0] - padding[0] + a * dilation[0] for a in range(kernel[0]))
    cols = tuple(j * stride[1] - padding[1] + b * dilation[1] for b in range(kernel[1]))
    return rows, cols


def _gather(image: np.ndarray, rows: tuple[int, ...], cols: tuple[int, ...], pad_value: float) -> np.ndarray:
    """image (C, H, W) -> (C, len(rows), len(cols)), pad_value outside the image."""
    c, h, w = image.shape
    out = np.full((c, len(rows), len(cols)), pad_value, dtype=np.float64)
    for a, r in enumerate(rows):
        if 0 <= r < h:
            for b, col in enumerate(cols):
                if 0 <= col < w:
                    out[:, a, b] = image[:, r, col]
    return out


def _as_input(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise CnnError(f"a stage's input must be (N, C, H, W), got shape {x.shape}")
    return x


def conv_text(
    values: np.ndarray, kernel: np.ndarray, bias: float | None, value: float, term_of: Callable[[float], str] = term
) -> str:
    """The line of one convolution step; values and kernel (C, kh, kw).

    One channel: `1·1 + 2·0 + … = 6`. Several channels: one part per channel with its subtotal,
    then the total of the subtotals with the bias, `ch 0: … = 6   ch 1: … = 3   Σ = 6 + 3 + bias 1 = 10`
    (parts separated by three spaces, so that a view can shorten the middle ones and keep the result).
    term_of formats one number (a cached `term` when a trace formats the same numbers many times).
    """
    bias_text = "" if bias is None else f" + bias {term(bias)}"

    def products(c: int) -> str:
        return " + ".join(f"{term_of(v)}·{term_of(k)}" for v, k in zip(values[c].flat, kernel[c].flat))

    if values.shape[0] == 1:
        return f"{products(0)}{bias_text} = {fmt(value)}"
    subtotals = [float(np.sum(values[c] * kernel[c])) for c in range(values.shape[0])]
    parts = [f"ch {c}: {products(c)} = {fmt(sub)}" for c, sub in enumerate(subtotals)]
    parts.append(f"Σ = {' + '.join(term(sub) for sub in subtotals)}{bias_text} = {fmt(value)}")
    return "   ".join(parts)


def trace_conv(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    stride=1,
    padding=0,
    dilation=1,
    stage: int = 0,
    name: str = "conv",
) -> StageTrace:
    """Convolution one output element at a time. x (N, C, H, W), kernel (O, C, kh, kw), bias (O,)."""
    x = _as_input(x)
    weight = np.asarray(kernel, dtype=np.float64)
    if weight.ndim != 4:
        raise CnnError(f"a kernel is (filters, channels, kh, kw), got shape {weight.shape}")
    rules.kernel_channels(weight.shape[1], x.shape[1])
    bias_values = rules.per_channel(bias, weight.shape[0], "bias", unit="filter")
    size = weight.shape[2:]
    s, p, d = pair(stride, "stride"), pair(padding, "padding", 0), pair(dilation, "dilation")
    h_out, w_out, formulas = _geometry(x, size, s, p, d, "kernel")
    n_batch, n_filters = x.shape[0], weight.shape[0]
    check_steps(n_batch * n_filters * h_out * w_out, "this convolution")
    output = np.zeros((n_batch, n_filters, h_out, w_out))
    steps = []
    # every input value sits in many windows and every weight in every window of its filter:
    # format each number once (formatting was nine tenths of the time of a large trace)
    term_of = functools.lru_cache(maxsize=None)(term)
    for n, o, i, j in itertools.product(range(n_batch), range(n_filters), range(h_out), range(w_out)):
        rows, cols = _taps(i, j, size, s, p, d)
        values = _gather(x[n], rows, cols, 0.0)
        products = values * weight[o]
        total = 0.0
        for product in products.flat:
            total += product
        value = total + bias_values[o]
        output[n, o, i, j] = value
        line = conv_text(values, weight[o], None if bias is None else float(bias_values[o]), value, term_of)
        steps.append(
            ConvStep(
                stage=stage,
                index=len(steps),
                out_index=(n, o, i, j),
                value=value,
                text=line,
                rows=rows,
                cols=cols,
                values=_frozen(values),
                kernel=_frozen(weight[o]),
                products=_frozen(products),
                total=total,
                bias=float(bias_values[o]),
            )
        )
    params = {"kernel": weight, "bias": None if bias is None else bias_values, "stride": s, "padding": p, "dilation": d}
    return StageTrace("conv", name, x, output, tuple(steps), params, formulas)


def trace_pool(
    x: np.ndarray,
    mode: str = "max",
    size=2,
    stride=None,
    padding=0,
    stage: int = 0,
    name: str = "pool",
) -> StageTrace:
    """Max or average pooling (count_include_pad) one output element at a time. x (N, C, H, W)."""
    x = _as_input(x)
    mode = rules.pool_mode(mode)
    k = pair(size, "pool size")
    s = rules.pool_stride(stride, k)
    p = pair(padding, "pool padding", 0)
    rules.pool_padding(k, p)
    h_out, w_out, _ = _geometry(x, k, s, p, (1, 1), "pool size")
    formulas = tuple(pool_size_formula(n, kk, ss, pp) for n, kk, ss, pp in zip(x.shape[2:], k, s, p))
    n_batch, channels = x.shape[:2]
    check_steps(n_batch * channels * h_out * w_out, "this pooling")
    pad_value = -math.inf if mode == "max" else 0.0
    output = np.zeros((n_batch, channels, h_out, w_out))
    steps = []
    for n, c, i, j in itertools.product(range(n_batch), range(channels), range(h_out), range(w_out)):
        rows, cols = _taps(i, j, k, s, p, (1, 1))
        values = _gather(x[n, c : c + 1], rows, cols, pad_value)
        listed = ", ".join(fmt(v) for v in values.flat)
        if mode == "max":
            best = int(np.argmax(values[0]))
            value = float(values.flat[best])
            argmax = (best // k[1], best % k[1])
            step = PoolStep(
                stage=stage,
                index=len(steps),
                out_index=(n, c, i, j),
                value=value,
                text=f"max({listed}) = {fmt(value)}",
                rows=rows,
                cols=cols,
                values=_frozen(values),
                mode=mode,
                argmax=argmax,
            )
        else:
            total = 0.0
            for v in values.flat:
                total += v
            divisor = k[0] * k[1]
            value = total / divisor
            step = PoolStep(
                stage=stage,
                index=len(steps),
                out_index=(n, c, i, j),
                value=value,
                text=f"({' + '.join(term(v) for v in values.flat)})/{divisor} = {fmt(value)}",
                rows=rows,
                cols=cols,
                values=_frozen(values),
                mode=mode,
                total=total,
                divisor=divisor,
            )
        output[n, c, i, j] = value
        steps.append(step)
    params = {"mode": mode, "size": k, "stride": s, "padding": p}
    return StageTrace("pool", name, x, output, tuple(steps), params, formulas)


def batchnorm_steps(channels: int, count: int, training: bool = True) -> int:
    """How many steps trace_batchnorm takes for `channels` channels of `count` = N·H·W values each:
    in training a mean, a variance and a normalise step per value and 2 running-statistics steps
    per channel; in eval one normalise step per value."""
    return channels * (count * 3 + 2 if training else count)


def trace_batchnorm(
    x: np.ndarray,
    gamma=None,
    beta=None,
    eps: float = 1e-5,
    momentum: float = 0.1,
    training: bool = True,
    running_mean=None,
    running_var=None,
    stage: int = 0,
    name: str = "batchnorm",
) -> StageTrace:
    """Batch normalisation per channel over (N, H, W), in phases.

    Training: mean, then (biased) variance, then y = γ·(x − μ)/√(σ² + ε) + β for
    every element, then the running-stat update with the unbiased variance.
    Eval: normalise with the running statistics only. x (N, C, H, W).
    """
    x = _as_input(x)
    n_batch, channels, height, width = x.shape
    count = n_batch * height * width
    eps, momentum = rules.eps(eps), rules.momentum(momentum)
    if training:
        rules.batch_statistics(count)
    gamma = rules.per_channel(gamma, channels, "gamma", 1.0)
    beta = rules.per_channel(beta, channels, "beta", 0.0)
    running_mean = rules.per_channel(running_mean, channels, "running_mean", 0.0)
    running_var = rules.per_channel(running_var, channels, "running_var", 1.0)
    rules.running_var(running_var)
    check_steps(batchnorm_steps(channels, count, training), "this batch norm")
    new_mean, new_var = running_mean.copy(), running_var.copy()
    output = np.zeros_like(x)
    steps: list[Step] = []
    positions = list(itertools.product(range(n_batch), range(height), range(width)))

    def add(**kwargs) -> None:
        steps.append(BatchNormStep(stage=stage, index=len(steps), count=count, **kwargs))

    for c in range(channels):
        if training:
            total = 0.0
            for done, (n, i, j) in enumerate(positions, 1):
                value = x[n, c, i, j]
                before, total = total, total + value
                text = f"Σx = {fmt(before)} + {term(value)} = {fmt(total)}   ({done} of {count})"
                mean = total / count if done == count else None
                if mean is not None:
                    text += f"   μ = {fmt(total)}/{count} = {fmt(mean)}"
                add(
                    out_index=(n, c, i, j),
                    value=total,
                    text=text,
                    phase="mean",
                    channel=c,
                    x=value,
                    done=done,
                    mean=mean,
                )
            mean = total / count
            squares = 0.0
            for done, (n, i, j) in enumerate(positions, 1):
                value = x[n, c, i, j]
                before, squares = squares, squares + (value - mean) ** 2
                text = (
                    f"Σ(x − μ)² = {fmt(before)} + ({fmt(value)} − {term(mean)})² = {fmt(squares)}   ({done} of {count})"
                )
                var = squares / count if done == count else None
                if var is not None:
                    text += f"   σ² = {fmt(squares)}/{count} = {fmt(var)}"
                add(
                    out_index=(n, c, i, j),
                    value=squares,
                    text=text,
                    phase="var",
                    channel=c,
                    x=value,
                    done=done,
                    mean=mean,
                    var=var,
                )
            var = squares / count
        else:
            mean, var = running_mean[c], running_var[c]
        root = math.sqrt(var + eps)
        for done, (n, i, j) in enumerate(positions, 1):
            value = x[n, c, i, j]
            y = gamma[c] * (value - mean) / root + beta[c]
            output[n, c, i, j] = y
            text = (
                f"y = {term(gamma[c])}·({fmt(value)} − {term(mean)})/√({fmt(var)} + {fmt(eps)})"
                f" + {term(beta[c])} = {fmt(y)}"
            )
            add(
                out_index=(n, c, i, j),
                value=y,
                text=text,
                phase="normalize",
                channel=c,
                x=value,
                done=done,
                mean=mean,
                var=var,
            )
        if training:
            unbiased = var * count / (count - 1)
            new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
            new_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased
            keep = fmt(1 - momentum)
            add(
                out_index=(c,),
                value=new_mean[c],
                phase="running",
                channel=c,
                done=count,
                mean=mean,
                var=var,
                text=f"running_mean = {keep}·{term(running_mean[c])} + {fmt(momentum)}·{term(mean)}"
                f" = {fmt(new_mean[c])}",
            )
            add(
                out_index=(c,),
                value=new_var[c],
                phase="running",
                channel=c,
                done=count,
                mean=mean,
                var=var,
                text=f"running_var = {keep}·{term(running_var[c])} + {fmt(momentum)}·{fmt(unbiased)}"
                f" = {fmt(new_var[c])}   (unbiased σ² = {fmt(var)}·{count}/{count - 1})",
            )
    params = {
        "gamma": gamma,
        "beta": beta,
        "eps": eps,
        "momentum": momentum,
        "training": training,
        "running_mean": running_mean,
        "running_var": running_var,
        "new_running_mean": new_mean,
        "new_running_var": new_var,
    }
    return StageTrace("batchnorm", name, x, output, tuple(steps), params)


def trace_relu(x: np.ndarray, stage: int = 0, name: str = "relu") -> StageTrace:
    """max(0, x) one element at a time. x (N, C, H, W)."""
    x = _as_input(x)
    check_steps(x.size, "this ReLU")
    output = np.zeros_like(x)
    steps = []
    for index in itertools.product(*(range(n) for n in x.shape)):
        value = x[index]
        y = value if value > 0 else 0.0
        output[index] = y
        steps.append(
            ReluStep(
                stage=stage,
                index=len(steps),
                out_index=index,
                value=y,
                text=f"max(0, {fmt(value)}) = {fmt(y)}",
                x=value,
            )
        )
    return StageTrace("relu", name, x, output, tuple(steps), {})


TRACERS = {"conv": trace_conv, "pool": trace_pool, "batchnorm": trace_batchnorm, "relu": trace_relu}
#: Older names of a tracer's keywords: a convolution's matrix was `weight` in a stage's parameters.
PARAM_ALIASES = {"weight": "kernel"}


def trace_stages(x: np.ndarray, stages: Sequence[tuple[str, str, dict]]) -> Trace:
    """Run (op, name, params) stages in order on x (N, C, H, W), each on the previous output."""
    traced = []
    for number, (op, name, params) in enumerate(stages):
        keywords = {PARAM_ALIASES.get(key, key): value for key, value in params.items()}
        stage = TRACERS[op](x, **keywords, stage=number, name=name)
        traced.append(stage)
        x = stage.output
    return Trace(traced)
