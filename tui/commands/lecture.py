"""`cnn-tui lecture [FILE]`: the lecture's slides in order; `>` / `<` move between them."""

from __future__ import annotations

import argparse

from engine import lecture

HELP = "open a lecture: its samples as slides in order, with captions and notes (> and < move)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        default=None,
        metavar="FILE",
        help=f"a lecture .toml file (default: the shipped {lecture.DEFAULT_LECTURE!r}, the seed lecture's order)",
    )
    parser.add_argument("--slide", type=int, default=1, metavar="K", help="start on slide K (default 1)")
    parser.add_argument(
        "--data",
        default="synthetic",
        metavar="synthetic|PATH",
        help="what the network slides train on (as for `cnn-tui open`)",
    )


def run(args: argparse.Namespace) -> int:
    from engine.errors import CnnError
    from tui.app import CnnApp
    from tui.screens.lecture import SlideShow

    loaded = lecture.load(lecture.resolve(args.file))
    if not 1 <= args.slide <= len(loaded):
        raise CnnError(f"--slide {args.slide}: the lecture has slides 1 to {len(loaded)}")
    app = CnnApp(None, data=args.data, slides=SlideShow(loaded, args.slide - 1))
    app.run()
    return app.return_code or 0
