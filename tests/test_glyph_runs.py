"""Lines drawn from Pango's glyph arrays read whole (glyph_runs.py): the same PDF, byte for
byte, as WeasyPrint's own loop writes; the lines it leaves to WeasyPrint left to it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import weasyprint
import weasyprint.draw.text as draw_text

from make_book.render.weasy.patches import glyph_runs

FONTS = Path(__file__).parents[1] / "src/make_book/themes/default/fonts"
CSS = f"""@page {{ size: 4in 5in; margin: 0.4in }}
@font-face {{ font-family: Book; src: url("{(FONTS / "LinLibertine_R.otf").as_uri()}") }}
@font-face {{ font-family: Book; font-style: italic;
  src: url("{(FONTS / "LinLibertine_RI.otf").as_uri()}") }}
body {{ font-family: Book, serif; font-size: 10.5pt; text-align: justify; hyphens: auto;
  font-kerning: normal; font-variant-numeric: oldstyle-nums }}
.caps {{ font-variant: small-caps; letter-spacing: 0.05em }}
.sans {{ font-family: sans-serif; font-size: 9pt }}
.clip {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; width: 1.2in }}
sup {{ font-size: 70% }}"""
PLAIN = """<p lang="en">Wavering, AVAILABLE, Type: “quoted” text—with dashes – and figures
1234567890; <i>italic affix ffi ffl</i>, <span class="caps">Small Capitals Here</span>,
and a footnote mark<sup>12</sup>. Long words like incomprehensibilities and
antidisestablishmentarianism are hyphenated where the line needs it, again and again
and again, for a justified paragraph of several lines.</p>
<p lang="el">Greek, polytonic: ὑπὲρ τῶν ἀνθρώπων ἐστὶν ἡ ψυχή, and <span class="sans">a
run in another face</span> between two of the book’s.</p>
<p>Zero-width spaces​between​words, and a soft hy\u00adphen.</p>"""
LEFT_TO_WEASYPRINT = {
    "an ellipsis": '<p class="clip">A line too long for its box, cut with an ellipsis</p>',
    "a glyph no font has": "<p>A private-use character: \ue123\ue124 here.</p>",
    # DejaVu Sans places stacked marks with a vertical offset (Libertine does not).
    "marks set above others": '<p style="font-family: DejaVu Sans">x\u0331\u0301</p>',
}
RTL = '<p dir="rtl" lang="he">שלום עולם, ומילים נוספות בעברית</p>'


def _families(pattern: str = ":") -> str:
    """The font families Fontconfig knows that match `pattern` (empty without fc-list)."""
    if shutil.which("fc-list") is None:
        return ""
    return subprocess.run(["fc-list", pattern, "family"], capture_output=True, text=True).stdout


def _pdf(body: str) -> bytes:
    html = weasyprint.HTML(string=f"<html><body>{body}</body></html>", base_url=str(FONTS))
    document = html.render(stylesheets=[weasyprint.CSS(string=CSS)])
    return bytes(document.write_pdf())


def _both(body: str, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes, int]:
    """The PDF drawn the quick way, by WeasyPrint's own loop, and how many lines the
    quick way left to WeasyPrint."""
    assert glyph_runs.install()
    left = 0
    original = glyph_runs._original
    assert original is not None

    def counted(*args: Any) -> Any:
        nonlocal left
        left += 1
        return original(*args)

    monkeypatch.setattr(glyph_runs, "_original", counted)
    quick = _pdf(body)
    monkeypatch.setattr(draw_text, "draw_first_line", original)
    return quick, _pdf(body), left


def test_the_patch_fits_this_weasyprint() -> None:
    assert glyph_runs.shape_problem() is None
    assert glyph_runs.install()
    assert glyph_runs.installed()


def test_plain_lines_are_written_byte_for_byte_as_weasyprint_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick, own, left = _both(PLAIN, monkeypatch)
    assert left == 0  # every line the quick way
    assert quick == own


def test_right_to_left_lines_keep_their_text_for_copying(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _families(":lang=he"):
        pytest.skip("no font with Hebrew is installed")
    quick, own, left = _both(RTL, monkeypatch)
    assert left == 0
    assert quick == own


@pytest.mark.parametrize("case", sorted(LEFT_TO_WEASYPRINT))
def test_what_the_quick_way_does_not_cover_is_left_to_weasyprint(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "DejaVu" in LEFT_TO_WEASYPRINT[case] and "DejaVu Sans" not in _families():
        pytest.skip("DejaVu Sans is not installed")
    quick, own, left = _both(PLAIN + LEFT_TO_WEASYPRINT[case], monkeypatch)
    assert left >= 1
    assert quick == own


def test_a_glyph_met_again_adds_what_it_added_first(monkeypatch: pytest.MonkeyPatch) -> None:
    assert glyph_runs.install()
    worked_out = 0
    real = glyph_runs._Segment.work_out

    def counted(self: Any, info: tuple[int, ...], i: int) -> str | None:
        nonlocal worked_out
        worked_out += 1
        return real(self, info, i)

    monkeypatch.setattr(glyph_runs._Segment, "work_out", counted)
    words = "the same words again " * 60
    _pdf(f"<p>{words}</p>")
    # Each letter once, a few kerned again; the spaces once a line (justified).
    assert 0 < worked_out < len(words) // 5


def test_another_draw_first_line_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glyph_runs, "ORIGINAL_SHA256", "0" * 64)
    assert "is not 70.0's" in (glyph_runs.shape_problem() or "")
    monkeypatch.setattr(draw_text, "draw_first_line", glyph_runs._original)
    assert not glyph_runs.install()
    assert draw_text.draw_first_line is glyph_runs._original
