"""`cnn-tui train`: train a network sample with SGD, with a live progress bar and a table per epoch."""

from __future__ import annotations

import argparse
import signal
from dataclasses import dataclass, field

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from engine.network import Network, load
from engine.network.data import load_data
from engine.network.files import check_weights_target
from engine.network.train import (
    BatchDone,
    Diverged,
    EpochDone,
    check_options,
    effective_batch,
    evaluate,
    train,
    verdict,
)
from tui.cli import Interrupts

HELP = "train a network sample (default: the lecture's ConvNet) on synthetic data, CIFAR-10 or an .npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sample",
        nargs="?",
        default="seed_convnet",
        help="a network sample: shipped name or .toml path (default: seed_convnet)",
    )
    parser.add_argument(
        "--data",
        default="synthetic",
        help='"synthetic" (default), a CIFAR-10 binary folder or .bin file, or an .npz with images and labels',
    )
    parser.add_argument("--epochs", type=int, default=3, help="passes over the training set (default 3)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per SGD step (default 32)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0, as in the lecture)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights, the data and the shuffling")
    parser.add_argument("--train-size", type=int, default=5000, help="synthetic training images (default 5000)")
    parser.add_argument("--test-size", type=int, default=1000, help="synthetic test images (default 1000)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-batchnorm", action="store_true", help="leave out the batch-norm layers")
    group.add_argument(
        "--compare-batchnorm",
        action="store_true",
        help="train with and without batch norm from the same seed and compare the loss curves",
    )
    parser.add_argument("--save", metavar="WEIGHTS.npz", help="write the trained weights here (.npz)")


@dataclass
class Run:
    """One network's training: its label, per-step losses and per-epoch records."""

    label: str
    network: Network
    losses: list[float] = field(default_factory=list)
    epochs: list[EpochDone] = field(default_factory=list)
    interrupted: bool = False
    diverged: str = ""


def _fit(console: Console, run: Run, train_set, test_set, args: argparse.Namespace) -> None:
    """Train run.network, showing a progress bar; Ctrl+C stops after the current step and keeps it;
    a diverging loss stops the run and records why."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[accuracy]:6.1%}  {task.fields[speed]:,.0f} img/s"),
        TimeElapsedColumn(),
        console=console,
    )
    steps = train(
        run.network,
        train_set,
        test_set,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        seed=args.seed,
    )
    task = None
    with progress:
        try:
            for record in steps:
                if isinstance(record, BatchDone):
                    if task is None or record.batch == 1:
                        task = progress.add_task(
                            f"{run.label} epoch {record.epoch}/{args.epochs}".lstrip(),
                            total=record.batches,
                            loss=0.0,
                            accuracy=0.0,
                            speed=0.0,
                        )
                    run.losses.append(record.loss)
                    progress.update(
                        task,
                        completed=record.batch,
                        loss=record.loss,
                        accuracy=record.accuracy,
                        speed=record.images_per_second,
                    )
                else:
                    run.epochs.append(record)
        except KeyboardInterrupt:
            steps.close()
            run.interrupted = True
        except Diverged as error:
            run.diverged = str(error)


def _epoch_table(runs: list[Run]) -> Table:
    table = Table(title="per epoch")
    table.add_column("epoch", justify="right")
    for run in runs:
        suffix = f" ({'no BN' if run.label.startswith('without') else 'BN'})" if len(runs) > 1 else ""
        for column in ("train loss", "train acc", "test loss", "test acc", "seconds"):
            table.add_column(column + suffix, justify="right")
    for index in range(max(len(run.epochs) for run in runs)):
        cells = [str(index + 1)]
        for run in runs:
            if index < len(run.epochs):
                e = run.epochs[index]
                cells += [
                    f"{e.train_loss:.4f}",
                    f"{e.train_accuracy:.1%}",
                    f"{e.test_loss:.4f}",
                    f"{e.test_accuracy:.1%}",
                    f"{e.seconds:.1f}",
                ]
            else:
                cells += [""] * 5
        table.add_row(*cells)
    return table


def loss_chart(curves: dict[str, list[float]], width: int = 64, height: int = 12) -> Text:
    """Per-step loss curves, each averaged into `width` columns, drawn on one character grid."""
    styles = ("cyan", "magenta", "yellow")
    columns = {}
    for label, losses in curves.items():
        if losses:
            parts = np.array_split(np.asarray(losses), min(width, len(losses)))
            columns[label] = [float(part.mean()) for part in parts]
    if not columns:
        return Text("(no steps were taken)")
    top = max(max(c) for c in columns.values())
    bottom = min(min(c) for c in columns.values())
    span = (top - bottom) or 1.0
    grid = [[(" ", "") for _ in range(width)] for _ in range(height)]
    for values, style in zip(columns.values(), styles):
        for x, value in enumerate(values):
            y = round((top - value) / span * (height - 1))
            grid[y][x] = ("●", style)
    text = Text()
    for y, row in enumerate(grid):
        text.append(f"{top - span * y / (height - 1):7.3f} │")
        for char, style in row:
            text.append(char, style=style)
        text.append("\n")
    text.append(" " * 8 + "└" + "─" * width + " steps\n")
    for (label, _), style in zip(columns.items(), styles):
        text.append("  ● ", style=style)
        text.append(f"{label}  ")
    return text


def run(args: argparse.Namespace) -> int:
    check_options(args.epochs, args.batch_size, args.lr, args.momentum, args.weight_decay, args.seed)
    if not args.save:
        return _train(args, Console(), [])
    check_weights_target(args.save)
    trained: list[Network] = []
    console = Console()
    if signal.getsignal(signal.SIGINT) != Interrupts.remember:
        Interrupts.count = 0
    previous = signal.signal(signal.SIGINT, Interrupts.handle)
    try:
        try:
            if Interrupts.count:  # pressed before the handler took over
                raise KeyboardInterrupt
            status = _train(args, console, trained)
            Interrupts.closing = True
        except KeyboardInterrupt:
            Interrupts.closing = True
            console.print("[yellow]interrupted[/]")
            status = 130
        # Every ending but a user's mistake gets here (finished, or Ctrl+C at any moment): save.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _save(args, console, trained)
    finally:
        Interrupts.closing = False
        signal.signal(signal.SIGINT, previous)
    return status


def _save(args: argparse.Namespace, console: Console, trained: list[Network]) -> None:
    """Write the first network (the one trained with the options given) to args.save, and say so."""
    network = trained[0] if trained else None
    if network is None:  # interrupted before the network was built: its initial weights, 0 steps
        network = load(args.sample, seed=args.seed)
        if args.no_batchnorm:
            network = network.without_batchnorm()
    if not all(np.all(np.isfinite(value)) for value in network.state.values()):
        console.print(f"[red]weights not saved to {args.save}: training diverged and they hold inf or nan[/]")
        return
    network.save(args.save)
    console.print(f"weights saved to {args.save}")


def _train(args: argparse.Namespace, console: Console, trained: list[Network]) -> int:
    """Load, train, report; the network trained is appended to `trained` as soon as it exists."""
    network = load(args.sample, seed=args.seed)
    if args.no_batchnorm:
        network = network.without_batchnorm()
    trained.append(network)
    train_set, test_set = load_data(args.data, tuple(network.classes), args.seed, args.train_size, args.test_size)
    batch_size = effective_batch(args.batch_size, len(train_set))
    console.print(
        f"training {network.title or args.sample} on {args.data}: {len(train_set):,} training and "
        f"{len(test_set):,} test images, batch {batch_size}, lr {args.lr}, momentum {args.momentum}"
    )
    if batch_size < args.batch_size:
        console.print(
            f"[yellow]batch size {args.batch_size:,} is larger than the {len(train_set):,} training images: "
            f"using {batch_size:,}[/]"
        )
        args.batch_size = batch_size
    if args.compare_batchnorm:
        runs = [Run("with batch norm", network), Run("without batch norm", network.without_batchnorm())]
    else:
        runs = [Run("without batch norm" if args.no_batchnorm else "", network)]
    for current in runs:
        _fit(console, current, train_set, test_set, args)
        if current.interrupted:
            console.print(f"[yellow]interrupted: keeping the {len(current.losses)} steps trained so far[/]")
            break
        if current.diverged:
            console.print(f"[red]{current.diverged}[/]")
            break
    finished = [r for r in runs if r.losses]
    if any(r.epochs for r in finished):
        console.print(_epoch_table([r for r in finished if r.epochs]))
    if args.compare_batchnorm:
        console.print(loss_chart({r.label: r.losses for r in finished}))
    for current in finished:
        if current.diverged:
            continue
        _, accuracy = evaluate(current.network, test_set)
        label = f" ({current.label})" if current.label else ""
        console.print(
            f"final test accuracy{label}: [bold]{accuracy:.1%}[/] "
            f"of {len(test_set):,} images after {len(current.losses)} steps"
        )
        advice = verdict(accuracy, len(current.network.classes), len(current.losses))
        if advice and not current.interrupted:
            console.print(f"[yellow]{advice}[/]")
    if any(r.interrupted for r in runs):
        return 130
    return 2 if any(r.diverged for r in runs) else 0
