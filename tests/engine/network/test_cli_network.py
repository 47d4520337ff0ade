"""The summary, train and bench commands through tui.cli.main: exit 0 on success, 2 with one line on a mistake."""

from __future__ import annotations

import numpy as np
import pytest
from network_helpers import SMALL_CONVNET

import tui.cli
import tui.commands.train as train_command
from engine.network import Network, load
from engine.network.bench import step_parts

TINY = """
title = "tiny"
op = "network"
input_shape = [3, 32, 32]
[[layer]]
type = "conv"
name = "conv1"
out_channels = 2
kernel = 3
stride = 2
[[layer]]
type = "batchnorm"
name = "bn1"
[[layer]]
type = "relu"
[[layer]]
type = "maxpool"
size = 4
[[layer]]
type = "flatten"
[[layer]]
type = "linear"
name = "fc1"
out_features = 10
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


def test_summary_of_the_lecture_network(capsys):
    assert tui.cli.main(["summary", "seed_convnet"]) == 0
    out = capsys.readouterr().out
    assert "fc1" in out and "2,097,408" in out and "128 × 8 × 8" in out


def test_summary_of_the_as_printed_network_explains_the_error(capsys):
    assert tui.cli.main(["summary", "seed_convnet_as_printed"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "two 2x2 poolings leave 128×8×8 = 8192 features, not 32768" in err


def test_train_saves_weights_that_load_back(tiny, tmp_path, capsys):
    weights = tmp_path / "w.npz"
    code = tui.cli.main(
        [
            "train",
            tiny,
            "--train-size",
            "40",
            "--test-size",
            "20",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--save",
            str(weights),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "final test accuracy" in out and "per epoch" in out
    load(tiny).load_weights(weights)


def test_train_compare_batchnorm_shows_both_runs(tiny, capsys):
    code = tui.cli.main(
        [
            "train",
            tiny,
            "--train-size",
            "24",
            "--test-size",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--compare-batchnorm",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "with batch norm" in out and "without batch norm" in out and "steps" in out


def test_ctrl_c_stops_and_keeps_what_was_trained(tiny, tmp_path, monkeypatch, capsys):
    real_train = train_command.train

    def interrupted(*args, **kwargs):
        for index, record in enumerate(real_train(*args, **kwargs)):
            if index == 2:
                raise KeyboardInterrupt
            yield record

    monkeypatch.setattr(train_command, "train", interrupted)
    weights = tmp_path / "w.npz"
    code = tui.cli.main(
        ["train", tiny, "--train-size", "64", "--test-size", "8", "--batch-size", "8", "--save", str(weights)]
    )
    out = capsys.readouterr().out
    assert code == 130 and "interrupted" in out and "after 2 steps" in out
    trained = load(tiny)
    trained.load_weights(weights)
    assert not np.array_equal(trained.state["fc1.weight"], load(tiny).state["fc1.weight"])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--data", "nowhere.bin"], "no such CIFAR-10 file"),
        (["train", "--save", "/no/such/folder/w.npz"], "no such folder"),
        (["train", "--epochs", "0", "--train-size", "4", "--test-size", "2"], "epochs ≥ 1"),
        (["train", "seed_convnt"], 'did you mean "seed_convnet"'),
        (["bench", "--batch-size", "1"], "--batch-size ≥ 2"),
        (["bench", "--batch-size", "1000000"], "over the limit of 2 GiB; use a batch size up to"),
    ],
)
def test_mistakes_exit_2_with_one_line(argv, message, capsys):
    assert tui.cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bench_prints_its_figures(tiny, capsys):
    assert tui.cli.main(["bench", tiny, "--batch-size", "4", "--repeats", "1", "--no-torch"]) == 0
    out = capsys.readouterr().out
    for figure in ("forward", "training step", "GFLOP/s", "matrix multiply", "peak memory"):
        assert figure in out
    assert "step-by-step forward of one image: not timed (add --stepwise" in out
    assert "training step, fused" not in out


def test_bench_parts_and_stepwise(tiny, capsys):
    argv = ["bench", tiny, "--batch-size", "2", "--repeats", "1", "--no-torch", "--parts", "--stepwise"]
    assert tui.cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "training step, layer by layer" in out and "training step, fused" not in out  # tiny's pool does not tile
    for part in ("conv1 forward", "bn1 backward", "SGD update", "whole step"):
        assert part in out
    assert "faster per image (largest logit difference" in out


def test_step_parts_cover_the_step_and_leave_the_network_as_it_was():
    network = Network([3, 8, 8], SMALL_CONVNET)
    parts = step_parts(network, batch_size=2, repeats=2)
    assert list(parts) == ["fused", "layer by layer"]
    fused = {part.name: part.seconds for part in parts["fused"]}
    names = list(fused)
    assert names[:2] == [
        "conv1 → bn1 → relu1 → maxpool1 (fused) forward",
        "conv2 → bn2 → relu2 → maxpool2 (fused) forward",
    ]
    assert names[-2:] == ["SGD update", "whole step"] and "loss" in names
    assert sum(fused.values()) - fused["whole step"] <= fused["whole step"]
    layered = [part.name for part in parts["layer by layer"]]
    assert layered[0] == "conv1 forward" and "bn1 backward" in layered
    assert "forward" not in vars(network.layers[0]) and "backward" not in vars(network.blocks[0])  # unwrapped
    assert network.fuse is True


def test_train_on_a_cifar10_binary_folder(tiny, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, count in (("data_batch_1.bin", 24), ("test_batch.bin", 8)):
        labels = rng.integers(0, 10, (count, 1), dtype=np.uint8)
        np.concatenate([labels, rng.integers(0, 256, (count, 3072), dtype=np.uint8)], axis=1).tofile(tmp_path / name)
    code = tui.cli.main(["train", tiny, "--data", str(tmp_path), "--epochs", "1", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert code == 0 and "24 training and 8 test images" in out


@pytest.mark.parametrize("command", ["summary", "train", "bench"])
def test_a_single_operation_sample_is_named_as_such(command, capsys):
    assert tui.cli.main([command, "seed_conv"]) == 2
    err = capsys.readouterr().err
    assert "seed_conv.toml is a single-operation sample" in err and "needs a network sample" in err
    assert "unknown key" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--epochs", "0"], "epochs ≥ 1"),
        (["--lr", "inf"], "learning rate must be a positive number"),
        (["--weight-decay", "nan"], "weight decay must be"),
        (["--seed", "-1"], "seed must be a whole number ≥ 0"),
    ],
)
def test_bad_training_options_are_refused_before_the_run_header(tiny, argv, message, capsys):
    assert tui.cli.main(["train", tiny, *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and captured.err.count("\n") == 1


def test_a_batch_larger_than_the_data_is_capped_with_a_message(tiny, capsys):
    argv = ["train", tiny, "--train-size", "10", "--test-size", "4", "--epochs", "1", "--batch-size", "100000000"]
    assert tui.cli.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "batch size 100,000,000 is larger than the 10 training images: using 10" in out


def test_a_short_run_at_chance_says_it_was_too_short(tiny, capsys):
    argv = ["train", tiny, "--train-size", "20", "--test-size", "40", "--epochs", "1", "--batch-size", "10"]
    assert tui.cli.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "steps are too few to learn" in out or "final test accuracy" in out
    accuracy = float(out.split("final test accuracy: ")[1].split("%")[0])
    if accuracy <= 15:
        assert "2 steps are too few to learn" in out


def test_a_diverging_run_says_so_and_keeps_finite_weights_out(tiny, tmp_path, capsys):
    weights = tmp_path / "w.npz"
    argv = ["train", tiny, "--train-size", "64", "--test-size", "8", "--epochs", "20", "--batch-size", "8"]
    code = tui.cli.main([*argv, "--no-batchnorm", "--lr", "1000", "--momentum", "0.9", "--save", str(weights)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 2 and "training diverged" in out and "loss nan" not in out
    assert ("weights saved" in out) == weights.exists()
