"""Regenerate tests/engine/golden/backward.npz with PyTorch: `python tests/engine/make_backward_golden.py`.

Each fixture is a backward sample (its TOML text) with the gradients PyTorch's autograd gives for it
and, with an SGD step, the parameters torch.optim.SGD leaves, so the backward parity also holds where
torch is not installed. torch_reference is also the live tests' reference.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import samples  # noqa: E402

OUT = Path(__file__).parent / "golden" / "backward.npz"


def torch_reference(sample: samples.Sample) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(gradients, updated parameters) of a backward sample by PyTorch autograd and torch.optim.SGD (float64)."""
    x = torch.tensor(sample.input, requires_grad=True)
    params: dict[str, torch.Tensor] = {}
    inputs: dict[str, torch.Tensor] = {}
    h = x
    for number, stage in enumerate(sample.stages):
        if number:
            h.retain_grad()
            inputs[f"{stage.name}.input"] = h
        p = stage.params
        if stage.op == "conv":
            weight = params[f"{stage.name}.weight"] = torch.tensor(p["weight"], requires_grad=True)
            bias = None
            if p["bias"] is not None:
                bias = params[f"{stage.name}.bias"] = torch.tensor(p["bias"], requires_grad=True)
            h = F.conv2d(h, weight, bias, p["stride"], p["padding"], p["dilation"])
        elif stage.op == "pool":
            pool = F.max_pool2d if p["mode"] == "max" else F.avg_pool2d
            h = pool(h, p["size"], p["stride"], p["padding"])
        elif stage.op == "batchnorm":
            gamma = params[f"{stage.name}.weight"] = torch.tensor(p["gamma"], requires_grad=True)
            beta = params[f"{stage.name}.bias"] = torch.tensor(p["beta"], requires_grad=True)
            h = F.batch_norm(
                h,
                torch.tensor(p["running_mean"]),
                torch.tensor(p["running_var"]),
                gamma,
                beta,
                training=p["training"],
                momentum=p["momentum"],
                eps=p["eps"],
            )
        else:
            h = F.relu(h)
    spec = sample.backward
    grads: dict[str, np.ndarray] = {}
    if spec.loss == "cross_entropy":
        h.retain_grad()
        F.cross_entropy(h.reshape(h.shape[0], -1), torch.tensor(spec.labels)).backward()
        grads["logits"] = h.grad.numpy()
    else:
        upstream = torch.ones_like(h) if spec.grad_output is None else torch.tensor(spec.grad_output)
        h.backward(upstream)
    grads["input"] = x.grad.numpy()
    grads |= {name: t.grad.numpy() for name, t in inputs.items()}
    grads |= {name: t.grad.numpy() for name, t in params.items()}
    updated: dict[str, np.ndarray] = {}
    if spec.lr is not None:
        optimizer = torch.optim.SGD(
            list(params.values()), lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
        optimizer.step()
        updated = {name: t.detach().numpy().copy() for name, t in params.items()}
    return grads, updated


#: Hand-picked cases beside the shipped backward samples: every op, stride, padding, dilation,
#: several channels, filters and images, max-pool ties, eval-mode batch norm, a loss and SGD.
CASES = {
    "conv_geometry": """
title = "conv with stride, padding and dilation, 2 images, 2 channels, 3 filters"
op = "conv"
backward = true
grad_output = [[[[0.5, -1, 2], [1, 0, -0.5], [2, 1, 1], [-1, 0.25, 3]],
  [[1, 1, 1], [0, 2, -2], [0.5, 0.5, 1], [1, -1, 0]],
  [[2, 0, 1], [1, 1, -1], [0, 3, 1], [1, 2, 0.5]]],
  [[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], [[-1, 2, 0.5], [0, 0, 1], [2, -2, 0], [1, 0, 1]],
  [[0.5, 0.5, 0.5], [1, -1, 1], [0, 2, 0], [3, 1, -1]]]]
input = [[[[1, 2, 0, -1, 3, 1], [0, 1, 2, 1, 0, -2], [2, 0, 1, 3, 1, 0], [1, -1, 0, 2, 2, 1], [0, 3, 1, 0, 1, 2],
  [2, 1, -2, 1, 0, 1], [1, 0, 1, 1, -1, 0]],
  [[0, 1, 1, 2, 0, 1], [1, 0, -1, 0, 2, 1], [0, 2, 1, 1, 0, 0], [3, 1, 0, -1, 1, 2], [1, 1, 2, 0, 0, 1],
  [0, -1, 1, 2, 1, 0], [2, 0, 0, 1, 1, 1]]],
  [[[2, 0, 1, 1, 0, 3], [1, 1, 0, -1, 2, 0], [0, 2, 2, 1, 1, 1], [1, 0, -1, 0, 3, 2], [2, 1, 0, 1, 0, -1],
  [0, 0, 1, 2, 1, 1], [1, 2, 0, 0, 1, 0]],
  [[1, 1, 0, 2, -1, 0], [0, 3, 1, 0, 1, 1], [2, 0, 0, 1, 2, 0], [1, -2, 1, 1, 0, 1], [0, 1, 2, 3, 1, 0],
  [1, 0, 1, 0, 0, 2], [0, 1, 1, -1, 2, 1]]]]
kernel = [[[[1, 0], [0, -1], [2, 1]], [[0, 1], [1, 0], [-1, 1]]],
  [[[2, -1], [0, 1], [1, 1]], [[1, 1], [0, 0], [1, -2]]],
  [[[0, 0], [1, 1], [0, 2]], [[-1, 0], [2, 1], [1, 0]]]]
bias = [0.5, -1, 2]
stride = [2, 2]
padding = [1, 1]
dilation = [1, 2]
""",
    "conv_stride3": """
title = "conv, stride 3 leaving input rows no window reaches, no bias"
op = "conv"
backward = true
input = [[1, 2, 3, 4, 5, 6, 7], [0, 1, 0, 1, 0, 1, 0], [2, 2, 1, 1, 0, 0, 3], [1, 0, 2, 0, 3, 0, 1],
  [0, 0, 1, 1, 2, 2, 0], [3, 1, 0, 2, 1, 0, 1], [1, 1, 1, 0, 0, 2, 2]]
kernel = [[1, -1], [2, 0]]
stride = 3
padding = 0
dilation = 2
""",
    "max_pool_ties": """
title = "max pooling with overlapping windows, padding and ties"
op = "pool"
backward = true
grad_output = [[[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[-1, 0.5, 2], [1, 1, 1], [0, -2, 3]]]]
input = [[[[1, 1, 0, 2, 2], [1, 1, 0, 2, 2], [0, 3, 3, 0, 1], [2, 0, 1, 1, 1], [2, 2, 0, 1, 0]],
  [[0, 0, 0, 0, 0], [0, 5, 0, 5, 0], [1, 0, 1, 0, 1], [0, 0, 0, 0, 0], [4, 4, 1, 0, 2]]]]
mode = "max"
size = 3
stride = 2
padding = 1
""",
    "avg_pool_padding": """
title = "average pooling counting the padding, 2x3 windows"
op = "pool"
backward = true
grad_output = [[1, 2, -1], [0.5, 3, 1], [2, 0, 1]]
input = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [0, 1, 0, 1, 0], [2, 2, 2, 2, 2]]
mode = "avg"
size = [2, 3]
stride = [2, 2]
padding = [1, 1]
""",
    "batchnorm_eval": """
title = "batch norm in eval mode, 2 channels"
op = "batchnorm"
backward = true
grad_output = [[[[1, -1], [0.5, 2]], [[0, 1], [1, 1]]], [[[2, 0], [-1, 1]], [[0.5, 0.5], [-2, 3]]]]
input = [[[[1, 2], [3, 4]], [[-1, 0], [2, 1]]], [[[0, 1], [1, 2]], [[3, 1], [0, -2]]]]
gamma = [2, 0.5]
beta = [1, -1]
running_mean = [0.5, -0.25]
running_var = [1.5, 2]
eps = 1e-5
training = false
""",
    "relu_zeros": """
title = "ReLU with exact zeros (no gradient at 0)"
op = "relu"
backward = true
grad_output = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
input = [[-1, 0, 1], [2, 0, -3], [0.5, -0.5, 0]]
""",
    "pipeline_avg_eval_sum": """
title = "conv -> relu -> avg pool -> batch norm (eval) -> conv, the loss the sum of the outputs, SGD"
op = ["conv", "relu", "pool", "batchnorm", "conv"]
backward = true
lr = 0.05
input = [[[[1, 0, 2, 1, 0, 1], [0, 1, 1, 0, 2, 0], [2, 1, 0, 1, 1, 1], [1, 0, 1, 2, 0, 1], [0, 2, 1, 0, 1, 0],
  [1, 1, 0, 1, 0, 2]]]]

[stage.conv]
kernel = [[[[1, 0, -1], [2, 0, -2], [1, 0, -1]]], [[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]]
bias = [0.5, 0]
padding = 1

[stage.pool]
mode = "avg"
size = 2

[stage.batchnorm]
gamma = [1.5, 0.5]
beta = [0, 1]
running_mean = [0.5, -0.5]
running_var = [2, 1]
training = false

[stage.conv2]
kernel = [[[[1, 1], [0, 1]], [[1, -1], [2, 0]]]]
bias = [1]
""",
}


def build() -> dict[str, np.ndarray]:
    fixtures: dict[str, np.ndarray] = {}
    texts = dict(CASES)
    for name in ("seed_conv_backward", "max_pool_backward", "seed_batchnorm_backward", "seed_block_backward"):
        texts[name] = samples.resolve(name).read_text(encoding="utf-8")
    for case, text in texts.items():
        sample = samples.parse(tomllib.loads(text), case)
        grads, updated = torch_reference(sample)
        fixtures[f"{case}|toml"] = np.array(text)
        fixtures |= {f"{case}|grad|{name}": value for name, value in grads.items()}
        fixtures |= {f"{case}|updated|{name}": value for name, value in updated.items()}
    return fixtures


if __name__ == "__main__":
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **build())
    print(f"wrote {OUT}")
