"""The sample format: shipped samples load and round-trip; every user mistake is one clear CnnError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import samples
from engine.errors import CnnError

SINGLE_OP_SAMPLES = [s.name for s in samples.shipped() if s.op != "network"]


def same(a: samples.Sample, b: samples.Sample) -> None:
    assert (a.title, a.description, a.input_rank) == (b.title, b.description, b.input_rank)
    np.testing.assert_array_equal(a.input, b.input)
    assert [(s.op, s.name) for s in a.stages] == [(s.op, s.name) for s in b.stages]
    for sa, sb in zip(a.stages, b.stages):
        assert sa.params.keys() == sb.params.keys()
        for key in sa.params:
            va, vb = sa.params[key], sb.params[key]
            if va is None or vb is None:
                assert va is vb
            else:
                np.testing.assert_array_equal(va, vb)


def test_the_required_samples_ship():
    names = set(SINGLE_OP_SAMPLES)
    assert {
        "seed_conv",
        "seed_conv_stride2",
        "seed_conv_padding1",
        "rgb_conv",
        "edge_sobel",
        "max_pool",
        "avg_pool",
        "seed_batchnorm",
        "batchnorm_channels",
        "seed_pipeline",
    } <= names


@pytest.mark.parametrize("name", SINGLE_OP_SAMPLES)
def test_shipped_sample_loads_traces_and_round_trips(name, tmp_path):
    sample = samples.load(samples.resolve(name))
    assert len(sample.trace()) > 0
    saved = samples.save(sample, tmp_path / f"{name}.toml")
    same(samples.load(saved), sample)


def test_default_sample_is_the_lecture_example():
    sample = samples.load(samples.resolve(None))
    assert sample.trace().output[0, 0].tolist() == [[6, 3, 5], [0, 7, 2], [6, 3, 4]]
    assert samples.load(samples.resolve("seed_conv_stride2")).trace().output[0, 0].tolist() == [[6, 5], [6, 4]]
    assert samples.load(samples.resolve("seed_conv_padding1")).trace().output.shape == (1, 1, 5, 5)


def test_lecture_batchnorm_sample_has_mean_half_and_variance_one_and_a_half():
    sample = samples.load(samples.resolve("seed_batchnorm"))
    assert sample.input.mean() == 0.5 and sample.input.var() == 1.5
    out = sample.trace().output
    np.testing.assert_allclose(out, (sample.input - 0.5) / np.sqrt(1.5), rtol=1e-9)


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


CONV = 'title = "t"\nop = "conv"\ninput = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\nkernel = [[1, 0], [0, 1]]\n'

BAD = [
    ('title = "t"\nop = "conv"\ninput = [[1, 2]\n', "not valid TOML"),
    ('title = "t"\nop = "convolution"\ninput = [[1]]\n', "unknown op 'convolution' (did you mean \"conv\"?)"),
    (CONV + "strid = 2\n", "unknown key 'strid' (did you mean \"stride\"?)"),
    ('title = "t"\nop = "conv"\ninput = [[1, 2], [3]]\nkernel = [[1]]\n', "ragged matrix"),
    ('title = "t"\nop = "conv"\ninput = []\nkernel = [[1]]\n', "empty list"),
    ('title = "t"\nop = "conv"\ninput = [[1, "a"]]\nkernel = [[1]]\n', "'a' is not a number"),
    ('title = "t"\nop = "conv"\ninput = [[1, nan]]\nkernel = [[1]]\n', "nan is not allowed"),
    ('title = "t"\nop = "conv"\ninput = [[1, inf]]\nkernel = [[1]]\n', "inf is not allowed"),
    (
        'title = "t"\nop = "conv"\ninput = [[[1, 2], [3, 4]], [[1, 2], [3, 4]]]\nkernel = [[1]]\n',
        "kernel has 1 channel(s) but its input has 2",
    ),
    (CONV + "stride = 0\n", "stride must be at least 1, got 0"),
    (CONV + "padding = -1\n", "padding must be at least 0, got -1"),
    (CONV + "dilation = 1.5\n", "dilation must be a whole number"),
    (
        'title = "t"\nop = "conv"\ninput = [[1, 2], [3, 4]]\nkernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]\n',
        "kernel height 3 (dilated span 3) is larger than the padded input height 2 + 2·0 = 2: "
        "⌊(2 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 0",
    ),
    ('title = "t"\nop = "pool"\ninput = [[1, 2], [3, 4]]\nsize = 0\n', "size must be at least 1"),
    ('title = "t"\nop = "pool"\ninput = [[1, 2], [3, 4]]\nmode = "mx"\n', 'mode must be "max" or "avg"'),
    ('title = "t"\nop = "pool"\ninput = [[1, 2], [3, 4]]\nsize = 2\npadding = 2\n', "at most half the pool size"),
    (
        'title = "t"\nop = "batchnorm"\ninput = [[1, 2], [3, 4]]\ngamma = [1, 2]\n',
        "gamma needs one value per channel (1), got 2",
    ),
    ('title = "t"\nop = "batchnorm"\ninput = [[1, 2], [3, 4]]\neps = 0\n', "eps must be a small positive number"),
    ('title = "t"\nop = "batchnorm"\ninput = [[1, 2], [3, 4]]\ntraining = "yes"\n', "training must be true or false"),
    ('title = "t"\nop = "batchnorm"\ninput = [[5]]\n', "more than 1 value per channel"),
    ('op = "relu"\ninput = [[1]]\n', "'title' must be a non-empty string"),
    ('title = "t"\ninput = [[1]]\n', "missing key 'op'"),
    ('title = "t"\nop = "relu"\n', "missing key 'input'"),
    (
        'title = "t"\nop = ["conv", "relu"]\ninput = [[1, 2], [3, 4]]\n[stage.conv]\nkernel = [[1]]\n[stage.rleu]\n',
        '[stage.rleu] is not a stage (did you mean "relu"?)',
    ),
    (
        'title = "t"\nop = ["conv", "pool"]\ninput = [[1, 2, 3], [3, 4, 5], [1, 1, 1]]\n'
        "[stage.conv]\nkernel = [[1, 1], [1, 1]]\n[stage.pool]\nsize = 3\n",
        "[stage.pool]: pool size height 3",
    ),
    ('title = "t"\nop = "relu"\ninput = "missing.csv"\n', "missing.csv not found"),
    ('title = "t"\nop = "relu"\ninput = "image.png"\n', "must be a .csv, .txt or .npy file"),
    ('title = "t"\nop = "network"\ninput_shape = [3, 32, 32]\n', "describes a whole network"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_sample_is_one_clear_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(CnnError) as error:
        samples.load(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_too_large_matrix_states_the_limit(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((300, 300)))
    with pytest.raises(CnnError, match=r"300×300 is too large to step through \(at most 64×64\)"):
        samples.load(write(tmp_path, 'title = "t"\nop = "relu"\ninput = "big.npy"\n'))


def test_missing_file_and_unknown_name():
    with pytest.raises(CnnError, match="file not found"):
        samples.load("/nonexistent/x.toml")
    with pytest.raises(CnnError, match='did you mean "seed_conv"'):
        samples.resolve("seed_con")


@pytest.mark.parametrize(
    "suffix, content", [(".csv", "1,2,3\n4,5,6\n7,8,9\n"), (".txt", "1 2 3\n4 5 6\n7 8 9\n"), (".npy", None)]
)
def test_input_from_a_matrix_file_beside_the_sample(tmp_path, suffix, content):
    matrix_path = tmp_path / f"image{suffix}"
    if content is None:
        np.save(matrix_path, np.arange(1.0, 10.0).reshape(3, 3))
    else:
        matrix_path.write_text(content)
    sample = samples.load(
        write(tmp_path, f'title = "t"\nop = "conv"\ninput = "image{suffix}"\nkernel = [[1, 1], [1, 1]]\n')
    )
    assert sample.trace().output[0, 0].tolist() == [[12, 16], [24, 28]]


def test_ragged_csv_is_refused(tmp_path):
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    with pytest.raises(CnnError, match="rows of different lengths"):
        samples.load(write(tmp_path, 'title = "t"\nop = "relu"\ninput = "bad.csv"\n'))


def test_save_is_atomic_and_never_touches_shipped_samples(tmp_path, monkeypatch):
    sample = samples.load(samples.resolve("seed_conv"))
    with pytest.raises(CnnError, match="shipped sample"):
        samples.save(sample, samples.shipped_dir() / "seed_conv.toml")
    target = write(tmp_path, "original", "keep.toml")

    def broken_replace(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(samples.os, "replace", broken_replace)
    with pytest.raises(CnnError, match="cannot write"):
        samples.save(sample, target)
    assert target.read_text() == "original"
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_save_writes_readable_matrices(tmp_path):
    text = (samples.save(samples.load(samples.resolve("seed_conv")), tmp_path / "c.toml")).read_text()
    assert "input = [\n  [1, 2, 1, 0, 0],\n" in text
    assert "kernel = [\n  [1, 0, 1],\n" in text


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any Unicode a file can hold


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT.filter(lambda t: t.strip()), description=TEXT)
def test_any_title_and_description_save_and_load_back(tmp_path, title, description):
    sample = samples.load(samples.resolve("seed_conv"))
    sample.title, sample.description = title, description
    path = samples.save(sample, tmp_path / "any.toml")
    loaded = samples.load(path)
    assert (loaded.title, loaded.description) == (title, description)


def test_control_characters_in_a_title_save_as_loadable_toml(tmp_path):
    sample = samples.load(samples.resolve("seed_conv"))
    sample.title = 'a\u0001b\rc\u007fd\u001be\tf\\g"h'
    sample.description = "line one\nline two\u0000"
    loaded = samples.load(samples.save(sample, tmp_path / "control.toml"))
    same(loaded, sample)


def test_a_bad_token_is_quoted_cut_short(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text('title = "t"\nop = "conv"\ninput = [[1]]\nkernel = [[1]]\n' + "x" * 100_000 + " = 1\n")
    with pytest.raises(CnnError) as error:
        samples.load(path)
    assert len(str(error.value)) < 400 and "…" in str(error.value)


def test_the_whole_trace_is_bounded_not_only_each_stage():
    relus = {"title": "t", "op": ["relu"] * 20, "input": np.ones((64, 64)).tolist()}  # 20 × 4,096 steps
    with pytest.raises(CnnError, match="would take 81,920 steps; the step-by-step view is limited to 50,000"):
        samples.parse(relus, "relus.toml")
    conv = {"title": "t", "op": "conv", "input": np.ones((8, 64, 64)).tolist(), "kernel": np.ones((8, 9, 9)).tolist()}
    with pytest.raises(CnnError, match="would show 2,032,128 products; .* limited to 100,000"):
        samples.parse(conv, "conv.toml")
