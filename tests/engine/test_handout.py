"""Handouts: Markdown and HTML walk-throughs of a sample or a lecture, opened back and checked for
the numbers (the 5x5 example's feature map, batch norm's μ and σ², the network's receptive fields)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from engine import handout
from engine.errors import CnnError
from tui.cli import main


class Cells(HTMLParser):
    """Every table cell's text, every heading, every <pre> block of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.headings: list[str] = []
        self.pre: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "h1", "h2", "h3", "pre"):
            self._in = tag
            {"td": self.cells, "pre": self.pre}.get(tag, self.headings).append("")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in:
            {"td": self.cells, "pre": self.pre}.get(self._in, self.headings)[-1] += data


def test_markdown_of_the_5x5_example_has_its_numbers(tmp_path):
    out = tmp_path / "conv.md"
    assert main(["handout", "seed_conv", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# The lecture's 5x5 image under its 3x3 kernel")
    assert "| 1 | 2 | 1 | 0 | 0 |" in text  # the input's first row
    assert "| 6 | 3 | 5 |" in text and "| 0 | 7 | 2 |" in text and "| 6 | 3 | 4 |" in text  # the feature map
    assert "H_out = ⌊(H + 2p − d·(k − 1) − 1)/s⌋ + 1" in text
    assert "H_out = ⌊(5 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 3" in text
    steps = re.findall(r"^step (\d+): (.*)$", text, re.M)
    assert [int(n) for n, _ in steps] == list(range(1, 10)) and steps[0][1].endswith("= 6")


def test_html_of_the_lecture_has_a_section_per_slide(tmp_path):
    out = tmp_path / "lecture.html"
    assert main(["handout", "lecture", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    parsed = Cells()
    parsed.feed(page)
    slides = [h for h in parsed.headings if h.startswith("Slide ")]
    assert len(slides) == 10 and slides[0].startswith("Slide 1 of 10: Batch norm")
    pre = "\n".join(parsed.pre)
    assert "μ = 4/8 = 0.5" in pre and "σ² = 12/8 = 1.5" in pre  # the lecture's numbers
    for field in ("3×3 /1", "4×4 /2", "8×8 /2", "10×10 /4", "whole image"):
        assert field in parsed.cells
    assert "8192" in parsed.cells  # flatten's output in the corrected network
    assert "cannot be built" in page  # the as-printed network explains itself


def test_a_long_trace_keeps_first_middle_and_last_steps(tmp_path):
    out = tmp_path / "pipe.md"
    assert main(["handout", "seed_pipeline", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "… steps 16 to 65 left out (50) …" in text  # conv: 144 steps
    numbers = [int(n) for n in re.findall(r"^step (\d+):", text, re.M)]
    assert numbers[:3] == [1, 2, 3] and numbers[-1] == 760


def test_pick_steps():
    assert handout.pick_steps(5) == [0, 1, 2, 3, 4]
    picked = handout.pick_steps(100, limit=10, window=3)
    assert picked == [0, 1, 2, (3, 49), 49, 50, 51, (52, 97), 97, 98, 99]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["handout", "seed_conv", "-o", "out.pdf"], "written as .md"),
        (["handout", "seed_cnv", "-o", "out.md"], "did you mean"),
        (["handout", "seed_conv", "-o", "."], "folder"),
    ],
)
def test_mistakes_are_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_render_refuses_other_formats():
    with pytest.raises(CnnError):
        handout.render([], ".pdf")
