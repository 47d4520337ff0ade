"""The Network: built from an `op = "network"` sample, run on whole batches.

A sample names an input_shape [C, H, W] and an ordered list of [[layer]]
tables. Shapes are inferred layer by layer; a mismatch is a CnnError that
shows the arithmetic. Parameters are named like the PyTorch module of the
lecture (`conv1.weight`, `bn1.running_mean`, ...), so state_dicts move between
the two in either direction.
"""

from __future__ import annotations

import functools
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import rules
from engine.errors import CnnError, shown, suggest
from engine.limits import (
    MAX_BYTES_PER_IMAGE,
    MAX_CHANNELS,
    MAX_FEATURES,
    MAX_LAYERS,
    MAX_NETWORK_SIDE,
    MAX_PARAMETERS,
    check_range,
)
from engine.network import fused
from engine.network import layers as F
from engine.network.files import check_weights_target, read_npz, write_npz
from engine.samples import OPS, read_toml, resolve
from engine.shapes import Pair, output_hw, pair

Shape = tuple[int, ...]

#: Top-level keys of a network sample.
SAMPLE_KEYS = ("title", "description", "op", "input_shape", "classes", "layer")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _dims(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


class Layer(ABC):
    """One layer: its options, the shapes in and out, its parameters and their gradients.

    Shapes here are PyTorch's per-item shapes, (C, H, W) or (F,); the arrays
    that flow through forward/backward are channels-last (N, H, W, C) or (N, F).
    """

    kind = ""
    #: option -> default (None: required)
    OPTIONS: dict[str, Any] = {}
    #: learnable parameter names, in PyTorch's order
    PARAMETERS: tuple[str, ...] = ()

    def __init__(self, name: str, options: dict[str, Any], in_shape: Shape, where: str) -> None:
        self.name, self.in_shape, self.where = name, in_shape, where
        for key in options:
            if key not in self.OPTIONS:
                raise CnnError(
                    f"{where}: unknown key {shown(key)} for a {self.kind} layer{suggest(key, self.OPTIONS)}; "
                    f"valid keys: type, name, {', '.join(self.OPTIONS) or '(none)'}"
                )
        self.options = {key: options.get(key, default) for key, default in self.OPTIONS.items()}
        for key, value in self.options.items():
            if value is None:
                raise CnnError(f"{where}: a {self.kind} layer needs {shown(key)}")
        self.out_shape = self.infer()
        check_shape(self.out_shape, f"{where}: its output")

    def fail(self, message: str) -> CnnError:
        return CnnError(f"{self.where}: {message}")

    def needs_spatial(self) -> tuple[int, int, int]:
        if len(self.in_shape) != 3:
            raise self.fail(
                f"a {self.kind} layer needs (C, H, W) feature maps but gets a flat vector of "
                f"{self.in_shape[0]} features; move it before the flatten layer"
            )
        return self.in_shape  # type: ignore[return-value]

    def int_option(self, key: str, minimum: int) -> int:
        value = self.options[key]
        if isinstance(value, (list, tuple)):
            raise self.fail(f"{key} must be one whole number, got {shown(value)}")
        return pair(value, f"{self.where}: {key}", minimum)[0]

    def flag(self, key: str) -> bool:
        value = self.options[key]
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false, got {shown(value)}")
        return value

    def infer(self) -> Shape:
        """The per-item output shape; raises CnnError when the input does not fit."""
        return self.in_shape

    def shapes(self) -> dict[str, Shape]:
        """Parameter and buffer name -> shape."""
        return {}

    def init(self, rng: np.random.Generator, dtype: np.dtype) -> dict[str, np.ndarray]:
        """Parameters and buffers initialised like PyTorch's defaults."""
        return {}

    @property
    def macs(self) -> int:
        """Multiply-adds per batch item."""
        return 0

    @property
    def bytes_per_image(self) -> int:
        """An estimate of the float32 memory one image needs in this layer on a training step:
        its output, the output's gradient and the cache kept for backward."""
        return 3 * 4 * int(np.prod(self.out_shape, dtype=np.int64))

    @abstractmethod
    def forward(self, state: dict[str, np.ndarray], x: np.ndarray, training: bool) -> tuple[np.ndarray, Any]:
        """x channels-last (N, ..., C) or (N, F) -> (output, cache for backward)."""

    @abstractmethod
    def backward(
        self, state: dict[str, np.ndarray], dout: np.ndarray, cache: Any, need_dx: bool
    ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """dout like the output -> (dx like the input or None, {parameter: gradient})."""

    def key(self, parameter: str) -> str:
        return f"{self.name}.{parameter}"

    # One word for one thing: a sample's, a Stage's and a trace's word for the operation is `op`, and
    # on the teaching path `kernel` is a convolution's matrix, so a window's size is PyTorch's
    # `kernel_size`. (`kind` and `kernel` are the names the attributes are stored under until the
    # code that sets them moves over.)
    @property
    def op(self) -> str:
        """'conv', 'batchnorm', 'relu', 'maxpool', 'avgpool', 'flatten' or 'linear' (also `kind`)."""
        return self.kind

    @property
    def kernel_size(self) -> Pair:
        """The (kh, kw) of a conv or pooling layer's window (also `kernel`)."""
        return self.kernel


def _uniform_fan_in(rng: np.random.Generator, shape: Shape, fan_in: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's default for conv and linear weights and biases alike: U(−1/√fan_in, 1/√fan_in).

    (kaiming_uniform_ with a=√5 has exactly this bound.)
    """
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Conv(Layer):
    kind = "conv"
    OPTIONS = {
        "out_channels": None,
        "kernel": None,
        "stride": 1,
        "padding": 0,
        "dilation": 1,
        "bias": True,
        "in_channels": 0,
    }
    PARAMETERS = ("weight", "bias")

    def infer(self) -> Shape:
        c, h, w = self.needs_spatial()
        self.out_channels = self.int_option("out_channels", 1)
        check_range(self.out_channels, MAX_CHANNELS, f"{self.where}: out_channels")
        given = self.int_option("in_channels", 0)
        if given and given != c:
            raise self.fail(f"in_channels = {given}, but the feature maps reaching it have {c} channels")
        self.kernel = pair(self.options["kernel"], f"{self.where}: kernel")
        self.stride = pair(self.options["stride"], f"{self.where}: stride")
        self.padding = pair(self.options["padding"], f"{self.where}: padding", 0)
        self.dilation = pair(self.options["dilation"], f"{self.where}: dilation")
        self.has_bias = self.flag("bias")
        if not self.has_bias:
            self.PARAMETERS = ("weight",)
        try:
            self.out_hw = output_hw((h, w), self.kernel, self.stride, self.padding, self.dilation)
        except CnnError as error:
            raise self.fail(f"on its {c}×{h}×{w} input, {error}") from None
        return (self.out_channels, *self.out_hw)

    def shapes(self) -> dict[str, Shape]:
        weight = (self.out_channels, self.in_shape[0], *self.kernel)
        return {"weight": weight, "bias": (self.out_channels,)} if self.has_bias else {"weight": weight}

    def init(self, rng: np.random.Generator, dtype: np.dtype) -> dict[str, np.ndarray]:
        fan_in = self.in_shape[0] * self.kernel[0] * self.kernel[1]
        return {self.key(k): _uniform_fan_in(rng, s, fan_in, dtype) for k, s in self.shapes().items()}

    @property
    def macs(self) -> int:
        return int(np.prod(self.out_shape)) * self.in_shape[0] * self.kernel[0] * self.kernel[1]

    @property
    def bytes_per_image(self) -> int:
        """Besides the output: the padded input and its gradient, the im2col columns, and the input
        gradient's per-tap shares (up to twice as many as the columns where they are gathered:
        layers.gathers)."""
        c, h, w = self.in_shape
        padded = c * (h + 2 * self.padding[0]) * (w + 2 * self.padding[1])
        columns = self.out_hw[0] * self.out_hw[1] * c * self.kernel[0] * self.kernel[1]
        return super().bytes_per_image + 4 * (2 * padded + 3 * columns)

    def forward(self, state, x, training):
        bias = state[self.key("bias")] if self.has_bias else None
        return F.conv_forward(x, state[self.key("weight")], bias, self.stride, self.padding, self.dilation, self.out_hw)

    def backward(self, state, dout, cache, need_dx):
        dx, dweight, dbias = F.conv_backward(dout, cache, need_dx)
        grads = {self.key("weight"): dweight}
        if dbias is not None:
            grads[self.key("bias")] = dbias
        return dx, grads


class BatchNorm(Layer):
    kind = "batchnorm"
    OPTIONS = {"eps": 1e-5, "momentum": 0.1, "num_features": 0}
    PARAMETERS = ("weight", "bias")

    def infer(self) -> Shape:
        given = self.int_option("num_features", 0)
        if given and given != self.in_shape[0]:
            raise self.fail(f"num_features = {given}, but its input has {self.in_shape[0]} channels")
        rules.eps(self.options["eps"], f"{self.where}: eps")
        rules.momentum(self.options["momentum"], f"{self.where}: momentum")
        return self.in_shape

    def shapes(self) -> dict[str, Shape]:
        c = (self.in_shape[0],)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}

    def init(self, rng, dtype):
        c = self.in_shape[0]
        return {
            self.key("weight"): np.ones(c, dtype),
            self.key("bias"): np.zeros(c, dtype),
            self.key("running_mean"): np.zeros(c, dtype),
            self.key("running_var"): np.ones(c, dtype),
        }

    def forward(self, state, x, training):
        if training:
            rules.batch_statistics(x.size // x.shape[-1], self.name)
        return F.batchnorm_forward(
            x,
            state[self.key("weight")],
            state[self.key("bias")],
            state[self.key("running_mean")],
            state[self.key("running_var")],
            training,
            self.options["momentum"],
            self.options["eps"],
        )

    def backward(self, state, dout, cache, need_dx):
        dx, dgamma, dbeta = F.batchnorm_backward(dout, cache)
        return dx, {self.key("weight"): dgamma, self.key("bias"): dbeta}


class ReLU(Layer):
    kind = "relu"

    def forward(self, state, x, training):
        return F.relu_forward(x)

    def backward(self, state, dout, cache, need_dx):
        return F.relu_backward(dout, cache), {}


class Pool(Layer):
    OPTIONS = {"size": None, "stride": 0, "padding": 0}

    def infer(self) -> Shape:
        c, h, w = self.needs_spatial()
        self.kernel = pair(self.options["size"], f"{self.where}: size")
        stride = self.options["stride"]  # 0, the default, leaves it out
        self.stride = rules.pool_stride(None if stride == 0 else stride, self.kernel, f"{self.where}: stride")
        self.padding = pair(self.options["padding"], f"{self.where}: padding", 0)
        rules.pool_padding(self.kernel, self.padding, self.where)
        try:
            self.out_hw = output_hw((h, w), self.kernel, self.stride, self.padding, (1, 1), "pool size")
        except CnnError as error:
            raise self.fail(f"on its {c}×{h}×{w} input, {error}") from None
        return (c, *self.out_hw)

    @property
    def label(self) -> str:
        return f"{self.kernel[0]}x{self.kernel[1]}"

    def forward(self, state, x, training):
        return self.pool_forward(x, self.kernel, self.stride, self.padding, self.out_hw)

    def backward(self, state, dout, cache, need_dx):
        return self.pool_backward(dout, cache), {}


class MaxPool(Pool):
    kind = "maxpool"
    pool_forward = staticmethod(F.maxpool_forward)
    pool_backward = staticmethod(F.maxpool_backward)


class AvgPool(Pool):
    kind = "avgpool"
    pool_forward = staticmethod(F.avgpool_forward)
    pool_backward = staticmethod(F.avgpool_backward)


class Flatten(Layer):
    kind = "flatten"

    def infer(self) -> Shape:
        return (int(np.prod(self.in_shape)),)

    def forward(self, state, x, training):
        return (x, None) if x.ndim == 2 else F.flatten_forward(x)

    def backward(self, state, dout, cache, need_dx):
        return (dout if cache is None else F.flatten_backward(dout, cache)), {}


class Linear(Layer):
    kind = "linear"
    OPTIONS = {"out_features": None, "in_features": 0, "bias": True}
    PARAMETERS = ("weight", "bias")

    def infer(self) -> Shape:
        if len(self.in_shape) != 1:
            raise self.fail(
                f"a linear layer needs a flat input but gets {_dims(self.in_shape)} feature maps; "
                'add a [[layer]] type = "flatten" before it'
            )
        self.in_features = self.in_shape[0]
        self.out_features = self.int_option("out_features", 1)
        check_range(self.out_features, MAX_FEATURES, f"{self.where}: out_features")
        self.has_bias = self.flag("bias")
        if not self.has_bias:
            self.PARAMETERS = ("weight",)
        return (self.out_features,)

    def shapes(self) -> dict[str, Shape]:
        weight = (self.out_features, self.in_features)
        return {"weight": weight, "bias": (self.out_features,)} if self.has_bias else {"weight": weight}

    def init(self, rng, dtype):
        return {self.key(k): _uniform_fan_in(rng, s, self.in_features, dtype) for k, s in self.shapes().items()}

    @property
    def macs(self) -> int:
        return self.in_features * self.out_features

    def forward(self, state, x, training):
        return F.linear_forward(x, state[self.key("weight")], state[self.key("bias")] if self.has_bias else None)

    def backward(self, state, dout, cache, need_dx):
        dx, dweight, dbias = F.linear_backward(dout, cache)
        grads = {self.key("weight"): dweight}
        if dbias is not None:
            grads[self.key("bias")] = dbias
        return dx, grads


def check_shape(shape: Shape, what: str) -> None:
    """Refuse a per-item shape past MAX_CHANNELS / MAX_NETWORK_SIDE ((C, H, W)) or MAX_FEATURES ((F,))."""
    if len(shape) == 3:
        check_range(shape[0], MAX_CHANNELS, f"{what}: the number of channels")
        for side, size in zip(("height", "width"), shape[1:]):
            check_range(size, MAX_NETWORK_SIDE, f"{what}: the {side}")


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Conv, BatchNorm, ReLU, MaxPool, AvgPool, Flatten, Linear)
}


class LayerError(CnnError):
    """A network whose layer `layer` (0-based) does not fit what reaches it.

    Besides the one-line message it carries what a view needs to mark the
    failing layer in a table: `rows`, the SummaryRow of every layer before it,
    `spec`, the [[layer]] tables as written, and the network's input_shape;
    and what it would otherwise parse out of the message: `name` and `kind` of
    the failing layer (an unnamed layer named as the network names it, e.g.
    "fc1") and `reason`, the message without the file and layer it names.
    """

    def __init__(
        self, message: str, layer: int, rows: list[SummaryRow], spec: list[dict[str, Any]], input_shape: Shape
    ) -> None:
        super().__init__(message)
        self.layer, self.rows, self.spec, self.input_shape = layer, rows, spec, input_shape
        counts: dict[str, int] = {}
        self.names: list[str] = []
        """The name of every [[layer]] table as written (unnamed ones named as the network names them)."""
        for table in spec:
            table = table if isinstance(table, dict) else {}
            kind = str(table.get("type", "?"))
            counts[kind] = counts.get(kind, 0) + 1
            self.names.append(str(table.get("name", f"{kind}{counts[kind]}")))
        failing = spec[layer] if 0 <= layer < len(spec) and isinstance(spec[layer], dict) else {}
        self.kind = str(failing.get("type", "?"))
        self.name = self.names[layer] if 0 <= layer < len(self.names) else self.kind
        where = f'[[layer]] #{layer + 1} "{self.name}" ({self.kind})'
        self.reason = message.split(f"{where}: ", 1)[1] if f"{where}: " in message else message
        """Why the layer does not fit, without the file and layer the message names."""


@dataclass(frozen=True)
class SummaryRow:
    """One line of a torchinfo-like summary; shapes are per item, multiply-adds per item."""

    name: str
    kind: str
    output_shape: Shape
    parameters: int
    macs: int

    @property
    def op(self) -> str:
        """The layer's op, as Layer.op (also `kind`)."""
        return self.kind


def summary_row(layer: Layer) -> SummaryRow:
    """The summary line of one built layer."""
    return SummaryRow(
        layer.name,
        layer.kind,
        layer.out_shape,
        sum(int(np.prod(s)) for k, s in layer.shapes().items() if k in layer.PARAMETERS),
        layer.macs,
    )


def _flat_features_story(given: int, input_shape: Shape, pools: list[str], reaching: Shape) -> str:
    """Why a linear layer's in_features is wrong, told with the poolings that shrank the maps."""
    n = int(np.prod(reaching))
    if len(reaching) == 1 and not pools:
        return f"in_features = {given}, but the layer before it gives {n} features"
    if pools:
        if len(set(pools)) == 1:
            word = _COUNT_WORDS[len(pools)] if len(pools) < len(_COUNT_WORDS) else str(len(pools))
            what = f"{word} {pools[0]} pooling{'s' if len(pools) > 1 else ''}"
        else:
            what = f"poolings {', '.join(pools)}"
        story = f"from the {_dims(input_shape)} input {what} leave"
    else:
        story = "the layers before it leave"
    return (
        f"in_features = {given}, but {story} {_dims(reaching)} = {n} features, not {given} "
        f"(set in_features = {n} or leave it out)"
    )


class Network:
    """A feed-forward ConvNet on (N, C, H, W) float32 batches.

    state holds parameters and buffers keyed like PyTorch's state_dict; after
    backward(), grads holds a gradient for every learnable parameter.
    """

    def __init__(
        self,
        input_shape: Shape | list[int],
        layers: list[dict[str, Any]],
        *,
        title: str = "",
        description: str = "",
        classes: list[str] | None = None,
        seed: int = 0,
        dtype: type = np.float32,
        source: str = "network",
    ) -> None:
        self.title, self.description, self.source = title, description, source
        if not isinstance(layers, list):
            raise CnnError(f"{source}: layers are written as [[layer]] tables")
        check_range(len(layers), MAX_LAYERS, f"{source}: the number of layers")
        for index, table in enumerate(layers, 1):
            if not isinstance(table, dict):
                raise CnnError(f"{source}: [[layer]] #{index} must be a table, got {shown(table)}")
        self.spec = [dict(layer) for layer in layers]
        self.dtype = np.dtype(dtype)
        self.input_shape = self._check_input_shape(input_shape)
        self.layers = self._build()
        out = self.layers[-1].out_shape if self.layers else self.input_shape
        if len(out) != 1:
            raise CnnError(
                f"{source}: the network must end in logits of shape (classes,), but gives "
                f"{_dims(out)} feature maps; end with flatten and linear layers"
            )
        check_range(out[0], MAX_FEATURES, f"{source}: the number of logits (classes)")
        self._check_size()
        if classes is None:
            classes = [str(i) for i in range(out[0])]
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise CnnError(f"{source}: classes must be a list of names, got {shown(classes)}")
        if len(classes) != out[0]:
            raise CnnError(f"{source}: classes names {len(classes)} classes, but the last layer gives {out[0]} logits")
        self.classes = classes
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise CnnError(f"{source}: the seed must be a whole number ≥ 0, got {shown(seed)}")
        self.seed = seed
        self.state: dict[str, np.ndarray] = {}
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            self.state.update(layer.init(rng, self.dtype))
        self.grads: dict[str, np.ndarray] = {}
        #: (first layer index, layer or fused block, cache) of the last training forward, in the order they ran
        self._run: list[tuple[int, Any, Any]] | None = None

    def _check_input_shape(self, shape: Any) -> Shape:
        if (
            not isinstance(shape, (list, tuple))
            or len(shape) != 3
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise CnnError(
                f"{self.source}: input_shape must be [C, H, W] with positive whole numbers, got {shown(shape)}"
            )
        check_shape(tuple(shape), f"{self.source}: input_shape")
        return tuple(shape)

    def _check_size(self) -> None:
        """Refuse a network past MAX_PARAMETERS or MAX_BYTES_PER_IMAGE, before any array is allocated."""
        parameters = sum(row.parameters for row in self.summary())
        check_range(parameters, MAX_PARAMETERS, f"{self.source}: the number of parameters")
        check_range(
            self.bytes_per_image, MAX_BYTES_PER_IMAGE, f"{self.source}: the memory one image needs (bytes, estimated)"
        )

    @property
    def bytes_per_image(self) -> int:
        """Estimated memory of one image on a training step (input, every layer's output, gradient and cache)."""
        return 3 * 4 * int(np.prod(self.input_shape)) + sum(layer.bytes_per_image for layer in self.layers)

    def _build(self) -> list[Layer]:
        if not self.spec:
            raise CnnError(f"{self.source}: a network needs at least one [[layer]] table")
        built: list[Layer] = []
        shape, pools, counts = self.input_shape, [], {}
        for index, table in enumerate(self.spec, 1):
            where = f"{self.source}: [[layer]] #{index}"
            kind = table.get("type")
            if not isinstance(kind, str) or kind not in LAYER_TYPES:
                raise CnnError(
                    f"{where}: type {shown(kind)} is not a layer type{suggest(str(kind)[:40], LAYER_TYPES)}; "
                    f"valid types: {', '.join(LAYER_TYPES)}"
                )
            counts[kind] = counts.get(kind, 0) + 1
            name = table.get("name", f"{kind}{counts[kind]}")
            if not isinstance(name, str) or not _NAME.match(name):
                raise CnnError(
                    f"{where}: name must be letters, digits and _ (not starting with a digit), got {shown(name)}"
                )
            if any(layer.name == name for layer in built):
                raise CnnError(f'{where}: the name "{name}" is already used by an earlier layer')
            where = f'{where} "{name}" ({kind})'
            options = {k: v for k, v in table.items() if k not in ("type", "name")}
            try:
                layer = LAYER_TYPES[kind](name, options, shape, where)
                if isinstance(layer, Linear):
                    given = layer.int_option("in_features", 0)
                    if given and given != layer.in_features:
                        raise layer.fail(
                            _flat_features_story(
                                given,
                                self.input_shape,
                                pools,
                                built[-1].in_shape if isinstance(built[-1], Flatten) else shape,
                            )
                        )
            except CnnError as error:
                raise LayerError(
                    str(error), index - 1, [summary_row(b) for b in built], self.spec, self.input_shape
                ) from None
            if isinstance(layer, Pool):
                pools.append(layer.label)
            built.append(layer)
            shape = layer.out_shape
        return built

    # ----- parameters -------------------------------------------------------------------------

    def parameter_keys(self) -> list[str]:
        """Learnable parameter keys in PyTorch's order (conv1.weight, conv1.bias, bn1.weight, ...)."""
        return [layer.key(p) for layer in self.layers for p in layer.PARAMETERS]

    def parameters(self) -> dict[str, np.ndarray]:
        """Learnable parameters by key (the live arrays, updated in place by the optimiser)."""
        return {key: self.state[key] for key in self.parameter_keys()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed as in PyTorch (without num_batches_tracked)."""
        return {key: value.copy() for key, value in self.state.items()}

    def load_state_dict(self, state: dict[str, Any], source: str = "state_dict") -> None:
        """Copy in arrays (or anything np.asarray takes, e.g. torch tensors) with exactly our keys and shapes.

        PyTorch's `*.num_batches_tracked` counters are ignored.
        """
        given = {k: v for k, v in state.items() if not k.endswith(".num_batches_tracked")}
        missing = [k for k in self.state if k not in given]
        unknown = [k for k in given if k not in self.state]
        if unknown:
            raise CnnError(
                f"{source}: unknown key {shown(unknown[0])}{suggest(unknown[0], self.state)}; "
                f"this network has {', '.join(self.state)}"
            )
        if missing:
            raise CnnError(f"{source}: missing {', '.join(missing)}")
        arrays = {}
        for key, value in given.items():
            array = np.asarray(value)
            if array.shape != self.state[key].shape:
                raise CnnError(f"{source}: {key} has shape {array.shape}, this network needs {self.state[key].shape}")
            if not np.issubdtype(array.dtype, np.number):
                raise CnnError(f"{source}: {key} holds {array.dtype} values, not numbers")
            arrays[key] = array
        for key, array in arrays.items():
            self.state[key][...] = array

    def save(self, path: str | os.PathLike) -> None:
        """Write the state_dict as .npz atomically: a temp file in the same folder, then rename.

        Refuses (CnnError) a path that is not an .npz it may write, or a shipped sample."""
        write_npz(check_weights_target(path), self.state)

    def load_weights(self, path: str | os.PathLike) -> None:
        """Read weights saved by save() (or any .npz of state_dict arrays); never unpickles."""
        self.load_state_dict(read_npz(path, "weights file"), str(path))

    # ----- computing --------------------------------------------------------------------------

    def forward(
        self, x: np.ndarray, training: bool = True, activations: bool = False
    ) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
        """x (N, C, H, W) -> logits (N, classes); with activations=True also {layer name: output}.

        Activations are (N, C, H, W) views (or (N, F) after flatten), in layer order.
        training=True uses batch statistics, updates the running ones and keeps
        what backward() needs; training=False uses the running statistics.
        """
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1:] != self.input_shape:
            raise CnnError(
                f"{self.source}: input must have shape (N, {', '.join(map(str, self.input_shape))}), got {x.shape}"
            )
        out = x.astype(self.dtype, copy=False).transpose(0, 2, 3, 1)
        run, seen = [], {}
        blocks = {block.first: block for block in self.blocks} if self.fuse and not activations else {}
        skip: range = range(0)
        for index in self._order(activations):
            if index in skip:
                continue
            block = blocks.get(index)
            result = block.forward(self.state, out, training) if block else None
            if result is not None:
                out, cache = result
                run.append((index, block, cache))
                skip = block.indices
                continue
            layer = self.layers[index]
            out, cache = layer.forward(self.state, out, training)
            run.append((index, layer, cache))
            if activations:
                seen[layer.name] = out.transpose(0, 3, 1, 2) if out.ndim == 4 else out
        self._run = run if training else None
        return (out, seen) if activations else out

    #: Whether forward runs conv → batch norm → ReLU → max-pool blocks fused (engine.network.fused)
    #: when it hands out no activations; the same numbers as layer by layer, in fewer passes.
    fuse = True

    @functools.cached_property
    def blocks(self) -> list[fused.ConvBlock]:
        """The network's fusable conv → batch norm → ReLU → max-pool blocks."""
        return fused.plan(self.layers)

    def _order(self, activations: bool) -> list[int]:
        """The order the layers run in: as written, except that a ReLU right before a max-pool
        runs after it when nobody looks at the activations in between. max and ReLU commute
        exactly, forward and backward (ties at 0 get no gradient either way), and the ReLU
        then touches a quarter of the values."""
        order = list(range(len(self.layers)))
        if not activations:
            for i in range(len(order) - 1):
                if self.layers[order[i]].kind == "relu" and self.layers[order[i + 1]].kind == "maxpool":
                    order[i], order[i + 1] = order[i + 1], order[i]
        return order

    def backward(self, dlogits: np.ndarray) -> dict[str, np.ndarray]:
        """dlogits (N, classes) from the last training forward -> fills and returns self.grads."""
        if self._run is None:
            raise RuntimeError("backward() needs a forward(x, training=True) first")
        learning = [i for i, layer in enumerate(self.layers) if layer.PARAMETERS]
        first = learning[0] if learning else len(self.layers)
        grads: dict[str, np.ndarray] = {}
        dout = np.asarray(dlogits, dtype=self.dtype)
        for index, runner, cache in reversed(self._run):
            if index < first:
                break
            dout, layer_grads = runner.backward(self.state, dout, cache, index > first)
            grads.update(layer_grads)
        self.grads = {key: grads[key] for key in self.parameter_keys()}
        return self.grads

    def backward_to(self, dlogits: np.ndarray, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """From the last training forward, run layer by layer (forward(..., activations=True)):
        (dY at layer index's output, channels-last (N, H, W, C) or (N, F), and that layer's own
        parameter gradients). The backward stops there; self.grads is left as it was."""
        if self._run is None:
            raise RuntimeError("backward_to() needs a forward(x, training=True, activations=True) first")
        dout = np.asarray(dlogits, dtype=self.dtype)
        for number, runner, cache in reversed(self._run):
            if runner is not self.layers[number]:
                raise RuntimeError("backward_to() needs a layer-by-layer forward: forward(..., activations=True)")
            if number == index:
                return dout, runner.backward(self.state, dout, cache, False)[1]
            dout, _ = runner.backward(self.state, dout, cache, True)
        raise ValueError(f"layer {index} did not run in the last forward")

    # ----- describing -------------------------------------------------------------------------

    def summary(self) -> list[SummaryRow]:
        """One row per layer: name, type, output shape, parameter count, multiply-adds per item."""
        return [summary_row(layer) for layer in self.layers]

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass per batch item (convolutions and linear layers)."""
        return sum(layer.macs for layer in self.layers)

    def without_batchnorm(self) -> Network:
        """The same network with its batch-norm layers left out, initialised from the same seed."""
        return Network(
            self.input_shape,
            [t for t in self.spec if t.get("type") != "batchnorm"],
            title=self.title,
            description=self.description,
            classes=self.classes,
            seed=self.seed,
            dtype=self.dtype,
            source=self.source,
        )


def from_sample(sample: dict[str, Any], source: str = "sample", seed: int = 0) -> Network:
    """A Network from a parsed `op = "network"` sample (a dict as tomllib gives it)."""
    op = sample.get("op")
    if op in OPS or isinstance(op, list):
        kind = (
            f"a pipeline of single operations (op = [{', '.join(map(str, op))[:60]}])"
            if isinstance(op, list)
            else f'a single-operation sample (op = "{op}")'
        )
        raise CnnError(
            f"{source} is {kind}, stepped through with `cnn-tui trace` or in the app; "
            'this command needs a network sample (op = "network"), such as seed_convnet'
        )
    for key in sample:
        if key not in SAMPLE_KEYS:
            raise CnnError(
                f"{source}: unknown key {shown(key)}{suggest(key, SAMPLE_KEYS)}; valid keys: {', '.join(SAMPLE_KEYS)}"
            )
    if sample.get("op") != "network":
        raise CnnError(f'{source}: op must be "network" for a network sample, got {shown(op)}')
    if "input_shape" not in sample:
        raise CnnError(f"{source}: a network sample needs input_shape = [C, H, W]")
    layers = sample.get("layer", [])
    if not isinstance(layers, list):
        raise CnnError(f"{source}: layers are written as [[layer]] tables")
    for key in ("title", "description"):
        if not isinstance(sample.get(key, ""), str):
            raise CnnError(f"{source}: {key} must be a string")
    return Network(
        sample["input_shape"],
        layers,
        title=sample.get("title", ""),
        description=sample.get("description", ""),
        classes=sample.get("classes"),
        seed=seed,
        source=source,
    )


def load(path: str | os.PathLike, seed: int = 0) -> Network:
    """Read a network sample (.toml path or shipped name) into a freshly initialised Network."""
    path = resolve(path)
    return from_sample(read_toml(path), str(path), seed)
