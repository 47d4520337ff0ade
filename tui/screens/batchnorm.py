"""The batch-norm view: the mini-batch of one channel as N small grids, phase by phase."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from engine.numbers import fmt
from engine.trace import BatchNormStep, Step
from tui.screens.panel import EditPlace, StagePanel, column
from tui.widgets.matrix import MatrixGrid

#: The per-channel vectors of a batch-norm stage, with their titles.
VECTORS = {"gamma": "γ", "beta": "β", "running_mean": "running mean", "running_var": "running var"}

#: What each phase computes, in symbols.
PHASE_FORMULAS = {
    "mean": "mean phase: μ = Σx / (N·H·W), summed over every image and position of the channel",
    "var": "variance phase: σ² = Σ(x − μ)² / (N·H·W)   (the biased variance, used to normalize)",
    "normalize": "normalize phase: y = (x − μ)/√(σ² + ε)·γ + β for every element",
    "running": "running statistics: running = (1 − momentum)·running + momentum·batch value",
}


class BatchNormPanel(StagePanel):
    """Input batch (counted elements underlined, the current one reversed) above the output batch
    (each batch's images side by side, or one under the other when they are wider than the screen)."""

    STACKABLE = ".batch"

    DEFAULT_CSS = """
    BatchNormPanel .grid-row { layout: vertical; }
    BatchNormPanel .batch { width: auto; height: auto; }
    BatchNormPanel .batch MatrixGrid { margin: 0 1 0 0; }
    BatchNormPanel .mode { color: $foreground 80%; }
    BatchNormPanel .result { text-style: bold; }
    """

    def compose_grids(self) -> ComposeResult:
        batch = self.stage.input.shape[0]
        yield column(
            f"input x, channel 0, image #0 to #{batch - 1}",
            [Horizontal(*(MatrixGrid(f"#{n}", indices=True, classes="input") for n in range(batch)), classes="batch")],
            "inputs",
        )
        yield column(
            f"output y, channel 0, image #0 to #{batch - 1}",
            [Horizontal(*(MatrixGrid(f"#{n}", indices=True, classes="output") for n in range(batch)), classes="batch")],
            "outputs",
        )

    def compose_below_grids(self) -> ComposeResult:
        # The per-channel vectors as editable one-row grids, shown in edit mode only.
        yield Horizontal(
            *(column(title, [MatrixGrid(classes=f"vector {key}")]) for key, title in VECTORS.items()),
            classes="batch edit-only",
        )
        yield Static(self.mode_text(), classes="mode", markup=False)

    def compose_notes(self) -> ComposeResult:
        yield Static("", classes="stats", markup=False)
        yield Static("", classes="formula", markup=False)
        yield Static("", classes="result", markup=False)

    def mode_text(self) -> str:
        p = self.stage.params
        training = (
            "Training mode (this view): μ and σ² come from this mini-batch, over all N images "
            "and all positions of the channel; afterwards the running statistics move towards "
            f"them with momentum {fmt(p['momentum'])}."
        )
        evaluation = (
            "Eval mode: the stored running_mean and running_var replace μ and σ², so an "
            "image's output no longer depends on the other images in its batch."
        )
        if not p["training"]:
            training, evaluation = (
                evaluation.replace("Eval mode:", "Eval mode (this view):"),
                training.replace("Training mode (this view):", "Training mode:"),
            )
        stats = "; ".join(
            f"channel {c}: running_mean {fmt(m)} → {fmt(m2)}, running_var {fmt(v)} → {fmt(v2)}"
            for c, (m, m2, v, v2) in enumerate(
                zip(p["running_mean"], p["new_running_mean"], p["running_var"], p["new_running_var"])
            )
        )
        return f"{training}\n{evaluation}\nRunning statistics after this batch: {stats}."

    @staticmethod
    def row_key(step: Step) -> Hashable:
        assert isinstance(step, BatchNormStep)
        return step.channel, step.phase

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, BatchNormStep)
        x, y = self.stage.input, self.stage.output
        c = step.channel
        batch, _, height, width = x.shape
        order = np.arange(batch * height * width).reshape(batch, height, width)
        reading = step.phase in ("mean", "var")
        counted = order < step.done if reading else None
        if step.phase == "normalize":
            filled = order < step.done
        else:
            filled = np.full(order.shape, step.phase == "running")
        n, i, j = (step.out_index[0], *step.out_index[2:]) if len(step.out_index) == 4 else (-1, -1, -1)
        for item, grid in enumerate(self.query("MatrixGrid.input").results(MatrixGrid)):
            grid.show(
                x[item, c], counted=None if counted is None else counted[item], current=(i, j) if item == n else None
            )
        for item, grid in enumerate(self.query("MatrixGrid.output").results(MatrixGrid)):
            grid.show(
                y[item, c], filled=filled[item], current=(i, j) if item == n and step.phase == "normalize" else None
            )
        for key in VECTORS:
            self.query_one(f"MatrixGrid.{key}", MatrixGrid).show(self.stage.params[key][None, :])
        titles = self.query(".column-title")
        last = self.stage.input.shape[0] - 1
        titles[0].update(f"input x, channel {c}, image #0 to #{last}")
        titles[1].update(f"output y, channel {c}, image #0 to #{last}")
        self.query_one(".stats", Static).update(self.stats_text(step))
        self.query_one(".formula", Static).update(PHASE_FORMULAS[step.phase])
        result = self.result_text(step)
        self.query_one(".result", Static).update(result)
        self.query_one(".result", Static).display = bool(result)
        if n >= 0:
            grids = self.query("MatrixGrid.output" if step.phase == "normalize" else "MatrixGrid.input")
            self.keep_in_view(grids[n], (i,), (j,))

    def stats_text(self, step: BatchNormStep) -> str:
        p = self.stage.params
        c = step.channel
        unknown = "?"
        return "   ".join(
            [
                f"channel {c}",
                f"μ = {unknown if step.mean is None else fmt(step.mean)}",
                f"σ² = {unknown if step.var is None else fmt(step.var)}",
                f"ε = {fmt(p['eps'])}",
                f"γ = {fmt(p['gamma'][c])}",
                f"β = {fmt(p['beta'][c])}",
            ]
        )

    def result_text(self, step: BatchNormStep) -> str:
        """After the channel is normalized: the output's mean and standard deviation."""
        if not (step.phase == "running" or (step.phase == "normalize" and step.done == step.count)):
            return ""
        c = step.channel
        out = self.stage.output[:, c]
        p = self.stage.params
        # Rounded so that float dust (1e-17) reads as the 0 it is.
        mean, std = round(float(out.mean()), 6), round(float(out.std()), 6)
        return (
            f"output of channel {c}: mean = {fmt(mean)}, standard deviation = {fmt(std)}"
            f"   (≈ β = {fmt(p['beta'][c])} and ≈ |γ| = {fmt(abs(p['gamma'][c]))}: centred, unit spread)"
        )

    def position(self) -> str:
        step = self.step
        assert isinstance(step, BatchNormStep)
        where = f"channel {step.channel}, {step.phase}"
        if step.phase == "running":
            return where
        n, _, i, j = step.out_index
        return f"{where}, element {step.done} of {step.count} (image {n}, ({i}, {j}))"

    def edit_places(self, first: bool) -> list[EditPlace]:
        step = self.step
        assert isinstance(step, BatchNormStep)
        places = []
        if first:
            batch, channels = self.stage.input.shape[:2]
            for n, grid in enumerate(self.query("MatrixGrid.input").results(MatrixGrid)):
                label = f"input (image {n}" + (f", channel {step.channel})" if channels > 1 else ")")
                places.append(EditPlace(grid, "input", (n, step.channel), label))
        for key, title in VECTORS.items():
            places.append(
                EditPlace(
                    self.query_one(f"MatrixGrid.{key}", MatrixGrid),
                    f"{self.stage.name}.{key}",
                    (),
                    f"{title} (one per channel)",
                    vector=True,
                )
            )
        return places
