"""TrainingScreen: train the network live in a worker thread; loss, accuracy and feature maps as they come.

The worker (a `@work(thread=True)`, as in Textualize/toolong) owns the networks
while it runs: it iterates engine.network.train.train(...) and posts small
messages (Started, Progress, Maps, Finished); the UI only draws them, so it
stays responsive. Pause holds the worker between two steps; stop closes the
training generators (every step taken is kept). Each run has its own Control
(events the screen sets, the worker reads), so a run that is stopping never
mixes its messages into the next one; leaving the screen, or quitting the app,
stops the worker within a step. `c` trains the network with and
without its batch-norm layers from the same seed, one step of each in turn, and
plots the two side by side.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from rich.progress_bar import ProgressBar
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker

from engine.errors import CnnError
from engine.network.data import load_data
from engine.network.inspect import fresh_copy, seconds_left, smoothed
from engine.network.model import Conv, Network
from engine.network.train import BatchDone, EpochDone, batches_per_epoch, train
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


@dataclass
class Control:
    """How the screen steers one run of the worker thread (a fresh one for every run)."""

    generation: int
    resume: threading.Event = field(default_factory=threading.Event)
    """Clear: the worker waits between two steps (paused)."""
    stop: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    """Set while the worker waits, paused, between two steps."""
    ended: threading.Event = field(default_factory=threading.Event)
    """Set when the worker thread has returned (it no longer touches the networks)."""

    def halt(self) -> None:
        self.stop.set()
        self.resume.set()


def clock(seconds: float) -> str:
    """65.2 -> '1:05'."""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


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
        Binding("p", "pause", "Pause", tooltip="Pause training between two steps"),
        Binding("p", "resume", "Resume", tooltip="Resume the paused training"),
        Binding("s", "stop", "Stop", tooltip="Stop training (keeps every step taken)"),
        Binding("r", "restart", "Train again", tooltip="Train again from the current weights"),
        Binding(
            "c", "compare", "Compare BN", tooltip="Train with and without batch norm from the same seed, side by side"
        ),
        Binding("escape", "back", "Back", tooltip="Stop and go back to the network view"),
    ]

    @dataclass
    class Started(Message):
        generation: int
        total: int
        """Batches the worker will run (over all networks)."""
        images: int

    @dataclass
    class Progress(Message):
        generation: int
        run: int
        record: BatchDone | EpochDone

    @dataclass
    class Maps(Message):
        generation: int
        maps: np.ndarray
        """(C, H, W) feature maps of the first conv layer for the view's first image (eval mode)."""
        batch: int

    @dataclass
    class Finished(Message):
        generation: int
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
        self.running_seconds = 0.0
        """Seconds spent running (not paused) before the last resume."""
        self.resumed_at = 0.0
        self.message_times: list[float] = []
        self.control = Control(0)
        self.control.ended.set()
        self.worker: Worker | None = None

    @property
    def held(self) -> threading.Event:
        """Set while the worker waits, paused, between two steps."""
        return self.control.held

    def compose(self) -> ComposeResult:
        yield Static(id="train-title", markup=False)
        with Horizontal(id="train-progress"):
            yield Static(id="train-bar")
            yield Static(id="train-left", markup=False)
        yield Static(id="train-status", markup=False)
        yield Horizontal(id="plots")
        yield Static("first conv layer, image 0 (eval mode), refreshed while training", id="maps-title")
        yield Thumbnails(id="train-maps")
        yield Footer()

    DEFAULT_CSS = """
    TrainingScreen { layout: vertical; }
    #train-title { height: auto; text-style: bold; padding: 0 1; background: $panel; }
    #train-progress { height: 1; padding: 0 1; }
    #train-bar { width: 1fr; height: 1; }
    #train-left { width: auto; padding: 0 0 0 1; }
    #train-status { height: auto; padding: 0 1; }
    #plots { height: 2fr; min-height: 8; }
    #plots > Vertical { width: 1fr; }
    #plots LinePlot { padding: 0 1; }
    #maps-title { height: 1; padding: 0 1; text-style: bold; }
    #plots LinePlot { min-height: 4; }
    TrainingScreen.compare.short #maps-title, TrainingScreen.compare.short #train-maps { display: none; }
    #train-maps { height: 1fr; min-height: 6; padding: 0 1; }
    """

    async def on_mount(self) -> None:
        await self.start()

    def on_resize(self) -> None:
        self.set_class(self.app.size.height < 40, "short")

    def on_unmount(self) -> None:
        # Leaving the screen or quitting the app: the thread must not outlive it (a paused
        # worker would wait for ever and keep the process alive).
        self.control.halt()

    # ------------------------------------------------------------ runs

    async def halt_worker(self) -> None:
        """Stop the worker and wait until its thread has returned (within one training step)."""
        self.control.halt()
        while not self.control.ended.is_set():
            await asyncio.sleep(0.02)

    async def start(self) -> None:
        """Build the plots for this run and start the worker."""
        config = self.config
        self.state = "running"  # before any await: a second r meanwhile is refused
        await self.halt_worker()
        if self.compare:
            fresh = fresh_copy(self.network)
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
        await plots.remove_children()
        if self.compare:
            await plots.mount_all(
                [
                    Vertical(
                        LinePlot(run.label, id=f"loss-{k}"), LinePlot("accuracy", low=0, high=1, id=f"accuracy-{k}")
                    )
                    for k, run in enumerate(self.runs)
                ]
            )
        else:
            await plots.mount_all([LinePlot("loss", id="loss-0"), LinePlot("accuracy", low=0, high=1, id="accuracy-0")])
        self.batches_done = 0
        self.total = 0
        self.message_times = []
        self.running_seconds = 0.0
        self.resumed_at = time.perf_counter()
        self.control = Control(self.control.generation + 1)
        self.control.resume.set()
        self._show_status()
        self.worker = self.train_worker(networks, self.control)

    @work(thread=True, group="training")
    def train_worker(self, networks: list[Network], control: Control) -> None:
        """Runs in a thread and owns the networks until it returns (then sets control.ended)."""
        try:
            self._train(networks, control)
        finally:
            control.ended.set()

    def _train(self, networks: list[Network], control: Control) -> None:
        config, generation = self.config, control.generation
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
            self.post_message(self.Finished(generation, True, str(error)))
            return
        per_epoch = batches_per_epoch(len(train_set), config.batch_size)
        self.post_message(self.Started(generation, per_epoch * config.epochs * len(networks), len(train_set)))
        conv = next((layer.name for layer in networks[0].layers if isinstance(layer, Conv)), None)
        active = list(range(len(runs)))
        steps = 0
        try:
            while active:
                for k in list(active):
                    if not control.resume.is_set():
                        control.held.set()
                        control.resume.wait()  # no polling: a paused run costs nothing
                    control.held.clear()
                    if control.stop.is_set():
                        return
                    try:
                        record = next(runs[k])
                    except StopIteration:
                        active.remove(k)
                        continue
                    self.post_message(self.Progress(generation, k, record))
                    if k == 0 and isinstance(record, BatchDone):
                        steps += 1
                        if conv is not None and (steps % config.refresh_every == 0 or steps == 1):
                            _, acts = networks[0].forward(self.view_images, training=False, activations=True)
                            self.post_message(self.Maps(generation, acts[conv][0].copy(), steps))
        except CnnError as error:
            self.post_message(self.Finished(generation, True, str(error)))
            return
        finally:
            for run in runs:
                run.close()
            if control.stop.is_set():
                self.post_message(self.Finished(generation, True))
        self.post_message(self.Finished(generation, False))

    # ------------------------------------------------------------ messages from the worker

    def on_training_screen_started(self, message: Started) -> None:
        if message.generation != self.control.generation:
            return
        self.total = message.total
        self._show_progress()

    def on_training_screen_progress(self, message: Progress) -> None:
        if message.generation != self.control.generation:
            return
        run = self.runs[message.run]
        record = message.record
        if isinstance(record, BatchDone):
            run.losses.append(record.loss)
            run.accuracies.append(record.accuracy)
            run.last = record
            self.batches_done += 1
            self.message_times.append(time.perf_counter())
            self._show_progress()
            self._show_plots()
        else:
            run.epochs.append(record)
        self._show_status()

    def on_training_screen_maps(self, message: Maps) -> None:
        if message.generation != self.control.generation:
            return
        scale = Scale.for_values(message.maps)
        tiles = [Tile(scale.rgb(m), str(c)) for c, m in enumerate(message.maps)]
        self.query_one(Thumbnails).show(tiles, 0, side=12)
        self.query_one("#maps-title", Static).update(
            f"first conv layer, image 0 (eval mode) after step {message.batch}; refreshed every "
            f"{self.config.refresh_every} steps"
        )

    def on_training_screen_finished(self, message: Finished) -> None:
        if message.generation != self.control.generation:
            return
        self._pause_clock()  # while the state still says whether the clock ran
        if message.error:
            self.state = "stopped"
            self.notify(message.error, title="Cannot train", severity="error", timeout=10)
        elif self.state != "stopped":
            self.state = "stopped" if message.stopped else "done"
        self._show_progress()
        self._show_status()

    def _show_plots(self) -> None:
        length = max(self.total // max(len(self.runs), 1), 1)
        losses = [smoothed(run.losses, SMOOTHING) for run in self.runs]
        high = max((float(v.max()) for v in losses if v.size), default=1.0)
        for k, run in enumerate(self.runs):
            loss_plot = self.query_one(f"#loss-{k}", LinePlot)
            loss_plot.fixed = (0.0, high)  # the same loss scale side by side
            loss_plot.show([("loss", losses[k])], length)
            self.query_one(f"#accuracy-{k}", LinePlot).show([("accuracy", smoothed(run.accuracies, SMOOTHING))], length)

    def _show_status(self) -> None:
        parts = [self.state]
        for run in self.runs:
            if run.last is not None:
                last = run.last
                loss, accuracy = smoothed(run.losses, SMOOTHING)[-1], smoothed(run.accuracies, SMOOTHING)[-1]
                text = (
                    f"{run.label}: epoch {last.epoch} batch {last.batch}/{last.batches}, loss "
                    f"{fmt(loss)}, accuracy {accuracy:.0%}"
                )
                if run.epochs:
                    text += f", test accuracy {run.epochs[-1].test_accuracy:.1%}"
                parts.append(text)
        if self.runs and self.runs[0].last is not None:
            parts.append(f"{self.runs[0].last.images_per_second:.0f} images/s")
        parts.append(f"{self.seconds():.1f} s")
        self.query_one("#train-status", Static).update(" · ".join(parts) + f"  (curves: mean of {SMOOTHING} batches)")

    # ------------------------------------------------------------ actions

    def seconds(self) -> float:
        """Seconds this run has spent running, pauses left out."""
        running = time.perf_counter() - self.resumed_at if self.state == "running" else 0.0
        return self.running_seconds + running

    def _pause_clock(self) -> None:
        self.running_seconds = self.seconds()
        self.resumed_at = time.perf_counter()

    def _show_progress(self) -> None:
        """The bar, the share done and the time left (estimated from running time only)."""
        bar, label = self.query_one("#train-bar", Static), self.query_one("#train-left", Static)
        if not self.total:
            bar.update(ProgressBar(total=1, completed=0))
            label.update("loading the data…" if self.state == "running" else self.state)
            return
        left = seconds_left(self.batches_done, self.total, self.seconds())
        if self.state != "running":
            when = self.state
        else:
            when = "…" if left is None else f"{clock(left)} left"
        bar.update(ProgressBar(total=self.total, completed=self.batches_done))
        label.update(f"{self.batches_done / self.total:.0%} · {when}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """p says Pause, and pauses, except while paused: then it says Resume, and resumes."""
        if action == "pause":
            return self.state != "paused"
        if action == "resume":
            return self.state == "paused"
        return True

    def action_pause(self) -> None:
        if self.state == "running":
            self._pause_clock()
            self.control.resume.clear()
            self.state = "paused"
            self._show_paused()

    def action_resume(self) -> None:
        if self.state == "paused":
            self.control.resume.set()
            self.state = "running"
            self.resumed_at = time.perf_counter()
            self._show_paused()

    def _show_paused(self) -> None:
        """The progress, the status line and the footer's p after a pause or a resume (or a stop while paused)."""
        self._show_progress()
        self._show_status()
        self.refresh_bindings()

    def action_stop(self) -> None:
        if self.state in ("running", "paused"):
            self._pause_clock()
            self.control.halt()
            self.state = "stopped"
            self._show_paused()

    async def action_restart(self) -> None:
        if self.state in ("running", "paused"):
            self.notify("training is running: s stops it first", timeout=3)
            return
        await self.start()

    async def action_compare(self) -> None:
        if self.state in ("running", "paused"):
            self.notify("training is running: s stops it first", timeout=3)
            return
        self.compare = True
        await self.start()

    async def action_back(self) -> None:
        self.action_stop()
        # The network is the worker's until its thread returns; the view then reads it again.
        await self.halt_worker()
        self.dismiss(None)
