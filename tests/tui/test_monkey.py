"""The monkey in the test suite: seeded random walks of keys and resizes over every view, no crash.

A few walks with fixed seeds (1,000 events in all: under a minute on 2 cores at load 4;
a busier machine takes longer); `python -m tui.monkey --events 100000 --seed N` runs a long one.
A crash that is one of issue 9's known defects (being fixed on other branches) is an
expected failure naming the item; any other crash fails with the shortest sequence.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine import samples
from engine.errors import CnnError
from tui import monkey
from tui.screens.stepper import StepperScreen

#: (sample, seed, events): the stepper on a pipeline (every stage, edit mode, the parameter panel),
#: batch norm, a pooling sample, and the network view (enlarged map, statistics, training, the bridge).
WALKS = [
    ("seed_pipeline", 1, 250),
    ("seed_batchnorm", 2, 200),
    ("max_pool", 3, 150),
    ("seed_convnet", 4, 250),
    ("rgb_conv", 5, 150),
]


@pytest.mark.parametrize(("sample", "seed", "count"), WALKS)
async def test_a_random_walk_never_crashes(sample, seed, count):
    walk = await monkey.walk(sample, rng=random.Random(seed), count=count)
    assert len(walk.events) > 0
    if walk.error is not None:
        pytest.fail(
            f"{walk.signature} after {len(walk.events)} events on {sample} (seed {seed}):\n{walk.report()}\n"
            f"replay: python -m tui.monkey --sample {sample} --replay '{monkey.events_text(walk.events)}'"
        )
    assert walk.refused == [] or all(not Path(path).is_relative_to(Path.cwd()) for path in walk.refused)


def test_events_print_and_parse_back():
    events = [("key", "tab"), ("key", "e"), ("resize", "80", "24"), ("key", "right_square_bracket")]
    assert monkey.parse_events(monkey.events_text(events)) == events
    assert monkey.events_text(events) == "tab e <80x24> right_square_bracket"


def test_the_sandbox_refuses_writes_outside_its_folder_and_puts_everything_back(tmp_path):
    sample = samples.load(samples.resolve("seed_conv"))
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    with monkey.sandbox(inside) as guard:
        assert Path.cwd() == inside.resolve()
        samples.save(sample, "mine.toml")
        with pytest.raises(CnnError, match="only inside"):
            samples.save(sample, outside / "escaped.toml")
    assert (inside / "mine.toml").is_file() and not (outside / "escaped.toml").exists()
    assert guard.refused == [str((outside / "escaped.toml").resolve())]
    assert Path.cwd() != inside.resolve()
    samples.save(sample, outside / "free.toml")  # the real writer is back
    assert (outside / "free.toml").is_file()


async def test_quit_never_ends_a_walk():
    walk = await monkey.walk("seed_conv", replay=monkey.parse_events("q ctrl+q right"))
    assert walk.error is None and walk.quits == 2 and len(walk.events) == 3


def test_a_crash_is_shrunk_to_the_keys_that_cause_it(monkeypatch):
    def boom(self) -> None:
        raise ZeroDivisionError("a bug nobody has found yet")

    monkeypatch.setattr(StepperScreen, "action_first", boom)
    events = monkey.parse_events("right e <120x36> escape right home right")
    walk = monkey.asyncio.run(monkey.walk("seed_conv", replay=events))
    assert walk.signature == "ZeroDivisionError in boom"
    assert monkey.events_text(walk.events) == "right e <120x36> escape right home"  # it stops at the crash
    assert monkey.shrink("seed_conv", walk.events, walk.signature) == [("key", "home")]
