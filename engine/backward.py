"""The teaching path backwards: loss.backward() and optimizer.step(), one number a step, in float64.

Every tracer here reads a forward StageTrace (engine.trace) and the upstream
gradient dY of its output, and returns one StageTrace per gradient it makes:
its `input` is dY (N, C', H', W'), its `output` the gradient, each Step one
element of that gradient with its computation line. `trace_backward` chains
them after a pipeline's forward stages: an optional cross-entropy loss, then
every stage from the last to the first, then an optional SGD step per
parameter. Stage names are PyTorch's gradient names: `conv.weight`,
`conv.bias`, `batchnorm.weight` (γ), `batchnorm.bias` (β), `input` for the
sample's input and `NAME.input` for the input of a later stage.

PyTorch's semantics throughout: max pooling routes a window's gradient to its
first maximum (row-major, as the forward argmax), average pooling counts the
padding in the divisor, ReLU passes no gradient at exactly 0, batch norm in
training differentiates through the batch statistics (biased variance).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.errors import CnnError
from engine.numbers import fmt, term
from engine.shapes import check_steps
from engine.trace import PoolStep, StageTrace, Step, Trace, _frozen

#: The ops of backward stages, each making one gradient (or, for sgd, one updated parameter).
BACKWARD_OPS = (
    "cross_entropy",
    "conv_dweight",
    "conv_dbias",
    "conv_dinput",
    "pool_dinput",
    "relu_dinput",
    "batchnorm_dweight",
    "batchnorm_dbias",
    "batchnorm_dinput",
    "sgd",
)
LOSSES = ("cross_entropy",)


def is_backward(stage: StageTrace) -> bool:
    return stage.op in BACKWARD_OPS


@dataclass(frozen=True)
class BackwardSpec:
    """What a sample asks of the backward pass (the sample keys backward, grad_output, loss, labels, lr, ...)."""

    grad_output: np.ndarray | None = None
    """dY of the last stage's output, (N, C, H, W); None: all ones (the loss is the sum of the outputs)."""
    loss: str | None = None
    """'cross_entropy': the last stage's output are the logits (one row of C·H·W per image)."""
    labels: tuple[int, ...] = ()
    """The class index of each image, for the loss."""
    lr: float | None = None
    """With a learning rate, one SGD step updates every parameter."""
    momentum: float = 0.0
    weight_decay: float = 0.0
    input_gradient: bool = True
    """False: leave out the first stage's dX (the network view's weight-gradient bridge needs none)."""


# ---------------------------------------------------------------- step records


@dataclass(frozen=True)
class WeightGradStep(Step):
    """dW[o, c, a, b] = Σ over images and output positions of x (under tap (a, b)) · dY[n, o]."""

    rows: tuple[int, ...] = ()
    """Input row read by tap a at each output row (unpadded coordinates; < 0 or ≥ H is padding)."""
    cols: tuple[int, ...] = ()
    values: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """Input values at (rows × cols) for every image, (N, H_out, W_out); 0 in the padding."""
    upstream: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """dY[n, o] for every image, (N, H_out, W_out)."""


@dataclass(frozen=True)
class InputGradStep(Step):
    """dX[n, c, h, w] of a convolution: the window of the padded dY under the flipped kernel, over filters."""

    rows: tuple[int, ...] = ()
    """Rows of the padded dY under the window (padded coordinates)."""
    cols: tuple[int, ...] = ()
    values: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """Padded dY under the window, (O, kh, kw)."""
    kernel: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))
    """The flipped kernel of channel c for every filter, (O, kh, kw)."""
    products: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 0, 0))))


@dataclass(frozen=True)
class SumStep(Step):
    """A per-channel sum: dbias = Σ dY, dβ = Σ dY, dγ = Σ dY·x̂ (terms are the summands)."""

    channel: int = 0
    terms: np.ndarray = field(default_factory=lambda: _frozen(np.zeros(0)))
    """The summands in (n, h, w) order."""


@dataclass(frozen=True)
class PoolGradStep(Step):
    """dX[n, c, h, w] of a pooling: the dY of every window that sends gradient to this cell."""

    windows: tuple[tuple[int, int], ...] = ()
    """Output positions (i, j) whose window covers the cell."""
    routed: tuple[tuple[int, int], ...] = ()
    """Of those, the windows whose gradient reaches the cell (max: the cell is their maximum; avg: all)."""
    divisor: int = 1
    """Window size for average pooling; 1 for max."""


@dataclass(frozen=True)
class ReluGradStep(Step):
    x: float = 0.0
    upstream: float = 0.0


@dataclass(frozen=True)
class BatchNormGradStep(Step):
    """dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)) in training; γ/σ·dy in eval."""

    channel: int = 0
    upstream: float = 0.0
    x_hat: float = 0.0
    scale: float = 0.0
    """γ/σ."""
    mean_dy: float = 0.0
    mean_dy_xhat: float = 0.0
    training: bool = True


@dataclass(frozen=True)
class LossGradStep(Step):
    """dlogit[n, k] = (softmax(logits[n])[k] − [k = label])/N."""

    probability: float = 0.0
    target: float = 0.0
    batch: int = 1


@dataclass(frozen=True)
class SgdStep(Step):
    """w ← w − lr·v with v = g + weight_decay·w (momentum's buffer starts as v on the first step)."""

    old: float = 0.0
    grad: float = 0.0
    velocity: float = 0.0
    lr: float = 0.0


# ---------------------------------------------------------------- helpers


#: A sum with more terms than this prints its first and last few around `…`, so the result stays in view.
LONGEST_SUM = 48


def _joined(texts: list[str]) -> str:
    if len(texts) > LONGEST_SUM:
        texts = texts[:6] + [f"… ({len(texts) - 8} more) …"] + texts[-2:]
    return " + ".join(texts)


def _listed(values) -> str:
    return _joined([term(v) for v in values])


def _products(pairs) -> str:
    return _joined([f"{term(a)}·{term(b)}" for a, b in pairs])


def _grad_name(forward: StageTrace, first: bool) -> str:
    return "input" if first else f"{forward.name}.input"


def _check_upstream(forward: StageTrace, dy: np.ndarray) -> np.ndarray:
    dy = np.asarray(dy, dtype=np.float64)
    if dy.shape != forward.output.shape:
        raise CnnError(
            f"the gradient of {forward.name}'s output must have its shape {list(forward.output.shape)}, "
            f"got {list(dy.shape)}"
        )
    return dy


# ---------------------------------------------------------------- convolution


def trace_conv_backward(
    forward: StageTrace, dy: np.ndarray, stage: int, first: bool, need_dx: bool = True
) -> list[StageTrace]:
    """dW (O, C, kh, kw), dbias (O,) when the conv has a bias, dX (N, C, H, W) unless need_dx is False,
    from dY (N, O, H_out, W_out)."""
    dy = _check_upstream(forward, dy)
    x, p = forward.input, forward.params
    weight, bias = p["kernel"], p["bias"]
    (sh, sw), (ph, pw), (dh, dw) = p["stride"], p["padding"], p["dilation"]
    n_batch, channels, height, width = x.shape
    filters, _, kh, kw = weight.shape
    h_out, w_out = dy.shape[2:]
    check_steps(weight.size + filters + (x.size if need_dx else 0), "this convolution's backward")
    stages = []

    # dW: tap (a, b) reads the input at a strided grid of positions, one per output element.
    dweight = np.zeros_like(weight)
    steps: list[Step] = []
    for o, c, a, b in itertools.product(range(filters), range(channels), range(kh), range(kw)):
        rows = tuple(i * sh - ph + a * dh for i in range(h_out))
        cols = tuple(j * sw - pw + b * dw for j in range(w_out))
        values = np.zeros((n_batch, h_out, w_out))
        for (i, r), (j, col) in itertools.product(enumerate(rows), enumerate(cols)):
            if 0 <= r < height and 0 <= col < width:
                values[:, i, j] = x[:, c, r, col]
        total = 0.0
        for v, g in zip(values.flat, dy[:, o].flat):
            total += v * g
        dweight[o, c, a, b] = total
        steps.append(
            WeightGradStep(
                stage=stage,
                index=len(steps),
                out_index=(o, c, a, b),
                value=total,
                text=f"dw = {_products(zip(values.flat, dy[:, o].flat))} = {fmt(total)}",
                rows=rows,
                cols=cols,
                values=_frozen(values),
                upstream=_frozen(dy[:, o]),
            )
        )
    stages.append(StageTrace("conv_dweight", f"{forward.name}.weight", dy, dweight, tuple(steps), p | {"x": x}))
    stage += 1

    if bias is not None:
        dbias = np.zeros(filters)
        steps = []
        for o in range(filters):
            terms = dy[:, o].reshape(-1)
            total = 0.0
            for v in terms:
                total += v
            dbias[o] = total
            steps.append(
                SumStep(
                    stage=stage,
                    index=o,
                    out_index=(o,),
                    value=total,
                    text=f"dbias = Σ dY = {_listed(terms)} = {fmt(total)}",
                    channel=o,
                    terms=_frozen(terms),
                )
            )
        stages.append(StageTrace("conv_dbias", f"{forward.name}.bias", dy, dbias, tuple(steps), p))
        stage += 1
    if not need_dx:
        return stages

    # dX: the full correlation of dY (spread by the stride, padded by d·(k − 1) − padding) with the
    # flipped kernel; dY entries that land outside only ever read padding and never reach dX.
    reach_h, reach_w = dh * (kh - 1), dw * (kw - 1)
    padded = np.zeros((n_batch, filters, height + reach_h, width + reach_w))
    for i, j in itertools.product(range(h_out), range(w_out)):
        r, col = i * sh + reach_h - ph, j * sw + reach_w - pw
        if 0 <= r < padded.shape[2] and 0 <= col < padded.shape[3]:
            padded[:, :, r, col] = dy[:, :, i, j]
    flipped = weight[:, :, ::-1, ::-1]
    dinput = np.zeros_like(x)
    steps = []
    for n, c, h, w in itertools.product(range(n_batch), range(channels), range(height), range(width)):
        rows = tuple(h + a * dh for a in range(kh))
        cols = tuple(w + b * dw for b in range(kw))
        values = padded[n][:, rows][:, :, cols]
        kernel = flipped[:, c]
        products = values * kernel
        total = 0.0
        for product in products.flat:
            total += product
        dinput[n, c, h, w] = total
        steps.append(
            InputGradStep(
                stage=stage,
                index=len(steps),
                out_index=(n, c, h, w),
                value=total,
                text=f"dx = {_products(zip(values.flat, kernel.flat))} = {fmt(total)}",
                rows=rows,
                cols=cols,
                values=_frozen(values),
                kernel=_frozen(kernel),
                products=_frozen(products),
            )
        )
    params = p | {"x": x, "padded_upstream": padded, "flipped_kernel": flipped}
    stages.append(StageTrace("conv_dinput", _grad_name(forward, first), dy, dinput, tuple(steps), params))
    return stages


# ---------------------------------------------------------------- pooling and ReLU


def trace_pool_backward(forward: StageTrace, dy: np.ndarray, stage: int, first: bool) -> list[StageTrace]:
    """dX (N, C, H, W) from dY (N, C, H_out, W_out): each cell gathers the dY of the windows routed to it."""
    dy = _check_upstream(forward, dy)
    x, p = forward.input, forward.params
    mode = p["mode"]
    check_steps(x.size, "this pooling's backward")
    # Which windows cover, and which route to, each input cell: read off the forward steps.
    covers: dict[tuple[int, int, int, int], list[tuple[int, int]]] = {}
    routes: dict[tuple[int, int, int, int], list[tuple[int, int]]] = {}
    height, width = x.shape[2:]
    for step in forward.steps:
        assert isinstance(step, PoolStep)
        n, c, i, j = step.out_index
        for r, col in step.window:
            if 0 <= r < height and 0 <= col < width:
                covers.setdefault((n, c, r, col), []).append((i, j))
                if mode == "avg":
                    routes.setdefault((n, c, r, col), []).append((i, j))
        if mode == "max" and step.argmax is not None:
            a, b = step.argmax
            routes.setdefault((n, c, step.rows[a], step.cols[b]), []).append((i, j))
    divisor = p["size"][0] * p["size"][1] if mode == "avg" else 1
    dinput = np.zeros_like(x)
    steps: list[Step] = []
    for index in itertools.product(*(range(s) for s in x.shape)):
        n, c = index[:2]
        routed = routes.get(index, [])
        grads = [dy[n, c, i, j] for i, j in routed]
        total = 0.0
        for g in grads:
            total += g
        total /= divisor
        dinput[index] = total
        names = " + ".join(f"dY[{i}, {j}]" for i, j in routed)
        if not routed:
            text = f"dx = 0   ({'the maximum of no window' if mode == 'max' else 'in no window'})"
        elif mode == "max":
            values = f" = {_listed(grads)}" if len(grads) > 1 else ""
            text = f"dx = {names}{values} = {fmt(total)}   (the maximum of {len(routed)} window(s))"
        else:
            text = (
                f"dx = ({names})/{divisor} = ({_listed(grads)})/{divisor} = {fmt(total)}   (in {len(routed)} window(s))"
            )
        steps.append(
            PoolGradStep(
                stage=stage,
                index=len(steps),
                out_index=index,
                value=total,
                text=text,
                windows=tuple(covers.get(index, ())),
                routed=tuple(routed),
                divisor=divisor,
            )
        )
    receives = np.zeros(x.shape, dtype=bool)
    for index in routes:
        receives[index] = True
    params = p | {"x": x, "receives": receives}
    # x: the pooling's input; receives: the cells some window sends gradient to, (N, C, H, W).
    return [StageTrace("pool_dinput", _grad_name(forward, first), dy, dinput, tuple(steps), params)]


def trace_relu_backward(forward: StageTrace, dy: np.ndarray, stage: int, first: bool) -> list[StageTrace]:
    """dX = dY where the input was positive, 0 elsewhere (at exactly 0 too, as PyTorch). Any (N, C, H, W)."""
    dy = _check_upstream(forward, dy)
    x = forward.input
    check_steps(x.size, "this ReLU's backward")
    dinput = np.zeros_like(x)
    steps: list[Step] = []
    for index in itertools.product(*(range(s) for s in x.shape)):
        value, g = x[index], dy[index]
        passes = value > 0
        dinput[index] = g if passes else 0.0
        text = f"x = {fmt(value)} > 0: dx = dy = {fmt(g)}" if passes else f"x = {fmt(value)} ≤ 0: dx = 0"
        steps.append(
            ReluGradStep(
                stage=stage,
                index=len(steps),
                out_index=index,
                value=float(dinput[index]),
                text=text,
                x=float(value),
                upstream=float(g),
            )
        )
    return [StageTrace("relu_dinput", _grad_name(forward, first), dy, dinput, tuple(steps), {"x": x})]


# ---------------------------------------------------------------- batch norm


def trace_batchnorm_backward(forward: StageTrace, dy: np.ndarray, stage: int, first: bool) -> list[StageTrace]:
    """dγ (C,), dβ (C,), dX (N, C, H, W) from dY (N, C, H, W).

    Training: x̂ = (x − μ)/σ with the batch's μ and biased σ² (σ = √(σ² + ε)), dβ = Σ dy,
    dγ = Σ dy·x̂, dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)). Eval: the running statistics
    are constants, so dx = γ/σ · dy.
    """
    dy = _check_upstream(forward, dy)
    x, p = forward.input, forward.params
    training = p["training"]
    n_batch, channels, height, width = x.shape
    count = n_batch * height * width
    check_steps(2 * channels + x.size, "this batch norm's backward")
    if training:
        mean = x.mean(axis=(0, 2, 3))
        var = ((x - mean[None, :, None, None]) ** 2).mean(axis=(0, 2, 3))
    else:
        mean, var = p["running_mean"], p["running_var"]
    sigma = np.sqrt(var + p["eps"])
    x_hat = (x - mean[None, :, None, None]) / sigma[None, :, None, None]
    gamma = p["gamma"]

    def sums(op: str, name: str, what: str, factor: np.ndarray | None, number: int) -> tuple[StageTrace, np.ndarray]:
        result = np.zeros(channels)
        steps: list[Step] = []
        for c in range(channels):
            upstream = dy[:, c].reshape(-1)
            terms = upstream if factor is None else upstream * factor[:, c].reshape(-1)
            total = 0.0
            for v in terms:
                total += v
            result[c] = total
            if factor is None:
                line = _listed(upstream)
            else:
                line = _products(zip(upstream, factor[:, c].reshape(-1)))
            steps.append(
                SumStep(
                    stage=number,
                    index=c,
                    out_index=(c,),
                    value=total,
                    text=f"{what} = {line} = {fmt(total)}",
                    channel=c,
                    terms=_frozen(terms),
                )
            )
        params = p | {"x_hat": x_hat, "mean": mean, "var": var}
        return StageTrace(op, f"{forward.name}.{name}", dy, result, tuple(steps), params), result

    weight_stage, dgamma = sums("batchnorm_dweight", "weight", "dγ = Σ dy·x̂", x_hat, stage)
    bias_stage, dbeta = sums("batchnorm_dbias", "bias", "dβ = Σ dy", None, stage + 1)
    stage += 2
    mean_dy, mean_dy_xhat = dbeta / count, dgamma / count
    dinput = np.zeros_like(x)
    steps: list[Step] = []
    for n, c, h, w in itertools.product(range(n_batch), range(channels), range(height), range(width)):
        g, xh, scale = dy[n, c, h, w], x_hat[n, c, h, w], gamma[c] / sigma[c]
        if training:
            value = scale * (g - mean_dy[c] - xh * mean_dy_xhat[c])
            text = (
                f"dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) = {term(scale)}·({fmt(g)} − {term(mean_dy[c])}"
                f" − {term(xh)}·{term(mean_dy_xhat[c])}) = {fmt(value)}"
            )
        else:
            value = scale * g
            text = f"dx = γ/σ·dy = {term(scale)}·{term(g)} = {fmt(value)}   (eval: μ, σ² are constants)"
        dinput[n, c, h, w] = value
        steps.append(
            BatchNormGradStep(
                stage=stage,
                index=len(steps),
                out_index=(n, c, h, w),
                value=value,
                text=text,
                channel=c,
                upstream=float(g),
                x_hat=float(xh),
                scale=float(scale),
                mean_dy=float(mean_dy[c]),
                mean_dy_xhat=float(mean_dy_xhat[c]),
                training=training,
            )
        )
    params = p | {"x_hat": x_hat, "mean": mean, "var": var, "sigma": sigma, "dgamma": dgamma, "dbeta": dbeta}
    dinput_stage = StageTrace("batchnorm_dinput", _grad_name(forward, first), dy, dinput, tuple(steps), params)
    return [weight_stage, bias_stage, dinput_stage]


BACKWARD_TRACERS = {
    "conv": trace_conv_backward,
    "pool": trace_pool_backward,
    "relu": trace_relu_backward,
    "batchnorm": trace_batchnorm_backward,
}


# ---------------------------------------------------------------- loss and SGD


def trace_cross_entropy(logits: np.ndarray, labels: Sequence[int], stage: int) -> StageTrace:
    """dlogits like logits (N, C, H, W): each image's C·H·W outputs are its class scores.

    loss = mean over images of −log softmax(logits)[label]; dlogit = (softmax − one-hot)/N.
    """
    logits = np.asarray(logits, dtype=np.float64)
    n_batch = logits.shape[0]
    rows = logits.reshape(n_batch, -1)
    classes = rows.shape[1]
    if len(labels) != n_batch:
        raise CnnError(f"labels needs one class per image ({n_batch}), got {len(labels)}")
    for label in labels:
        if not 0 <= label < classes:
            raise CnnError(f"labels must be class indices 0..{classes - 1}, got {label}")
    check_steps(logits.size, "this loss")
    shifted = rows - rows.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    softmax = exp / exp.sum(axis=1, keepdims=True)
    losses = [math.log(exp[n].sum()) - shifted[n, label] for n, label in enumerate(labels)]
    loss = sum(losses) / n_batch
    dlogits = np.zeros_like(rows)
    steps: list[Step] = []
    for n, k in itertools.product(range(n_batch), range(classes)):
        target = 1.0 if k == labels[n] else 0.0
        value = (softmax[n, k] - target) / n_batch
        dlogits[n, k] = value
        steps.append(
            LossGradStep(
                stage=stage,
                index=len(steps),
                out_index=tuple(int(v) for v in np.unravel_index(n * classes + k, logits.shape)),
                value=value,
                text=f"dlogit = (softmax {fmt(softmax[n, k])} − one-hot {fmt(target)})/{n_batch} = {fmt(value)}"
                f"   (label {labels[n]}, loss {fmt(loss)})",
                probability=float(softmax[n, k]),
                target=target,
                batch=n_batch,
            )
        )
    params = {"labels": tuple(labels), "loss": loss, "softmax": softmax.reshape(logits.shape)}
    return StageTrace("cross_entropy", "logits", logits, dlogits.reshape(logits.shape), tuple(steps), params)


def trace_sgd(
    name: str, weight: np.ndarray, grad: np.ndarray, lr: float, momentum: float, weight_decay: float, stage: int
) -> StageTrace:
    """One torch.optim.SGD step of one parameter (any shape): v = g + weight_decay·w (the momentum
    buffer's first value, when momentum > 0), w ← w − lr·v."""
    weight = np.asarray(weight, dtype=np.float64)
    check_steps(weight.size, "this SGD step")
    updated = np.zeros_like(weight)
    steps: list[Step] = []
    for index in itertools.product(*(range(s) for s in weight.shape)):
        w, g = weight[index], grad[index]
        velocity = g + weight_decay * w if weight_decay else g
        new = w - lr * velocity
        updated[index] = new
        parts = []
        if weight_decay:
            parts.append(f"g + wd·w = {fmt(g)} + {fmt(weight_decay)}·{term(w)} = {fmt(velocity)}")
        if momentum:
            parts.append(f"buffer v = {fmt(velocity)} (first step)")
        shown = "v" if momentum or weight_decay else term(g)
        parts.append(f"w = {fmt(w)} − {fmt(lr)}·{shown} = {fmt(new)}")
        steps.append(
            SgdStep(
                stage=stage,
                index=len(steps),
                out_index=index,
                value=new,
                text="   ".join(parts),
                old=float(w),
                grad=float(g),
                velocity=float(velocity),
                lr=lr,
            )
        )
    params = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "grad": grad, "parameter": name}
    return StageTrace("sgd", name, weight, updated, tuple(steps), params)


# ---------------------------------------------------------------- the whole backward pass


def parameters(stage: StageTrace) -> dict[str, np.ndarray]:
    """A forward stage's trainable parameters with PyTorch's names: conv.weight, conv.bias, batchnorm.weight, ..."""
    p = stage.params
    if stage.op == "conv":
        found = {f"{stage.name}.weight": p["kernel"]}
        if p["bias"] is not None:
            found[f"{stage.name}.bias"] = p["bias"]
        return found
    if stage.op == "batchnorm":
        return {f"{stage.name}.weight": p["gamma"], f"{stage.name}.bias": p["beta"]}
    return {}


def trace_backward(forward: Trace, spec: BackwardSpec) -> Trace:
    """The forward trace's stages, then the loss, every stage's gradients (last stage first), then SGD."""
    stages = list(forward.stages)
    output = forward.output
    if spec.loss == "cross_entropy":
        loss = trace_cross_entropy(output, spec.labels, len(stages))
        stages.append(loss)
        dy = loss.output
    elif spec.grad_output is not None:
        dy = np.asarray(spec.grad_output, dtype=np.float64)
        if dy.shape != output.shape:  # an edit changed the output's shape since the sample was read
            raise CnnError(
                f"grad_output has shape {list(dy.shape)} but the last stage's output is now {list(output.shape)}"
            )
    else:
        dy = np.ones_like(output)
    gradients: dict[str, np.ndarray] = {}
    for number in range(len(forward.stages) - 1, -1, -1):
        op = forward.stages[number].op
        options = {"need_dx": False} if number == 0 and op == "conv" and not spec.input_gradient else {}
        made = BACKWARD_TRACERS[op](forward.stages[number], dy, len(stages), number == 0, **options)
        stages.extend(made)
        for stage in made:
            gradients[stage.name] = stage.output
        dy = made[-1].output
    if spec.lr is not None:
        for forward_stage in forward.stages:
            for name, weight in parameters(forward_stage).items():
                stages.append(
                    trace_sgd(name, weight, gradients[name], spec.lr, spec.momentum, spec.weight_decay, len(stages))
                )
    return Trace(stages)


def forward_output(trace: Trace) -> np.ndarray:
    """The last forward stage's output, (N, C, H, W)."""
    return [s for s in trace.stages if not is_backward(s)][-1].output


def gradients(trace: Trace) -> dict[str, np.ndarray]:
    """Every gradient of a traced backward pass by its PyTorch name ('input', 'conv.weight', 'logits', ...)."""
    return {s.name: s.output for s in trace.stages if is_backward(s) and s.op != "sgd"}


def updated(trace: Trace) -> dict[str, np.ndarray]:
    """The parameters after the SGD step, by name (empty without an SGD stage)."""
    return {s.name: s.output for s in trace.stages if s.op == "sgd"}
