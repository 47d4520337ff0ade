"""Measuring the batch path: its speed against PyTorch, the machine's GEMM and a step-by-step forward.

torch is imported only inside torch_module() and the torch timings, and only
when it is installed: it is never a run-time dependency.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.network.fused import ConvBlock
from engine.network.loss import cross_entropy
from engine.network.model import Layer, Network
from engine.network.optim import SGD
from engine.network.train import check_batch_memory


def median_seconds(actions: dict[str, Callable[[], object]], repeats: int = 15, block: int = 5) -> dict[str, float]:
    """The median wall time of each action over `repeats` calls.

    The actions take turns in blocks of `block` calls, so that a noisy
    neighbour on a shared machine slows each of them alike. Each block starts
    after a short pause and one untimed call: BLAS and OpenMP threads spin for
    a while after their last call, and the other library would otherwise run
    against them.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    while any(len(values) < repeats for values in times.values()):
        for name, action in actions.items():
            time.sleep(0.5)
            action()
            for _ in range(min(block, repeats - len(times[name]))):
                started = time.perf_counter()
                action()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def _blas_pool() -> dict | None:
    """threadpoolctl's record of numpy's BLAS, when threadpoolctl is installed (it is never required)."""
    if not importlib.util.find_spec("threadpoolctl"):
        return None
    from threadpoolctl import threadpool_info

    return next((pool for pool in threadpool_info() if pool.get("user_api") == "blas"), None)


def blas_threads() -> int:
    """Threads numpy's BLAS uses: threadpoolctl's answer when installed, else the usual environment variables."""
    pool = _blas_pool()
    if pool:
        return pool["num_threads"]
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable, "").isdigit():
            return int(os.environ[variable])
    return os.cpu_count() or 1


def blas_kernel() -> str:
    """numpy's BLAS library, version and the CPU kernel it chose, e.g. 'openblas 0.3.31 SkylakeX'
    (from threadpoolctl; without it, 'unknown (install threadpoolctl to see it)')."""
    pool = _blas_pool()
    if pool is None:
        return "unknown (install threadpoolctl to see it)"
    parts = (pool.get("internal_api"), pool.get("version"), pool.get("architecture"))
    return " ".join(str(part) for part in parts if part)


def machine_name() -> str:
    """CPU model, core count and numpy version, e.g. 'AMD EPYC, 2 cores, numpy 2.4.6'."""
    model = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, numpy {np.__version__}"


def matmul_gflops(size: int = 1024, repeats: int = 10) -> float:
    """This machine's float32 matrix-multiply speed through numpy, in GFLOP/s: the best of repeats,
    as the machine's capability rather than its mood."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, size, size), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def step_flops(network: Network, batch_size: int) -> tuple[float, float]:
    """(forward, training step) floating-point operations: 2 per multiply-add.

    A step is the forward, the weight gradients (as many multiply-adds again)
    and the input gradients of every learning layer after the first.
    """
    learning = [layer for layer in network.layers if layer.PARAMETERS]
    forward = network.macs
    backward = sum(layer.macs for layer in learning) + sum(layer.macs for layer in learning[1:])
    return 2.0 * forward * batch_size, 2.0 * (forward + backward) * batch_size


def stepwise_forward(network: Network, item: np.ndarray) -> np.ndarray:
    """One image (C, H, W) through the network on the teaching path itself (engine.trace, float64):
    the tracers the stepper shows compute every value, one Step each (a dot product per output of a
    convolution, and of a linear layer as a 1×1 convolution of its features; one window per pooled
    value; one element per batch-norm and ReLU value). Batch norm uses the running statistics (eval
    mode). Each trace covers one filter or channel, so none passes the step limit and only one is
    held at a time. Returns the logits (classes,)."""
    from engine import trace

    x = np.asarray(item, dtype=np.float64)[None]  # (1, C, H, W)
    for layer in network.layers:
        state = {p: np.asarray(network.state[layer.key(p)], np.float64) for p in layer.shapes()}
        if layer.op in ("flatten", "linear"):
            x = x.reshape(1, -1, 1, 1)  # (C, H, W) order, as torch.flatten
        if layer.op in ("conv", "linear"):
            weight, bias = state["weight"], state.get("bias")
            if layer.op == "linear":
                weight, geometry = weight[:, :, None, None], (1, 0, 1)
            else:
                geometry = (layer.stride, layer.padding, layer.dilation)
            maps = [
                trace.trace_conv(x, weight[o : o + 1], None if bias is None else bias[o : o + 1], *geometry).output
                for o in range(len(weight))
            ]
        elif layer.op in ("maxpool", "avgpool"):
            mode = layer.op[:3]
            maps = [
                trace.trace_pool(x[:, c : c + 1], mode, layer.kernel_size, layer.stride, layer.padding).output
                for c in range(x.shape[1])
            ]
        elif layer.op == "batchnorm":
            eps, momentum = layer.options["eps"], layer.options["momentum"]
            maps = [
                trace.trace_batchnorm(
                    x[:, c : c + 1],
                    state["weight"][c],
                    state["bias"][c],
                    eps,
                    momentum,
                    training=False,
                    running_mean=state["running_mean"][c],
                    running_var=state["running_var"][c],
                ).output
                for c in range(x.shape[1])
            ]
        elif layer.op == "relu":
            maps = [trace.trace_relu(x[:, c : c + 1]).output for c in range(x.shape[1])]
        else:
            continue
        x = np.concatenate(maps, axis=1)
    return x.reshape(-1)


def torch_module(network: Network):
    """A torch.nn.Sequential with the same layers, names and state_dict keys (needs torch)."""
    from collections import OrderedDict

    import torch
    from torch import nn

    modules = OrderedDict()
    for layer in network.layers:
        if layer.kind == "conv":
            module = nn.Conv2d(
                layer.in_shape[0],
                layer.out_channels,
                layer.kernel,
                layer.stride,
                layer.padding,
                layer.dilation,
                bias=layer.has_bias,
            )
        elif layer.kind == "batchnorm":
            kind = nn.BatchNorm2d if len(layer.in_shape) == 3 else nn.BatchNorm1d
            module = kind(layer.in_shape[0], eps=layer.options["eps"], momentum=layer.options["momentum"])
        elif layer.kind == "relu":
            module = nn.ReLU()
        elif layer.kind == "maxpool":
            module = nn.MaxPool2d(layer.kernel, layer.stride, layer.padding)
        elif layer.kind == "avgpool":
            module = nn.AvgPool2d(layer.kernel, layer.stride, layer.padding)
        elif layer.kind == "flatten":
            module = nn.Flatten()
        else:
            module = nn.Linear(layer.in_features, layer.out_features, bias=layer.has_bias)
        modules[layer.name] = module
    model = nn.Sequential(modules)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in network.state.items()}, strict=False)
    return model


@dataclass(frozen=True)
class BenchResult:
    """Seconds are medians; ratios are ours / PyTorch's (below 1: we are faster).

    forward/step are the network as it runs (fused blocks where it has them);
    the layer_* figures are the same network run layer by layer (None when it
    has no fusable block: then both are the same path). The stepwise_* figures
    are None unless run_bench was asked for them (they take a minute or more).
    """

    batch_size: int
    threads: int
    blas: str
    forward_seconds: float
    step_seconds: float
    layer_forward_seconds: float | None
    layer_step_seconds: float | None
    forward_gflops: float
    step_gflops: float
    matmul_gflops: float
    stepwise_seconds: float | None
    stepwise_speedup: float | None
    stepwise_max_difference: float | None
    peak_memory_bytes: int
    workspace_bytes: int
    torch_forward_seconds: float | None
    torch_step_seconds: float | None
    layer_torch_forward_seconds: float | None
    layer_torch_step_seconds: float | None
    machine: str

    @property
    def forward_ratio(self) -> float | None:
        return self.forward_seconds / self.torch_forward_seconds if self.torch_forward_seconds else None

    @property
    def step_ratio(self) -> float | None:
        return self.step_seconds / self.torch_step_seconds if self.torch_step_seconds else None

    @property
    def layer_forward_ratio(self) -> float | None:
        if self.layer_forward_seconds is None or not self.layer_torch_forward_seconds:
            return None
        return self.layer_forward_seconds / self.layer_torch_forward_seconds

    @property
    def layer_step_ratio(self) -> float | None:
        if self.layer_step_seconds is None or not self.layer_torch_step_seconds:
            return None
        return self.layer_step_seconds / self.layer_torch_step_seconds


def _torch_actions(
    network: Network, x: np.ndarray, labels: np.ndarray, lr: float, threads: int
) -> dict[str, Callable[[], object]]:
    """PyTorch's forward and training step on the same batch, from the same weights."""
    import torch
    import torch.nn.functional as functional

    torch.set_num_threads(threads)
    model = torch_module(network).train()
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    tx, tlabels = torch.from_numpy(x), torch.from_numpy(labels)

    def forward() -> None:
        with torch.no_grad():
            model(tx)

    def step() -> None:
        optimiser.zero_grad()
        functional.cross_entropy(model(tx), tlabels).backward()
        optimiser.step()

    return {"torch forward": forward, "torch step": step}


def _batch(network: Network, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A random batch (N, C, H, W) float32 and its labels (N,), the same for every call; refuses
    (CnnError) a batch over the memory limit of a training step."""
    check_batch_memory(network, batch_size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch_size, *network.input_shape), dtype=np.float32)
    return x, rng.integers(0, len(network.classes), batch_size)


def run_bench(
    network: Network,
    batch_size: int = 32,
    repeats: int = 15,
    with_torch: bool = True,
    lr: float = 0.01,
    stepwise: bool = False,
) -> BenchResult:
    """Time forward (training-mode batch norm) and a full SGD step on one random batch, fused and
    layer by layer, taking turns with PyTorch's when it is installed; the network is trained on that
    batch along the way. With stepwise, also time one image through stepwise_forward."""
    x, labels = _batch(network, batch_size)
    optimiser = SGD(network.parameters(), lr=lr)
    fuse = network.fuse

    def forward(fused: bool) -> Callable[[], object]:
        def action() -> None:
            network.fuse = fused
            network.forward(x, training=True)

        return action

    def step(fused: bool) -> Callable[[], object]:
        def action() -> None:
            network.fuse = fused
            loss, dlogits = cross_entropy(network.forward(x, training=True), labels)
            network.backward(dlogits)
            optimiser.step(network.grads)

        return action

    threads = blas_threads()
    torch = _torch_actions(network, x, labels, lr, threads) if with_torch and importlib.util.find_spec("torch") else {}
    layers: dict[str, float] = {}
    try:
        # each path takes turns with PyTorch in a rotation of its own: a third party in the
        # rotation (the other path's allocations and cache use) would slow both sides it measures
        medians = median_seconds({"forward": forward(fuse), "step": step(fuse)} | torch, repeats)
        if fuse and network.blocks:
            layers = median_seconds({"forward": forward(False), "step": step(False)} | torch, repeats)
        step(fuse)()  # the workspace is in place: measure what a step allocates beyond it
        tracemalloc.start()
        step(fuse)()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        network.fuse = fuse
    workspace = sum(block.workspace.nbytes for block in network.blocks)
    forward_seconds, step_seconds = medians["forward"], medians["step"]
    stepwise_seconds = difference = None
    if stepwise:
        started = time.perf_counter()
        logits = stepwise_forward(network, x[0])
        stepwise_seconds = time.perf_counter() - started
        difference = float(np.max(np.abs(logits - network.forward(x[:1], training=False)[0])))
    forward_flops, step_flop_count = step_flops(network, batch_size)
    return BenchResult(
        batch_size=batch_size,
        threads=threads,
        blas=blas_kernel(),
        forward_seconds=forward_seconds,
        step_seconds=step_seconds,
        layer_forward_seconds=layers.get("forward"),
        layer_step_seconds=layers.get("step"),
        forward_gflops=forward_flops / forward_seconds / 1e9,
        step_gflops=step_flop_count / step_seconds / 1e9,
        matmul_gflops=matmul_gflops(),
        stepwise_seconds=stepwise_seconds,
        stepwise_speedup=None if stepwise_seconds is None else stepwise_seconds / (forward_seconds / batch_size),
        stepwise_max_difference=difference,
        peak_memory_bytes=peak,
        workspace_bytes=workspace,
        torch_forward_seconds=medians.get("torch forward"),
        torch_step_seconds=medians.get("torch step"),
        layer_torch_forward_seconds=layers.get("torch forward"),
        layer_torch_step_seconds=layers.get("torch step"),
        machine=machine_name(),
    )


@dataclass(frozen=True)
class StepPart:
    """One part of a training step and its median time: a layer's or a fused block's forward or
    backward, the loss, the SGD update, or the whole step."""

    name: str
    seconds: float


def part_name(network: Network, runner: Layer | ConvBlock) -> str:
    """'conv2' for a layer, 'conv2 → bn2 → relu2 → maxpool2 (fused)' for a fused block."""
    if isinstance(runner, ConvBlock):
        return " → ".join(network.layers[index].name for index in runner.indices) + " (fused)"
    return runner.name


def step_parts(
    network: Network, batch_size: int = 32, repeats: int = 15, lr: float = 0.01
) -> dict[str, list[StepPart]]:
    """Where a training step's time goes, on one random batch: {"fused": parts, "layer by layer": parts}
    (only "layer by layer" when the network has no fusable block), each part's median over repeats
    steps in the order the parts run, then the whole step's median. The two paths take turns, step by
    step; every layer's and block's forward and backward is timed by wrapping it for the run."""
    x, labels = _batch(network, batch_size)
    optimiser = SGD(network.parameters(), lr=lr)
    paths = {"fused": True, "layer by layer": False} if network.blocks else {"layer by layer": False}
    times: dict[str, dict[str, list[float]]] = {path: {} for path in paths}
    current: dict[str, list[float]] = {}

    def timed(action: Callable, name: str) -> Callable:
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            result = action(*args, **kwargs)
            current.setdefault(name, []).append(time.perf_counter() - started)
            return result

        return wrapper

    def part(name: str, action: Callable, *args):
        return timed(action, name)(*args)

    runners: list[Layer | ConvBlock] = [*network.layers, *network.blocks]
    for runner in runners:
        runner.forward = timed(runner.forward, f"{part_name(network, runner)} forward")
        runner.backward = timed(runner.backward, f"{part_name(network, runner)} backward")
    fuse = network.fuse
    try:
        for repeat in range(repeats + 1):  # the first round warms the workspaces up
            for path, fused in paths.items():
                network.fuse = fused
                current.clear()
                started = time.perf_counter()
                logits = network.forward(x, training=True)
                _, dlogits = part("loss", cross_entropy, logits, labels)
                network.backward(dlogits)
                part("SGD update", optimiser.step, network.grads)
                whole = time.perf_counter() - started
                if repeat:
                    for name, seconds in [*current.items(), ("whole step", [whole])]:
                        times[path].setdefault(name, []).append(sum(seconds))
    finally:
        for runner in runners:
            del runner.forward, runner.backward  # the class's methods again
        network.fuse = fuse
    return {
        path: [StepPart(name, statistics.median(values)) for name, values in parts.items()]
        for path, parts in times.items()
    }
