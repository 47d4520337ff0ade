"""Regenerate tests/engine/golden/ops.npz with PyTorch: `python tests/engine/make_golden.py`.

The fixtures hold inputs and torch.nn.functional outputs (float64), so the
parity tests also run where torch is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).parent / "golden" / "ops.npz"


def build() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    fixtures: dict[str, np.ndarray] = {}
    x = rng.normal(size=(2, 3, 7, 6))
    weight = rng.normal(size=(4, 3, 3, 2))
    bias = rng.normal(size=4)
    t = torch.tensor
    fixtures |= {
        "conv.x": x,
        "conv.weight": weight,
        "conv.bias": bias,
        "conv.out": F.conv2d(t(x), t(weight), t(bias), stride=(2, 1), padding=(1, 2), dilation=(1, 2)).numpy(),
    }
    fixtures |= {
        "maxpool.out": F.max_pool2d(t(x), (3, 2), (2, 1), (1, 1)).numpy(),
        "avgpool.out": F.avg_pool2d(t(x), 3, 2, 1).numpy(),
        "avgpool_nopad.out": F.avg_pool2d(t(x), 3, 2, 1, count_include_pad=False).numpy(),
    }
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    running_mean, running_var = t(rng.normal(size=3)), t(rng.uniform(0.5, 2, size=3))
    fixtures |= {
        "bn.gamma": gamma,
        "bn.beta": beta,
        "bn.running_mean": running_mean.numpy().copy(),
        "bn.running_var": running_var.numpy().copy(),
    }
    fixtures["bn.eval.out"] = F.batch_norm(
        t(x), running_mean, running_var, t(gamma), t(beta), training=False, eps=1e-5
    ).numpy()
    fixtures["bn.train.out"] = F.batch_norm(
        t(x), running_mean, running_var, t(gamma), t(beta), training=True, momentum=0.1, eps=1e-5
    ).numpy()
    fixtures["bn.train.running_mean"] = running_mean.numpy()
    fixtures["bn.train.running_var"] = running_var.numpy()
    fixtures["relu.out"] = F.relu(t(x)).numpy()
    return fixtures


if __name__ == "__main__":
    OUT.parent.mkdir(exist_ok=True)
    np.savez_compressed(OUT, **build())
    print(f"wrote {OUT}")
