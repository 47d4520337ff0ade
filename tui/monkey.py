"""The monkey: a seeded random walk of keys and terminal resizes over every view, looking for crashes.

    python -m tui.monkey --events 100000 --seed 7 [--sample NAME] [--walk-length 600]
    python -m tui.monkey --sample seed_pipeline --replay "Tab e m <80x24> ]"

A run is a series of walks of --walk-length events; each walk starts a fresh app
(headless, Textual's Pilot) on a shipped sample (--sample, or one chosen by the
seed) and presses, one event at a time, a key from one of these groups:
every binding of the screen in front (the stepper, edit mode, the parameter
panel, help, the picker, the network view and its enlarged map and batch-norm
statistics, training, the bridge: whichever is in front), a printable
character, Enter, Escape, Tab, ctrl+z / ctrl+y and the cursor keys, or it
resizes the terminal (40x12 to 250x80). Dialogs are typed into and opened like
any other screen, so the walk reaches every view a user can.

Safety: the app never quits for real (quitting is counted and ignored), every
walk runs with the current folder in a fresh temporary folder, and any write
outside that folder is refused (a CnnError, as for a folder the user may not
write) and counted; Textual's screenshot goes to the temporary folder too.
Training uses a tiny configuration (64 images, batches of 16) so runs end fast.

On an unhandled exception the walk stops; the monkey shrinks the events that
led to it (first the shortest tail that still fails from a fresh start, then by
deleting events one block at a time) and prints the seed, the sample, the
exception and the shortest failing sequence, ready for --replay. Exit status 1
when a crash was found, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import string
import sys
import tempfile
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from textual import events
from textual.geometry import Size
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot

from engine import files, samples
from engine.errors import CnnError
from engine.network import files as network_files
from tui import recovery
from tui.app import CnnApp
from tui.screens import network
from tui.screens.training import TrainingConfig

#: Terminal sizes a resize picks from (width, height), inclusive.
SMALLEST, LARGEST = (40, 12), (250, 80)
#: The size every walk starts at.
START_SIZE = (80, 24)
#: Keys pressed on every screen besides its own bindings.
COMMON_KEYS = [
    "enter",
    "escape",
    "tab",
    "shift+tab",
    "ctrl+z",
    "ctrl+y",
    "up",
    "down",
    "left",
    "right",
    "home",
    "end",
    "pageup",
    "pagedown",
    "backspace",
    "delete",
    "space",
]
#: Printable characters typed (into dialogs, the cell entry, or as keys of a view).
PRINTABLE = string.ascii_letters + string.digits + "-.+=/?[]~_ "
#: How often each kind of event is chosen.
WEIGHTS = {"binding": 45, "common": 30, "printable": 17, "resize": 8}
#: Live training in a walk: tiny, so that started, paused and stopped all happen within a few keys.
TINY_TRAINING = {"train_size": 64, "test_size": 16, "batch_size": 16, "epochs": 2, "refresh_every": 1}

Event = tuple[str, ...]
"""("key", name) or ("resize", width, height) as strings."""


def event_text(event: Event) -> str:
    return f"<{event[1]}x{event[2]}>" if event[0] == "resize" else event[1]


def parse_events(text: str) -> list[Event]:
    """The inverse of `events_text`: `Tab e <80x24> ]` → events."""
    events: list[Event] = []
    for word in text.split():
        if word.startswith("<") and word.endswith(">") and "x" in word:
            width, _, height = word[1:-1].partition("x")
            events.append(("resize", width, height))
        else:
            events.append(("key", word))
    return events


def events_text(events: list[Event]) -> str:
    return " ".join(event_text(event) for event in events)


class MonkeyApp(CnnApp):
    """CnnApp that never quits and screenshots into the walk's temporary folder."""

    def __init__(self, *args, folder: Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.folder = folder
        self.quits = 0
        """Times the app would have exited (q, ctrl+q, the palette's Quit)."""

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        self.quits += 1

    def deliver_screenshot(self, filename=None, path=None, time_format=None):
        return super().deliver_screenshot(filename, str(self.folder), time_format)


def make_app(sample_name: str, folder: Path) -> MonkeyApp:
    path = samples.resolve(sample_name)
    if samples.sample_op(path) == "network":
        return MonkeyApp(None, network=path, folder=folder)
    sample = samples.load(path)
    return MonkeyApp(sample, sample.trace(), folder=folder)


@dataclass
class Guard:
    """Refuses writes outside `folder` (counted in `refused`)."""

    folder: Path
    refused: list[str] = field(default_factory=list)

    def wrap(self, write: Callable) -> Callable:
        @functools.wraps(write)
        def guarded(path, data):
            target = Path(os.path.realpath(os.path.expanduser(os.fspath(path))))
            if not target.is_relative_to(self.folder):
                self.refused.append(str(target))
                raise CnnError(f"{target}: the monkey writes only inside {self.folder}")
            return write(path, data)

        return guarded


@contextlib.contextmanager
def sandbox(folder: Path) -> Iterator[Guard]:
    """Inside: the current folder is `folder`, every file write outside it is refused, and
    the network view trains a tiny configuration. Everything is put back on leaving."""
    guard = Guard(folder.resolve())
    writers = [(files, "write_atomic"), (samples, "write_atomic"), (network_files, "write_atomic")]
    writers.append((recovery, "write_atomic"))
    saved = [(module, name, getattr(module, name)) for module, name in writers]
    saved.append((network, "TrainingConfig", network.TrainingConfig))
    here = os.getcwd()
    try:
        for module, name, write in saved[:-1]:
            setattr(module, name, guard.wrap(write))
        network.TrainingConfig = functools.partial(TrainingConfig, **TINY_TRAINING)
        os.chdir(folder)
        yield guard
    finally:
        os.chdir(here)
        for module, name, value in saved:
            setattr(module, name, value)


def choose(rng: random.Random, app: MonkeyApp) -> Event:
    """The next event, given the screen in front."""
    kind = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
    if kind == "binding":
        keys = sorted(app.active_bindings)
        if keys:
            return ("key", rng.choice(keys))
        kind = "common"
    if kind == "common":
        return ("key", rng.choice(COMMON_KEYS))
    if kind == "printable":
        return ("key", rng.choice(PRINTABLE))
    width = rng.randint(SMALLEST[0], LARGEST[0])
    height = rng.randint(SMALLEST[1], LARGEST[1])
    return ("resize", str(width), str(height))


@dataclass
class Walk:
    """What one walk did."""

    sample: str
    events: list[Event]
    error: BaseException | None = None
    quits: int = 0
    refused: list[str] = field(default_factory=list)
    screens: set[str] = field(default_factory=set)
    """Names of the screen classes seen in front."""

    @property
    def signature(self) -> str:
        """The exception's type and the innermost function it came from: the same crash compares equal."""
        if self.error is None:
            return ""
        frames = traceback.extract_tb(self.error.__traceback__)
        where = frames[-1].name if frames else "?"
        return f"{type(self.error).__name__} in {where}"

    def report(self) -> str:
        lines = "".join(traceback.format_exception(self.error)).rstrip().splitlines()
        return "\n".join(lines[-12:])


async def send(pilot: Pilot, event: Event) -> None:
    """Deliver one event as the terminal would and wait until every widget has handled it.

    Pilot.press also waits for the process to look idle (two 20 ms sleeps a key); a real
    keyboard's auto-repeat does not wait, and without the sleeps a walk is several times faster."""
    app = pilot.app
    if event[0] == "resize":
        size = Size(int(event[1]), int(event[2]))
        app._driver._size = size  # the headless driver reports this size from now on
        app.post_message(events.Resize(size, size))
    else:
        key = event[1]
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            character = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            character = key if len(key) == 1 else None
        app._driver.send_message(events.Key(key, character))
    await asyncio.sleep(0)
    await pilot._wait_for_screen()
    if app._exception is None and app.screen_stack:
        app.screen._on_timer_update()  # paint now, as the 60 Hz update timer would: drawing can crash too
        await pilot._wait_for_screen()


async def walk(
    sample: str, *, rng: random.Random | None = None, count: int = 0, replay: list[Event] | None = None
) -> Walk:
    """Start an app on sample in a fresh temporary folder and press count random events (or replay)."""
    done: list[Event] = []
    result = Walk(sample, done)
    with tempfile.TemporaryDirectory(prefix="cnn-monkey-") as temp, sandbox(Path(temp)) as guard:
        app = make_app(sample, Path(temp).resolve())
        planned = replay if replay is not None else [None] * count
        try:
            async with app.run_test(size=START_SIZE) as pilot:
                for event in planned:
                    result.screens.add(type(app.screen).__name__)
                    event = event or choose(rng, app)
                    done.append(event)
                    await send(pilot, event)
                    if app._exception is not None:
                        break
        except Exception as error:  # noqa: BLE001 - finding these is the point
            result.error = error
        result.quits = app.quits
        result.refused = guard.refused
    return result


def fails_alike(sample: str, events: list[Event], signature: str) -> bool:
    return asyncio.run(walk(sample, replay=events)).signature == signature


def shrink(sample: str, events: list[Event], signature: str, budget: float = 600.0) -> list[Event]:
    """The shortest events found (within budget seconds) that still end in the same crash."""
    deadline = time.monotonic() + budget
    # Most crashes need only the last few keys: try ever longer tails from a fresh start.
    tail = 4
    while tail < len(events) and time.monotonic() < deadline:
        if fails_alike(sample, events[-tail:], signature):
            events = events[-tail:]
            break
        tail *= 4
    # Then delete blocks, halving the block size when none can go.
    block = max(len(events) // 2, 1)
    while block >= 1 and time.monotonic() < deadline:
        start, removed = 0, False
        while start < len(events) and time.monotonic() < deadline:
            candidate = events[:start] + events[start + block :]
            if candidate and fails_alike(sample, candidate, signature):
                events, removed = candidate, True
            else:
                start += block
        if not removed:
            block //= 2
    return events


def shipped_views() -> list[str]:
    """Every shipped sample's name (the stepper ones and the network ones)."""
    return [entry.name for entry in samples.shipped()]


def run(
    events: int, seed: int, sample: str | None, walk_length: int, shrink_budget: float, out=sys.stdout
) -> Walk | None:
    """Walks of walk_length until `events` events have been pressed; the first crash, shrunk, or None."""
    names = shipped_views()
    pressed, number, quits, refused, screens = 0, 0, 0, 0, set()
    started = time.monotonic()
    while pressed < events:
        walk_seed = seed * 1_000_003 + number
        rng = random.Random(walk_seed)
        name = sample or rng.choice(names)
        count = min(walk_length, events - pressed)
        result = asyncio.run(walk(name, rng=rng, count=count))
        pressed += len(result.events)
        quits, refused, screens = quits + result.quits, refused + len(result.refused), screens | result.screens
        print(
            f"walk {number} (seed {walk_seed}, {name}): {len(result.events)} events"
            + (f", CRASH {result.signature}" if result.error else ""),
            file=out,
            flush=True,
        )
        if result.error is not None:
            shortest = shrink(name, result.events, result.signature, shrink_budget)
            print(
                f"\nseed {seed}, walk {number} (walk seed {walk_seed}) on {name}: {result.signature}\n"
                f"{result.report()}\n\nshortest failing sequence ({len(shortest)} of {len(result.events)} events):\n"
                f"  python -m tui.monkey --sample {name} --replay '{events_text(shortest)}'",
                file=out,
            )
            result.events[:] = shortest
            return result
        number += 1
    print(
        f"\n{pressed} events in {number} walks, {time.monotonic() - started:.0f} s: no crash "
        f"(quit pressed {quits} times, {refused} writes outside the temporary folder refused; "
        f"screens seen: {', '.join(sorted(screens))})",
        file=out,
    )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.monkey", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events in all (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the walk (default 0)")
    parser.add_argument("--sample", help="start every walk on this shipped sample (default: one per walk)")
    parser.add_argument("--walk-length", type=int, default=600, help="events before a fresh start (default 600)")
    parser.add_argument("--shrink-seconds", type=float, default=600.0, help="time spent shrinking a crash")
    parser.add_argument("--replay", help="replay these events (as printed) instead of a random walk")
    args = parser.parse_args(argv)
    if args.replay is not None:
        result = asyncio.run(walk(args.sample or "seed_conv", replay=parse_events(args.replay)))
        print(f"{result.signature}\n{result.report()}" if result.error else "no crash")
        return 1 if result.error else 0
    return 1 if run(args.events, args.seed, args.sample, args.walk_length, args.shrink_seconds) else 0


if __name__ == "__main__":
    sys.exit(main())
