"""The real program in a real terminal: tmux runs `python -m tui.cli`, we press Right nine
times and read the finished feature map of the lecture's 5x5 example off the screen."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FEATURE_MAP = ["│ 6  3  5 │", "│ 0  7  2 │", "│ 6  3  4 │"]

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux to run this test)"
)


def tmux(server: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", server, *args], check=True, capture_output=True, text=True).stdout


def screen_until(server: str, wanted, seconds: float = 60.0) -> str:
    """The pane's text as soon as wanted(text) holds (the last text after `seconds`: a loaded machine is slow)."""
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = tmux(server, "capture-pane", "-p", "-t", "a")
        if wanted(text):
            return text
        time.sleep(0.1)
    return text


def test_nine_steps_in_a_real_terminal_show_the_feature_map(tmp_path):
    server = f"cnn-tui-test-{uuid.uuid4().hex[:8]}"
    program = shutil.which("cnn-tui")
    command = f"env PYTHONPATH={ROOT} " + (program if program else f"{sys.executable} -m tui.cli")
    tmux(server, "new-session", "-d", "-s", "a", "-x", "100", "-y", "30", "-c", str(tmp_path), command)
    try:
        first = screen_until(server, lambda text: "step 1 of 9" in text)
        assert "step 1 of 9" in first, first
        for _ in range(9):
            tmux(server, "send-keys", "-t", "a", "Right")
        final = screen_until(server, lambda text: "step 9 of 9" in text and FEATURE_MAP[2] in text)
        for row in FEATURE_MAP:
            assert row in final, final
        tmux(server, "send-keys", "-t", "a", "q")
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)
