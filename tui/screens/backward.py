"""The backward views: one panel per kind of backward stage (engine/backward.py).

Every backward stage makes one gradient (or, for SGD, one updated parameter),
one element a step: its panel shows what that element reads (the input under
the sliding tap, the padded dY under the flipped kernel, the windows routed
to a cell, batch norm's three terms, SGD's old value and gradient) beside the
gradient filling in. The stage's `input` is the upstream gradient dY; the
forward numbers a panel needs are in the stage's params.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from engine.backward import (
    BatchNormGradStep,
    InputGradStep,
    LossGradStep,
    PoolGradStep,
    SumStep,
    WeightGradStep,
    is_backward,
)
from engine.numbers import fmt
from engine.trace import StageTrace, Step
from tui.screens.panel import StagePanel, column, written_up_to
from tui.widgets.matrix import MatrixGrid

#: Backward stages whose output is a parameter's shape, indexed [o, c, a, b] or [k].
PARAMETER_OPS = ("conv_dweight", "conv_dbias", "batchnorm_dweight", "batchnorm_dbias", "sgd")


def stage_label(stage: StageTrace) -> str:
    """The stage bar's name: a gradient is `dNAME`, an SGD step `sgd NAME`, a forward stage its name."""
    if stage.op == "sgd":
        return f"sgd {stage.name}"
    return f"d{stage.name}" if is_backward(stage) else stage.name


def as_grid(array: np.ndarray, index: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, int], tuple[int, ...]]:
    """A parameter-shaped array as the 2-D grid holding element index: (grid, cell, the grid's prefix)."""
    if array.ndim == 1:
        return array[None, :], (0, index[0]), ()
    return array[index[:-2]], index[-2:], index[:-2]


def grids(count: int, role: str, title: str = "", indices: bool = True) -> list[MatrixGrid]:
    return [MatrixGrid(title.format(n) if count > 1 else "", indices=indices, classes=role) for n in range(count)]


class BackwardPanel(StagePanel):
    """What every backward view has: the gradient's position in the status line, no size formula."""

    CHANNEL_WORD = "channel"

    def position(self) -> str:
        index = self.step.out_index
        if self.stage.op in PARAMETER_OPS:
            return f"element [{', '.join(map(str, index))}]"
        n, c, i, j = index
        batch, channels = self.stage.output.shape[:2]
        where = f"element ({i}, {j})"
        if channels > 1:
            where += f" of channel {c}"
        if batch > 1:
            where += f", image {n}"
        return where

    def size_formula(self) -> str:
        return ""

    def show_filling(self, role: str, array: np.ndarray, prefix: tuple[int, ...], cell: tuple[int, int] | None):
        """The gradient's grids of one (image) prefix, written up to this step, the current cell reversed."""
        filled = written_up_to(array.shape, self.local_index)
        for k, grid in enumerate(self.query(f"MatrixGrid.{role}").results(MatrixGrid)):
            at = (*prefix, k)
            grid.show(array[at], filled=filled[at], current=cell if at == self.step.out_index[:-2] else None)

    def set_title(self, number: int, text: str) -> None:
        self.query(".column-title")[number].update(text)


class WeightGradPanel(BackwardPanel):
    """dW[o, c, a, b]: the input with every position tap (a, b) reads as the window slides, dY, their products."""

    def compose_grids(self) -> ComposeResult:
        batch = self.stage.input.shape[0]
        filters, channels = self.stage.output.shape[:2]
        yield column("input x", grids(batch, "input", "image {}"), "inputs")
        yield column("dY", grids(batch, "upstream", "image {}"), "upstream")
        # The gradient before the products: on a narrow terminal the grid being filled stays in view.
        yield column("dW", grids(channels, "output", "channel {}"), "outputs")
        yield column("x·dY", grids(batch, "products", "image {}", indices=False), "products")

    def compose_notes(self) -> ComposeResult:
        yield Static(
            "dW[o, c, a, b] = Σ over images and output positions of x[n, c] under tap (a, b) · dY[n, o]:"
            " the marked cells are what tap (a, b) read in the forward pass",
            classes="params",
            markup=False,
        )

    @staticmethod
    def row_key(step: Step) -> Hashable:
        return step.out_index[:3]

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, WeightGradStep)
        o, c, a, b = step.out_index
        x = self.stage.params["x"]
        padding = self.stage.params["padding"]
        inputs = list(self.query("MatrixGrid.input").results(MatrixGrid))
        for n, grid in enumerate(inputs):
            grid.show(x[n, c], padding=padding, window=(step.rows, step.cols))
        self.keep_in_view(inputs[0], step.rows, step.cols)
        for n, grid in enumerate(self.query("MatrixGrid.upstream").results(MatrixGrid)):
            grid.show(step.upstream[n])
        for n, grid in enumerate(self.query("MatrixGrid.products").results(MatrixGrid)):
            grid.show(step.values[n] * step.upstream[n])
        self.show_filling("output", self.stage.output, (o,), (a, b))
        channels = x.shape[1]
        self.set_title(0, "input x" + (f", channel {c}" if channels > 1 else ""))
        self.set_title(1, "dY" + (f", filter {o}" if self.stage.output.shape[0] > 1 else ""))
        self.set_title(2, f"dW, filter {o}" if self.stage.output.shape[0] > 1 else "dW")


class InputGradPanel(BackwardPanel):
    """dX[n, c, h, w] of a convolution: the flipped kernel over the zero-padded dY, summed over filters."""

    def compose_grids(self) -> ComposeResult:
        filters = self.stage.input.shape[1]
        channels = self.stage.output.shape[1]
        yield column("flipped kernel", grids(filters, "kernel", "filter {}", indices=False), "kernels")
        yield column("padded dY", grids(filters, "upstream", "filter {}"), "upstream")
        yield column("dX", grids(channels, "output", "channel {}"), "outputs")
        yield column("products", grids(filters, "products", "filter {}", indices=False), "products")

    def compose_notes(self) -> ComposeResult:
        p = self.stage.params
        kh, kw = p["kernel"].shape[2:]
        reach = (p["dilation"][0] * (kh - 1) - p["padding"][0], p["dilation"][1] * (kw - 1) - p["padding"][1])
        spread = "" if p["stride"] == (1, 1) else f", spread by the stride {p['stride'][0]}×{p['stride'][1]}"
        yield Static(
            f"dX = the full correlation of dY (padded by dilation·(k − 1) − padding = {reach[0]}×{reach[1]}{spread})"
            " with the kernel turned 180°, summed over the filters",
            classes="params",
            markup=False,
        )

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, InputGradStep)
        n, c, h, w = step.out_index
        padded = self.stage.params["padded_upstream"][n]
        for o, grid in enumerate(self.query("MatrixGrid.kernel").results(MatrixGrid)):
            grid.show(step.kernel[o])
        upstream = list(self.query("MatrixGrid.upstream").results(MatrixGrid))
        for o, grid in enumerate(upstream):
            grid.show(padded[o], window=(step.rows, step.cols))
        self.keep_in_view(upstream[0], step.rows, step.cols)
        for o, grid in enumerate(self.query("MatrixGrid.products").results(MatrixGrid)):
            grid.show(step.products[o])
        self.show_filling("output", self.stage.output, (n,), (h, w))
        channels = self.stage.output.shape[1]
        self.set_title(0, "flipped kernel" + (f", channel {c}" if channels > 1 else ""))
        if self.stage.output.shape[0] > 1:
            self.set_title(1, f"padded dY, image {n}")
            self.set_title(2, f"dX, image {n}")


class SumPanel(BackwardPanel):
    """dbias = Σ dY, dβ = Σ dY, dγ = Σ dY·x̂: one channel's dY over the batch (and x̂), the vector filling."""

    def compose_grids(self) -> ComposeResult:
        batch = self.stage.input.shape[0]
        # The (short) vector being filled first: the batch of dY maps may run past a narrow terminal.
        yield column(f"d{self.stage.name}", [MatrixGrid(indices=True, classes="output")], "outputs")
        yield column("dY", [Horizontal(*grids(batch, "upstream", "#{}"), classes="batch")], "upstream")
        if self.stage.op == "batchnorm_dweight":
            yield column("x̂", [Horizontal(*grids(batch, "x-hat", "#{}"), classes="batch")], "x-hat")

    DEFAULT_CSS = """
    SumPanel .batch { width: auto; height: auto; }
    SumPanel .batch MatrixGrid { margin: 0 1 0 0; }
    """

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, SumStep)
        k = step.channel
        for n, grid in enumerate(self.query("MatrixGrid.upstream").results(MatrixGrid)):
            grid.show(self.stage.input[n, k], counted=np.ones(self.stage.input.shape[2:], dtype=bool))
        for n, grid in enumerate(self.query("MatrixGrid.x-hat").results(MatrixGrid)):
            grid.show(self.stage.params["x_hat"][n, k])
        filled = written_up_to(self.stage.output.shape, local_index)[None, :]
        target = self.query_one("MatrixGrid.output", MatrixGrid)
        target.show(self.stage.output[None, :], filled=filled, current=(0, k))
        self.keep_in_view(target, (0,), (k,))
        word = "filter" if self.stage.op == "conv_dbias" else "channel"
        self.set_title(1, f"dY, {word} {k}, every image")
        if self.stage.op == "batchnorm_dweight":
            self.set_title(2, f"x̂, channel {k}")


class PoolGradPanel(BackwardPanel):
    """dX of a pooling: the cell, the windows whose gradient it receives (marked in dY), dX filling."""

    def compose_grids(self) -> ComposeResult:
        yield column("input x", [MatrixGrid(indices=True, classes="input")], "inputs")
        yield column("dY", [MatrixGrid(indices=True, classes="upstream")], "upstream")
        yield column("dX", [MatrixGrid(indices=True, classes="output")], "outputs")

    def compose_notes(self) -> ComposeResult:
        if self.stage.params["mode"] == "max":
            text = (
                "max pooling backwards: each window's dY goes to the cell that held its maximum (the first one on"
                " a tie); underlined in x: the cells that receive gradient; in dY: the windows routed to this cell"
            )
        else:
            size = self.stage.params["size"]
            text = (
                f"average pooling backwards: each window's dY is spread evenly, dY/{size[0] * size[1]} to every"
                " cell of the window (padding counted); underlined in dY: the windows covering this cell"
            )
        yield Static(text, classes="params", markup=False)

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, PoolGradStep)
        n, c, h, w = step.out_index
        p = self.stage.params
        rows: set[int] = set()
        cols: set[int] = set()
        for i, j in step.routed:
            rows |= {i * p["stride"][0] - p["padding"][0] + a for a in range(p["size"][0])}
            cols |= {j * p["stride"][1] - p["padding"][1] + b for b in range(p["size"][1])}
        source = self.query_one("MatrixGrid.input", MatrixGrid)
        source.show(
            p["x"][n, c],
            padding=p["padding"],
            pad_value=float("-inf") if p["mode"] == "max" else 0.0,
            window=(rows, cols) if rows else None,
            current=(h, w),
            counted=p["receives"][n, c] if p["mode"] == "max" else None,
        )
        routed = np.zeros(self.stage.input.shape[2:], dtype=bool)
        for i, j in step.routed:
            routed[i, j] = True
        self.query_one("MatrixGrid.upstream", MatrixGrid).show(self.stage.input[n, c], counted=routed)
        filled = written_up_to(self.stage.output.shape, local_index)
        target = self.query_one("MatrixGrid.output", MatrixGrid)
        target.show(self.stage.output[n, c], filled=filled[n, c], current=(h, w))
        self.keep_in_view(target, (h,), (w,))  # the cell being filled (x's same cell is left of it)
        where = ", ".join(
            ([f"image {n}"] if self.stage.output.shape[0] > 1 else [])
            + ([f"channel {c}"] if self.stage.output.shape[1] > 1 else [])
        )
        for number, title in enumerate(("input x", "dY", "dX")):
            self.set_title(number, f"{title}, {where}" if where else title)


class MapGradPanel(BackwardPanel):
    """One (image, channel) map of each of `columns` arrays, the last one the gradient filling in."""

    #: (title, where the array is: "params:KEY", "input" (dY) or "output").
    columns: tuple[tuple[str, str], ...] = ()

    def compose_grids(self) -> ComposeResult:
        for number, (title, _) in enumerate(self.columns):
            role = "output" if number == len(self.columns) - 1 else f"map{number}"
            yield column(title, [MatrixGrid(indices=True, classes=role)])

    def array(self, where: str) -> np.ndarray:
        if where.startswith("params:"):
            return self.stage.params[where.removeprefix("params:")]
        return self.stage.input if where == "input" else self.stage.output

    def show(self, local_index: int) -> None:
        super().show(local_index)
        n, c, i, j = self.step.out_index
        for number, (_, where) in enumerate(self.columns[:-1]):
            grid = self.query_one(f"MatrixGrid.map{number}", MatrixGrid)
            grid.show(self.array(where)[n, c], current=(i, j))
        filled = written_up_to(self.stage.output.shape, local_index)
        target = self.query_one("MatrixGrid.output", MatrixGrid)
        target.show(self.stage.output[n, c], filled=filled[n, c], current=(i, j))
        self.keep_in_view(target, (i,), (j,))
        where = ", ".join(
            ([f"image {n}"] if self.stage.output.shape[0] > 1 else [])
            + ([f"channel {c}"] if self.stage.output.shape[1] > 1 else [])
        )
        for number, (title, _) in enumerate(self.columns):
            self.set_title(number, f"{title}, {where}" if where else title)


class ReluGradPanel(MapGradPanel):
    columns = (("input x", "params:x"), ("dY", "input"), ("dX", "output"))

    def compose_notes(self) -> ComposeResult:
        yield Static(
            "ReLU backwards: dx = dy where the input was positive, 0 where it was negative or exactly 0",
            classes="params",
            markup=False,
        )


class LossPanel(MapGradPanel):
    """Cross-entropy: the logits, their softmax and dlogits = (softmax − one-hot)/N."""

    columns = (("logits", "input"), ("softmax", "params:softmax"), ("dlogits", "output"))

    def compose_notes(self) -> ComposeResult:
        p = self.stage.params
        labels = ", ".join(f"image {n}: class {label}" for n, label in enumerate(p["labels"]))
        yield Static(
            f"cross-entropy loss = mean of −log softmax[label] = {fmt(p['loss'])}   labels: {labels}\n"
            "each image's outputs (C·H·W, row-major) are its class scores; dlogit = (softmax − one-hot)/N",
            classes="params",
            markup=False,
        )

    def show(self, local_index: int) -> None:
        super().show(local_index)
        assert isinstance(self.step, LossGradStep)


class BatchNormGradPanel(MapGradPanel):
    """dX of batch norm: x̂, dY, dX of the current image and channel; the element's three terms below."""

    columns = (("x̂", "params:x_hat"), ("dY", "input"), ("dX", "output"))

    def compose_notes(self) -> ComposeResult:
        if self.stage.params["training"]:
            formula = (
                "training: μ and σ² depend on every element, so dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))"
                "   with mean(dy) = dβ/m, mean(dy·x̂) = dγ/m, m = N·H·W"
            )
        else:
            formula = "eval: μ and σ² are the stored running statistics (constants), so dx = γ/σ · dy"
        yield Static(formula, classes="formula", markup=False)
        yield Static("", classes="formula terms", markup=False)

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, BatchNormGradStep)
        if step.training:
            terms = (
                f"the three terms: dy = {fmt(step.upstream)}   mean(dy) = {fmt(step.mean_dy)}   "
                f"x̂·mean(dy·x̂) = {fmt(step.x_hat)}·{fmt(step.mean_dy_xhat)} = {fmt(step.x_hat * step.mean_dy_xhat)}"
                f"   γ/σ = {fmt(step.scale)}"
            )
        else:
            terms = f"dy = {fmt(step.upstream)}   γ/σ = {fmt(step.scale)}"
        self.query_one(".terms", Static).update(terms)


class SgdPanel(BackwardPanel):
    """One SGD step of one parameter: the old values, the gradient, the new values filling in."""

    def compose_grids(self) -> ComposeResult:
        for title, role in (("old value w", "old"), ("gradient g", "grad"), ("new value", "output")):
            yield column(title, [MatrixGrid(indices=True, classes=role)])

    def compose_notes(self) -> ComposeResult:
        p = self.stage.params
        rule = "w ← w − lr·g"
        if p["weight_decay"]:
            rule = "w ← w − lr·(g + weight_decay·w)"
        if p["momentum"]:
            rule += "   (momentum's buffer v starts as that step on the first update, so v = g + weight_decay·w)"
        yield Static(
            f"optimizer.step() for {p['parameter']}: {rule}   lr {fmt(p['lr'])}   momentum {fmt(p['momentum'])}"
            f"   weight decay {fmt(p['weight_decay'])}",
            classes="params",
            markup=False,
        )

    def show(self, local_index: int) -> None:
        super().show(local_index)
        index = self.step.out_index
        old, cell, prefix = as_grid(self.stage.input, index)
        grad, _, _ = as_grid(self.stage.params["grad"], index)
        new, _, _ = as_grid(self.stage.output, index)
        filled, _, _ = as_grid(written_up_to(self.stage.output.shape, local_index), index)
        self.query_one("MatrixGrid.old", MatrixGrid).show(old, current=cell)
        self.query_one("MatrixGrid.grad", MatrixGrid).show(grad, current=cell)
        target = self.query_one("MatrixGrid.output", MatrixGrid)
        target.show(new, filled=filled, current=cell)
        self.keep_in_view(target, (cell[0],), (cell[1],))
        if prefix:
            where = f", filter {prefix[0]} channel {prefix[1]}"
            for number, title in enumerate(("old value w", "gradient g", "new value")):
                self.set_title(number, title + where)


#: The panel of each backward op (registered in tui/screens/stepper.py's PANELS).
BACKWARD_PANELS: dict[str, type[StagePanel]] = {
    "cross_entropy": LossPanel,
    "conv_dweight": WeightGradPanel,
    "conv_dbias": SumPanel,
    "conv_dinput": InputGradPanel,
    "pool_dinput": PoolGradPanel,
    "relu_dinput": ReluGradPanel,
    "batchnorm_dweight": SumPanel,
    "batchnorm_dbias": SumPanel,
    "batchnorm_dinput": BatchNormGradPanel,
    "sgd": SgdPanel,
}
