"""Benchmark of the network view (a benchmark, not a test): start-up, key press to repaint,
frames per second and key latency while training.

    python -m tui.bench_network [--presses N] [--size 100x30] [--seconds S]

Uses tui.bench_ui's FrameClock: every frame is composed and serialised to escape
codes, as a terminal would be sent. Measured: start → first frame of the network
view (in process, and launched in tmux), → (next channel, a thumbnail page) and
↓ (next layer, every thumbnail recomputed) to repaint, and during live training
(default settings) the frames painted per second, the training steps per second
and the time from a key press (p, pause) to its repaint.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from engine import samples
from tui.app import CnnApp
from tui.bench_ui import FrameClock, first_frame_in_tmux, summary
from tui.screens.training import TrainingScreen


def network_app() -> CnnApp:
    return CnnApp(None, network=samples.resolve("seed_convnet"))


async def first_frame(size: tuple[int, int]) -> float:
    start = time.perf_counter()
    app = network_app()
    clock = FrameClock(app)
    async with app.run_test(size=size) as pilot:
        while not clock.frames:
            await pilot.pause(0.001)
    return (clock.frames[0] - start) * 1000


async def key_to_repaint(key: str, back: str, presses: int, size: tuple[int, int]):
    """Milliseconds from each press of key to its last frame (back undoes it every other time)."""
    app = network_app()
    clock = FrameClock(app)
    latencies, paints = [], []
    async with app.run_test(size=size) as pilot:
        await pilot.press("down")  # conv1: 64 channels
        await pilot.pause(0.3)
        clock.watch_paints(app.screen)
        for number in range(presses):
            clock.frames.clear()
            clock.paints.clear()
            start = time.perf_counter()
            await pilot.press(key if number % 2 == 0 else back)
            await pilot.pause(0.05)
            if clock.frames:
                latencies.append((clock.frames[-1] - start) * 1000)
                paints.extend(clock.paints)
    return latencies, paints


async def while_training(size: tuple[int, int], seconds: float) -> tuple[float, float, list[float]]:
    """(frames per second, training steps per second, key → repaint latencies in ms) during training."""
    app = network_app()
    clock = FrameClock(app)
    latencies = []
    async with app.run_test(size=size) as pilot:
        await pilot.press("r")
        while not isinstance(app.screen, TrainingScreen) or app.screen.batches_done < 1:
            await pilot.pause(0.05)
        training = app.screen
        clock.frames.clear()
        frames = 0
        steps_before, start = training.batches_done, time.perf_counter()
        while time.perf_counter() - start < seconds and training.state == "running":
            await pilot.pause(0.5)
            frames += len(clock.frames)
            clock.frames.clear()
            pressed = time.perf_counter()
            await pilot.press("p")
            while not clock.frames:
                await pilot.pause(0.001)
            latencies.append((clock.frames[0] - pressed) * 1000)
            await pilot.press("p")
        elapsed = time.perf_counter() - start
        frames += len(clock.frames)
        steps = training.batches_done - steps_before
        fps = frames / elapsed
        await pilot.press("s")
        if training.worker is not None:
            await training.worker.wait()
    return fps, steps / elapsed, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.bench_network", description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=30, help="presses per key (default 30)")
    parser.add_argument("--size", default="100x30", help="terminal size WxH (default 100x30)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of training measured (default 8)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    print(f"cnn-tui network view benchmark, terminal {size[0]}x{size[1]}")
    print(f"{'start → first frame, in process':<40} {asyncio.run(first_frame(size)):6.1f} ms")
    launched = first_frame_in_tmux(size, "seed_convnet", lambda screen: "mult-adds" in screen and "▀" in screen)
    print(
        f"{'start → first frame, launched in tmux':<40} "
        + ("(tmux not available)" if launched is None else f"{launched:6.1f} ms")
    )
    print(summary("→ next channel (conv1) → repaint", asyncio.run(key_to_repaint("right", "left", args.presses, size))))
    print(summary("↓ next layer → repaint", asyncio.run(key_to_repaint("down", "up", args.presses, size))))
    fps, steps, latencies = asyncio.run(while_training(size, args.seconds))
    print(f"{'training: frames per second':<40} {fps:6.1f}")
    print(f"{'training: steps per second':<40} {steps:6.2f}")
    print(
        f"{'training: p → repaint':<40} median {statistics.median(latencies):5.1f} ms   "
        f"max {max(latencies):5.1f} ms (n={len(latencies)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
