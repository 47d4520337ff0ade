"""The command-line front door: `cnn-tui [SAMPLE]` opens the app; subcommands do the rest.

Each subcommand is a module in tui.commands with
    HELP: str                               one line for `cnn-tui --help`
    add_arguments(parser) -> None
    run(args) -> int                        the exit status
A user's mistake (CnnError) prints one line on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

from engine.errors import CnnError

#: Subcommand name -> module in tui.commands.
COMMANDS = {
    "trace": "tui.commands.trace",
    "samples": "tui.commands.samples",
    "summary": "tui.commands.summary",
    "train": "tui.commands.train",
    "bench": "tui.commands.bench",
    "lecture": "tui.commands.lecture",
    "handout": "tui.commands.handout",
}


def package_version() -> str:
    try:
        return version("cnn-tui")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnn-tui",
        description="Step through how convolutional networks compute. "
        "With no argument, opens the lecture's 5x5 example; with SAMPLE, that sample "
        "(a name from `cnn-tui samples` or a path to a .toml file).",
    )
    parser.add_argument("--version", action="version", version=f"cnn-tui {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    opener = sub.add_parser("open", help="open SAMPLE in the app (the default when no command is given)")
    opener.add_argument("sample", nargs="?", default=None, help="a shipped sample name or a path to a .toml file")
    opener.add_argument(
        "--data",
        default="synthetic",
        metavar="synthetic|PATH",
        help="what the network view trains on: the synthetic set (default), a CIFAR-10 "
        "binary folder or file, or an .npz with images and labels",
    )
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
    return parser


def run_app(sample: str | None, data: str = "synthetic") -> int:
    from tui.app import run

    return run(sample, data)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # `cnn-tui SAMPLE` is short for `cnn-tui open SAMPLE`.
    if argv and argv[0] not in COMMANDS and argv[0] != "open" and not argv[0].startswith("-"):
        argv = ["open", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "open"):
            return run_app(getattr(args, "sample", None), getattr(args, "data", "synthetic"))
        return importlib.import_module(COMMANDS[args.command]).run(args)
    except CnnError as error:
        print(f"cnn-tui: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
