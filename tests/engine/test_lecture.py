"""The lecture file: the shipped lecture follows the seed lecture's order; every mistake is one
CnnError line that names the slide."""

from __future__ import annotations

import pytest

from engine import lecture, samples
from engine.errors import CnnError


def test_the_shipped_lecture_follows_the_seed_order():
    shipped = lecture.load(lecture.resolve(None))
    names = [slide.path.stem for slide in shipped.slides]
    assert names == [
        "seed_batchnorm",
        "seed_conv",
        "seed_conv_padding1",
        "seed_conv_stride2",
        "max_pool",
        "avg_pool",
        "seed_pipeline",
        "seed_convnet_as_printed",
        "seed_convnet",
        "seed_convnet",
    ]
    assert all(slide.caption and "\n" not in slide.caption for slide in shipped.slides)
    assert "0.5" in shipped.slides[0].bookmarks[8] and "1.5" in shipped.slides[0].bookmarks[16]
    assert "8192" in shipped.slides[8].caption.replace(" ", "")
    assert [slide.number for slide in shipped.slides] == list(range(1, 11))


def test_the_lecture_is_not_listed_as_a_sample():
    assert "lecture" not in [entry.name for entry in samples.shipped()]
    assert lecture.is_lecture(lecture.resolve(None))
    assert not lecture.is_lecture(samples.resolve("seed_conv"))


def write(tmp_path, text: str):
    path = tmp_path / "talk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sample_beside_the_lecture(tmp_path):
    (tmp_path / "mine.toml").write_text(samples.resolve("seed_conv").read_text(), encoding="utf-8")
    path = write(
        tmp_path, 'title = "T"\n[[slide]]\nsample = "mine.toml"\ncaption = "c"\n[slide.bookmarks]\n2 = "two"\n'
    )
    loaded = lecture.load(path)
    assert loaded.slides[0].path == tmp_path / "mine.toml"
    assert loaded.slides[0].bookmarks == {2: "two"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[slide]]\nsample = "seed_conv"\ncaption = "c"\n', "missing 'title'"),
        ('title = "T"\n', "at least one \\[\\[slide\\]\\]"),
        ('title = "T"\n[[slide]]\ncaption = "c"\n', "slide 1: missing 'sample'"),
        ('title = "T"\n[[slide]]\nsample = "seed_cnv"\ncaption = "c"\n', "slide 1 \\(seed_cnv\\).*did you mean"),
        ('title = "T"\n[[slide]]\nsample = "seed_conv"\n', "slide 1 \\(seed_conv\\): missing 'caption'"),
        ('title = "T"\n[[slide]]\nsample = "seed_conv"\ncaption = "a\\nb"\n', "one line"),
        ('title = "T"\n[[slide]]\nsample = "seed_conv"\ncaption = "c"\ncolour = 1\n', 'unknown key "colour"'),
        ('title = "T"\n[[slide]]\nsample = "seed_conv"\ncaption = "c"\n[slide.bookmarks]\n10 = "x"\n', "steps 1 to 9"),
        ('title = "T"\n[[slide]]\nsample = "seed_conv"\ncaption = "c"\n[slide.bookmarks]\nx = "x"\n', "not a step"),
        (
            'title = "T"\n[[slide]]\nsample = "seed_convnet"\ncaption = "c"\n[slide.bookmarks]\n1 = "x"\n',
            "no steps",
        ),
        ('title = "T"\n[[slide]]\nsample = "bad.toml"\ncaption = "c"\n', "slide 1 \\(bad.toml\\): .*stride"),
        ("title = [", "not valid TOML"),
    ],
)
def test_mistakes_are_one_line_naming_the_slide(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(
        'title = "x"\nop = "conv"\ninput = [[1, 2], [3, 4]]\nkernel = [[1]]\nstride = 0\n', encoding="utf-8"
    )
    with pytest.raises(CnnError, match=message) as caught:
        lecture.load(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_the_second_slide_is_named(tmp_path):
    text = 'title = "T"\n[[slide]]\nsample = "seed_conv"\ncaption = "c"\n[[slide]]\nsample = "nope"\ncaption = "c"\n'
    with pytest.raises(CnnError, match="slide 2 \\(nope\\)"):
        lecture.load(write(tmp_path, text))


def test_resolve_refuses_what_is_not_a_lecture(tmp_path):
    with pytest.raises(CnnError, match="no such lecture"):
        lecture.resolve(tmp_path / "missing.toml")
    with pytest.raises(CnnError, match="folder"):
        lecture.resolve(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lecture", "nope.toml"], "no such lecture file"),
        (["lecture", "--slide", "11"], "slides 1 to 10"),
        (["lecture", "talk.toml"], "slide 1 (seed_cnv)"),
    ],
)
def test_cnn_tui_lecture_refuses_in_one_line(tmp_path, monkeypatch, capsys, args, message):
    from tui.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.toml").write_text('title = "T"\n[[slide]]\nsample = "seed_cnv"\ncaption = "c"\n')
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
