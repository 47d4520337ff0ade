"""Random backward-pass samples for hypothesis, and the two references the teaching path's gradients are
held to: PyTorch autograd (torch_reference, needs torch) and the batch path's layers (batch_reference)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from engine import samples
from engine.network import layers
from engine.network.loss import cross_entropy
from engine.network.optim import SGD
from engine.shapes import output_hw, output_size


@st.composite
def backward_samples(draw) -> samples.Sample:
    """A pipeline of 1 to 4 stages with random geometry, an upstream gradient or a loss, sometimes SGD."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    x_shape = (n, c, h, w)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ops = draw(st.lists(st.sampled_from(samples.OPS), min_size=1, max_size=4))
    tables = {}
    channels = c
    for op, name in zip(ops, samples.stage_names(ops)):
        if op == "conv":
            o, kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
            stride = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
            padding = [draw(st.integers(0, 1)), draw(st.integers(0, 1))]
            dilation = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
            assume(output_size(h, kh, stride[0], padding[0], dilation[0]) >= 1)
            assume(output_size(w, kw, stride[1], padding[1], dilation[1]) >= 1)
            table = {
                "kernel": rng.integers(-2, 3, size=(o, channels, kh, kw)).tolist(),
                "stride": stride,
                "padding": padding,
                "dilation": dilation,
            }
            if draw(st.booleans()):
                table["bias"] = rng.integers(-2, 3, size=o).tolist()
            h, w = output_hw((h, w), (kh, kw), stride, padding, dilation)
            channels = o
        elif op == "pool":
            size = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
            assume(size[0] <= h and size[1] <= w)
            stride = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
            padding = [draw(st.integers(0, size[0] // 2)), draw(st.integers(0, size[1] // 2))]
            table = {"mode": draw(st.sampled_from(["max", "avg"])), "size": size, "stride": stride, "padding": padding}
            h, w = output_hw((h, w), size, stride, padding, (1, 1))
        elif op == "batchnorm":
            training = draw(st.booleans())
            assume(not training or n * h * w >= 2)
            table = {
                "gamma": rng.normal(size=channels).tolist(),
                "beta": rng.normal(size=channels).tolist(),
                "running_mean": rng.normal(size=channels).tolist(),
                "running_var": rng.uniform(0.5, 2, size=channels).tolist(),
                "training": training,
                "eps": 1e-3,
            }
        else:
            table = {}
        tables[name] = table
    data: dict = {
        "title": "random",
        "op": ops,
        "input": rng.integers(-3, 4, size=x_shape).astype(float).tolist(),
        "stage": tables,
        "backward": True,
    }
    shape = samples.parse(data | {"backward": False}, "random").trace().output.shape
    if draw(st.booleans()):
        data |= {"loss": "cross_entropy", "labels": rng.integers(0, int(np.prod(shape[1:])), size=shape[0]).tolist()}
    elif draw(st.booleans()):
        data["grad_output"] = rng.normal(size=shape).tolist()
    if {"conv", "batchnorm"} & set(ops) and draw(st.booleans()):
        data |= {
            "lr": draw(st.sampled_from([0.1, 0.01])),
            "momentum": draw(st.sampled_from([0.0, 0.9])),
            "weight_decay": draw(st.sampled_from([0.0, 1e-3])),
        }
    return samples.parse(data, "random")


def batch_reference(sample: samples.Sample) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The sample's gradients and SGD-updated parameters by the batch path (engine/network/layers.py,
    loss.py, optim.py) in float64, by PyTorch's names."""
    x = sample.input.transpose(0, 2, 3, 1).copy()  # NHWC inside the batch path
    caches, params, shapes = [], {}, []
    for stage in sample.stages:
        p = stage.params
        shapes.append(x.shape)
        if stage.op == "conv":
            out_hw = output_hw(x.shape[1:3], p["weight"].shape[2:], p["stride"], p["padding"], p["dilation"])
            x, cache = layers.conv_forward(x, p["weight"], p["bias"], p["stride"], p["padding"], p["dilation"], out_hw)
            params[f"{stage.name}.weight"] = p["weight"].copy()
            if p["bias"] is not None:
                params[f"{stage.name}.bias"] = p["bias"].copy()
        elif stage.op == "pool":
            out_hw = output_hw(x.shape[1:3], p["size"], p["stride"], p["padding"], (1, 1))
            forward = layers.maxpool_forward if p["mode"] == "max" else layers.avgpool_forward
            x, cache = forward(x, p["size"], p["stride"], p["padding"], out_hw)
        elif stage.op == "batchnorm":
            x, cache = layers.batchnorm_forward(
                x,
                p["gamma"],
                p["beta"],
                p["running_mean"].copy(),
                p["running_var"].copy(),
                p["training"],
                p["momentum"],
                p["eps"],
            )
            params[f"{stage.name}.weight"] = p["gamma"].copy()
            params[f"{stage.name}.bias"] = p["beta"].copy()
        else:
            x, cache = layers.relu_forward(x)
        caches.append(cache)
    spec = sample.backward
    grads: dict[str, np.ndarray] = {}
    nchw = x.transpose(0, 3, 1, 2)
    if spec.loss:
        _, dlogits = cross_entropy(nchw.reshape(len(x), -1), np.array(spec.labels))
        grads["logits"] = dlogits.reshape(nchw.shape)
        dy = grads["logits"].transpose(0, 2, 3, 1)
    elif spec.grad_output is not None:
        dy = spec.grad_output.transpose(0, 2, 3, 1)
    else:
        dy = np.ones_like(x)
    for number in range(len(sample.stages) - 1, -1, -1):
        stage, cache = sample.stages[number], caches[number]
        if stage.op == "conv":
            dy, dweight, dbias = layers.conv_backward(dy, cache)
            grads[f"{stage.name}.weight"] = dweight
            if dbias is not None:
                grads[f"{stage.name}.bias"] = dbias
        elif stage.op == "pool":
            backward = layers.maxpool_backward if stage.params["mode"] == "max" else layers.avgpool_backward
            dy = backward(dy, cache)
        elif stage.op == "batchnorm":
            if stage.params["training"]:
                dy, dgamma, dbeta = layers.batchnorm_backward(dy, cache)
            else:  # eval: the batch path never trains in eval mode; the same algebra with constant statistics
                p = stage.params
                inv_std = 1 / np.sqrt(p["running_var"] + p["eps"])
                centred = _eval_input(sample, number) - p["running_mean"]
                dgamma = np.einsum("nhwc,nhwc->c", dy, centred * inv_std)
                dbeta = dy.sum(axis=(0, 1, 2))
                dy = dy * p["gamma"] * inv_std
            grads[f"{stage.name}.weight"], grads[f"{stage.name}.bias"] = dgamma, dbeta
        else:
            dy = layers.relu_backward(dy, cache)
        grads["input" if number == 0 else f"{stage.name}.input"] = dy.transpose(0, 3, 1, 2)
    updated = {}
    if spec.lr is not None:
        optimizer = SGD(params, spec.lr, spec.momentum, weight_decay=spec.weight_decay)
        optimizer.step(grads)
        updated = params
    return grads, updated


def _eval_input(sample: samples.Sample, number: int) -> np.ndarray:
    """The input of stage `number`, NHWC (from the forward trace)."""
    from engine.trace import trace_stages

    forward = trace_stages(sample.input, [(s.op, s.name, s.params) for s in sample.stages])
    return forward.stages[number].input.transpose(0, 2, 3, 1)


def ties_are_safe(sample: samples.Sample) -> bool:
    """False when a max-pooling window's maximum is shared, or nearly, by values that are not exact.

    Which tap wins a tie decides where the gradient goes. Integer inputs and ReLU's zeros tie
    exactly in every implementation; a tie between two computed values (or a near-tie) may be
    broken by the last bit, which differs with the order of a sum: such a case tests rounding,
    not the backward pass.
    """
    from engine.trace import PoolStep, trace_stages

    forward = trace_stages(sample.input, [(s.op, s.name, s.params) for s in sample.stages])
    for number, stage in enumerate(forward.stages):
        if stage.op != "pool" or stage.params["mode"] != "max":
            continue
        for step in stage.steps:
            assert isinstance(step, PoolStep)
            values = np.sort(step.values.reshape(-1))[::-1]
            if len(values) < 2 or not np.isfinite(values[1]):
                continue
            best, runner_up = values[0], values[1]
            exact = number == 0 or best == 0
            if best - runner_up <= 1e-9 * max(1.0, abs(best)) and not (best == runner_up and exact):
                return False
    return True
