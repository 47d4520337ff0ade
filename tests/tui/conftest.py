"""Helpers for the TUI tests: an app on a shipped sample, and shortcuts into the stepper."""

from __future__ import annotations

import pytest

from engine import samples
from tui.app import CnnApp


def make_app(name: str | None = None, theme: str = "cnn-dark") -> CnnApp:
    sample = samples.load(samples.resolve(name))
    return CnnApp(sample, sample.trace(), theme=theme)


@pytest.fixture
def app_for():
    return make_app
