"""Dotted leaders set as one run per line (leaders.py): the same dots, far less to draw."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
import weasyprint
import weasyprint.layout.inline as inline

from make_book.render.weasy.patches import leaders

CONTENTS = """<html lang="en"><body><ol>
<li><span>Short</span></li>
<li><span>A title long enough to wrap onto a second line of the contents page, and
then some more words so that it does</span></li>
<li><span>Middling title here</span></li>
</ol></body></html>"""
CSS = """@page { size: 4in 3in; margin: 0.3in }
body { font-family: serif; font-size: 11pt }
ol { list-style: none; margin: 0; padding: 0 }
span { display: block; padding-left: 1.5em; text-indent: -1.5em }
li:nth-child(1) span::after { content: leader(" . ") "9" }
li:nth-child(2) span::after { content: leader(" . ") "123" }
li:nth-child(3) span::after { content: leader(" . ") "45" }"""
# pt: how far a dot may move. A run places its dots by the glyph advances written in
# the PDF, rounded to thousandths of an em: 0.06 pt at the far end of 16 dots here.
DRIFT = 0.15
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)<')


def _pdf(path: Path) -> Path:
    document = weasyprint.HTML(string=CONTENTS).render(stylesheets=[weasyprint.CSS(string=CSS)])
    document.write_pdf(path)
    return path


def _text_shows(path: Path) -> int:
    with pikepdf.open(path) as pdf:
        operators = [op for _, op in pikepdf.parse_content_stream(pdf.pages[0])]
    return sum(str(op) in ("Tj", "TJ") for op in operators)


def _words(pdf: Path) -> list[tuple[str, float, float]]:
    """Each word Poppler reads (every dot of a leader is one) and where it starts."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Poppler) is not installed")
    found = subprocess.run(
        ["pdftotext", "-bbox", pdf, "-"], check=True, capture_output=True, text=True
    ).stdout
    return [(word, float(x), float(y)) for x, y, word in WORD.findall(found)]


def test_a_leader_is_one_run_with_its_dots_where_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaders.install()
    runs = _pdf(tmp_path / "runs.pdf")
    monkeypatch.setattr(inline, "handle_leader", leaders._original_handle_leader)
    copies = _pdf(tmp_path / "copies.pdf")

    # Three leaders: one run each, against a dozen or more copies each.
    assert _text_shows(copies) > 3 * 12
    assert _text_shows(runs) <= _text_shows(copies) // 4
    placed, before = _words(runs), _words(copies)
    assert [word for word, _, _ in placed] == [word for word, _, _ in before]
    assert sum(word == "." for word, _, _ in placed) > 3 * 12  # each dot a word of its own
    for (_, x, y), (_, x0, y0) in zip(placed, before, strict=True):
        assert abs(x - x0) < DRIFT and abs(y - y0) < DRIFT
