"""Nothing lost: a crash with unsaved edits writes a recovery file, and the next start offers it back."""

from __future__ import annotations

import numpy as np
import pytest

from engine import samples
from tests.tui.conftest import make_app
from tui.app import CnnApp
from tui.recovery import recovery_path
from tui.screens.dialogs import ChoiceDialog
from tui.screens.stepper import StepperScreen

SIZE = (80, 24)


class Boom(Exception):
    """A bug nobody has found yet."""


def boom(self) -> None:
    raise Boom("a bug nobody has found yet")


async def crash_with_edits(app: CnnApp, monkeypatch) -> np.ndarray:
    """Make an unsaved edit (stride 2), then crash on Home; the edited input (N, C, H, W)."""
    monkeypatch.setattr(StepperScreen, "action_first", boom)
    edited = None
    with pytest.raises(Boom):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e", "s", "escape")
            stepper = app.screen
            assert stepper.history.dirty and stepper.sample.stages[0].params["stride"] == (2, 2)
            edited = stepper.sample.input.copy()
            await pilot.press("home")
    monkeypatch.undo()
    return edited


async def test_a_crash_writes_the_unsaved_shipped_sample_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app("seed_conv")
    await crash_with_edits(app, monkeypatch)
    rescued = tmp_path / "seed_conv.recovered.toml"
    assert app.rescued == [rescued]
    assert rescued.read_text().startswith("# cnn-tui recovered the unsaved edits of ")
    assert samples.load(rescued).stages[0].params["stride"] == (2, 2)
    assert app.return_code == 1


async def test_a_saved_sample_is_rescued_beside_its_file_and_the_next_start_restores_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "lesson" / "mine.toml"
    own.parent.mkdir()
    own.write_text(samples.resolve("seed_conv").read_text())
    sample = samples.load(own)
    await crash_with_edits(CnnApp(sample, sample.trace()), monkeypatch)
    rescued = own.parent / "mine.recovered.toml"
    assert rescued.is_file() and recovery_path(own) == rescued

    sample = samples.load(own)  # the next start
    app = CnnApp(sample, sample.trace())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        assert "mine.recovered.toml" in app.screen.prompt
        await pilot.press("enter")  # restore (the first choice)
        await pilot.pause()
        stepper = app.screen
        assert isinstance(stepper, StepperScreen)
        assert stepper.sample.stages[0].params["stride"] == (2, 2)
        assert stepper.history.dirty and stepper.path == own
        assert not rescued.exists()
        await pilot.press("ctrl+z")  # back to the saved sample
        assert stepper.sample.stages[0].params["stride"] == (1, 1)


@pytest.mark.parametrize(("keys", "kept"), [(("down", "enter"), False), (("escape",), True)])
async def test_the_offer_can_discard_the_file_or_keep_it_for_later(tmp_path, monkeypatch, keys, kept):
    monkeypatch.chdir(tmp_path)
    rescued = tmp_path / "seed_conv.recovered.toml"
    rescued.write_text("# recovered\n" + samples.resolve("seed_conv_stride2").read_text())
    app = make_app("seed_conv")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press(*keys)
        await pilot.pause()
        stepper = app.screen
        assert isinstance(stepper, StepperScreen) and not stepper.history.dirty
        assert stepper.sample.stages[0].params["stride"] == (1, 1)
    assert rescued.exists() == kept


async def test_no_recovery_file_no_offer_and_a_crash_without_edits_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(StepperScreen, "action_first", boom)
    app = make_app("seed_conv")
    with pytest.raises(Boom):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, StepperScreen)
            await pilot.press("home")
    assert app.rescued == [] and list(tmp_path.iterdir()) == []
