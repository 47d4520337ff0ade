"""Benchmark of the stepping UI (a benchmark, not a test): key press to repaint, and start-up.

    python -m tui.bench_ui [--presses N] [--size 100x30]

Key press to repaint: the app runs headless in this process; for each Right
press we take the time from posting the key until the last frame that follows
it has been composed and serialised to the terminal's escape codes (Textual's
headless driver skips that last write, so the bench does it itself). Median and
95th percentile over N presses, for the lecture's 5x5 example and for a 32x32
input under a 3x3 kernel (padding 1, 1024 steps). Textual paints at most 60
frames a second, so up to 16.7 ms of that is waiting for the next frame; the
paint median (composing the changed widgets and serialising them) is the part
that is cnn-tui's and Textual's work.

Start to first frame: in this process, from creating the App to its first frame;
and, when tmux is installed, from launching `python -m tui.cli` in a terminal
until the first step is on the screen (interpreter start and imports included).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine import samples
from tui.app import CnnApp


def big_sample() -> samples.Sample:
    """A 32x32 input of seeded small integers under the lecture's 3x3 kernel, padding 1."""
    rng = np.random.default_rng(0)
    return samples.parse(
        {
            "title": "Benchmark: 32x32 input, 3x3 kernel, padding 1",
            "op": "conv",
            "input": rng.integers(0, 10, size=(32, 32)).tolist(),
            "kernel": [[1, 0, 1], [0, 1, 0], [1, 0, 1]],
            "padding": 1,
        },
        "bench",
    )


class FrameClock:
    """Wraps App._display: serialises each frame as a real terminal would and records when it is done.

    Also records how long each frame took to paint (compose the changed widgets and serialise),
    which separates cnn-tui's own work from the wait for Textual's next frame (60 a second).
    """

    def __init__(self, app: CnnApp) -> None:
        self.app = app
        self.frames: list[float] = []
        self.paints: list[float] = []
        self._display = app._display
        app._display = self  # type: ignore[method-assign]
        self._paint_started = 0.0

    def __call__(self, screen, renderable) -> None:
        self._display(screen, renderable)
        if renderable is not None and hasattr(renderable, "render_segments"):
            renderable.render_segments(self.app.console)
            self.frames.append(time.perf_counter())

    def watch_paints(self, screen) -> None:
        """Time the screen's compositor refreshes (the paint of each frame)."""
        refresh = screen._compositor_refresh

        def timed() -> None:
            start = time.perf_counter()
            refresh()
            self.paints.append((time.perf_counter() - start) * 1000)

        screen._compositor_refresh = timed


async def key_to_repaint(
    sample: samples.Sample, presses: int, size: tuple[int, int]
) -> tuple[list[float], list[float]]:
    """Milliseconds from each Right press to its last frame, and the paint time of those frames."""
    app = CnnApp(sample, sample.trace())
    clock = FrameClock(app)
    latencies = []
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        clock.watch_paints(app.screen)
        paints = []
        for _ in range(presses):
            if app.screen.index == len(app.screen.trace) - 1:
                await pilot.press("home")
                await pilot.pause(0.05)
            clock.frames.clear()
            clock.paints.clear()
            start = time.perf_counter()
            await pilot.press("right")
            await pilot.pause(0.05)
            if clock.frames:
                latencies.append((clock.frames[-1] - start) * 1000)
                paints.extend(clock.paints)
    return latencies, paints


async def first_frame_in_process(sample: samples.Sample, size: tuple[int, int]) -> float:
    start = time.perf_counter()
    app = CnnApp(sample, sample.trace())
    clock = FrameClock(app)
    async with app.run_test(size=size) as pilot:
        while not clock.frames:
            await pilot.pause(0.001)
    return (clock.frames[0] - start) * 1000


def first_frame_in_tmux(
    size: tuple[int, int], arguments: str = "", ready: Callable[[str], bool] = lambda screen: "step 1 of" in screen
) -> float | None:
    """Launch `python -m tui.cli ARGUMENTS` until ready(screen text) on a tmux screen, in ms; None
    without tmux. By default: the stepper's first step."""
    if shutil.which("tmux") is None:
        return None
    server = f"cnn-tui-bench-{uuid.uuid4().hex[:8]}"
    root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "-L",
            server,
            "new-session",
            "-d",
            "-s",
            "a",
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            "-c",
            str(root),
            f"{sys.executable} -m tui.cli {arguments}".strip(),
        ],
        check=True,
    )
    try:
        while time.perf_counter() - start < 30:
            screen = subprocess.run(
                ["tmux", "-L", server, "capture-pane", "-p", "-t", "a"], capture_output=True, text=True
            ).stdout
            if ready(screen):
                return (time.perf_counter() - start) * 1000
            time.sleep(0.005)
        return None
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


def summary(name: str, measured: tuple[list[float], list[float]]) -> str:
    latencies, paints = measured
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{name:<40} median {statistics.median(latencies):5.1f} ms   p95 {p95:5.1f} ms   "
        f"(paint median {statistics.median(paints):4.1f} ms, n={len(latencies)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.bench_ui", description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=60, help="Right presses per sample (default 60)")
    parser.add_argument("--size", default="100x30", help="terminal size WxH (default 100x30)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    size = (width, height)
    lecture = samples.load(samples.resolve(None))
    print(f"cnn-tui UI benchmark, terminal {width}x{height}, {args.presses} presses each")
    print(summary("key → repaint, 5x5 example", asyncio.run(key_to_repaint(lecture, args.presses, size))))
    print(
        summary("key → repaint, 32x32 input, 3x3 kernel", asyncio.run(key_to_repaint(big_sample(), args.presses, size)))
    )
    print(f"{'start → first frame, in process':<40} {asyncio.run(first_frame_in_process(lecture, size)):6.1f} ms")
    launched = first_frame_in_tmux(size)
    if launched is None:
        print(f"{'start → first frame, launched in tmux':<40} (tmux not available)")
    else:
        print(f"{'start → first frame, launched in tmux':<40} {launched:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
