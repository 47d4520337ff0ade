"""NetworkScreen: the lecture's whole ConvNet on one batch — layers, pictures, batch-norm statistics.

Left, the layer table; right, what the selected layer computed on the view's
batch: the input images in colour, every channel's feature map as a heat-map
thumbnail, a channel enlarged with a cell cursor, or the batch-norm statistics.
From a conv, pooling or batch-norm cell, `s` opens the stepper on exactly that
computation (engine.network.bridge). `r` trains the network live.

The screen holds the Network, the batch and its activations (a training-mode
forward whose running-statistics update is undone, so looking changes nothing).
Widgets get pictures and numbers; they never compute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Static

from engine.errors import CnnError
from engine.network import load
from engine.network.bridge import Bridge, bridge, weight_gradient
from engine.network.inspect import ChannelStats, batchnorm_stats, look, view_batch
from engine.network.loss import softmax
from engine.network.model import BatchNorm, Conv, Layer, LayerError, Linear, Network, Pool
from engine.numbers import fmt
from engine.receptive import Window, cell_field, fields, layer_window
from engine.shapes import output_size_formula
from tui.screens.bridge import BridgeScreen
from tui.screens.lecture import caption_for, description_of
from tui.screens.training import TrainingConfig, TrainingScreen
from tui.widgets.caption import Caption
from tui.widgets.heatmap import Scale, Thumbnails, Tile, ZoomMap, image_rgb, scale_text
from tui.widgets.layer_table import LayerTable, dims
from tui.widgets.matrix import MatrixGrid
from tui.widgets.scores import ClassScores

#: The smallest terminal height at which the enlarged map also draws the cell's receptive field on
#: the input image (below it only the line naming the field is shown).
RECEPTIVE_PICTURE_HEIGHT = 36
#: The neighbourhood of the cursor drawn as numbers beside an enlarged map.
NEIGHBOURHOOD = 2


class StatsTable(DataTable, can_focus=False):
    """The batch-norm statistics, one row per channel (the screen's keys move its cursor)."""


class NetworkScreen(Screen):
    """The network's layer table and what every layer computed on a batch."""

    BINDINGS = [
        Binding("up,k", "up", "Layer", key_display="↑↓", tooltip="Previous layer (enlarged map: cell up)"),
        Binding("down,j", "down", "Next layer", show=False, tooltip="Next layer (enlarged map: cell down)"),
        Binding(
            "left,h",
            "left",
            "Channel",
            key_display="←→",
            tooltip="Previous channel (input: image; enlarged map: cell left)",
        ),
        Binding(
            "right,l",
            "right",
            "Channel",
            key_display="→",
            show=False,
            tooltip="Next channel (input: image; enlarged map: cell right)",
        ),
        Binding(
            "pageup",
            "previous_page",
            "Previous page",
            show=False,
            tooltip="Previous page of thumbnails (enlarged map: previous channel)",
        ),
        Binding(
            "pagedown",
            "next_page",
            "Next page",
            show=False,
            tooltip="Next page of thumbnails (enlarged map: next channel)",
        ),
        Binding(
            "left_square_bracket", "previous_image", "Image", key_display="[ ]", tooltip="Previous image of the batch"
        ),
        Binding(
            "right_square_bracket",
            "next_image",
            "Next image",
            key_display="]",
            show=False,
            tooltip="Next image of the batch",
        ),
        Binding("enter,z", "zoom", "Enlarge", key_display="⏎", tooltip="Enlarge the channel / back to thumbnails"),
        Binding("s", "step", "Step through", tooltip="Open the stepper on the chosen cell's computation"),
        Binding(
            "d",
            "gradient",
            "dW",
            tooltip="Step through the chosen conv filter's weight gradient after one training batch",
        ),
        Binding("b", "statistics", "BN stats", tooltip="Batch-norm statistics of every channel (bn layers)"),
        Binding("v", "toggle_table", "Table", show=False, tooltip="Hide / show the layer table"),
        Binding("r", "train", "Train", tooltip="Train the network live (loss, accuracy, feature maps)"),
        Binding("escape", "back", "Back", show=False, tooltip="Back to thumbnails, or to the previous view"),
    ]

    layer: var[int] = var(0, init=False)
    """Row of the layer table shown: 0 is the input, k the k-th layer."""
    image: var[int] = var(0, init=False)
    """Image of the batch."""
    channel: var[int] = var(0, init=False)
    """Channel (feature map) of the layer."""
    mode: var[str] = var("thumbnails", init=False)
    """What the picture area shows: thumbnails, zoom, stats (batch norm) or error."""

    def __init__(
        self,
        network: Network | None,
        *,
        error: LayerError | None = None,
        input_shape: tuple[int, ...] = (),
        path: Path | None = None,
    ) -> None:
        super().__init__()
        self.network = network
        self.error = error
        self.path = path
        self.input_shape = network.input_shape if network is not None else tuple(input_shape)
        self.cursor = (0, 0)
        self._table_compact = False
        self.training_config = TrainingConfig()
        """What `r` trains on (tests make it small)."""
        self.x = np.zeros((0,) + self.input_shape, np.float32)
        self.labels = np.zeros(0, np.int64)
        self.logits = np.zeros((0, 0), np.float32)
        self.acts: dict[str, np.ndarray] = {}
        if network is not None:
            self.x, self.labels = view_batch(network)
            self.run_batch()

    # ------------------------------------------------------------ the batch path

    def run_batch(self) -> None:
        """Forward the view's batch in training mode (batch statistics), keeping the running ones."""
        assert self.network is not None
        self.logits, self.acts = look(self.network, self.x)

    @property
    def layers(self) -> list[Layer]:
        return self.network.layers if self.network is not None else []

    @property
    def current(self) -> Layer | None:
        """The selected layer (None: the input, or no network)."""
        if 1 <= self.layer <= len(self.layers):
            return self.layers[self.layer - 1]
        return None

    def output_of(self, row: int) -> np.ndarray:
        """The batch's activation after table row `row` (0: the input images)."""
        return self.x if row == 0 else self.acts[self.layers[row - 1].name]

    @property
    def maps(self) -> np.ndarray:
        return self.output_of(self.layer)

    @property
    def channels(self) -> int:
        maps = self.maps
        return maps.shape[1] if maps.ndim == 4 and self.layer > 0 else 1

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        title = self.network.title if self.network is not None else "a network that cannot be built"
        source = self.path.name if self.path is not None else ""
        yield Static(f"{title}  [{source}]", id="title", markup=False)
        yield Caption(description_of(self.path) if self.path is not None else "", id="caption")
        with Horizontal(id="network-body"):
            yield LayerTable(id="layers")
            with Vertical(id="pictures"):
                yield Static(id="picture-title", markup=False)
                yield Static(id="scale", markup=False)
                with ContentSwitcher(initial="thumbnails", id="picture-area"):
                    yield Thumbnails(id="thumbnails")
                    with Horizontal(id="zoom"):
                        with ScrollableContainer(id="zoom-scroll", can_focus=False):
                            yield ZoomMap(id="zoom-map")
                        with Vertical(id="zoom-side"):
                            yield MatrixGrid("around the cursor", id="neighbourhood")
                            yield Static(id="zoom-info", markup=False)
                            yield ZoomMap(id="receptive-input")
                    yield StatsTable(id="stats", cursor_type="row", zebra_stripes=True)
                    yield ClassScores(id="scores")
                    with ScrollableContainer(id="error", can_focus=False):
                        yield Static(id="error-text", markup=False)
                yield Static(id="layer-info", markup=False)
        yield Footer()

    DEFAULT_CSS = """
    NetworkScreen { layout: vertical; }
    #network-body { height: 1fr; }
    #layers { width: auto; max-width: 55%; border-right: solid $foreground 40%; }
    #pictures { width: 1fr; padding: 0 0 0 1; }
    #picture-title { height: 1; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis; }
    #scale { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    #picture-area { height: 1fr; }
    #zoom { height: 1fr; }
    #zoom-scroll { width: auto; max-width: 70%; height: 1fr; }
    #zoom-side { width: 1fr; padding: 0 1; }
    #zoom-info { height: auto; }
    #stats { height: 1fr; }
    #error-text { height: auto; padding: 0 1; }
    #layer-info { height: auto; max-height: 5; border-top: solid $foreground 40%; }
    NetworkScreen.no-table #layers, NetworkScreen.zoom-compact #layers { display: none; }
    """

    def on_mount(self) -> None:
        self.query_one(Caption).show(caption_for(self))  # lecture mode (tui.screens.lecture)
        self._fill_table()
        if self.error is not None:
            self.layer = self.error.layer + 1
            self.mode = "error"
        else:
            self._show()

    def _fill_table(self) -> None:
        table = self.query_one(LayerTable)
        self._table_compact = self.compact
        if self.error is not None:
            error = self.error
            later = [(name, str(t.get("type", "?"))) for name, t in zip(error.names, error.spec)][error.layer :]
            table.show(self.input_shape, error.rows, compact=self.compact, failing=error.layer, later=later)
        else:
            table.show(self.input_shape, self.network.summary(), compact=self.compact, fields=self.receptive_fields())

    # ------------------------------------------------------------ receptive fields (lecture mode)

    def receptive_fields(self) -> list[str]:
        """Each layer's receptive field on the input, '8×8 /2' (size /jump) or 'whole image'."""
        return [field.text() for field in fields([layer_window(layer) for layer in self.layers])]

    def show_receptive_field(self, i: int, j: int) -> str:
        """Draw cell (i, j)'s receptive field on the input image beside the enlarged map (outside it
        the image is dimmed) and return the line that says where it is ('' for the input itself)."""
        picture = self.query_one("#receptive-input", ZoomMap)
        windows = [w for w in (layer_window(layer) for layer in self.layers[: self.layer]) if isinstance(w, Window)]
        if self.layer == 0 or self.maps.ndim != 4:
            picture.display = False
            return ""
        rows, cols = cell_field((i, j), windows, self.input_shape[1:])
        # the picture takes half a row per pixel: on a short terminal the line alone says where
        picture.display = self.app.size.height >= RECEPTIVE_PICTURE_HEIGHT
        rgb = image_rgb(self.x[self.image]).copy()
        inside = np.zeros(rgb.shape[:2], bool)
        inside[np.ix_(rows, cols)] = True
        rgb[~inside] = rgb[~inside] // 4
        picture.show(rgb, (rows[len(rows) // 2], cols[len(cols) // 2]), big=False)
        return (
            f"receptive field on the input: rows {rows[0]}–{rows[-1]}, cols {cols[0]}–{cols[-1]} "
            f"({len(rows)}×{len(cols)}; outside it dimmed)"
        )

    @property
    def compact(self) -> bool:
        return self.app.size.width < 130

    @property
    def thumbnail_side(self) -> int:
        width, height = self.app.size
        return 24 if width >= 150 and height >= 45 else 16

    def on_resize(self) -> None:
        if self.is_mounted:
            if self.compact != self._table_compact:
                self._fill_table()
            self.call_after_refresh(self._show)

    @on(LayerTable.Picked)
    def _row_picked(self, event: LayerTable.Picked) -> None:
        self.layer = event.row
        table = self.query_one(LayerTable)
        if table.cursor_row != self.layer:  # the total row, or rows after a layer that cannot be built
            table.move_cursor(row=self.layer)

    # ------------------------------------------------------------ state -> widgets

    def validate_layer(self, layer: int) -> int:
        last = self.error.layer + 1 if self.error is not None else len(self.layers)
        return max(0, min(layer, last))

    def watch_layer(self) -> None:
        table = self.query_one(LayerTable)
        if table.cursor_row != self.layer:
            table.move_cursor(row=self.layer)
        if self.error is not None:
            self.mode = "error"
            self._show()
            return
        self.channel = min(self.channel, self.channels - 1)
        maps = self.maps
        if maps.ndim == 4:
            h, w = maps.shape[2:]
            self.cursor = (min(self.cursor[0], h - 1), min(self.cursor[1], w - 1))
        if self.mode == "stats" and not isinstance(self.current, BatchNorm):
            self.mode = "thumbnails"
        if self.mode == "zoom" and maps.ndim != 4:
            self.mode = "thumbnails"
        self._show()

    def watch_image(self) -> None:
        self._show()

    def watch_channel(self) -> None:
        if self.mode == "thumbnails" and self.layer > 0:
            self.query_one(Thumbnails).select(self.channel)
            self._show_titles()
            self.query_one("#layer-info", Static).update(self.layer_info())
        else:
            self._show()

    def watch_mode(self) -> None:
        self.query_one("#picture-area", ContentSwitcher).current = self.mode
        # On a narrow terminal the enlarged map needs the table's room.
        self.set_class(self.mode in ("zoom", "stats") and self.compact, "zoom-compact")
        self._show()
        if self.mode == "zoom":
            self.call_after_refresh(self._show)  # again once the area has its new size

    def _show(self) -> None:
        if not self.is_mounted:
            return
        if self.error is not None:
            self._show_error()
            return
        self._show_titles()
        if self.mode == "thumbnails":
            self._show_thumbnails()
        elif self.mode == "zoom":
            self._show_zoom()
        elif self.mode == "stats":
            self._show_stats()
        self.query_one("#layer-info", Static).update(self.layer_info())

    def _scale(self) -> Scale:
        maps = self.maps
        return Scale.for_values(maps[self.image])

    def _show_titles(self) -> None:
        layer, n = self.current, self.image
        label = self.class_name(int(self.labels[n])) if len(self.labels) else ""
        what = f"image {n} ({label}) of {len(self.x)}"
        if layer is None:
            title = f"input · {what} · colour, two pixels per character"
            scale = Text("pixels as (p − 0.5)/0.25, drawn back as colours")
        else:
            maps = self.maps
            if maps.ndim == 4:
                title = f"{layer.name} · {what} · channel {self.channel} of {maps.shape[1]}"
            else:
                title = f"{layer.name} · {maps.shape[1]} features per image · every image of the batch"
            scale = scale_text(self._scale())
            scale.append("  shared by all channels of this image" if maps.ndim == 4 else "  shared by the batch")
        self.query_one("#picture-title", Static).update(title)
        self.query_one("#scale", Static).update(scale)

    def class_name(self, label: int) -> str:
        classes = self.network.classes if self.network is not None else []
        return classes[label] if 0 <= label < len(classes) else str(label)

    def tiles(self) -> tuple[list[Tile], int, str]:
        """(tiles, selected, what they are) for the current layer."""
        maps = self.maps
        if self.layer == 0:
            return (
                [
                    Tile(image_rgb(image), f"{n} {self.class_name(int(label))}")
                    for n, (image, label) in enumerate(zip(self.x, self.labels))
                ],
                self.image,
                "image",
            )
        if maps.ndim == 4:
            scale = self._scale()
            return [Tile(scale.rgb(m), str(c)) for c, m in enumerate(maps[self.image])], self.channel, "channel"
        # A flat vector per image: each image's features as one square-ish heat tile.
        features = maps.shape[1]
        side = int(np.ceil(np.sqrt(features)))
        scale = Scale.for_values(maps)
        padded = np.full((len(maps), side * side), np.nan)
        padded[:, :features] = maps
        tiles = []
        for n, row in enumerate(padded):
            rgb = scale.rgb(np.nan_to_num(row, nan=scale.low)).reshape(side, side, 3)
            tiles.append(Tile(rgb, f"{n} {self.class_name(int(self.labels[n]))}"))
        return tiles, self.image, "image"

    def show_scores(self) -> bool:
        """The last layer's class scores as labelled softmax bars instead of a heat tile; False when the
        layer is not the network's class scores (the thumbnails show then)."""
        area = self.query_one("#picture-area", ContentSwitcher)
        classes = self.network.classes if self.network is not None else []
        maps = self.maps
        if not (self.layer == len(self.layers) and maps.ndim == 2 and maps.shape[1] == len(classes) > 0):
            if area.current == "scores":
                area.current = "thumbnails"
            return False
        n = self.image
        label = int(self.labels[n]) if len(self.labels) else -1
        name = self.current.name if self.current is not None else ""
        self.query_one("#picture-title", Static).update(
            f"{name} · class scores of image {n} ({self.class_name(label)})"
        )
        self.query_one("#scale", Static).update("softmax probabilities: each bar from 0 to 1, all sum to 1")
        self.query_one(ClassScores).show(classes, softmax(maps[n]), label)
        area.current = "scores"
        return True

    def _show_thumbnails(self) -> None:
        if self.show_scores():
            return
        tiles, selected, what = self.tiles()
        self.query_one(Thumbnails).show(tiles, selected, side=self.thumbnail_side, what=what)

    def _show_zoom(self) -> None:
        maps = self.maps
        if self.layer == 0:
            picture = image_rgb(maps[self.image])
            values = maps[self.image].mean(axis=0)
        else:
            values = maps[self.image, self.channel]
            picture = self._scale().rgb(values)
        i, j = self.cursor
        area = self.query_one("#zoom-scroll")
        # Two columns a value when that fits the room the map may take (70% of the picture area).
        room = self.query_one("#picture-area").size
        fits = picture.shape[1] * 2 <= room.width * 0.7 and picture.shape[0] <= room.height
        zoom = self.query_one(ZoomMap)
        zoom.show(picture, (i, j), big=fits)
        r = self.neighbourhood_radius(values, i, j)
        rows = slice(max(i - r, 0), i + r + 1)
        cols = slice(max(j - r, 0), j + r + 1)
        grid = self.query_one("#neighbourhood", MatrixGrid)
        grid.border_title = (
            f"rows {rows.start}–{min(rows.stop, values.shape[0]) - 1}, "
            f"cols {cols.start}–{min(cols.stop, values.shape[1]) - 1}"
        )
        grid.show(values[rows, cols], current=(i - rows.start, j - cols.start))
        where = "mean of the 3 colour channels" if self.layer == 0 else f"channel {self.channel}"
        info = f"cell ({i}, {j}) of {where}: {fmt(values[i, j])}"
        if field := self.show_receptive_field(i, j):
            info += "\n" + field
        if isinstance(self.current, (Conv, Pool, BatchNorm)):
            info += "\ns: step through this computation"
        self.query_one("#zoom-info", Static).update(info)

        def keep() -> None:
            if not zoom.is_attached:  # the screen was closed or replaced meanwhile
                return
            region = zoom.content_region
            scale_x = 2 if fits else 1
            top = i if fits else i // 2
            area.scroll_to_region(
                region.__class__(j * scale_x, top, scale_x, 1).grow((2, 4, 2, 4)), animate=False, immediate=True
            )

        self.call_after_refresh(keep)

    def neighbourhood_radius(self, values: np.ndarray, i: int, j: int) -> int:
        """NEIGHBOURHOOD, or less when that many columns of these numbers would not fit beside the
        map (a grid is shown whole or not at all: a 3×3 beats a 5×5 cut at its 5th column)."""
        room = self.query_one("#zoom-side").content_region.width
        for r in range(NEIGHBOURHOOD, 0, -1):
            window = values[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1]
            width = max(len(fmt(v)) for v in window.flat) + 2  # a space either side
            if not room or window.shape[1] * width + 2 <= room:  # + the border
                return r
        return 0

    def _show_stats(self) -> None:
        layer = self.current
        assert isinstance(layer, BatchNorm)
        table = self.query_one("#stats", StatsTable)
        table.clear(columns=True)
        for column in ("ch", "batch μ", "batch σ²", "out mean", "out std", "running μ", "running σ²", "γ", "β"):
            table.add_column(column, key=column)
        for c, s in enumerate(self.stats()):
            table.add_row(
                *[
                    Text(t, justify="right")
                    for t in (
                        str(c),
                        fmt(s.batch_mean),
                        fmt(s.batch_var),
                        fmt(s.out_mean),
                        fmt(s.out_std),
                        fmt(s.running_mean),
                        fmt(s.running_var),
                        fmt(s.gamma),
                        fmt(s.beta),
                    )
                ]
            )
        table.move_cursor(row=self.channel)

    def stats(self) -> list[ChannelStats]:
        layer = self.current
        assert isinstance(layer, BatchNorm)
        return batchnorm_stats(self.network, layer, self.output_of(self.layer - 1), self.maps)

    def _show_error(self) -> None:
        error = self.error
        assert error is not None
        self.query_one("#picture-area", ContentSwitcher).current = "error"
        name = error.name
        self.query_one("#picture-title", Static).update(f'✗ layer {error.layer + 1} "{name}" cannot be built')
        self.query_one("#scale", Static).update("")
        lines = [
            "Why:",
            f"  {error.reason}",
            "",
            "How the shapes flow, layer by layer (per image):",
            f"  input      {dims(self.input_shape)}",
        ]
        for row in error.rows:
            lines.append(f"  {row.name:<10} {dims(row.output_shape)}")
        lines += [f"  {name:<10} ✗", ""]
        lines.append(
            "The batch path cannot run this network. Fix the file (or leave the number out "
            "and let the shapes be inferred); w opens the lecture's corrected network."
        )
        self.query_one("#error-text", Static).update("\n".join(lines))
        self.query_one("#layer-info", Static).update(
            f'{self.path.name if self.path else ""}: layer {error.layer + 1} "{name}" does not fit (see above)'
        )

    def layer_info(self) -> str:
        """One or two lines on the selected layer: what it computes, with the numbers filled in."""
        layer = self.current
        if layer is None:
            return (
                f"input: a batch of {len(self.x)} synthetic {dims(self.input_shape)} images "
                "(training-mode forward; the view does not change the running statistics)"
            )
        shape_in, shape_out = dims(layer.in_shape), dims(layer.out_shape)
        head = f"{layer.name} ({layer.kind}): {shape_in} → {shape_out}"
        if isinstance(layer, (Conv, Pool)):
            dilation = getattr(layer, "dilation", (1, 1))
            formula = output_size_formula(
                layer.in_shape[1], layer.kernel[0], layer.stride[0], layer.padding[0], dilation[0]
            )
            kind = (
                f"{layer.out_channels} filters {layer.in_shape[0]}×{layer.kernel[0]}×{layer.kernel[1]}"
                if isinstance(layer, Conv)
                else f"{layer.kernel[0]}x{layer.kernel[1]} windows"
            )
            return f"{head}; {kind}, stride {layer.stride[0]}, padding {layer.padding[0]}; H_out = {formula}"
        if isinstance(layer, BatchNorm):
            if self.maps.ndim != 4:
                return head
            s = self.stats()[self.channel]
            return (
                f"{head}; channel {self.channel}: batch μ = {fmt(s.batch_mean)}, σ² = {fmt(s.batch_var)} → "
                f"mean {fmt(s.out_mean)}, std {fmt(s.out_std)}; γ = {fmt(s.gamma)}, β = {fmt(s.beta)} "
                "(b: every channel)"
            )
        if isinstance(layer, Linear):
            text = f"{head}; y = W·x + b with W {layer.out_features}×{layer.in_features}"
            if layer is self.layers[-1] and len(self.logits):
                p = softmax(self.logits[self.image])
                best = int(p.argmax())
                text += (
                    f"; image {self.image}: predicts {self.class_name(best)} (p = {fmt(p[best])}), "
                    f"label {self.class_name(int(self.labels[self.image]))}"
                )
            return text
        if layer.kind == "relu":
            return f"{head}; max(0, x) element by element"
        return head

    # ------------------------------------------------------------ actions

    #: What a network that cannot be built has nothing for (its footer leaves them out).
    NEEDS_MAPS = frozenset(("left", "right", "previous_page", "next_page", "previous_image", "next_image", "zoom"))
    #: Keys that need a network that was built: a layer's maps, its numbers, training.
    NEEDS_NETWORK = NEEDS_MAPS | {"statistics", "step", "gradient", "train"}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.error is not None and action in self.NEEDS_NETWORK:
            return False
        return True

    def _move_cursor(self, di: int, dj: int) -> None:
        h, w = self.maps.shape[2:]
        i, j = self.cursor
        self.cursor = (max(0, min(i + di, h - 1)), max(0, min(j + dj, w - 1)))
        self._show_zoom()

    def action_up(self) -> None:
        if self.mode == "zoom":
            self._move_cursor(-1, 0)
        else:
            self.layer -= 1

    def action_down(self) -> None:
        if self.mode == "zoom":
            self._move_cursor(1, 0)
        else:
            self.layer += 1

    def _step_channel(self, delta: int) -> None:
        if self.error is not None:  # no layer past the failing one has maps
            return
        if self.layer == 0 or self.maps.ndim != 4:
            self._step_image(delta)
        else:
            self.channel = max(0, min(self.channel + delta, self.channels - 1))

    def _step_image(self, delta: int) -> None:
        if self.error is not None:
            return
        self.image = max(0, min(self.image + delta, len(self.x) - 1))

    def action_left(self) -> None:
        if self.mode == "zoom":
            self._move_cursor(0, -1)
        else:
            self._step_channel(-1)

    def action_right(self) -> None:
        if self.mode == "zoom":
            self._move_cursor(0, 1)
        else:
            self._step_channel(1)

    def action_previous_page(self) -> None:
        if self.mode == "zoom":
            self._step_channel(-1)
        else:
            self._step_channel(-self.query_one(Thumbnails).per_page)

    def action_next_page(self) -> None:
        if self.mode == "zoom":
            self._step_channel(1)
        else:
            self._step_channel(self.query_one(Thumbnails).per_page)

    def action_previous_image(self) -> None:
        self._step_image(-1)

    def action_next_image(self) -> None:
        self._step_image(1)

    def action_zoom(self) -> None:
        if self.error is not None:
            return
        if self.mode == "zoom":
            self.mode = "thumbnails"
        elif self.maps.ndim == 4:
            if self.cursor == (0, 0):
                h, w = self.maps.shape[2:]
                self.cursor = (h // 2, w // 2)
            self.mode = "zoom"
        else:
            self.notify("flat features have no map to enlarge", timeout=3)

    def action_statistics(self) -> None:
        if self.error is not None:
            return
        if self.mode == "stats":
            self.mode = "thumbnails"
        elif isinstance(self.current, BatchNorm) and self.maps.ndim == 4:
            self.mode = "stats"
        else:
            self.notify("b shows batch-norm statistics: choose a batch-norm layer (bn1, bn2)", timeout=4)

    def action_toggle_table(self) -> None:
        self.toggle_class("no-table")
        self.call_after_refresh(self._show)

    def action_back(self) -> None:
        if self.mode in ("zoom", "stats"):
            self.mode = "thumbnails"
        elif len(self.app.screen_stack) > 2:
            self.dismiss()

    def bridge(self) -> Bridge:
        """The teaching-path sample for the chosen cell (CnnError when the layer has none)."""
        layer = self.current
        if layer is None:
            raise CnnError("the input has nothing to compute: choose a conv, pooling or batch-norm layer")
        maps = self.maps
        if maps.ndim != 4:
            raise CnnError(
                f"{layer.name} ({layer.kind}) has no step-by-step view: choose a conv, pooling or batch-norm layer"
            )
        i, j = self.cursor if self.mode == "zoom" else (maps.shape[2] // 2, maps.shape[3] // 2)
        return bridge(layer, self.output_of(self.layer - 1), self.network.state, maps, self.image, self.channel, i, j)

    def action_step(self) -> None:
        if self.error is not None:
            self.notify("this network cannot be built, so it has no numbers to step through", severity="warning")
            return
        try:
            link = self.bridge()
        except CnnError as error:
            self.notify(str(error), title="Nothing to step through here", severity="warning", timeout=6)
            return
        self.app.push_screen(BridgeScreen(link))

    def action_gradient(self) -> None:
        """The backward counterpart of `s`: dW of the chosen filter (input channel 0) after one training batch."""
        layer = self.current
        if self.network is None or not isinstance(layer, Conv):
            self.notify("choose a conv layer (conv1, conv2): d steps its weight gradient", severity="warning")
            return
        try:
            link = weight_gradient(self.network, self.x, self.labels, layer, self.channel, 0)
        except CnnError as error:
            self.notify(str(error), title="Nothing to step through here", severity="warning", timeout=6)
            return
        self.app.push_screen(BridgeScreen(link))

    def action_train(self) -> None:
        if self.error is not None or self.network is None:
            self.notify("this network cannot be built, so it cannot be trained", severity="warning")
            return

        def trained(_: object) -> None:
            self.run_batch()
            self._show()

        self.app.push_screen(TrainingScreen(self.network, self.x, self.training_config), trained)


def open_network(path: Path, data: str = "synthetic") -> NetworkScreen:
    """The network view of a network sample; a layer that does not fit opens it with that layer
    marked and the arithmetic explained. Other mistakes in the file raise CnnError."""
    try:
        screen = NetworkScreen(load(path), path=Path(path))
        screen.training_config.data = data
        return screen
    except LayerError as error:
        return NetworkScreen(None, error=error, input_shape=error.input_shape, path=Path(path))
