"""Helpers for the TUI tests: an app on a shipped sample, and shortcuts into the stepper."""

from __future__ import annotations

import pytest

from engine import samples
from tui.app import CnnApp


def make_app(name: str | None = None, theme: str = "cnn-dark") -> CnnApp:
    sample = samples.load(samples.resolve(name))
    return CnnApp(sample, sample.trace(), theme=theme)


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path, monkeypatch):
    """Every TUI test runs in an empty folder: a recovery file (tui/recovery.py) left in the folder
    the tests are started from would put each app behind its restore dialog, and a test's own
    crash or save must not leave files there. (The tmux tests start their terminal in tmp_path too.)"""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def app_for():
    return make_app
