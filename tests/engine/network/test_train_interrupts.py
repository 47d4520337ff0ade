"""Ctrl+C at any moment of `cnn-tui train --save W.npz` leaves W.npz written, and it loads.

The real program runs in a subprocess and gets a real SIGINT: at 0.5 s (while it starts), mid-epoch,
during the final evaluation, and twice in a row. The training is tiny so each case takes seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.network import load

ROOT = Path(__file__).resolve().parents[3]
TINY = """title = "tiny"
op = "network"
input_shape = [3, 32, 32]
[[layer]]
type = "conv"
out_channels = 4
kernel = 3
[[layer]]
type = "batchnorm"
[[layer]]
type = "relu"
[[layer]]
type = "maxpool"
size = 4
[[layer]]
type = "flatten"
[[layer]]
type = "linear"
out_features = 10
"""


class Training:
    """`cnn-tui train` in a subprocess, its output collected line by line as it comes."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.sample = folder / "tiny.toml"
        self.sample.write_text(TINY)
        self.weights = folder / "W.npz"
        command = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())", "train"]
        command += [str(self.sample), "--save", str(self.weights), "--batch-size", "16", *extra]
        env = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "COLUMNS": "100"}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=folder
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Block until a line containing text was printed (or the program ended)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}: {''.join(self.lines)}")
            time.sleep(0.01)

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self) -> str:
        self.process.wait(timeout=120)
        self.reader.join(timeout=10)
        return "".join(self.lines)

    def assert_saved(self) -> None:
        output = self.finish()
        assert "Traceback" not in output, output
        assert self.weights.is_file(), output
        assert f"weights saved to {self.weights}" in output, output
        network = load(self.sample)
        network.load_weights(self.weights)


@pytest.fixture
def sizes() -> tuple[str, ...]:
    # many epochs, so that the run is still training when the signal comes however fast a step is
    return ("--epochs", "200", "--train-size", "800", "--test-size", "200")


def test_ctrl_c_at_half_a_second_saves_the_initial_weights(tmp_path, sizes):
    run = Training(tmp_path, *sizes)
    time.sleep(max(0.0, 0.5 - (time.monotonic() - run.started)))
    run.interrupt()
    run.assert_saved()
    assert run.process.returncode == 130


def test_ctrl_c_mid_epoch_saves_the_steps_trained(tmp_path, sizes):
    run = Training(tmp_path, *sizes)
    run.wait_for("training ")
    time.sleep(0.5)
    run.interrupt()
    run.assert_saved()
    assert run.process.returncode == 130


def test_ctrl_c_during_the_final_evaluation_saves(tmp_path):
    run = Training(tmp_path, "--epochs", "1", "--train-size", "64", "--test-size", "3000")
    run.wait_for("per epoch")  # the table is printed right before the final evaluation
    run.interrupt()
    run.assert_saved()
    assert run.process.returncode in (0, 130)


def test_ctrl_c_twice_in_a_row_still_saves(tmp_path, sizes):
    run = Training(tmp_path, *sizes)
    run.wait_for("training ")
    time.sleep(0.3)
    run.interrupt()
    time.sleep(0.05)
    run.interrupt()
    run.assert_saved()
    # the second Ctrl+C may land after the weights are written, while the interpreter is already
    # shutting down (Python puts back the default handler then): the exit is then by the signal
    assert run.process.returncode in (130, -signal.SIGINT)
