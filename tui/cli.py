"""The command-line front door: `cnn-tui [SAMPLE]` opens the app; subcommands do the rest.

Each subcommand is a module in tui.commands with
    HELP: str                               one line for `cnn-tui --help`
    add_arguments(parser) -> None
    run(args) -> int                        the exit status
A user's mistake (CnnError) prints one line on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import signal
import sys


class Interrupts:
    """Ctrl+C while `train --save` runs: the first one stops what runs (a KeyboardInterrupt), the
    ones after it are only counted, so the weights are always written before the exit.

    main() installs `remember` before the slow imports (a Ctrl+C then is kept for later);
    tui.commands.train installs `handle` once it can act on one.
    """

    count = 0
    closing = False
    """True once training has ended: a Ctrl+C then no longer interrupts the save."""

    @classmethod
    def remember(cls, signum: int, frame: object) -> None:
        cls.count += 1

    @classmethod
    def handle(cls, signum: int, frame: object) -> None:
        cls.count += 1
        if cls.count == 1 and not cls.closing:
            raise KeyboardInterrupt


def wants_saved_weights(argv: list[str]) -> bool:
    """True for `cnn-tui train ... --save W.npz`, whose weights every Ctrl+C must leave written."""
    return argv[:1] == ["train"] and any(a == "--save" or a.startswith("--save=") for a in argv)


# A Ctrl+C during the imports below (numpy, rich: half a second on a busy machine) is remembered,
# not lost, when weights are to be saved: `train` then saves the network's initial weights.
if wants_saved_weights(sys.argv[1:]):
    signal.signal(signal.SIGINT, Interrupts.remember)

import argparse  # noqa: E402 (imported after the handler above)
import importlib  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402

from engine.errors import CnnError  # noqa: E402

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
    if wants_saved_weights(argv) and signal.getsignal(signal.SIGINT) != Interrupts.remember:
        Interrupts.count = 0
        signal.signal(signal.SIGINT, Interrupts.remember)
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
