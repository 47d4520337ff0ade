"""TrainingScreen: train the network live in a worker thread; loss, accuracy and feature maps as they come.

The worker (a `@work(thread=True)`, as in Textualize/toolong) owns the networks
while it runs: it iterates engine.network.train.train(...) and posts small
messages (Started, Progress, Maps, Finished); the UI only draws them, so it
stays responsive. Pause holds the worker between two steps; stop closes the
training generators (every step taken is kept). `c` trains the network with and
without its batch-norm layers from the same seed, one step of each in turn, and
plots the two side by side.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker

from engine.errors import CnnError
from engine.network.data import load_data
from engine.network.model import Conv, Network
from engine.network.train import BatchDone, EpochDone, train
from engine.numbers import fmt
from tui.widgets.heatmap import Scale, Thumbnails, Tile
from tui.widgets.plot import LinePlot

#: Batches over which the plotted loss and accuracy are averaged (one batch is noisy).
SMOOTHING = 10


@dataclass
class TrainingConfig:
    """What a live run trains on. The defaults train the lecture's network in well under a minute."""

    data: str = "synthetic"
    epochs: int = 2
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.0
    train_size: int = 2000
    test_size: int = 500
    seed: int = 0
    refresh_every: int = 10
    """Batches between two refreshes of the feature maps."""


def smoothed(values: list[float], window: int = SMOOTHING) -> np.ndarray:
    """Running mean over the last `window` values (fewer at the start)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return array
    sums = np.cumsum(np.insert(array, 0, 0.0))
    counts = np.minimum(np.arange(1, array.size + 1), window)
    return (sums[1:] - sums[np.arange(1, array.size + 1) - counts]) / counts


@dataclass
class Run:
    """One network's history in this screen."""

    label: str
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    epochs: list[EpochDone] = field(default_factory=list)
    last: BatchDone | None = None


class TrainingScreen(Screen[None]):
    """Live training of the network view's network (or a with/without batch-norm comparison)."""

    BINDINGS = [
        Binding("p", "pause", "Pause", tooltip="Pause or resume training"),
        Binding("s", "stop", "Stop", tooltip="Stop training (keeps every step taken)"),
        Binding("r", "restart", "Train again", tooltip="Train again from the current weights"),
        Binding(
            "c", "compare", "Compare BN", tooltip="Train with and without batch norm from the same seed, side by side"
        ),
        Binding("escape", "back", "Back", tooltip="Stop and go back to the network view"),
    ]

    @dataclass
    class Started(Message):
        total: int
        """Batches the worker will run (over all networks)."""
        images: int

    @dataclass
    class Progress(Message):
        run: int
        record: BatchDone | EpochDone

    @dataclass
    class Maps(Message):
        maps: np.ndarray
        """(C, H, W) feature maps of the first conv layer for the view's first image (eval mode)."""
        batch: int

    @dataclass
    class Finished(Message):
        stopped: bool
        error: str = ""

    def __init__(
        self, network: Network, view_images: np.ndarray, config: TrainingConfig | None = None, *, compare: bool = False
    ) -> None:
        super().__init__()
        self.network = network
        self.view_images = view_images[:1]
        self.config = config or TrainingConfig()
        self.compare = compare
        self.runs: list[Run] = []
        self.state = "idle"
        """idle, running, paused, stopped or done."""
        self.total = 0
        self.batches_done = 0
        self.started_at = 0.0
        self.message_times: list[float] = []
        self._resume = threading.Event()
        self._stop = threading.Event()
        self.held = threading.Event()
        """Set while the worker waits, paused, between two steps."""
        self.worker: Worker | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="train-title", markup=False)
        yield ProgressBar(id="train-progress", show_eta=True)
        yield Static(id="train-status", markup=False)
        yield Horizontal(id="plots")
        yield Static("first conv layer, image 0 (eval mode), refreshed while training", id="maps-title")
        yield Thumbnails(id="train-maps")
        yield Footer()

    DEFAULT_CSS = """
    TrainingScreen { layout: vertical; }
    #train-title { height: auto; text-style: bold; padding: 0 1; background: $panel; }
    #train-progress { height: 1; padding: 0 1; }
    #train-status { height: auto; padding: 0 1; }
    #plots { height: 2fr; min-height: 8; }
    #plots > Vertical { width: 1fr; }
    #plots LinePlot { padding: 0 1; }
    #maps-title { height: 1; padding: 0 1; text-style: bold; }
    #plots LinePlot { min-height: 4; }
    TrainingScreen.compare.short #maps-title, TrainingScreen.compare.short #train-maps { display: none; }
    #train-maps { height: 1fr; min-height: 6; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.start()

    def on_resize(self) -> None:
        self.set_class(self.app.size.height < 40, "short")

    # ------------------------------------------------------------ runs

    def start(self) -> None:
        """Build the plots for this run and start the worker."""
        config = self.config
        if self.compare:
            fresh = Network(
                self.network.input_shape,
                self.network.spec,
                title=self.network.title,
                classes=self.network.classes,
                seed=self.network.seed,
                source=self.network.source,
            )
            networks = [fresh, fresh.without_batchnorm()]
            self.runs = [Run("with batch norm"), Run("without batch norm")]
            what = "fresh copies with and without batch norm (same seed, a step of each in turn)"
        else:
            networks = [self.network]
            self.runs = [Run("loss")]
            what = "the view's network (its weights change)"
        self.query_one("#train-title", Static).update(
            f"Training {what}: {config.data} data, {config.train_size} images × {config.epochs} epoch(s), "
            f"batch {config.batch_size}, lr {fmt(config.lr)}, momentum {fmt(config.momentum)}, seed {config.seed}"
        )
        # Four plots need the room of the feature maps on a small terminal.
        self.set_class(self.compare, "compare")
        plots = self.query_one("#plots", Horizontal)
        plots.remove_children()
        if self.compare:
            plots.mount_all(
                [
                    Vertical(
                        LinePlot(run.label, id=f"loss-{k}"), LinePlot("accuracy", low=0, high=1, id=f"accuracy-{k}")
                    )
                    for k, run in enumerate(self.runs)
                ]
            )
        else:
            plots.mount_all([LinePlot("loss", id="loss-0"), LinePlot("accuracy", low=0, high=1, id="accuracy-0")])
        self.batches_done = 0
        self.message_times = []
        self.started_at = time.perf_counter()
        self._stop.clear()
        self._resume.set()
        self.state = "running"
        self._show_status()
        self.worker = self.train_worker(networks)

    @work(thread=True, exclusive=True, group="training")
    def train_worker(self, networks: list[Network]) -> None:
        """Runs in a thread and owns the networks until it returns."""
        config = self.config
        try:
            train_set, test_set = load_data(
                config.data, tuple(self.network.classes), config.seed, config.train_size, config.test_size
            )
            runs = [
                train(
                    net,
                    train_set,
                    test_set,
                    epochs=config.epochs,
                    batch_size=config.batch_size,
                    lr=config.lr,
                    momentum=config.momentum,
                    seed=config.seed,
                )
                for net in networks
            ]
        except CnnError as error:
            self.post_message(self.Finished(True, str(error)))
            return
        per_epoch = len(train_set) // config.batch_size + (len(train_set) % config.batch_size > 1)
        self.post_message(self.Started(per_epoch * config.epochs * len(networks), len(train_set)))
        conv = next((layer.name for layer in networks[0].layers if isinstance(layer, Conv)), None)
        active = list(range(len(runs)))
        steps = 0
        try:
            while active:
                for k in list(active):
                    while not self._resume.wait(0.05):
                        self.held.set()
                        if self._stop.is_set():
                            break
                    self.held.clear()
                    if self._stop.is_set():
                        return
                    try:
                        record = next(runs[k])
                    except StopIteration:
                        active.remove(k)
                        continue
                    self.post_message(self.Progress(k, record))
                    if k == 0 and isinstance(record, BatchDone):
                        steps += 1
                        if conv is not None and (steps % config.refresh_every == 0 or steps == 1):
                            _, acts = networks[0].forward(self.view_images, training=False, activations=True)
                            self.post_message(self.Maps(acts[conv][0].copy(), steps))
        except CnnError as error:
            self.post_message(self.Finished(True, str(error)))
            return
        finally:
            for run in runs:
                run.close()
            if self._stop.is_set():
                self.post_message(self.Finished(True))
        self.post_message(self.Finished(False))

    # ------------------------------------------------------------ messages from the worker

    def on_training_screen_started(self, message: Started) -> None:
        self.total = message.total
        self.query_one(ProgressBar).update(total=message.total, progress=0)

    def on_training_screen_progress(self, message: Progress) -> None:
        run = self.runs[message.run]
        record = message.record
        if isinstance(record, BatchDone):
            run.losses.append(record.loss)
            run.accuracies.append(record.accuracy)
            run.last = record
            self.batches_done += 1
            self.message_times.append(time.perf_counter())
            self.query_one(ProgressBar).update(progress=self.batches_done)
            self._show_plots()
        else:
            run.epochs.append(record)
        self._show_status()

    def on_training_screen_maps(self, message: Maps) -> None:
        scale = Scale.for_values(message.maps)
        tiles = [Tile(scale.rgb(m), str(c)) for c, m in enumerate(message.maps)]
        self.query_one(Thumbnails).show(tiles, 0, side=12)
        self.query_one("#maps-title", Static).update(
            f"first conv layer, image 0 (eval mode) after step {message.batch}; refreshed every "
            f"{self.config.refresh_every} steps"
        )

    def on_training_screen_finished(self, message: Finished) -> None:
        if message.error:
            self.state = "stopped"
            self.notify(message.error, title="Cannot train", severity="error", timeout=10)
        elif self.state != "stopped":
            self.state = "stopped" if message.stopped else "done"
        self._show_status()

    def _show_plots(self) -> None:
        length = max(self.total // max(len(self.runs), 1), 1)
        losses = [smoothed(run.losses) for run in self.runs]
        high = max((float(v.max()) for v in losses if v.size), default=1.0)
        for k, run in enumerate(self.runs):
            loss_plot = self.query_one(f"#loss-{k}", LinePlot)
            loss_plot.fixed = (0.0, high)  # the same loss scale side by side
            loss_plot.show([("loss", losses[k])], length)
            self.query_one(f"#accuracy-{k}", LinePlot).show([("accuracy", smoothed(run.accuracies))], length)

    def _show_status(self) -> None:
        parts = [self.state]
        for run in self.runs:
            if run.last is not None:
                last = run.last
                text = (
                    f"{run.label}: epoch {last.epoch} batch {last.batch}/{last.batches}, loss "
                    f"{fmt(smoothed(run.losses)[-1])}, accuracy {smoothed(run.accuracies)[-1]:.0%}"
                )
                if run.epochs:
                    text += f", test accuracy {run.epochs[-1].test_accuracy:.1%}"
                parts.append(text)
        if self.runs and self.runs[0].last is not None:
            parts.append(f"{self.runs[0].last.images_per_second:.0f} images/s")
        parts.append(f"{time.perf_counter() - self.started_at:.1f} s")
        self.query_one("#train-status", Static).update(" · ".join(parts) + f"  (curves: mean of {SMOOTHING} batches)")

    # ------------------------------------------------------------ actions

    def action_pause(self) -> None:
        if self.state == "running":
            self._resume.clear()
            self.state = "paused"
        elif self.state == "paused":
            self._resume.set()
            self.state = "running"
        self._show_status()

    def action_stop(self) -> None:
        if self.state in ("running", "paused"):
            self._stop.set()
            self._resume.set()
            self.state = "stopped"
            self._show_status()

    def action_restart(self) -> None:
        if self.state in ("running", "paused"):
            self.notify("training is running: s stops it first", timeout=3)
            return
        self.start()

    def action_compare(self) -> None:
        if self.state in ("running", "paused"):
            self.notify("training is running: s stops it first", timeout=3)
            return
        self.compare = True
        self.start()

    async def action_back(self) -> None:
        self.action_stop()
        if self.worker is not None:
            # The network is the worker's until it returns; the view then reads it again.
            await self.worker.wait()
        self.dismiss(None)
