"""The command line: trace in three formats, samples, version, and exit 2 for a user's mistake."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tui.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=120)


def test_trace_text_prints_nine_dot_products_and_the_feature_map(capsys):
    assert main(["trace", "seed_conv"]) == 0
    out = capsys.readouterr().out
    assert "1·1 + 2·0 + 1·1 + 0·0 + 1·1 + 0·0 + 1·1 + 0·0 + 2·1 = 6" in out
    products = [line.rsplit("= ", 1)[1].strip() for line in out.splitlines() if "│" in line and "·" in line]
    assert products == ["6", "3", "5", "0", "7", "2", "6", "3", "4"]
    assert " 6  3  5 \n 0  7  2 \n 6  3  4" in out
    assert "⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3" in out


def test_trace_markdown(capsys):
    assert main(["trace", "seed_conv", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# The lecture's 5x5 image")
    assert "| 5 | (1, 1) | `1·1 + 0·0 + 2·1 + 0·0 + 2·1 + 1·0 + 1·1 + 0·0 + 1·1 = 7` |" in out
    assert "| 6 | 3 | 5 |" in out


def test_trace_json_schema(capsys):
    assert main(["trace", "seed_pipeline", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["stages"]] == ["conv", "batchnorm", "relu", "pool"]
    assert len(data["output"]) == 2 and len(data["output"][0][0]) == 3
    first = data["steps"][0]
    assert {"stage", "value", "text", "out_index", "window"} <= first.keys()
    assert first["stage"] == "conv" and first["window"][0] == [-1, -1]
    bn = next(s for s in data["steps"] if s["stage"] == "batchnorm")
    assert bn["phase"] == "mean" and "window" not in bn
    assert data["steps"][-1]["stage"] == "pool"


def test_samples_lists_titles(capsys):
    assert main(["samples"]) == 0
    out = capsys.readouterr().out
    assert "seed_conv" in out and "5x5" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["trace", "no_such_sample"], "no such file"),
        (["trace", "seed_conv", "--format", "pdf"], "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_sample_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "t"\nop = "conv"\ninput = [[1, 2], [3, 4]]\nkernel = [[1]]\nstride = 0\n')
    result = run_cli("trace", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("cnn-tui: error:") and "stride must be at least 1, got 0" in result.stderr


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("cnn-tui ")
    help_text = run_cli("--help").stdout
    assert "trace" in help_text and "samples" in help_text


def test_a_fifo_named_as_a_sample_is_refused_without_blocking(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "pipe.toml")
    for command in (["trace"], ["summary"], ["train"]):
        assert main([*command, str(tmp_path / "pipe.toml")]) == 2
        err = capsys.readouterr().err
        assert "is not a regular file" in err and err.count("\n") == 1
