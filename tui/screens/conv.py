"""The convolution view: input channels with the window, the kernel, the products, the feature maps."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from engine.numbers import fmt
from engine.trace import ConvStep
from tui.screens.panel import EditPlace, StagePanel, column, pair_text, written_up_to
from tui.widgets.matrix import MatrixGrid


class ConvPanel(StagePanel):
    """Each input channel under the kernel window, kernel and products per channel, one map per filter."""

    def compose_grids(self) -> ComposeResult:
        batch, channels = self.stage.input.shape[:2]
        filters = self.stage.output.shape[1]
        one = channels == 1

        def grids(role: str) -> list[MatrixGrid]:
            return [
                MatrixGrid("" if one else f"ch {c}", indices=role == "input", classes=role) for c in range(channels)
            ]

        yield column("input" if batch == 1 else "input image 0", grids("input"), "inputs")
        yield column("kernel" if filters == 1 else "kernel 0", grids("kernel"), "kernels")
        if self.stage.params["bias"] is not None:
            yield column("bias", [MatrixGrid(classes="bias")], "edit-only")
        yield column("products", grids("products"), "products")
        yield column(
            "feature map" if filters == 1 else "feature maps",
            [MatrixGrid("" if filters == 1 else f"map {o}", indices=True, classes="output") for o in range(filters)],
            "outputs",
        )

    def compose_notes(self) -> ComposeResult:
        params = self.stage.params
        pairs = [f"{key} {pair_text(params[key])}" for key in ("stride", "padding", "dilation")]
        kernel = params["kernel"]
        pairs.insert(0, f"{kernel.shape[0]} filter(s) {kernel.shape[1]}×{kernel.shape[2]}×{kernel.shape[3]}")
        if params["bias"] is not None:
            pairs.append("bias " + ", ".join(fmt(b) for b in params["bias"]))
        yield Static("   ".join(pairs), classes="params", markup=False)

    def show(self, local_index: int) -> None:
        super().show(local_index)
        step = self.step
        assert isinstance(step, ConvStep)
        n, o, i, j = step.out_index
        padding = self.stage.params["padding"]
        window = (step.rows, step.cols)
        x = self.stage.input[n]
        inputs = list(self.query("MatrixGrid.input").results(MatrixGrid))
        for c, grid in enumerate(inputs):
            grid.show(x[c], padding=padding, window=window)
        self.keep_in_view(inputs[0], step.rows, step.cols)
        for c, grid in enumerate(self.query("MatrixGrid.kernel").results(MatrixGrid)):
            grid.show(step.kernel[c])
        if self.stage.params["bias"] is not None:
            self.query_one("MatrixGrid.bias", MatrixGrid).show(self.stage.params["bias"][None, :])
        for c, grid in enumerate(self.query("MatrixGrid.products").results(MatrixGrid)):
            grid.show(step.products[c])
        filled = written_up_to(self.stage.output.shape, local_index)
        for f, grid in enumerate(self.query("MatrixGrid.output").results(MatrixGrid)):
            grid.show(self.stage.output[n, f], filled=filled[n, f], current=(i, j) if f == o else None)
        batch, filters = self.stage.input.shape[0], self.stage.output.shape[1]
        titles = self.query(".column-title")
        if batch > 1:
            titles[0].update(f"input image {n}")
        if filters > 1:
            titles[1].update(f"kernel {o}")

    def edit_places(self, first: bool) -> list[EditPlace]:
        n, o = self.step.out_index[:2]
        channels = self.stage.input.shape[1]
        filters = self.stage.output.shape[1]
        places = self.input_places(first, n, range(channels))
        kernel = f"{self.stage.name}.kernel"
        for c, grid in enumerate(self.query("MatrixGrid.kernel").results(MatrixGrid)):
            words = ([f"filter {o}"] if filters > 1 else []) + ([f"channel {c}"] if channels > 1 else [])
            places.append(EditPlace(grid, kernel, (o, c), "kernel" + (f" ({', '.join(words)})" if words else "")))
        if self.stage.params["bias"] is not None:
            places.append(
                EditPlace(
                    self.query_one("MatrixGrid.bias", MatrixGrid),
                    f"{self.stage.name}.bias",
                    (),
                    "bias (one per filter)",
                    vector=True,
                )
            )
        return places
