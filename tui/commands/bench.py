"""`cnn-tui bench`: how fast the batch path runs the lecture's network, beside PyTorch when installed."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from engine.errors import CnnError
from engine.network import load
from engine.network.bench import run_bench, step_parts

HELP = "time the batch path's forward pass and training step (and PyTorch's, when installed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sample",
        nargs="?",
        default="seed_convnet",
        help="a network sample: shipped name or .toml path (default: seed_convnet)",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per figure; medians are shown")
    parser.add_argument("--no-torch", action="store_true", help="do not time PyTorch even when installed")
    parser.add_argument(
        "--parts", action="store_true", help="also show where a training step's time goes, layer by layer"
    )
    parser.add_argument(
        "--stepwise",
        action="store_true",
        help="also time one image through the step-by-step teaching path (a minute or more for seed_convnet)",
    )


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 2 or args.repeats < 1:
        raise CnnError(f"bench needs --batch-size ≥ 2 and --repeats ≥ 1, got {args.batch_size} and {args.repeats}")
    network = load(args.sample)
    console = Console()
    with console.status("measuring…"):
        result = run_bench(network, args.batch_size, args.repeats, with_torch=not args.no_torch, stepwise=args.stepwise)
        parts = step_parts(network, args.batch_size, args.repeats) if args.parts else None
    table = Table(
        title=f"{network.title or args.sample}, batch {result.batch_size}, float32",
        caption=f"{result.machine}; BLAS: {result.blas}, {result.threads} thread(s)",
    )
    for column in ("", "ours (NumPy)", "PyTorch", "ours / PyTorch", "GFLOP/s", "of peak"):
        table.add_column(column, justify="right" if column else "left")
    forward_flop = result.forward_gflops * result.forward_seconds
    step_flop = result.step_gflops * result.step_seconds
    r = result
    rows = [("forward", r.forward_seconds, r.torch_forward_seconds, r.forward_ratio, forward_flop)]
    if r.layer_forward_seconds is not None:
        rows.append(
            ("  not fused", r.layer_forward_seconds, r.layer_torch_forward_seconds, r.layer_forward_ratio, forward_flop)
        )
    rows.append(("training step", r.step_seconds, r.torch_step_seconds, r.step_ratio, step_flop))
    if r.layer_step_seconds is not None:
        rows.append(("  not fused", r.layer_step_seconds, r.layer_torch_step_seconds, r.layer_step_ratio, step_flop))
    for label, ours, theirs, ratio, gflop in rows:
        gflops = gflop / ours
        table.add_row(
            label,
            _ms(ours),
            _ms(theirs),
            "—" if ratio is None else f"{ratio:.2f}×",
            f"{gflops:.1f}",
            f"{gflops / result.matmul_gflops:.0%}",
        )
    console.print(table)
    console.print(
        "forward: training-mode batch norm; training step: forward, cross-entropy, backward, SGD; "
        "not fused: every layer on its own, without the conv → batch norm → ReLU → max-pool blocks"
    )
    if result.torch_forward_seconds is None:
        console.print("PyTorch is not installed (or --no-torch): no comparison")
    elif result.layer_torch_forward_seconds is not None:
        console.print("each path takes turns with PyTorch in a rotation of its own: each row has its own PyTorch time")
    console.print(
        f"machine's best float32 matrix multiply (numpy, 1024²): {result.matmul_gflops:.1f} GFLOP/s (the peak)"
    )
    if result.stepwise_seconds is None:
        console.print("step-by-step forward of one image: not timed (add --stepwise; a minute or more)")
    else:
        console.print(
            f"step-by-step forward of one image (a dot product per output value): "
            f"{result.stepwise_seconds:.1f} s; the batch path is {result.stepwise_speedup:,.0f}× "
            f"faster per image (largest logit difference {result.stepwise_max_difference:.1e})"
        )
    console.print(
        f"peak memory allocated by one training step: {result.peak_memory_bytes / 2**20:.1f} MiB"
        + (
            f", beside {result.workspace_bytes / 2**20:.1f} MiB of workspace the fused blocks keep and reuse"
            if result.workspace_bytes
            else ""
        )
    )
    for path, path_parts in (parts or {}).items():
        console.print(_parts_table(path, path_parts, result.batch_size))
    return 0


def _parts_table(path: str, parts: list, batch_size: int) -> Table:
    """Where a training step's time goes on one path: a row per part in the order they run."""
    table = Table(title=f"training step, {path}, batch {batch_size}")
    for column in ("part", "median", "share"):
        table.add_column(column, justify="left" if column == "part" else "right")
    whole = parts[-1].seconds
    for part in parts:
        table.add_row(part.name, _ms(part.seconds), f"{part.seconds / whole:.0%}")
    return table
