"""`cnn-tui summary SAMPLE`: a network's layers, output shapes, parameters and multiply-adds."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from engine.network import load

HELP = "show a network sample's layers, output shapes, parameters and multiply-adds (like torchinfo)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sample",
        nargs="?",
        default="seed_convnet",
        help="a network sample: shipped name or .toml path (default: seed_convnet)",
    )


def run(args: argparse.Namespace) -> int:
    network = load(args.sample)
    shape = " × ".join(map(str, network.input_shape))
    table = Table(title=network.title or str(args.sample), caption=f"input {shape}")
    for column, justify in (
        ("Layer", "left"),
        ("Type", "left"),
        ("Output shape", "left"),
        ("Param #", "right"),
        ("Mult-adds", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = network.summary()
    for row in rows:
        table.add_row(
            row.name, row.kind, " × ".join(map(str, row.output_shape)), f"{row.parameters:,}", f"{row.macs:,}"
        )
    total_parameters = sum(r.parameters for r in rows)
    table.add_section()
    table.add_row("total", "", "", f"{total_parameters:,}", f"{network.macs:,}")
    console = Console()
    console.print(table)
    console.print(
        f"parameters: {total_parameters:,} ({total_parameters * 4 / 2**20:.2f} MiB in float32); "
        f"multiply-adds per image: {network.macs / 1e6:.2f} M"
    )
    return 0
